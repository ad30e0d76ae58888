//===- Passes.h - Passes of lococ -------------------------------*- C++ -*-===//
//
// This file declares the loco passes and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_PASSES_H
#define LOCO_PASSES_PASSES_H

#include "dialect/LocoDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "passes/analysis/BufferLiveness.h"

#include <tuple>

namespace mlir::loco {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The memory-for-compute choices: loco-chunk-rows and loco-rematerialize.
struct LocoRematChoice {
  /// Row chunks per row-independent region (loco-chunk-rows).
  int64_t rowChunks = 1;
  /// Regions per checkpoint segment (loco-rematerialize; 0: no remat).
  int64_t checkpointEvery = 0;
  /// The first checkpointed region when checkpointEvery > 1.
  int64_t checkpointPhase = 0;
  /// Keep the path inputs rebuilt for a segment until its backward ends.
  bool keepSegment = true;
  /// Checkpoint this many more region inputs (the earliest others).
  int64_t extraCheckpoints = 0;
  /// Rebuild the ops before the first region instead of keeping them.
  bool rebuildPrologue = false;
  /// Keep contraction results inside chunks; rebuild only cheap ops.
  bool keepExpensive = false;
  /// Keep the contraction results inside chunks that are at most twice the
  /// size of the chunk's region input (attention outputs, projections back
  /// to the embedding); rebuild the wider ones and the cheap ops.
  bool keepNarrow = false;
  /// Store the checkpointed region inputs (the f32 residual stream between
  /// paths) in bf16, widened again chunk by chunk in the backward.
  bool bf16Checkpoints = false;
  /// Recompute nothing in this many regions (the last ones).
  int64_t keptRegions = 0;

  /// The fields by value, for ordering and lookups.
  auto asTuple() const {
    return std::make_tuple(rowChunks, checkpointEvery, checkpointPhase,
                           keepSegment, extraCheckpoints, rebuildPrologue,
                           keepExpensive, keepNarrow, bf16Checkpoints,
                           keptRegions);
  }
};

/// Choices of the compile pipeline.
struct LocoPipelineOptions {
  std::string target = "cpu";
  bool fuseAttention = true;
  /// The lower precision of loco-autocast (bf16 or f16); empty: all f32.
  std::string amp;
  LocoRematChoice remat = {};
  /// loco-fuse-elementwise (the SwiGLU gate, dropout into residual adds).
  bool fuseElementwise = true;
};

/// Frontend IR to the fused forward step (`lococ --emit=fused`).
void buildLocoFusionPipeline(OpPassManager &pm,
                             const LocoPipelineOptions &options);
/// ... then the differentiated training step (`lococ --emit=grad`).
void buildLocoGradPipeline(OpPassManager &pm,
                           const LocoPipelineOptions &options);
/// The separation step (`@separate_step`, `lococ --mode separate`) up to
/// the arena plan's input: no dropout, fused, autocast, its rows chunked by
/// `options.remat.rowChunks` (nothing is differentiated or recomputed).
void buildLocoSeparatePipeline(OpPassManager &pm,
                               const LocoPipelineOptions &options);
/// ... then the runtime-call (LLVM dialect) stage; shared by lococ and
/// loco-opt (`--loco-compile`).
void buildLocoCompilePipeline(OpPassManager &pm,
                              const LocoPipelineOptions &options);
/// Registers `loco-compile` with the pass registry.
void registerLocoPipelines();

} // namespace mlir::loco

#endif // LOCO_PASSES_PASSES_H
