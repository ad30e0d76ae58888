//===- LossScaler.h - Dynamic loss scaling and skipped steps ----*- C++ -*-===//
//
// This file declares what the loop decides after an optimizer step from its
// loss, gradient norm and AdamW's count of non-finite updates: whether the
// step was skipped and why, and (fp16) the next loss scale with
// torch.cuda.amp.GradScaler's rules: backoff 0.5 on an overflow, growth 2
// after 2000 applied steps.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_LOSSSCALER_H
#define LOCO_RUNTIME_TRAIN_LOSSSCALER_H

#include "runtime/io/TrainState.h"

#include <string>

namespace loco {

/// What became of one optimizer step.
struct StepVerdict {
  /// The scaled gradients overflowed (loss scaling only): skipped, and the
  /// scale backed off; not an error.
  bool overflow = false;
  /// The step was skipped: the weights and moments kept their values.
  bool skipped = false;
  /// What was not finite ("the loss", "the gradient norm", "the update of
  /// 3 weight(s)"); empty for an overflow or an applied step.
  std::string what;
};

struct LossScaler {
  static constexpr int64_t kGrowthInterval = 2000;
  /// training.loss_scaling (the fp16 configs).
  bool enabled = false;

  /// The scale the next step's loss is multiplied by.
  double scale(const TrainState &state) const {
    return enabled ? state.lossScale : 1.0;
  }
  /// Judges a step whose loss, gradient norm (NaN when the optimizer step
  /// did not run) and non-finite update count are given, and updates the
  /// scale, its growth tracker and the skipped-step count in `state`.
  StepVerdict judge(TrainState &state, double loss, double gradNorm,
                    int64_t badUpdates) const;
  /// Whether the scale fell below fp16's smallest subnormal: no scale can
  /// help, and training stops.
  static bool exhausted(const TrainState &state);
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_LOSSSCALER_H
