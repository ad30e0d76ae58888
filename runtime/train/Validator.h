//===- Validator.h - Validation during training -----------------*- C++ -*-===//
//
// This file declares the validation of a training run: every validation
// track in full, separated segment by segment through the separation step
// that every train.so carries (as `locorun separate` does) and scored by
// the training loss on the host, term for term, with SI-SDR per source:
// what upstream's validation does. Under data parallelism the tracks are
// shared out and the scores summed. A train.so of an earlier lococ (no
// separation step) scores centre segments through its forward step.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_VALIDATOR_H
#define LOCO_RUNTIME_TRAIN_VALIDATOR_H

#include "runtime/data/Dataset.h"
#include "runtime/dist/Collective.h"
#include "runtime/session/Session.h"
#include "runtime/train/TrainingObserver.h"

#include <string>
#include <vector>

namespace loco {

class Validator {
public:
  /// `comm` may be null (one process).
  Validator(Session &session, const TrackSource &tracks, Communicator *comm);

  /// Scores the model as it is after optimizer step `step` (training mode
  /// off); the first track or item is heard by `observers` that want
  /// audio. Fills loss, SI-SDR, tracks and seconds of the record.
  ValidationRecord run(int64_t step,
                       const std::vector<TrainingObserver *> &observers);

private:
  void wholeTracks(int64_t step, ValidationRecord &record,
                   std::vector<double> &sdr,
                   const std::vector<TrainingObserver *> &listeners);
  void evalSegments(int64_t step, ValidationRecord &record,
                    std::vector<double> &sdr,
                    const std::vector<TrainingObserver *> &listeners);

  Session &session;
  const TrackSource &tracks;
  Communicator *comm;
  std::vector<std::string> sources;
  int64_t batch, segment, sampleRate;
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_VALIDATOR_H
