//===- TrainPolicies.cpp - The training loop's small decisions ------------===//
//
// This file implements the learning-rate schedule, the loss scaler, early
// stopping and the checkpoint policy: each a function of the config's keys
// and the TrainState that checkpoints carry, so that a resumed run decides
// as an uninterrupted one.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/CheckpointPolicy.h"
#include "runtime/train/EarlyStopping.h"
#include "runtime/train/LossScaler.h"
#include "runtime/train/LrSchedule.h"

#include <algorithm>
#include <cmath>

using namespace loco;

LrSchedule LrSchedule::fromTraining(const TrainingManifest &hp) {
  LrSchedule s;
  s.baseLr = hp.lr;
  s.warmupStartLr = hp.warmup_start_lr;
  s.factor = hp.scheduler_factor;
  s.minLr = hp.scheduler_min_lr;
  s.warmupSteps = hp.warmup_steps;
  s.patience = hp.scheduler_patience;
  s.cooldownSteps = hp.scheduler_cooldown;
  s.plateau = hp.scheduler == "reducelronplateau";
  return s;
}

double LrSchedule::lr(const TrainState &state, int64_t step) const {
  if (step <= warmupSteps && warmupSteps > 0)
    return warmupStartLr +
           (state.lr - warmupStartLr) * static_cast<double>(step) / warmupSteps;
  return state.lr;
}

void LrSchedule::observe(TrainState &state, double valLoss) const {
  if (!plateau)
    return;
  if (valLoss < state.bestValLoss * (1.0 - 1e-4)) {
    state.bestValLoss = valLoss;
    state.badEpochs = 0;
  } else {
    ++state.badEpochs;
  }
  if (state.cooldown > 0) {
    --state.cooldown;
    state.badEpochs = 0;
  }
  if (state.badEpochs > patience) {
    state.lr = std::max(state.lr * factor, minLr);
    state.cooldown = cooldownSteps;
    state.badEpochs = 0;
  }
}

StepVerdict LossScaler::judge(TrainState &state, double loss, double gradNorm,
                              int64_t badUpdates) const {
  StepVerdict v;
  // With loss scaling, non-finite gradients of a finite loss are the
  // scale's overflow: GradScaler skips the step and halves the scale.
  v.overflow = enabled && std::isfinite(loss) && !std::isfinite(gradNorm);
  v.what = !std::isfinite(loss)       ? "the loss"
           : v.overflow               ? ""
           : !std::isfinite(gradNorm) ? "the gradient norm"
           : badUpdates > 0
               ? "the update of " + std::to_string(badUpdates) + " weight(s)"
               : "";
  v.skipped = v.overflow || !v.what.empty();
  if (enabled) {
    if (v.overflow) {
      state.lossScale *= 0.5;
      state.scaleGrowthTracker = 0;
    } else if (!v.skipped && ++state.scaleGrowthTracker == kGrowthInterval) {
      // Never to infinity: a checkpoint holds the scale, and resume
      // refuses a non-finite one.
      if (std::isfinite(state.lossScale * 2.0))
        state.lossScale *= 2.0;
      state.scaleGrowthTracker = 0;
    }
  }
  if (v.skipped)
    ++state.skippedSteps;
  return v;
}

bool LossScaler::exhausted(const TrainState &state) {
  // Below fp16's smallest subnormal no scale can help.
  return state.lossScale < std::ldexp(1.0, -24);
}

EarlyStopping EarlyStopping::fromTraining(const TrainingManifest &hp) {
  EarlyStopping e;
  e.enabled = hp.early_stopping;
  e.patience = hp.early_stopping_patience;
  e.minDelta = hp.early_stopping_min_delta;
  return e;
}

bool EarlyStopping::observe(TrainState &state, double valLoss) const {
  if (valLoss < state.earlyStopBest - minDelta) {
    state.earlyStopBest = valLoss;
    state.earlyStopBad = 0;
  } else {
    ++state.earlyStopBad;
  }
  return enabled && state.earlyStopBad >= patience;
}

CheckpointPolicy CheckpointPolicy::fromTraining(const TrainingManifest &hp,
                                                int64_t saveEvery,
                                                int64_t keepOverride) {
  CheckpointPolicy p;
  p.saveEvery = saveEvery;
  p.saveInterval = std::max<int64_t>(1, hp.save_interval);
  p.keep = keepOverride > 0 ? keepOverride : std::max<int64_t>(1, hp.keep_last);
  p.saveBest = hp.save_best;
  return p;
}

bool CheckpointPolicy::due(int64_t step, int64_t stepsPerEpoch) const {
  if (saveEvery != 0) // < 0: only the last step and a stop
    return saveEvery > 0 && step % saveEvery == 0;
  return step % stepsPerEpoch == 0 &&
         (step / stepsPerEpoch) % saveInterval == 0;
}
