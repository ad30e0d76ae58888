//===- Compile.cpp - A config to train.so, as one call --------------------===//
//
// This file implements the compile flow of Compile.h, step by step: the
// spec, the budget, the module (training or separation), the plan's report
// and checks, and the output.
//
//===----------------------------------------------------------------------===//

#include "frontend/compile/Compile.h"

#include "frontend/BuildTrainStep.h"
#include "frontend/ModelSummary.h"
#include "frontend/ReadModelSpec.h"
#include "frontend/compile/FitBudget.h"
#include "passes/Passes.h"
#include "passes/analysis/MemoryReport.h"
#include "passes/conversion/EmitSharedObject.h"
#include "runtime/Backend.h"
#include "runtime/abi/Workspace.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <cmath>
#include <limits>
#include <tuple>

using namespace mlir;
using namespace mlir::loco;

namespace {

/// One compile: what each step leaves for the next.
class Compilation {
public:
  Compilation(MLIRContext &context, const CompileOptions &o,
              llvm::raw_ostream &errs, llvm::raw_ostream &outs)
      : context(context), o(o), errs(errs), outs(outs) {}
  LogicalResult run();

private:
  /// Errors of the tool itself (not of a config key): "lococ: error: ...".
  llvm::raw_ostream &toolError() {
    return llvm::WithColor::error(errs, "lococ");
  }
  /// Where reports go: stdout, unless the IR goes there.
  llvm::raw_ostream &reportStream() {
    return o.emit != EmitStage::None && o.outputFile == "-" ? errs : outs;
  }
  bool planned() const {
    return o.emit == EmitStage::None || o.emit == EmitStage::Runtime ||
           o.emit == EmitStage::Llvm;
  }
  bool wantsPlan() const {
    return o.memoryReport || !o.memoryReportJson.empty() || !o.trace.empty() ||
           !o.memoryBudget.empty();
  }

  LogicalResult loadSpec();
  /// --memory-budget and --target; then (after setBudget) the counts, and
  /// (after the pipeline options) --batch-segments: lococ's order.
  LogicalResult checkOptions();
  LogicalResult checkCounts();
  LogicalResult checkBatchSegments();
  LogicalResult setBudget();
  LogicalResult buildSeparate();
  LogicalResult fitSeparate(int64_t segments, int64_t &chunks);
  LogicalResult buildTrain();
  LogicalResult chooseTrain(StepChoice &choice);
  LogicalResult runUnplannedPipeline();
  /// The memory report, its files, and the budget check.
  LogicalResult reportPlan();
  LogicalResult writeOutput();

  MLIRContext &context;
  const CompileOptions &o;
  llvm::raw_ostream &errs, &outs;
  std::optional<ModelSpec> spec;
  std::optional<int64_t> budget; ///< for the arena, the fixed part taken off
  std::string target;            ///< cpu or cuda
  int64_t rowChunks = 0, checkpointEvery = -1, checkpointPhase = 0;
  int64_t extraCheckpoints = 0, keepRegions = 0, microBatch = 0,
          batchSegments = 0;
  int64_t deviceFixed = 0;
  LocoPipelineOptions options;
  OwningOpRef<ModuleOp> module;
  std::optional<MemoryReport::Inference> inferencePlan;
};

LogicalResult Compilation::loadSpec() {
  spec = loadModelSpec(&context, o.configFile, o.overrides, o.verbose);
  return success(spec.has_value());
}

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

LogicalResult Compilation::checkOptions() {
  if (!o.memoryBudget.empty()) {
    FailureOr<int64_t> parsed = parseByteSize(o.memoryBudget);
    if (failed(parsed)) {
      toolError()
          << "--memory-budget expects a size such as 24GiB, 512MiB, 8GB or "
             "a byte count (at most 4 EiB), got '"
          << o.memoryBudget << "'" << "\n";
      return failure();
    }
    budget = *parsed;
  }
  target = resolveTarget(o.target);
  if (target.empty()) {
    toolError() << "unknown --target '" << o.target
                << "'; the targets are cpu, cuda and auto\n";
    return failure();
  }
  return success();
}

LogicalResult Compilation::checkCounts() {
  // Counts given must be in range (a negative one used to be ignored
  // silently).
  for (auto [name, given, low, value] :
       {std::tuple{"--row-chunks", o.rowChunks, int64_t(1), &rowChunks},
        std::tuple{"--checkpoint-every", o.checkpointEvery, int64_t(0),
                   &checkpointEvery},
        std::tuple{"--checkpoint-phase", o.checkpointPhase, int64_t(0),
                   &checkpointPhase},
        std::tuple{"--extra-checkpoints", o.extraCheckpoints, int64_t(0),
                   &extraCheckpoints},
        std::tuple{"--keep-regions", o.keepRegions, int64_t(0), &keepRegions},
        std::tuple{"--micro-batch", o.microBatch, int64_t(1), &microBatch}}) {
    if (!given)
      continue;
    if (*given < low || *given > (1 << 20)) {
      toolError() << name << " must be between " << low << " and " << (1 << 20)
                  << ", got " << *given << "\n";
      return failure();
    }
    *value = *given;
  }
  return success();
}

LogicalResult Compilation::checkBatchSegments() {
  if (!o.batchSegments)
    return success();
  if (o.mode != CompileMode::Separate || *o.batchSegments < 1 ||
      *o.batchSegments > (1 << 20)) {
    toolError() << "--batch-segments applies to --mode separate and must be "
                   "between 1 and "
                << (1 << 20) << ", got " << *o.batchSegments << "\n";
    return failure();
  }
  batchSegments = *o.batchSegments;
  return success();
}

LogicalResult Compilation::setBudget() {
  // On a device the arena shares the budget with the backend's fixed
  // workspace (library work areas, reduction partials).
  deviceFixed = ::loco::workspace::fixedDeviceBytes(target);
  if (budget && deviceFixed) {
    if (*budget <= deviceFixed) {
      toolError() << "a memory budget of " << formatBytes(*budget)
                  << " leaves no room for an arena beside the cuda backend's "
                     "fixed workspace of "
                  << formatBytes(deviceFixed) << "\n";
      return failure();
    }
    *budget -= deviceFixed;
  }
  return success();
}

LogicalResult Compilation::fitSeparate(int64_t segments, int64_t &chunks) {
  int64_t smallest = 0;
  FailureOr<int64_t> fit =
      fitSeparateBudget(*spec, segments, *budget, options, &context, smallest);
  if (succeeded(fit)) {
    chunks = *fit;
    return success();
  }
  if (smallest == std::numeric_limits<int64_t>::max())
    return failure(); // A compile failed; its diagnostics say why.
  toolError() << "the separation step (" << segments
              << " segment(s) per step) does not fit a memory budget of "
              << formatBytes(*budget + deviceFixed) << " ("
              << *budget + deviceFixed
              << " bytes): the smallest feasible budget found is "
              << formatBytes(smallest + deviceFixed) << " ("
              << smallest + deviceFixed
              << " bytes), with 64 row chunks; fewer --batch-segments "
                 "need less\n";
  return failure();
}

LogicalResult Compilation::buildSeparate() {
  if (checkpointEvery >= 0 || microBatch > 0 || extraCheckpoints > 0 ||
      keepRegions > 0 || o.rebuildPrologue || o.keepExpensive || o.keepNarrow ||
      o.bf16Checkpoints.value_or(false)) {
    toolError() << "--checkpoint-every, --extra-checkpoints, --keep-regions, "
                   "--rebuild-prologue, --keep-expensive, --keep-narrow, "
                   "--bf16-checkpoints and --micro-batch "
                   "choose recomputation and micro-batches of training; "
                   "--mode separate recomputes nothing (use --row-chunks, "
                   "--batch-segments or --memory-budget)\n";
    return failure();
  }
  if (o.emit == EmitStage::Grad) {
    toolError() << "--emit=grad: --mode separate has no gradients; use "
                   "--emit=loco, fused, runtime or llvm\n";
    return failure();
  }
  int64_t segments = batchSegments > 0 ? batchSegments : spec->batchSize;
  int64_t chunks = std::max<int64_t>(1, rowChunks);
  if (budget && rowChunks == 0 && failed(fitSeparate(segments, chunks)))
    return failure();
  if (planned()) {
    FailureOr<OwningOpRef<ModuleOp>> plannedModule =
        planSeparateStep(*spec, segments, chunks, options, &context, true);
    if (failed(plannedModule))
      return failure();
    module = std::move(*plannedModule);
    return success();
  }
  ModelSpec inference = *spec;
  inference.batchSize = segments;
  module = buildSeparateStep(inference, &context);
  if (failed(verify(*module)))
    return failure();
  if (o.emit != EmitStage::Fused)
    return success();
  PassManager pm(&context);
  options.remat.rowChunks = chunks;
  buildLocoSeparatePipeline(pm, options);
  return success(succeeded(applyPassManagerCLOptions(pm)) &&
                 succeeded(pm.run(*module)));
}

LogicalResult Compilation::chooseTrain(StepChoice &choice) {
  bool manual = rowChunks > 0 || checkpointEvery >= 0 || microBatch > 0;
  choice.microBatch = microBatch > 0 ? microBatch : spec->batchSize;
  choice.remat.rowChunks = std::max<int64_t>(1, rowChunks);
  choice.remat.checkpointEvery = std::max<int64_t>(0, checkpointEvery);
  choice.remat.checkpointPhase = checkpointPhase;
  choice.remat.keepSegment = o.keepSegment;
  choice.remat.extraCheckpoints = extraCheckpoints;
  choice.remat.keptRegions = keepRegions;
  choice.remat.rebuildPrologue = o.rebuildPrologue;
  choice.remat.keepExpensive = o.keepExpensive;
  choice.remat.keepNarrow = o.keepNarrow;
  choice.remat.bf16Checkpoints = o.bf16Checkpoints.value_or(false);
  if (choice.remat.bf16Checkpoints && (manual || !budget) &&
      choice.remat.checkpointEvery == 0) {
    toolError() << "--bf16-checkpoints stores the checkpoints of "
                   "recomputation: it needs --checkpoint-every N >= 1 (or "
                   "--memory-budget)\n";
    return failure();
  }
  if (spec->batchSize % choice.microBatch != 0) {
    toolError() << "--micro-batch " << microBatch
                << " does not divide training.batch_size (" << spec->batchSize
                << ")\n";
    return failure();
  }
  if (!budget || manual)
    return success();
  int64_t smallest = 0;
  // bf16 checkpoints round the residual stream as the bf16 policy rounds
  // every contraction's input; in an f32 step only when asked for.
  bool allowBf16Checkpoints = o.bf16Checkpoints.value_or(options.amp == "bf16");
  FailureOr<StepChoice> fit = fitBudget(*spec, *budget, options, &context,
                                        smallest, allowBf16Checkpoints);
  if (succeeded(fit)) {
    choice = *fit;
    return success();
  }
  if (smallest == std::numeric_limits<int64_t>::max())
    return failure(); // A compile failed; its diagnostics say why.
  toolError() << "the training step does not fit a memory budget of "
              << formatBytes(*budget + deviceFixed) << " ("
              << *budget + deviceFixed
              << " bytes): the smallest feasible budget found is "
              << formatBytes(smallest + deviceFixed) << " ("
              << smallest + deviceFixed
              << " bytes), with micro-batch 1, row chunking and "
                 "recomputation; see --memory-report at that budget\n";
  return failure();
}

LogicalResult Compilation::buildTrain() {
  StepChoice choice;
  if (failed(chooseTrain(choice)))
    return failure();
  if (!planned()) {
    module = buildTrainStep(microStepSpec(*spec, choice), &context);
    if (failed(verify(*module)))
      return failure();
    options.remat = choice.remat;
    return runUnplannedPipeline();
  }
  FailureOr<OwningOpRef<ModuleOp>> plannedModule =
      planStep(*spec, choice, options, &context, true, /*withSeparation=*/true);
  if (failed(plannedModule))
    return failure();
  module = std::move(*plannedModule);
  // The report shows the inference plan beside the training one.
  if (o.memoryReport || !o.memoryReportJson.empty()) {
    FailureOr<OwningOpRef<ModuleOp>> inference =
        planSeparateStep(*spec, choice.microBatch, 1, options, &context, false);
    if (failed(inference))
      return failure();
    inferencePlan = MemoryReport::Inference{plannedArenaBytes(**inference),
                                            choice.microBatch};
  }
  return success();
}

LogicalResult Compilation::runUnplannedPipeline() {
  if (o.emit == EmitStage::Loco)
    return success();
  PassManager pm(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  if (o.emit == EmitStage::Fused)
    buildLocoFusionPipeline(pm, options);
  else
    buildLocoGradPipeline(pm, options);
  return pm.run(*module);
}

LogicalResult Compilation::reportPlan() {
  FailureOr<MemoryReport> report = buildMemoryReport(*module);
  if (failed(report))
    return failure();
  report->target = target;
  report->deviceFixedBytes = deviceFixed;
  report->inference = inferencePlan;
  if (o.memoryReport)
    printMemoryReport(*report, reportStream());
  std::string error;
  for (auto [path, json] :
       {std::pair{o.memoryReportJson, memoryReportJson(*report)},
        std::pair{o.trace, o.trace.empty() ? llvm::json::Value(nullptr)
                                           : memoryTraceJson(*module)}}) {
    if (path.empty())
      continue;
    auto file = openOutputFile(path, &error);
    if (!file) {
      toolError() << error << "\n";
      return failure();
    }
    file->os() << llvm::formatv("{0:2}", json) << "\n";
    file->keep();
  }
  if (!budget || report->arenaBytes <= *budget)
    return success();
  auto [name, bytes] = report->dominant();
  toolError() << (o.mode == CompileMode::Separate ? "the separation step"
                                                  : "the training step")
              << " needs an arena of " << formatBytes(report->arenaBytes)
              << " (" << report->arenaBytes << " bytes), over the budget of "
              << formatBytes(*budget)
              << (deviceFixed ? " left beside the fixed device workspace" : "")
              << "; the largest part is " << name << " (" << formatBytes(bytes)
              << ", "
              << static_cast<int64_t>(
                     std::lround(100.0 * bytes / report->arenaBytes))
              << "%); see --memory-report\n";
  return failure();
}

LogicalResult Compilation::writeOutput() {
  std::string error;
  auto print = [&](auto write) -> LogicalResult {
    auto output = openOutputFile(o.outputFile, &error);
    if (!output) {
      toolError() << error << "\n";
      return failure();
    }
    write(output->os());
    output->keep();
    return success();
  };
  if (o.emit == EmitStage::Loco || o.emit == EmitStage::Fused ||
      o.emit == EmitStage::Grad || o.emit == EmitStage::Runtime)
    return print([&](llvm::raw_ostream &os) {
      module->print(os);
      os << "\n";
    });
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToLLVMIR(*module, llvmContext);
  if (!llvmModule)
    return failure();
  if (o.emit == EmitStage::Llvm)
    return print(
        [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });
  return emitSharedObject(*llvmModule, module->getLoc(), o.outputFile);
}

LogicalResult Compilation::run() {
  if (failed(loadSpec()))
    return failure();
  // Without --emit and -o there is nothing to write: print the summary.
  bool writeSo = o.emit == EmitStage::None && o.outputFile != "-";
  bool nothingElse = o.emit == EmitStage::None && !writeSo && !wantsPlan();
  if (o.summary || nothingElse)
    printModelSummary(*spec, reportStream());
  if (nothingElse)
    return success();
  if (wantsPlan() && !planned()) {
    toolError() << "the memory report and budget need the arena plan; drop "
                   "--emit=loco/fused/grad\n";
    return failure();
  }
  if (failed(checkOptions()) || failed(setBudget()) || failed(checkCounts()))
    return failure();
  // training.use_amp makes the step mixed precision (loco-autocast);
  // `--set training.use_amp=false` compiles it in f32.
  options = LocoPipelineOptions{target, o.fuseAttention, spec->autocastType()};
  options.fuseElementwise = o.fuseElementwise;
  if (failed(checkBatchSegments()))
    return failure();
  if (failed(o.mode == CompileMode::Separate ? buildSeparate() : buildTrain()))
    return failure();
  if (planned()) {
    // A plan the target's kernels would refuse is refused here, before the
    // report and the artifact.
    PassManager check(&context);
    check.addPass(createLocoCheckTargetLimitsPass(
        LocoCheckTargetLimitsPassOptions{options.target}));
    if (failed(check.run(*module)))
      return failure();
    if (failed(reportPlan()))
      return failure();
    if (o.emit == EmitStage::None && !writeSo)
      return success();
    PassManager lower(&context);
    lower.addPass(createLocoLowerToRuntimePass(
        LocoLowerToRuntimePassOptions{options.target}));
    if (failed(lower.run(*module)))
      return failure();
  }
  return writeOutput();
}

} // namespace

LogicalResult mlir::loco::compile(MLIRContext &context,
                                  const CompileOptions &options,
                                  llvm::raw_ostream &errs,
                                  llvm::raw_ostream &outs) {
  return Compilation(context, options, errs, outs).run();
}
