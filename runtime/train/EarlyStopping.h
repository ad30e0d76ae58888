//===- EarlyStopping.h - Stop when validation stops improving ---*- C++ -*-===//
//
// This file declares early stopping (training.early_stopping): no
// validation loss below the best by `min_delta` for `patience` validations
// in a row ends training. The count lives in TrainState, so a resumed run
// goes on counting.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_EARLYSTOPPING_H
#define LOCO_RUNTIME_TRAIN_EARLYSTOPPING_H

#include "runtime/abi/Manifest.h"
#include "runtime/io/TrainState.h"

namespace loco {

struct EarlyStopping {
  bool enabled = false;
  int64_t patience = 10;
  double minDelta = 0.0;

  static EarlyStopping fromTraining(const TrainingManifest &hp);
  /// Counts `valLoss` in `state` (whether or not enabled, so that turning
  /// it on at a resume counts from the run's history); true: stop now.
  bool observe(TrainState &state, double valLoss) const;
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_EARLYSTOPPING_H
