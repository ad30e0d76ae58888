//===- TrainState.h - What a checkpoint carries besides weights -*- C++ -*-===//
//
// This file declares TrainState, the optimizer and schedule state of a run,
// and its one encoding as optimizer.safetensors metadata: every key is
// spelled here and in TrainState.cpp only, written and read back by the
// same pair of functions.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_IO_TRAINSTATE_H
#define LOCO_RUNTIME_IO_TRAINSTATE_H

#include <cstdint>
#include <map>
#include <string>

namespace loco {

/// Optimizer and schedule state that a checkpoint carries besides weights.
struct TrainState {
  int64_t step = 0;           ///< optimizer steps taken
  double lr = 0.0;            ///< the plateau-scheduled base learning rate
  double bestValLoss = 1e300; ///< ReduceLROnPlateau
  /// The lowest validation loss so far: the one `--out DIR/best/` holds.
  double bestSavedValLoss = 1e300;
  int64_t badEpochs = 0, cooldown = 0;
  /// Early stopping: the best validation loss, and the validations since.
  double earlyStopBest = 1e300;
  int64_t earlyStopBad = 0;
  uint64_t seed = 0;
  /// Steps skipped for a non-finite loss or gradient: AdamW counts only the
  /// updates it applied (its bias correction uses step - skippedSteps), as
  /// torch's optimizer does when GradScaler skips a step.
  int64_t skippedSteps = 0;
  /// Dynamic loss scaling (fp16; torch.cuda.amp.GradScaler's defaults): the
  /// scale, and the applied steps since it last changed.
  double lossScale = 65536.0;
  int64_t scaleGrowthTracker = 0;
  /// Data-parallel ranks that trained it: a resume at another world size
  /// would draw other samples and masks, so it is refused.
  int64_t worldSize = 1;
};

/// `state` as optimizer.safetensors metadata (with format=lococ-optimizer);
/// reals in %.17g, so that readTrainState gives back the same bits.
std::map<std::string, std::string> trainStateMetadata(const TrainState &state);

/// The optimizer state of an optimizer.safetensors' `meta`: every counter
/// a whole number in range, the learning rate finite. Keys that earlier
/// checkpoints lack take their defaults. Throws RunError naming `path` and
/// the key otherwise.
TrainState readTrainState(const std::map<std::string, std::string> &meta,
                          const std::string &path);

} // namespace loco

#endif // LOCO_RUNTIME_IO_TRAINSTATE_H
