//===- FitBudget.cpp - Choose remat, row chunks and micro-batch -----------===//
//
// This file implements the budget search of lococ. Every candidate is a
// real compile up to the arena plan, so the chosen plan's arena is exactly
// what train.so allocates; nothing is estimated.
//
//===----------------------------------------------------------------------===//

#include "frontend/compile/FitBudget.h"

#include "frontend/BuildTrainStep.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <limits>
#include <map>
#include <optional>

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
                     bool commandLinePassOptions, bool withSeparation) {
  OwningOpRef<ModuleOp> module =
      buildTrainStep(microStepSpec(spec, choice), context);
  if (failed(verify(*module)))
    return failure();
  Builder b(context);
  (*module)->setAttr(
      "loco.micro_batching",
      b.getDictionaryAttr(
          {b.getNamedAttr("config_batch_size",
                          b.getI64IntegerAttr(spec.batchSize)),
           b.getNamedAttr("micro_batch",
                          b.getI64IntegerAttr(choice.microBatch)),
           b.getNamedAttr(
               "micro_batches",
               b.getI64IntegerAttr(spec.batchSize / choice.microBatch))}));
  LocoPipelineOptions chosen = options;
  chosen.remat = choice.remat;
  PassManager pm(context);
  if (commandLinePassOptions && failed(applyPassManagerCLOptions(pm)))
    return failure();
  buildLocoGradPipeline(pm, chosen);
  if (failed(pm.run(*module)))
    return failure();
  // The separation step through its own pipeline (so that the training
  // passes and the report's row-chunk decisions see the training step
  // alone), then moved in to share the arena plan.
  if (withSeparation) {
    OwningOpRef<ModuleOp> inference =
        buildSeparateStep(microStepSpec(spec, choice), context);
    PassManager separatePm(context);
    buildLocoSeparatePipeline(separatePm, chosen);
    if (failed(verify(*inference)) || failed(separatePm.run(*inference)))
      return failure();
    auto separate = inference->lookupSymbol<func::FuncOp>("separate_step");
    separate->remove();
    module->push_back(separate);
  }
  PassManager plan(context);
  plan.addPass(createLocoPlanMemoryPass());
  if (failed(plan.run(*module)))
    return failure();
  return module;
}

FailureOr<OwningOpRef<ModuleOp>> mlir::loco::planSeparateStep(
    const ModelSpec &spec, int64_t segments, int64_t rowChunks,
    const LocoPipelineOptions &options, MLIRContext *context,
    bool commandLinePassOptions) {
  ModelSpec inference = spec;
  inference.batchSize = segments;
  OwningOpRef<ModuleOp> module = buildSeparateStep(inference, context);
  if (failed(verify(*module)))
    return failure();
  LocoPipelineOptions chosen = options;
  chosen.remat = LocoRematChoice();
  chosen.remat.rowChunks = rowChunks;
  PassManager pm(context);
  if (commandLinePassOptions && failed(applyPassManagerCLOptions(pm)))
    return failure();
  buildLocoSeparatePipeline(pm, chosen);
  pm.addPass(createLocoPlanMemoryPass());
  if (failed(pm.run(*module)))
    return failure();
  return module;
}

FailureOr<int64_t>
mlir::loco::fitSeparateBudget(const ModelSpec &spec, int64_t segments,
                              int64_t budget,
                              const LocoPipelineOptions &options,
                              MLIRContext *context, int64_t &smallestArena) {
  smallestArena = std::numeric_limits<int64_t>::max();
  for (int64_t chunks = 1; chunks <= 64; chunks *= 2) {
    FailureOr<OwningOpRef<ModuleOp>> module =
        planSeparateStep(spec, segments, chunks, options, context, false);
    if (failed(module)) {
      smallestArena = std::numeric_limits<int64_t>::max();
      return failure();
    }
    int64_t arena = plannedArenaBytes(**module);
    smallestArena = std::min(smallestArena, arena);
    if (arena <= budget)
      return chunks;
  }
  return failure();
}

int64_t mlir::loco::plannedArenaBytes(ModuleOp module) {
  auto memory = module->getAttrOfType<DictionaryAttr>("loco.memory");
  auto bytes = memory ? memory.getAs<IntegerAttr>("arena_bytes") : nullptr;
  return bytes ? bytes.getInt() : 0;
}

namespace {

/// One recomputation tier of the search.
struct Tier {
  int64_t every;
  bool keepExpensive, keepSegment;
  /// Chunks only shrink temporaries when contraction results are kept
  /// whole (all of them, or the narrow ones, which are most of such a
  /// plan's arena beyond 8 chunks), and plans with 10^5 long-lived buffers
  /// are slow to place (xlarge's narrow tier at 64 chunks took minutes to
  /// rule out).
  int64_t maxChunks;
  bool rebuildPrologue = false, bf16 = false, keepNarrow = false;
};

// Least recomputation first; within a tier, the largest micro-batch; then
// the fewest row chunks. Tiers in order of cost: none, cheap ops only
// (contraction results kept), the narrow contraction results kept
// (attention outputs and projections back to the embedding: at most a few
// copies of each path's activations, and the attention forward, the
// slowest contraction per flop, is not run again), whole chunks with a
// checkpoint at every path (region), every block, every two blocks (rebuilt
// path inputs kept for the segment), then every 2, 4, 6 and 12 blocks
// rebuilding each path input from its checkpoint (quadratic recomputation,
// least memory). A checkpoint at every path first keeps the encoder's
// activations, then rebuilds them (exact, and cheap next to a path). Where
// bf16 checkpoints are allowed, an exact tier with checkpoints is followed
// by the same plan with its f32 checkpoints kept in bf16: the same
// recomputation, half the checkpoint bytes, so it comes before any tier
// that recomputes more, and after every exact plan that recomputes as much.
const Tier kTiers[] = {{0, false, true, 1},
                       {1, true, true, 4},
                       {1, false, true, 8, false, false, true},
                       {1, false, true, 64},
                       {1, false, true, 64, true},
                       {1, false, true, 64, true, true},
                       {2, false, true, 64, true},
                       {2, false, true, 64, true, true},
                       {4, false, true, 64, true},
                       {4, false, true, 64, true, true},
                       {4, false, false, 64, true},
                       {8, false, false, 64, true},
                       {12, false, false, 64, true},
                       {24, false, false, 64, true}};
const int64_t kChunkOptions[] = {1, 2, 4, 8, 16, 32, 64};
const int64_t kMaxChunks = kChunkOptions[std::size(kChunkOptions) - 1];

/// The remat choice of `tier` at a phase and chunk count (no extra
/// checkpoints).
LocoRematChoice tierChoice(const Tier &tier, int64_t phase, int64_t chunks) {
  LocoRematChoice remat;
  remat.rowChunks = chunks;
  remat.checkpointEvery = tier.every;
  remat.checkpointPhase = phase;
  remat.keepSegment = tier.keepSegment;
  remat.keepExpensive = tier.keepExpensive;
  remat.keepNarrow = tier.keepNarrow;
  remat.bf16Checkpoints = tier.bf16;
  remat.rebuildPrologue = tier.rebuildPrologue;
  return remat;
}

/// The search of fitBudget, with the plans it has compiled.
class BudgetSearch {
public:
  BudgetSearch(const ModelSpec &spec, int64_t budget,
               const LocoPipelineOptions &options, MLIRContext *context)
      : spec(spec), budget(budget), options(options), context(context) {}

  FailureOr<StepChoice> run(bool bf16Checkpoints);
  int64_t smallestArena = std::numeric_limits<int64_t>::max();

private:
  using TierFit = std::optional<StepChoice>;
  using Key = std::pair<int64_t, decltype(LocoRematChoice().asTuple())>;

  /// The arena of `choice`, compiled once (and remembered with its flops).
  FailureOr<int64_t> trial(const StepChoice &choice);
  /// The phases of a tier at a chunk count: the cheapest that fits in
  /// `fit`, and the smallest arena.
  FailureOr<int64_t> tryPhases(const Tier &tier, int64_t micro, int64_t chunks,
                               std::optional<StepChoice> &fit);
  /// The most chunked plans of a tier: the cheapest that fits in `fit`, and
  /// the smallest arena.
  FailureOr<int64_t> tryMostChunked(const Tier &tier, int64_t micro,
                                    std::optional<StepChoice> &fit);
  /// A segmented plan that fits, with the most extra checkpoints that fit.
  FailureOr<StepChoice> withExtras(StepChoice fit);
  /// A plan with a checkpoint at every region that fits, with the most
  /// regions kept whole that fit.
  FailureOr<StepChoice> withKeptRegions(StepChoice fit);
  FailureOr<TierFit> finish(const StepChoice &fit);
  /// The cheapest plan of one tier that fits (none: the tier does not fit).
  FailureOr<TierFit> searchTier(const Tier &tier);
  /// The flops of all the micro-steps of a config batch (planCost's):
  /// plans of different micro-batches compare by them.
  int64_t stepFlops(const StepChoice &choice) const {
    return planned.at(Key{choice.microBatch, choice.remat.asTuple()}).second;
  }
  /// The most of `field` in [0, regions] with which `fit` still fits
  /// (memory grows with it): a binary search.
  FailureOr<int64_t> mostThatFit(const StepChoice &fit,
                                 int64_t LocoRematChoice::*field);

  const ModelSpec &spec;
  int64_t budget;
  const LocoPipelineOptions &options;
  MLIRContext *context;
  int64_t lastFlops = 0, regions = 0;
  /// (arena, config-batch flops) of the choices planned so far.
  std::map<Key, std::pair<int64_t, int64_t>> planned;
};

FailureOr<int64_t> BudgetSearch::trial(const StepChoice &choice) {
  Key key{choice.microBatch, choice.remat.asTuple()};
  auto known = planned.find(key);
  if (known == planned.end()) {
    FailureOr<PlanCost> cost = planCost(spec, choice, options, context);
    if (failed(cost))
      return failure();
    if (cost->regions)
      regions = cost->regions;
    known = planned.try_emplace(key, cost->arena, cost->stepFlops).first;
  }
  auto [arena, flops] = known->second;
  smallestArena = std::min(smallestArena, arena);
  lastFlops = flops;
  return arena;
}

FailureOr<int64_t> BudgetSearch::tryPhases(const Tier &tier, int64_t micro,
                                           int64_t chunks,
                                           std::optional<StepChoice> &fit) {
  int64_t bestFlops = 0, smallest = std::numeric_limits<int64_t>::max();
  fit.reset();
  // Paths alternate (frequency, time): the phase picks which kind is
  // checkpointed, so two phases cover the choices that matter.
  for (int64_t phase = 0;
       phase < std::min<int64_t>(2, std::max<int64_t>(1, tier.every));
       ++phase) {
    StepChoice choice;
    choice.microBatch = micro;
    choice.remat = tierChoice(tier, phase, chunks);
    FailureOr<int64_t> arena = trial(choice);
    if (failed(arena))
      return failure();
    smallest = std::min(smallest, *arena);
    if (*arena <= budget && (!fit || lastFlops < bestFlops)) {
      fit = choice;
      bestFlops = lastFlops;
    }
  }
  return smallest;
}

// The arena shrinks with the row chunks until a chunk's own buffers outgrow
// what chunking saves: the smallest plan of a tier is at its most chunks or
// at half as many (tiny's floor is at 32 of 64; loco-budget-gap found the
// search refusing a budget that plan fits). Half as many first: fewer
// chunks recompute less.
FailureOr<int64_t>
BudgetSearch::tryMostChunked(const Tier &tier, int64_t micro,
                             std::optional<StepChoice> &fit) {
  int64_t smallest = std::numeric_limits<int64_t>::max();
  for (int64_t chunks : {tier.maxChunks / 2, tier.maxChunks}) {
    if (chunks < 1)
      continue;
    FailureOr<int64_t> arena = tryPhases(tier, micro, chunks, fit);
    if (failed(arena))
      return failure();
    smallest = std::min(smallest, *arena);
    if (fit)
      break;
  }
  return smallest;
}

// A segmented plan that fits may have room for more checkpoints, each of
// which saves a path's recomputation; more chunks can make that room. For
// each chunk count from the one found up, the most extra checkpoints that
// fit (memory grows with each, so a binary search finds them); the most
// extras win, then the fewest chunks.
FailureOr<StepChoice> BudgetSearch::withExtras(StepChoice fit) {
  if (fit.remat.checkpointEvery <= 1)
    return fit;
  StepChoice best = fit;
  for (int64_t chunks = fit.remat.rowChunks; chunks <= kMaxChunks;
       chunks *= 2) {
    StepChoice base = fit;
    base.remat.rowChunks = chunks;
    FailureOr<int64_t> low =
        mostThatFit(base, &LocoRematChoice::extraCheckpoints);
    if (failed(low))
      return failure();
    if (*low > best.remat.extraCheckpoints) {
      best = base;
      best.remat.extraCheckpoints = *low;
    }
  }
  return best;
}

// A plan with a checkpoint at every region that fits may have room to keep
// some regions' activations whole (the last ones, whose backward runs
// first): each saves a region's recomputation and costs about its
// activations, so a budget between two tiers is spent on fewer recomputed
// regions rather than left unused (the budget curve found the half and
// quarter budgets of musdb18_small taking the same plan). Memory grows
// with each kept region: a binary search finds the most that fit.
FailureOr<StepChoice> BudgetSearch::withKeptRegions(StepChoice fit) {
  if (fit.remat.checkpointEvery != 1)
    return fit;
  FailureOr<int64_t> kept = mostThatFit(fit, &LocoRematChoice::keptRegions);
  if (failed(kept))
    return failure();
  fit.remat.keptRegions = *kept;
  return fit;
}

FailureOr<int64_t> BudgetSearch::mostThatFit(const StepChoice &fit,
                                             int64_t LocoRematChoice::*field) {
  int64_t low = 0, high = regions;
  while (low < high) {
    StepChoice more = fit;
    more.remat.*field = (low + high + 1) / 2;
    FailureOr<int64_t> arena = trial(more);
    if (failed(arena))
      return failure();
    if (*arena <= budget)
      low = more.remat.*field;
    else
      high = more.remat.*field - 1;
  }
  return low;
}

FailureOr<BudgetSearch::TierFit> BudgetSearch::finish(const StepChoice &fit) {
  FailureOr<StepChoice> extended = withExtras(fit);
  if (failed(extended))
    return failure();
  FailureOr<StepChoice> kept = withKeptRegions(*extended);
  if (failed(kept))
    return failure();
  return TierFit(*kept);
}

FailureOr<BudgetSearch::TierFit> BudgetSearch::searchTier(const Tier &tier) {
  // A tier whose most chunked plans do not fit with micro-batches of 1 do
  // not fit with larger ones: one probe rules it out.
  std::optional<StepChoice> fit;
  if (spec.batchSize > 1) {
    if (failed(tryMostChunked(tier, 1, fit)))
      return failure();
    if (!fit)
      return TierFit();
  }
  for (int64_t micro = spec.batchSize; micro >= 1; --micro) {
    if (spec.batchSize % micro != 0)
      continue;
    int64_t most = tier.maxChunks;
    if (failed(tryMostChunked(tier, micro, fit)))
      return failure();
    if (!fit)
      continue; // Not even the most chunked plans of this tier fit.
    if (most == 1)
      return finish(*fit);
    int64_t previous = std::numeric_limits<int64_t>::max();
    for (int64_t chunks : kChunkOptions) {
      if (chunks > most)
        break;
      FailureOr<int64_t> smallest = tryPhases(tier, micro, chunks, fit);
      if (failed(smallest))
        return failure();
      if (fit)
        return finish(*fit);
      // More chunks stop paying once a chunk's activations are small next
      // to what is kept whole: go to the most chunked plans (one fits).
      if (*smallest > previous - previous / 100) {
        if (failed(tryMostChunked(tier, micro, fit)))
          return failure();
        return finish(*fit);
      }
      previous = *smallest;
    }
  }
  return TierFit();
}

FailureOr<StepChoice> BudgetSearch::run(bool bf16Checkpoints) {
  for (size_t i = 0; i < std::size(kTiers); ++i) {
    const Tier &tier = kTiers[i];
    if (tier.bf16 && !bf16Checkpoints)
      continue;
    FailureOr<TierFit> fit = searchTier(tier);
    if (failed(fit))
      return failure();
    if (!*fit)
      continue;
    // The next tier's extra checkpoints can bring an exact plan to about
    // the same recomputation (a checkpoint at every path but the first,
    // whose input the cheap encoder rebuilds): bf16 checkpoints must save
    // more than 1% of the step's flops, less than step times vary by, to
    // win over exact ones.
    if (tier.bf16 && i + 1 < std::size(kTiers)) {
      FailureOr<TierFit> exact = searchTier(kTiers[i + 1]);
      if (failed(exact))
        return failure();
      if (*exact && stepFlops(**exact) <= stepFlops(**fit) * 1.01)
        return **exact;
    }
    return **fit;
  }
  return failure();
}

} // namespace

FailureOr<PlanCost> mlir::loco::planCost(const ModelSpec &spec,
                                         const StepChoice &choice,
                                         const LocoPipelineOptions &options,
                                         MLIRContext *context) {
  FailureOr<OwningOpRef<ModuleOp>> module =
      planStep(spec, choice, options, context, false);
  if (failed(module))
    return failure();
  PlanCost cost;
  cost.arena = plannedArenaBytes(**module);
  int64_t microSteps = spec.batchSize / choice.microBatch;
  if (auto remat = (**module)->getAttrOfType<DictionaryAttr>("loco.remat")) {
    auto flops = remat.getAs<IntegerAttr>("step_flops");
    auto recomputed = remat.getAs<IntegerAttr>("recompute_flops");
    cost.stepFlops = flops ? flops.getInt() * microSteps : 0;
    cost.recomputeFlops = recomputed ? recomputed.getInt() * microSteps : 0;
  }
  if (auto found = (**module)->getAttrOfType<ArrayAttr>("loco.row_chunks"))
    cost.regions = found.size();
  return cost;
}

std::vector<StepChoice> mlir::loco::budgetSearchSpace(const ModelSpec &spec,
                                                      bool bf16Checkpoints,
                                                      int64_t regions) {
  std::vector<StepChoice> space;
  for (int64_t micro = 1; micro <= spec.batchSize; ++micro) {
    if (spec.batchSize % micro != 0)
      continue;
    for (const Tier &tier : kTiers) {
      if (tier.bf16 && !bf16Checkpoints)
        continue;
      int64_t phases = std::min<int64_t>(2, std::max<int64_t>(1, tier.every));
      // Extra checkpoints with segments of several regions, regions kept
      // whole with a checkpoint at every one.
      int64_t extras = tier.every > 1 ? regions : 0;
      int64_t kept = tier.every == 1 ? regions : 0;
      for (int64_t phase = 0; phase < phases; ++phase)
        for (int64_t chunks : kChunkOptions) {
          if (chunks > tier.maxChunks)
            break;
          for (int64_t extra = 0; extra <= extras; ++extra)
            for (int64_t keep = 0; keep <= kept; ++keep) {
              StepChoice choice;
              choice.microBatch = micro;
              choice.remat = tierChoice(tier, phase, chunks);
              choice.remat.extraCheckpoints = extra;
              choice.remat.keptRegions = keep;
              space.push_back(choice);
            }
        }
    }
  }
  return space;
}

FailureOr<StepChoice>
mlir::loco::fitBudget(const ModelSpec &spec, int64_t budget,
                      const LocoPipelineOptions &options, MLIRContext *context,
                      int64_t &smallestArena, bool bf16Checkpoints) {
  BudgetSearch search(spec, budget, options, context);
  FailureOr<StepChoice> choice = search.run(bf16Checkpoints);
  smallestArena = search.smallestArena;
  return choice;
}
