//===- LrSchedule.h - Warmup, then ReduceLROnPlateau ------------*- C++ -*-===//
//
// This file declares the learning-rate schedule of the configs: a linear
// warmup from `warmup_start_lr` over `warmup_steps`, then the plateau-scheduled
// base rate that TrainState carries (torch's ReduceLROnPlateau: mode min,
// relative threshold 1e-4, patience, cooldown, factor, min_lr).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_LRSCHEDULE_H
#define LOCO_RUNTIME_TRAIN_LRSCHEDULE_H

#include "runtime/abi/Manifest.h"
#include "runtime/io/TrainState.h"

namespace loco {

struct LrSchedule {
  double baseLr = 1e-3, warmupStartLr = 0.0, factor = 0.5, minLr = 0.0;
  int64_t warmupSteps = 0, patience = 10, cooldownSteps = 0;
  bool plateau = false;

  /// The schedule of a manifest's "training" table (the config's keys and
  /// defaults).
  static LrSchedule fromTraining(const TrainingManifest &hp);

  /// The learning rate of optimizer step `step` (1-based).
  double lr(const TrainState &state, int64_t step) const;

  /// ReduceLROnPlateau after a validation loss: counts bad validations in
  /// `state` and scales state.lr by `factor` after more than `patience`.
  void observe(TrainState &state, double valLoss) const;
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_LRSCHEDULE_H
