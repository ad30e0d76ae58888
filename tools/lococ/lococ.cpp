//===- lococ.cpp - The lococ compiler driver ------------------------------===//
//
// This file implements lococ: it reads an upstream TF-Locoformer YAML config
// (with `--set` overrides), validates it, builds the training step in the
// loco dialect, and prints the IR (`--emit=loco`) and a model summary.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoDialect.h"
#include "frontend/BuildTrainStep.h"
#include "frontend/ConfigDocument.h"
#include "frontend/ModelSpec.h"
#include "frontend/ModelSummary.h"
#include "passes/Passes.h"
#include "passes/analysis/MemoryReport.h"
#include "passes/conversion/EmitSharedObject.h"
#include "runtime/Backend.h"
#include "runtime/abi/Workspace.h"
#include "frontend/compile/FitBudget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cmath>
#include <tuple>

using namespace mlir;
using namespace mlir::loco;

namespace {
/// Errors of the tool itself (not of a config key): "lococ: error: ...".
llvm::raw_ostream &toolError() {
  return llvm::WithColor::error(llvm::errs(), "lococ");
}

enum class EmitStage { None, Loco, Fused, Grad, Runtime, Llvm };
enum class Mode { Train, Separate };

llvm::cl::opt<std::string> configFile(llvm::cl::Positional,
                                      llvm::cl::desc("<config.yaml>"),
                                      llvm::cl::Required);
llvm::cl::list<std::string>
    overrides("set", llvm::cl::desc("Override a config value: key.path=value"),
              llvm::cl::value_desc("key.path=value"));
llvm::cl::opt<Mode> mode(
    "mode", llvm::cl::desc("What the artifact runs"),
    llvm::cl::init(Mode::Train),
    llvm::cl::values(
        clEnumValN(Mode::Train, "train",
                   "the training step, its forward form and the optimizer "
                   "(train.so)"),
        clEnumValN(Mode::Separate, "separate",
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
        clEnumValN(EmitStage::Loco, "loco", "the loco IR built by the frontend"),
        clEnumValN(EmitStage::Fused, "fused",
                   "after the fusion pipeline (flash attention)"),
        clEnumValN(EmitStage::Grad, "grad",
                   "after autodiff: @eval_step and @train_step with gradients"),
        clEnumValN(EmitStage::Runtime, "runtime",
                   "runtime calls on one arena (LLVM dialect)"),
        clEnumValN(EmitStage::Llvm, "llvm", "LLVM IR")));
llvm::cl::opt<std::string> outputFile(
    "o", llvm::cl::desc("Output file (train.so, or the IR with --emit)"),
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
llvm::cl::opt<bool> memoryReport(
    "memory-report", llvm::cl::desc("Print the arena plan: size, lower bound, "
                                    "breakdown, largest buffers"));
llvm::cl::opt<std::string> memoryReportJsonFile(
    "memory-report-json", llvm::cl::desc("Write the memory report as JSON"),
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
llvm::cl::opt<bool> verbose("verbose",
                            llvm::cl::desc("Report config keys that only the "
                                           "PyTorch trainer reads"));

/// cpu or cuda for --target; auto is cuda when this build has the CUDA
/// backend and it sees a device, else cpu. Empty for an unknown target.
std::string resolveTarget(const std::string &name) {
  if (name == "cpu" || name == "cuda")
    return name;
  if (name != "auto")
    return "";
#ifdef LOCO_HAVE_CUDA
  std::string error;
  if (auto backend = ::loco::Backend::open("cuda", /*global=*/false, error))
    if (backend->loco_device_count() > 0)
      return "cuda";
#endif
  return "cpu";
}

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
        traceFile);
  place(memory, memoryBudget, microBatch, rowChunks, checkpointEvery,
        checkpointPhase, keepSegment, extraCheckpoints, rebuildPrologue,
        keepExpensive, keepNarrow);
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
      "  lococ CONFIG [--set key.path=value]... --emit=loco|fused|grad|runtime|llvm "
      "[-o FILE]\n");

  DialectRegistry registry;
  registerLocoDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  ConfigDocument doc(&context, configFile);
  if (failed(doc.load()))
    return 1;
  for (auto [index, assignment] : llvm::enumerate(overrides))
    if (failed(doc.applyOverride(assignment, index + 1)))
      return 1;
  if (failed(doc.checkKeys(verbose)))
    return 1;
  std::optional<ModelSpec> spec = parseModelSpec(doc);
  if (!spec)
    return 1;

  // Without --emit and -o there is nothing to write: print the summary.
  bool writeSo = emit == EmitStage::None && outputFile != "-";
  bool toStdout = emit != EmitStage::None && outputFile == "-";
  bool reportOnly = memoryReport || !memoryReportJsonFile.empty() ||
                    !traceFile.empty() || !memoryBudget.empty();
  if (summary || (emit == EmitStage::None && !writeSo && !reportOnly))
    printModelSummary(*spec, toStdout ? llvm::errs() : llvm::outs());
  if (emit == EmitStage::None && !writeSo && !reportOnly)
    return 0;

  bool wantsPlan = memoryReport || !memoryReportJsonFile.empty() ||
                   !traceFile.empty() || !memoryBudget.empty();
  bool planned = emit == EmitStage::None || emit == EmitStage::Runtime ||
                 emit == EmitStage::Llvm;
  if (wantsPlan && !planned) {
    toolError() << "the memory report and budget need the arena plan; drop "
                   "--emit=loco/fused/grad\n";
    return 1;
  }
  std::optional<int64_t> budget;
  if (!memoryBudget.empty()) {
    FailureOr<int64_t> parsed = parseByteSize(memoryBudget);
    if (failed(parsed)) {
      toolError()
          << "--memory-budget expects a size such as 24GiB, 512MiB, 8GB or "
             "a byte count (at most 4 EiB), got '"
          << memoryBudget << "'" << "\n";
      return 1;
    }
    budget = *parsed;
  }

  // The memory-for-compute choices: given on the command line, searched
  // against the budget, or none.
  std::string resolvedTarget = resolveTarget(target);
  if (resolvedTarget.empty()) {
    toolError() << "unknown --target '" << target
                << "'; the targets are cpu, cuda and auto\n";
    return 1;
  }
  // On a device the arena shares the budget with the backend's fixed
  // workspace (library work areas, reduction partials).
  int64_t deviceFixed = ::loco::workspace::fixedDeviceBytes(resolvedTarget);
  if (budget && deviceFixed) {
    if (*budget <= deviceFixed) {
      toolError() << "a memory budget of " << formatBytes(*budget)
                  << " leaves no room for an arena beside the cuda backend's "
                     "fixed workspace of "
                  << formatBytes(deviceFixed) << "\n";
      return 1;
    }
    *budget -= deviceFixed;
  }
  // The choices by hand: counts given on the command line must be in range
  // (a negative one used to be ignored silently).
  for (auto [name, option, low] :
       {std::tuple{"--row-chunks", &rowChunks, int64_t(1)},
        std::tuple{"--checkpoint-every", &checkpointEvery, int64_t(0)},
        std::tuple{"--checkpoint-phase", &checkpointPhase, int64_t(0)},
        std::tuple{"--extra-checkpoints", &extraCheckpoints, int64_t(0)},
        std::tuple{"--micro-batch", &microBatch, int64_t(1)}})
    if (option->getNumOccurrences() && (*option < low || *option > (1 << 20))) {
      toolError() << name << " must be between " << low << " and "
                  << (1 << 20) << ", got " << *option << "\n";
      return 1;
    }
  // training.use_amp makes the step mixed precision (loco-autocast);
  // `--set training.use_amp=false` compiles it in f32.
  LocoPipelineOptions options{
      resolvedTarget, fuseAttention,
      spec->useAmp ? (spec->ampDtype == "float16" ? "f16" : "bf16") : ""};
  options.fuseElementwise = fuseElementwise;
  if (batchSegments.getNumOccurrences() &&
      (mode != Mode::Separate || batchSegments < 1 || batchSegments > (1 << 20))) {
    toolError() << "--batch-segments applies to --mode separate and must be "
                   "between 1 and "
                << (1 << 20) << ", got " << batchSegments << "\n";
    return 1;
  }
  OwningOpRef<ModuleOp> module;
  std::optional<MemoryReport::Inference> inferencePlan;
  if (mode == Mode::Separate) {
    if (checkpointEvery >= 0 || microBatch > 0 || extraCheckpoints > 0 ||
        rebuildPrologue || keepExpensive || keepNarrow || bf16Checkpoints) {
      toolError() << "--checkpoint-every, --extra-checkpoints, "
                     "--rebuild-prologue, --keep-expensive, --keep-narrow, "
                     "--bf16-checkpoints and --micro-batch "
                     "choose recomputation and micro-batches of training; "
                     "--mode separate recomputes nothing (use --row-chunks, "
                     "--batch-segments or --memory-budget)\n";
      return 1;
    }
    if (emit == EmitStage::Grad) {
      toolError() << "--emit=grad: --mode separate has no gradients; use "
                     "--emit=loco, fused, runtime or llvm\n";
      return 1;
    }
    int64_t segments = batchSegments > 0 ? batchSegments : spec->batchSize;
    int64_t chunks = std::max<int64_t>(1, rowChunks);
    if (budget && rowChunks == 0) {
      int64_t smallest = 0;
      FailureOr<int64_t> fit = fitSeparateBudget(*spec, segments, *budget,
                                                 options, &context, smallest);
      if (failed(fit)) {
        if (smallest == std::numeric_limits<int64_t>::max())
          return 1; // A compile failed; its diagnostics say why.
        toolError() << "the separation step (" << segments
                    << " segment(s) per step) does not fit a memory budget of "
                    << formatBytes(*budget + deviceFixed) << " ("
                    << *budget + deviceFixed
                    << " bytes): the smallest feasible budget found is "
                    << formatBytes(smallest + deviceFixed) << " ("
                    << smallest + deviceFixed
                    << " bytes), with 64 row chunks; fewer --batch-segments "
                       "need less\n";
        return 1;
      }
      chunks = *fit;
    }
    if (planned) {
      FailureOr<OwningOpRef<ModuleOp>> plannedModule = planSeparateStep(
          *spec, segments, chunks, options, &context, true);
      if (failed(plannedModule))
        return 1;
      module = std::move(*plannedModule);
    } else {
      ModelSpec inference = *spec;
      inference.batchSize = segments;
      module = buildSeparateStep(inference, &context);
      if (failed(verify(*module)))
        return 1;
      if (emit == EmitStage::Fused) {
        PassManager pm(&context);
        options.remat.rowChunks = chunks;
        buildLocoSeparatePipeline(pm, options);
        if (failed(applyPassManagerCLOptions(pm)) || failed(pm.run(*module)))
          return 1;
      }
    }
  } else {
  bool manual = rowChunks > 0 || checkpointEvery >= 0 || microBatch > 0;
  StepChoice choice;
  choice.microBatch = microBatch > 0 ? microBatch : spec->batchSize;
  choice.remat.rowChunks = std::max<int64_t>(1, rowChunks);
  choice.remat.checkpointEvery = std::max<int64_t>(0, checkpointEvery);
  choice.remat.checkpointPhase = checkpointPhase;
  choice.remat.keepSegment = keepSegment;
  choice.remat.extraCheckpoints = extraCheckpoints;
  choice.remat.rebuildPrologue = rebuildPrologue;
  choice.remat.keepExpensive = keepExpensive;
  choice.remat.keepNarrow = keepNarrow;
  choice.remat.bf16Checkpoints = bf16Checkpoints;
  if (bf16Checkpoints && (manual || !budget) &&
      choice.remat.checkpointEvery == 0) {
    toolError() << "--bf16-checkpoints stores the checkpoints of "
                   "recomputation: it needs --checkpoint-every N >= 1 (or "
                   "--memory-budget)\n";
    return 1;
  }
  if (spec->batchSize % choice.microBatch != 0) {
    toolError() << "--micro-batch " << microBatch
                << " does not divide training.batch_size ("
                << spec->batchSize << ")\n";
    return 1;
  }
  if (budget && !manual) {
    int64_t smallest = 0;
    // bf16 checkpoints round the residual stream as the bf16 policy rounds
    // every contraction's input; in an f32 step only when asked for.
    bool allowBf16Checkpoints = bf16Checkpoints.getNumOccurrences()
                                    ? bool(bf16Checkpoints)
                                    : options.amp == "bf16";
    FailureOr<StepChoice> fit = fitBudget(*spec, *budget, options, &context,
                                          smallest, allowBf16Checkpoints);
    if (failed(fit)) {
      if (smallest == std::numeric_limits<int64_t>::max())
        return 1; // A compile failed; its diagnostics say why.
      toolError() << "the training step does not fit a memory budget of "
                  << formatBytes(*budget + deviceFixed) << " ("
                  << *budget + deviceFixed
                  << " bytes): the smallest feasible budget found is "
                  << formatBytes(smallest + deviceFixed) << " ("
                  << smallest + deviceFixed
                  << " bytes), with micro-batch 1, row chunking and "
                     "recomputation; see --memory-report at that budget\n";
      return 1;
    }
    choice = *fit;
  }

  if (planned) {
    FailureOr<OwningOpRef<ModuleOp>> plannedModule = planStep(
        *spec, choice, options, &context, true, /*withSeparation=*/true);
    if (failed(plannedModule))
      return 1;
    module = std::move(*plannedModule);
    // The report shows the inference plan beside the training one.
    if (memoryReport || !memoryReportJsonFile.empty()) {
      FailureOr<OwningOpRef<ModuleOp>> inference = planSeparateStep(
          *spec, choice.microBatch, 1, options, &context, false);
      if (failed(inference))
        return 1;
      inferencePlan = MemoryReport::Inference{plannedArenaBytes(**inference),
                                              choice.microBatch};
    }
  } else {
    module = buildTrainStep(microStepSpec(*spec, choice), &context);
    if (failed(verify(*module)))
      return 1;
    options.remat = choice.remat;
  }
  if (!planned && emit != EmitStage::Loco) {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return 1;
    if (emit == EmitStage::Fused)
      buildLocoFusionPipeline(pm, options);
    else
      buildLocoGradPipeline(pm, options);
    if (failed(pm.run(*module)))
      return 1;
  }
  }

  if (planned) {
    FailureOr<MemoryReport> report = buildMemoryReport(*module);
    if (failed(report))
      return 1;
    report->target = resolvedTarget;
    report->deviceFixedBytes = deviceFixed;
    report->inference = inferencePlan;
    if (memoryReport)
      printMemoryReport(*report, toStdout ? llvm::errs() : llvm::outs());
    std::string error;
    for (auto [path, json] :
         {std::pair{std::string(memoryReportJsonFile), memoryReportJson(*report)},
          std::pair{std::string(traceFile),
                    traceFile.empty() ? llvm::json::Value(nullptr)
                                      : memoryTraceJson(*module)}}) {
      if (path.empty())
        continue;
      auto file = openOutputFile(path, &error);
      if (!file) {
        toolError() << error << "\n";
        return 1;
      }
      file->os() << llvm::formatv("{0:2}", json) << "\n";
      file->keep();
    }
    if (budget && report->arenaBytes > *budget) {
      auto [name, bytes] = report->dominant();
      toolError()
          << (mode == Mode::Separate ? "the separation step" : "the training step")
          << " needs an arena of "
          << formatBytes(report->arenaBytes) << " (" << report->arenaBytes
          << " bytes), over the budget of " << formatBytes(*budget)
          << (deviceFixed ? " left beside the fixed device workspace" : "")
          << "; the largest part is " << name << " (" << formatBytes(bytes)
          << ", "
          << static_cast<int64_t>(std::lround(100.0 * bytes / report->arenaBytes))
          << "%); see --memory-report\n";
      return 1;
    }
    if (emit == EmitStage::None && !writeSo)
      return 0;
    PassManager lower(&context);
    lower.addPass(createLocoLowerToRuntimePass(
        LocoLowerToRuntimePassOptions{options.target}));
    if (failed(lower.run(*module)))
      return 1;
  }

  std::string error;
  if (emit == EmitStage::Loco || emit == EmitStage::Fused ||
      emit == EmitStage::Grad || emit == EmitStage::Runtime) {
    auto output = openOutputFile(outputFile, &error);
    if (!output) {
      toolError() << error << "\n";
      return 1;
    }
    module->print(output->os());
    output->os() << "\n";
    output->keep();
    return 0;
  }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToLLVMIR(*module, llvmContext);
  if (!llvmModule)
    return 1;
  if (emit == EmitStage::Llvm) {
    auto output = openOutputFile(outputFile, &error);
    if (!output) {
      toolError() << error << "\n";
      return 1;
    }
    llvmModule->print(output->os(), nullptr);
    output->keep();
    return 0;
  }
  return failed(emitSharedObject(*llvmModule, module->getLoc(), outputFile));
}
