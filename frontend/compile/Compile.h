//===- Compile.h - A config to train.so, as one call ------------*- C++ -*-===//
//
// This file declares the compile flow of lococ as a library: the config
// (with its overrides) to a validated ModelSpec, the step built and run
// through the pipeline (under the choices given, or those the budget
// search finds), the memory report, and the output: a shared object or the
// IR at a stage. lococ's main parses its flags into CompileOptions and
// calls compile(); a binding or a test can do the same.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_COMPILE_COMPILE_H
#define LOCO_FRONTEND_COMPILE_COMPILE_H

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::loco {

/// Where the pipeline stops to print the IR (None: write the artifact).
enum class EmitStage { None, Loco, Fused, Grad, Runtime, Llvm };
/// What the artifact runs: the training step, or separation alone.
enum class CompileMode { Train, Separate };

struct CompileOptions {
  std::string configFile;
  /// `--set key.path=value`, applied in order.
  std::vector<std::string> overrides;
  /// Report the config keys that only the PyTorch trainer reads.
  bool verbose = false;
  CompileMode mode = CompileMode::Train;
  /// Separation: segments per step (unset: training.batch_size).
  std::optional<int64_t> batchSegments;
  EmitStage emit = EmitStage::None;
  std::string outputFile = "-";
  /// "cpu", "cuda", or "auto": cuda when this build has the CUDA backend
  /// and it sees a device, else cpu.
  std::string target = "auto";
  bool fuseAttention = true, fuseElementwise = true;
  /// The model summary, whatever else is written.
  bool summary = false;
  bool memoryReport = false;
  std::string memoryReportJson, trace; ///< files, or empty
  /// The arena must fit this size ("24GiB", "512MiB", a byte count; with a
  /// device's fixed workspace); empty: no budget.
  std::string memoryBudget;
  /// The memory-for-compute choices by hand, instead of the budget search
  /// (unset: not given; each given one must be in range).
  std::optional<int64_t> rowChunks, checkpointEvery, checkpointPhase;
  std::optional<int64_t> extraCheckpoints, keepRegions, microBatch;
  bool keepSegment = true, rebuildPrologue = false, keepExpensive = false;
  bool keepNarrow = false;
  /// Store f32 checkpoints in bf16: asked for, forbidden, or (unset) the
  /// budget search may choose it under bf16 mixed precision.
  std::optional<bool> bf16Checkpoints;
};

/// Compiles as `options` say. Config errors are diagnostics with the YAML
/// line:col; other errors (the options' included, checked after the config
/// as lococ always has) are "lococ: error: ..." lines on `errs`.
/// Reports and summaries go to `outs`, or to `errs` when the IR is
/// printed to stdout.
LogicalResult compile(MLIRContext &context, const CompileOptions &options,
                      llvm::raw_ostream &errs = llvm::errs(),
                      llvm::raw_ostream &outs = llvm::outs());

} // namespace mlir::loco

#endif // LOCO_FRONTEND_COMPILE_COMPILE_H
