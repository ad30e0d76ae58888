//===- FitBudget.h - Choose remat, row chunks and micro-batch ---*- C++ -*-===//
//
// This file declares the search that makes a training step fit a memory
// budget: it compiles the step (up to the arena plan) under candidate
// choices of micro-batch, row chunks and checkpoint spacing, and keeps the
// cheapest one whose planned arena fits.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_COMPILE_FITBUDGET_H
#define LOCO_FRONTEND_COMPILE_FITBUDGET_H

#include "frontend/ModelSpec.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <vector>

namespace mlir::loco {

/// The choices that trade memory for recomputation.
struct StepChoice {
  /// Samples per micro-step; the config's batch is reached by accumulating
  /// `configBatch / microBatch` micro-steps.
  int64_t microBatch = 1;
  /// Row chunks and recomputation.
  LocoRematChoice remat;
};

/// The spec of one micro-step of `choice`: batch `microBatch`, and the
/// accumulation steps multiplied so that an optimizer step sees the config's
/// samples.
ModelSpec microStepSpec(const ModelSpec &spec, const StepChoice &choice);

/// Builds the step of `spec` under `choice` and runs the pipeline up to the
/// arena plan (`loco-plan-memory`); `pm` carries the command line's pass
/// manager options. The module records the micro-batching in
/// `loco.micro_batching`. With `withSeparation`, the module also holds
/// `@separate_step` at the micro-batch (locorun validates whole tracks
/// with it), planned in the same arena.
FailureOr<OwningOpRef<ModuleOp>>
planStep(const ModelSpec &spec, const StepChoice &choice,
         const LocoPipelineOptions &options, MLIRContext *context,
         bool commandLinePassOptions, bool withSeparation = false);

/// Builds the separation step of `spec` (`segments` segments per step) with
/// `rowChunks` row chunks and runs buildLocoSeparatePipeline and the arena
/// plan.
FailureOr<OwningOpRef<ModuleOp>>
planSeparateStep(const ModelSpec &spec, int64_t segments, int64_t rowChunks,
                 const LocoPipelineOptions &options, MLIRContext *context,
                 bool commandLinePassOptions);

/// The fewest row chunks (1, 2, 4, ... 64) whose separation step fits
/// `budget`. Fails when none fits (or a compile fails); `smallestArena` is
/// the smallest arena planned.
FailureOr<int64_t> fitSeparateBudget(const ModelSpec &spec, int64_t segments,
                                     int64_t budget,
                                     const LocoPipelineOptions &options,
                                     MLIRContext *context,
                                     int64_t &smallestArena);

/// The planned arena bytes of a module from planStep.
int64_t plannedArenaBytes(ModuleOp module);

/// Searches for the choice with the least recomputation whose arena fits
/// `budget`: the config's batch before smaller micro-batches; then no
/// recomputation, recomputing cheap ops only, recomputing whole chunks with
/// a checkpoint at every path (the encoder kept, then rebuilt), every
/// block, every two blocks (of the two phases, the one with fewer flops);
/// and for each, the fewest row chunks that fit. With `bf16Checkpoints`,
/// each exact tier with checkpoints is followed by the same plan with its
/// f32 checkpoints stored in bf16, before the next tier; a bf16 plan that
/// fits is taken only when the next, exact, tier has no plan within 1% of
/// its flops.
/// Fails when none fits (or a compile fails, with its diagnostics);
/// `smallestArena` is the smallest arena of any candidate.
FailureOr<StepChoice> fitBudget(const ModelSpec &spec, int64_t budget,
                                const LocoPipelineOptions &options,
                                MLIRContext *context, int64_t &smallestArena,
                                bool bf16Checkpoints = false);

/// What a planned training step costs: its arena, and over an optimizer
/// step (all its micro-steps) its flops and the recomputed share of them;
/// `regions` counts its row-independent regions (the most extra
/// checkpoints a segmented plan can take).
struct PlanCost {
  int64_t arena = 0, stepFlops = 0, recomputeFlops = 0, regions = 0;
};
FailureOr<PlanCost> planCost(const ModelSpec &spec, const StepChoice &choice,
                             const LocoPipelineOptions &options,
                             MLIRContext *context);

/// Every choice fitBudget decides among, for the exact solver that measures
/// its optimality gap (tools/loco-budget-gap): each micro-batch that divides
/// the config's batch, each tier (the bf16-checkpoint ones with
/// `bf16Checkpoints`) at both phases, each of the tier's row-chunk counts,
/// and for the tiers with segments of several paths, every count of extra
/// checkpoints up to `regions`, and for those with a checkpoint at every
/// region, every count of regions kept whole up to `regions`.
std::vector<StepChoice>
budgetSearchSpace(const ModelSpec &spec, bool bf16Checkpoints, int64_t regions);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_COMPILE_FITBUDGET_H
