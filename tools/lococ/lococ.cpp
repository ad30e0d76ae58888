//===- lococ.cpp - The lococ compiler driver ------------------------------===//
//
// This file implements lococ's command line: its flags, grouped for --help,
// checked and handed to the compile flow (frontend/compile/Compile.h), which
// reads the upstream TF-Locoformer YAML config (with `--set` overrides),
// builds the step, fits the memory budget and writes train.so or the IR.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoDialect.h"
#include "frontend/ConfigKeys.h"
#include "frontend/compile/Compile.h"
#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mlir;
using namespace mlir::loco;

namespace {
llvm::cl::opt<std::string> configFile(llvm::cl::Positional,
                                      llvm::cl::desc("<config.yaml>"));
llvm::cl::list<std::string>
    overrides("set", llvm::cl::desc("Override a config value: key.path=value"),
              llvm::cl::value_desc("key.path=value"));
llvm::cl::opt<CompileMode> mode(
    "mode", llvm::cl::desc("What the artifact runs"),
    llvm::cl::init(CompileMode::Train),
    llvm::cl::values(
        clEnumValN(CompileMode::Train, "train",
                   "the training step, its forward form and the optimizer "
                   "(train.so)"),
        clEnumValN(CompileMode::Separate, "separate",
                   "inference only: segments of the mixture to the sources, "
                   "planned forward-only (separate.so, for locorun separate "
                   "and evaluate)")));
llvm::cl::opt<int64_t> batchSegments(
    "batch-segments",
    llvm::cl::desc("With --mode separate: segments of dataset.segment_length "
                   "samples per step (default: training.batch_size)"),
    llvm::cl::init(0));
llvm::cl::opt<EmitStage> emit(
    "emit", llvm::cl::desc("Print the IR at a stage of the pipeline"),
    llvm::cl::init(EmitStage::None),
    llvm::cl::values(
        clEnumValN(EmitStage::Loco, "loco",
                   "the loco IR built by the frontend"),
        clEnumValN(EmitStage::Fused, "fused",
                   "after the fusion pipeline (flash attention)"),
        clEnumValN(EmitStage::Grad, "grad",
                   "after autodiff: @eval_step and @train_step with gradients"),
        clEnumValN(EmitStage::Runtime, "runtime",
                   "runtime calls on one arena (LLVM dialect)"),
        clEnumValN(EmitStage::Llvm, "llvm", "LLVM IR")));
llvm::cl::opt<std::string>
    outputFile("o",
               llvm::cl::desc("Output file (train.so, or the IR with --emit)"),
               llvm::cl::value_desc("file"), llvm::cl::init("-"));
llvm::cl::opt<std::string> target(
    "target",
    llvm::cl::desc("Runtime backend: cpu, cuda, or auto (the default: cuda "
                   "when this build has the CUDA backend and a GPU is "
                   "visible, else cpu)"),
    llvm::cl::init("auto"));
llvm::cl::opt<bool> fuseAttention(
    "fuse-attention",
    llvm::cl::desc("Fuse attention into loco.flash_attention (default on)"),
    llvm::cl::init(true));
llvm::cl::opt<bool> fuseElementwise(
    "fuse-elementwise",
    llvm::cl::desc("Fuse the SwiGLU gate's slices, SiLU and product into "
                   "loco.swiglu, and each residual add of a dropout into "
                   "loco.dropout_add (default on)"),
    llvm::cl::init(true));
llvm::cl::opt<bool>
    memoryReport("memory-report",
                 llvm::cl::desc("Print the arena plan: size, lower bound, "
                                "breakdown, largest buffers"));
llvm::cl::opt<std::string>
    memoryReportJsonFile("memory-report-json",
                         llvm::cl::desc("Write the memory report as JSON"),
                         llvm::cl::value_desc("file"));
llvm::cl::opt<std::string> traceFile(
    "trace",
    llvm::cl::desc("Write a Chrome-trace / Perfetto JSON of the schedule "
                   "with a live-bytes counter"),
    llvm::cl::value_desc("file"));
llvm::cl::opt<std::string> memoryBudget(
    "memory-budget",
    llvm::cl::desc("Fit the step into this arena (e.g. 24GiB, 512MiB, 8GB): "
                   "choose row chunks, recomputation and the micro-batch"),
    llvm::cl::value_desc("size"));
llvm::cl::opt<int64_t> rowChunks(
    "row-chunks",
    llvm::cl::desc("Row chunks per Locoformer path (instead of the budget "
                   "search)"),
    llvm::cl::init(0));
llvm::cl::opt<int64_t> checkpointEvery(
    "checkpoint-every",
    llvm::cl::desc("Recompute all but every N-th path input (0: no "
                   "recomputation; instead of the budget search)"),
    llvm::cl::init(-1));
llvm::cl::opt<int64_t> checkpointPhase(
    "checkpoint-phase",
    llvm::cl::desc("With --checkpoint-every N > 1: the first checkpointed "
                   "path (0..N-1)"),
    llvm::cl::init(0));
llvm::cl::opt<bool> keepSegment(
    "keep-segment",
    llvm::cl::desc("With --checkpoint-every N > 1: keep the path inputs "
                   "rebuilt for a segment (default; =false rebuilds each from "
                   "its checkpoint)"),
    llvm::cl::init(true));
llvm::cl::opt<int64_t> extraCheckpoints(
    "extra-checkpoints",
    llvm::cl::desc("With --checkpoint-every N > 1: also keep this many more "
                   "path inputs"),
    llvm::cl::init(0));
llvm::cl::opt<int64_t> keepRegions(
    "keep-regions",
    llvm::cl::desc("With --checkpoint-every 1: recompute nothing in this many "
                   "paths, the last ones (their activations are kept)"),
    llvm::cl::init(0));
llvm::cl::opt<bool> rebuildPrologue(
    "rebuild-prologue",
    llvm::cl::desc("With --checkpoint-every: recompute the encoder in "
                   "the backward pass instead of keeping its activations"),
    llvm::cl::init(false));
llvm::cl::opt<bool> keepExpensive(
    "keep-expensive",
    llvm::cl::desc("With --checkpoint-every: keep linear, convolution and "
                   "attention results; recompute only cheap ops"),
    llvm::cl::init(false));
llvm::cl::opt<bool> keepNarrow(
    "keep-narrow",
    llvm::cl::desc("With --checkpoint-every: keep the linear, convolution "
                   "and attention results at most twice the size of their "
                   "path's input (attention outputs, projections back to "
                   "the embedding); recompute the wider ones and cheap ops"),
    llvm::cl::init(false));
llvm::cl::opt<bool> bf16Checkpoints(
    "bf16-checkpoints",
    llvm::cl::desc("With --checkpoint-every: store the f32 checkpoints (the "
                   "residual stream between paths) in bf16; lossy. Under "
                   "bf16 AMP the --memory-budget search may choose it when "
                   "no exact plan of about the same recomputation fits; "
                   "=false forbids it"),
    llvm::cl::init(false));
llvm::cl::opt<int64_t> microBatch(
    "micro-batch",
    llvm::cl::desc("Samples per micro-step; must divide training.batch_size "
                   "(instead of the budget search)"),
    llvm::cl::init(0));
llvm::cl::opt<bool> summary("summary",
                            llvm::cl::desc("Print the model summary (the "
                                           "default when nothing is emitted)"));
llvm::cl::opt<bool> listConfigKeys(
    "list-config-keys",
    llvm::cl::desc("Print every config key (type, default, domain, reader, "
                   "manifest entry) as a Markdown table and exit"));
llvm::cl::opt<bool> verbose("verbose",
                            llvm::cl::desc("Report config keys that only the "
                                           "PyTorch trainer reads"));

/// lococ's options by what a user does with them, in --help's order; LLVM's
/// and MLIR's own (code generation for other targets, context and printer
/// switches) are hidden, and listed by --help-hidden as MLIR tools do.
void categorizeOptions() {
  static llvm::cl::OptionCategory input("Input (the config and what to build)");
  static llvm::cl::OptionCategory output("Output and inspection");
  static llvm::cl::OptionCategory memory("Memory budget (fitting the step)");
  static llvm::cl::OptionCategory targetCategory("Target");
  static llvm::cl::OptionCategory precision("Precision");
  auto place = [](llvm::cl::OptionCategory &category, auto &...options) {
    (options.addCategory(category), ...);
  };
  place(input, configFile, overrides, mode, batchSegments, verbose);
  place(output, outputFile, emit, summary, memoryReport, memoryReportJsonFile,
        traceFile, listConfigKeys);
  place(memory, memoryBudget, microBatch, rowChunks, checkpointEvery,
        checkpointPhase, keepSegment, extraCheckpoints, keepRegions,
        rebuildPrologue, keepExpensive, keepNarrow);
  place(targetCategory, target, fuseAttention, fuseElementwise);
  place(precision, bf16Checkpoints);
  // The pass pipeline's own switches that are a user's business here.
  llvm::StringMap<llvm::cl::Option *> &registered =
      llvm::cl::getRegisteredOptions();
  for (const char *name :
       {"mlir-print-ir-after-all", "mlir-print-ir-before-all",
        "mlir-print-ir-after-failure", "mlir-print-debuginfo", "mlir-timing"})
    if (llvm::cl::Option *option = registered.lookup(name))
      option->addCategory(output);
  // Hidden, not removed (llvm::cl::HideUnrelatedOptions would make them
  // ReallyHidden): --help-hidden still lists them.
  // LLVM's --help and --version stay ("Generic Options", a category that
  // LLVM does not export).
  llvm::SmallPtrSet<llvm::cl::OptionCategory *, 8> ours = {
      &input, &output, &memory, &targetCategory, &precision};
  for (auto &entry : registered) {
    llvm::cl::Option *option = entry.getValue();
    if (llvm::none_of(option->Categories,
                      [&](llvm::cl::OptionCategory *c) {
                        return ours.contains(c) ||
                               c->getName() == "Generic Options";
                      }) &&
        option->getOptionHiddenFlag() == llvm::cl::NotHidden)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

/// The flags as the compile flow's options (compile() checks them, after
/// the config, as lococ always has).
CompileOptions compileOptions() {
  CompileOptions o;
  o.configFile = configFile;
  o.overrides.assign(overrides.begin(), overrides.end());
  o.verbose = verbose;
  o.mode = mode;
  o.emit = emit;
  o.outputFile = outputFile;
  o.target = target;
  o.fuseAttention = fuseAttention;
  o.fuseElementwise = fuseElementwise;
  o.summary = summary;
  o.memoryReport = memoryReport;
  o.memoryReportJson = memoryReportJsonFile;
  o.trace = traceFile;
  o.memoryBudget = memoryBudget;
  auto given = [](llvm::cl::opt<int64_t> &flag) -> std::optional<int64_t> {
    if (!flag.getNumOccurrences())
      return std::nullopt;
    return int64_t(flag);
  };
  o.batchSegments = given(batchSegments);
  o.rowChunks = given(rowChunks);
  o.checkpointEvery = given(checkpointEvery);
  o.checkpointPhase = given(checkpointPhase);
  o.extraCheckpoints = given(extraCheckpoints);
  o.keepRegions = given(keepRegions);
  o.microBatch = given(microBatch);
  o.keepSegment = keepSegment;
  o.rebuildPrologue = rebuildPrologue;
  o.keepExpensive = keepExpensive;
  o.keepNarrow = keepNarrow;
  if (bf16Checkpoints.getNumOccurrences())
    o.bf16Checkpoints = bf16Checkpoints;
  return o;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  categorizeOptions();
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "lococ: compile a TF-Locoformer training config\n\n"
      "  lococ CONFIG [--set key.path=value]... -o train.so\n"
      "  lococ CONFIG --mode separate [--batch-segments N] -o separate.so\n"
      "  lococ CONFIG [--set key.path=value]... "
      "--emit=loco|fused|grad|runtime|llvm "
      "[-o FILE]\n"
      "  lococ --list-config-keys\n");
  if (listConfigKeys) {
    printConfigKeyTable(llvm::outs());
    return 0;
  }
  if (configFile.empty()) {
    llvm::errs() << "lococ: no config given; usage: lococ CONFIG [options] "
                    "(lococ --help lists them)\n";
    return 1;
  }
  CompileOptions options = compileOptions();
  DialectRegistry registry;
  registerLocoDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  return failed(compile(context, options));
}
