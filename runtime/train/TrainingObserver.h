//===- TrainingObserver.h - What a training run tells -----------*- C++ -*-===//
//
// This file declares the records a training run reports (one per optimizer
// step, one per validation) and TrainingObserver, the interface through
// which it reports them and its messages. The progress line, the JSON
// lines of --metrics and TensorBoard are three implementations
// (Observers.h); a binding adds its own callbacks the same way. The loop
// itself prints nothing.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_TRAININGOBSERVER_H
#define LOCO_RUNTIME_TRAIN_TRAININGOBSERVER_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loco {

/// One optimizer step, after it ran.
struct StepRecord {
  int64_t step = 0, target = 0, firstStep = 0;
  double loss = 0.0; ///< total_loss, averaged over micro-steps and ranks
  /// The other loss terms, in the manifest's order.
  std::vector<std::pair<std::string, double>> components;
  double lr = 0.0;
  double gradNorm = 0.0, clipCoef = 0.0; ///< NaN when no update ran
  bool skipped = false, overflow = false;
  int64_t skippedSteps = 0; ///< of the whole run, resumed ones included
  /// Loss scaling: the scale this step ran at and the next one's.
  bool lossScaling = false;
  double lossScale = 1.0, nextLossScale = 1.0;
  /// Wall seconds since training started, of this step, and of its data:
  /// reading and augmenting (loader thread) and waiting for it.
  double seconds = 0.0, stepSeconds = 0.0;
  double loadSeconds = 0.0, augmentSeconds = 0.0, waitSeconds = 0.0;
  /// Data parallelism (ranks > 1): this step's collectives, waiting for
  /// the slowest rank included.
  int ranks = 1;
  bool distributed = false;
  double collectiveSeconds = 0.0;
  int64_t batch = 0; ///< items per rank and optimizer step
  double residentMiB = 0.0, arenaMiB = 0.0;
  double deviceMiB = -1.0; ///< device backends only, else < 0
};

/// One validation.
struct ValidationRecord {
  int64_t step = 0, epoch = 0;
  double loss = 0.0;
  /// SI-SDR (dB) per source, mean over tracks or items.
  std::vector<std::pair<std::string, double>> siSdr;
  int64_t tracks = 0;   ///< whole tracks scored (0: segments of the eval step)
  double seconds = 0.0; ///< audio seconds scored
  bool best = false;    ///< the lowest validation loss so far
  bool savedBest = false; ///< and the run has an --out (best/ when save_best)
  double lr = 0.0;        ///< the base learning rate after it
};

class TrainingObserver {
public:
  virtual ~TrainingObserver() = default;
  virtual void onStep(const StepRecord & /*record*/) {}
  virtual void onValidation(const ValidationRecord & /*record*/) {}
  /// A few seconds of audio heard at a validation ("validation/mixture",
  /// "validation/<source>").
  virtual void onAudio(const std::string & /*tag*/,
                       const std::vector<float> & /*samples*/,
                       int64_t /*sampleRate*/, int64_t /*step*/) {}
  /// Whether onAudio is wanted (the clips are cut only then).
  virtual bool wantsAudio() const { return false; }
  /// Whether StepRecord::deviceMiB is wanted (queried from the device
  /// only then).
  virtual bool wantsDeviceMemory() const { return false; }
  /// A line for the user: a warning, a skipped step, a summary.
  virtual void onMessage(const std::string & /*line*/) {}
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_TRAININGOBSERVER_H
