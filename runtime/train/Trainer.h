//===- Trainer.h - locorun's training loop ----------------------*- C++ -*-===//
//
// This file declares the training loop: micro-steps with gradient
// accumulation, the optimizer step, the learning-rate schedule (linear
// warmup, then ReduceLROnPlateau on the validation loss), validation SI-SDR
// per source, metrics as JSON lines, a progress line, checkpoints, and the
// guard against non-finite steps: a step whose loss or gradient norm is NaN
// or Inf is skipped (the weights and moments keep their values), counted,
// and shown; too many in a row stop training with an error naming the first
// non-finite tensor.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_TRAINER_H
#define LOCO_RUNTIME_TRAIN_TRAINER_H

#include "runtime/data/Dataset.h"
#include "runtime/dist/Collective.h"
#include "runtime/session/Session.h"
#include "runtime/train/TrainingObserver.h"

#include <string>
#include <vector>

namespace loco {

struct TrainOptions {
  int64_t steps = -1;         ///< total optimizer steps to reach
  int64_t epochs = -1;        ///< or total epochs
  int64_t stepsPerEpoch = -1; ///< default: training tracks / batch
  int64_t saveEvery = 0;      ///< every N steps (0: the config's epochs)
  std::string metricsPath, outDir, resumeDir;
  /// TensorBoard event files (scalars, validation audio) go here.
  std::string tensorboardDir;
  uint64_t seed = 0;
  /// Consecutive non-finite steps (skipped, never applied) after which
  /// training stops with an error.
  int64_t maxBadSteps = 10;
  /// Checkpoints kept in `outDir` (the newest); -1: the config's keep_last.
  int64_t keepCheckpoints = -1;
  /// Augment training segments as the config's dataset.augmentation says
  /// (false: never, whatever it says).
  bool augment = true;
  /// When training stops for non-finite steps, re-run the last micro-step
  /// with every op's results checked, and name the first op that made a
  /// NaN or Inf.
  bool debugNonFinite = false;
  /// The first dynamic loss scale of an fp16 step (GradScaler's init_scale).
  double lossScaleInit = 65536.0;
  /// Data parallelism (null: one process). Each rank trains on its block
  /// of a global batch of batch x ranks items per micro-step; gradients
  /// are averaged before clip and AdamW; validation tracks are shared out
  /// and their scores summed; rank 0 alone writes checkpoints, metrics and
  /// TensorBoard, and the others print nothing but errors.
  Communicator *comm = nullptr;
  /// What the run reports to. With `defaultObservers` (locorun), rank 0
  /// adds the progress line on stderr, --metrics and --tensorboard
  /// (Observers.h) to these; a binding passes its own callbacks instead.
  std::vector<TrainingObserver *> observers;
  bool defaultObservers = true;
  /// A binding's training state: a run without resumeDir starts from it
  /// (its step, schedule and loss scale), and the run leaves its last state
  /// there, when it ends and when it fails. Null: a fresh state.
  TrainState *state = nullptr;
};

/// Micro-batches that the caller makes, instead of the loader over a
/// TrackSource (a binding's iterable of numpy batches). next() runs on the
/// training thread, once per micro-step, in order.
class BatchSource {
public:
  virtual ~BatchSource() = default;
  /// The inputs of micro-step `micro` of optimizer step `step`: the mixture
  /// then each source, each [B, N] row-major, in the manifest's order.
  virtual std::vector<std::vector<float>> next(int64_t step, int64_t micro) = 0;
};

/// Trains `session` on `train`, validating on `validation` (may be null).
/// Trains as `options` say. SIGTERM or SIGINT ends training after the step
/// in flight, which is checkpointed (in --out) like a last step; the
/// result is then the signal's number, else 0. A second signal kills at
/// once. Rank 0 locks --out (FolderLock) for the run.
/// An exception from a batch source or an observer (the caller's code) ends
/// training after the last completed step is checkpointed (in --out), then
/// propagates; the runner's own errors write nothing more.
int runTraining(Session &session, const TrackSource &train,
                const TrackSource *validation, const TrainOptions &options);
/// The same on `batches`: the run is options.steps optimizer steps (or
/// options.epochs of options.stepsPerEpoch, one of which must be given).
int runTraining(Session &session, BatchSource &batches,
                const TrackSource *validation, const TrainOptions &options);

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_TRAINER_H
