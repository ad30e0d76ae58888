//===- CheckpointPolicy.h - When checkpoints are written --------*- C++ -*-===//
//
// This file declares when the loop saves, as upstream's trainer does: every
// `save_interval` epochs (or every --save-every steps), the newest
// `keep_last` kept (or --keep-checkpoints), and best/ (the lowest
// validation loss) when `save_best`. The last step and a stop by signal
// are always saved.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_CHECKPOINTPOLICY_H
#define LOCO_RUNTIME_TRAIN_CHECKPOINTPOLICY_H

#include "runtime/abi/Manifest.h"

#include <cstdint>

namespace loco {

struct CheckpointPolicy {
  int64_t saveEvery = 0;    ///< --save-every (0: by epochs; < 0: never)
  int64_t saveInterval = 1; ///< training.save_interval, in epochs
  int64_t keep = 2;         ///< checkpoints kept
  bool saveBest = true;     ///< training.save_best

  /// `saveEvery` and `keepOverride` (> 0) are the command line's.
  static CheckpointPolicy fromTraining(const TrainingManifest &hp,
                                       int64_t saveEvery, int64_t keepOverride);
  /// Whether optimizer step `step` (1-based) ends with a checkpoint.
  bool due(int64_t step, int64_t stepsPerEpoch) const;
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_CHECKPOINTPOLICY_H
