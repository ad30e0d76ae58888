//===- FitBudget.cpp - Choose remat, row chunks and micro-batch -----------===//
//
// This file implements the budget search of lococ. Every candidate is a
// real compile up to the arena plan, so the chosen plan's arena is exactly
// what train.so allocates; nothing is estimated.
//
//===----------------------------------------------------------------------===//

#include "tools/lococ/FitBudget.h"

#include "frontend/BuildTrainStep.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::loco;

ModelSpec mlir::loco::microStepSpec(const ModelSpec &spec,
                                    const StepChoice &choice) {
  ModelSpec micro = spec;
  micro.batchSize = choice.microBatch;
  micro.gradientAccumulationSteps =
      spec.gradientAccumulationSteps * (spec.batchSize / choice.microBatch);
  return micro;
}

FailureOr<OwningOpRef<ModuleOp>>
mlir::loco::planStep(const ModelSpec &spec, const StepChoice &choice,
                     const LocoPipelineOptions &options, MLIRContext *context,
                     bool commandLinePassOptions) {
  OwningOpRef<ModuleOp> module =
      buildTrainStep(microStepSpec(spec, choice), context);
  if (failed(verify(*module)))
    return failure();
  Builder b(context);
  (*module)->setAttr(
      "loco.micro_batching",
      b.getDictionaryAttr(
          {b.getNamedAttr("config_batch_size", b.getI64IntegerAttr(spec.batchSize)),
           b.getNamedAttr("micro_batch", b.getI64IntegerAttr(choice.microBatch)),
           b.getNamedAttr("micro_batches",
                          b.getI64IntegerAttr(spec.batchSize / choice.microBatch))}));
  LocoPipelineOptions chosen = options;
  chosen.rowChunks = choice.rowChunks;
  chosen.checkpointEvery = choice.checkpointEvery;
  chosen.keepExpensive = choice.keepExpensive;
  PassManager pm(context);
  if (commandLinePassOptions && failed(applyPassManagerCLOptions(pm)))
    return failure();
  buildLocoGradPipeline(pm, chosen);
  pm.addPass(createLocoPlanMemoryPass());
  if (failed(pm.run(*module)))
    return failure();
  return module;
}

int64_t mlir::loco::plannedArenaBytes(ModuleOp module) {
  auto memory = module->getAttrOfType<DictionaryAttr>("loco.memory");
  auto bytes = memory ? memory.getAs<IntegerAttr>("arena_bytes") : nullptr;
  return bytes ? bytes.getInt() : 0;
}

FailureOr<StepChoice> mlir::loco::fitBudget(const ModelSpec &spec,
                                            int64_t budget,
                                            const LocoPipelineOptions &options,
                                            MLIRContext *context,
                                            int64_t &smallestArena) {
  smallestArena = std::numeric_limits<int64_t>::max();
  auto trial = [&](const StepChoice &choice) -> FailureOr<int64_t> {
    FailureOr<OwningOpRef<ModuleOp>> module =
        planStep(spec, choice, options, context, false);
    if (failed(module))
      return failure();
    int64_t arena = plannedArenaBytes(**module);
    smallestArena = std::min(smallestArena, arena);
    return arena;
  };
  // Cheapest first. Recomputation tiers in order of cost: cheap ops only
  // (contraction results kept), then whole chunks with a checkpoint at
  // every path (region), every block, every two blocks.
  struct Tier {
    int64_t every;
    bool keepExpensive;
  };
  const Tier tiers[] = {{1, true}, {1, false}, {2, false}, {4, false}};
  const int64_t chunkOptions[] = {1, 2, 4, 8, 16, 32, 64};
  const int64_t maxChunks = chunkOptions[std::size(chunkOptions) - 1];
  for (int64_t micro = spec.batchSize; micro >= 1; --micro) {
    if (spec.batchSize % micro != 0)
      continue;
    FailureOr<int64_t> plain = trial({micro, 1, 0, false});
    if (failed(plain))
      return failure();
    if (*plain <= budget)
      return StepChoice{micro, 1, 0, false};
    // Can this micro-batch fit at all? The most chunked full-recompute
    // plans tell (keeping contraction results never takes less).
    bool feasible = false;
    for (const Tier &tier : tiers) {
      if (tier.keepExpensive)
        continue;
      FailureOr<int64_t> arena = trial({micro, maxChunks, tier.every, false});
      if (failed(arena))
        return failure();
      feasible |= *arena <= budget;
    }
    if (!feasible)
      continue;
    for (const Tier &tier : tiers) {
      int64_t previous = std::numeric_limits<int64_t>::max();
      for (int64_t chunks : chunkOptions) {
        StepChoice choice{micro, chunks, tier.every, tier.keepExpensive};
        FailureOr<int64_t> arena = trial(choice);
        if (failed(arena))
          return failure();
        if (*arena <= budget)
          return choice;
        // More chunks stop paying once a chunk's activations are small
        // next to what is kept whole.
        if (*arena > previous - previous / 100)
          break;
        previous = *arena;
      }
    }
  }
  return failure();
}
