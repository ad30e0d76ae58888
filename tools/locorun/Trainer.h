//===- Trainer.h - locorun's training loop ----------------------*- C++ -*-===//
//
// This file declares the training loop: micro-steps with gradient
// accumulation, the optimizer step, the learning-rate schedule (linear
// warmup, then ReduceLROnPlateau on the validation loss), validation SI-SDR
// per source, metrics as JSON lines, a progress line, and checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_TRAINER_H
#define LOCO_TOOLS_LOCORUN_TRAINER_H

#include "tools/locorun/Dataset.h"
#include "tools/locorun/Session.h"

#include <string>

namespace loco {

struct TrainOptions {
  int64_t steps = -1;          ///< total optimizer steps to reach
  int64_t epochs = -1;         ///< or total epochs
  int64_t stepsPerEpoch = -1;  ///< default: training tracks / batch
  int64_t saveEvery = 0;       ///< checkpoint every N steps (0: per epoch)
  std::string metricsPath, outDir, resumeDir;
  uint64_t seed = 0;
  bool randomChunks = true;
};

/// Trains `session` on `train`, validating on `validation` (may be null).
void runTraining(Session &session, const TrackSource &train,
                 const TrackSource *validation, const TrainOptions &options);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_TRAINER_H
