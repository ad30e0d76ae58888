//===- StepRunner.h - An optimizer step's micro-steps -----------*- C++ -*-===//
//
// This file declares StepRunner: the forward and backward of one optimizer
// step as micro-steps run one after another on a session, each with its
// own inputs and dropout key, the gradients accumulating in the arena. The
// training loop and `locorun --one-step` both run their steps through it;
// the optimizer step itself stays the caller's (after an all-reduce, or a
// dump of the gradients).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_STEPRUNNER_H
#define LOCO_RUNTIME_TRAIN_STEPRUNNER_H

#include "runtime/session/Session.h"
#include "runtime/train/LossScaler.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace loco {

/// What one micro-step runs on: its inputs (manifest order) and where its
/// random ops draw (loco_context_set_rng's step, and the replica: the
/// micro-step's place in the unsplit batch).
struct MicroStep {
  std::vector<std::vector<float>> inputs;
  uint64_t rngStep = 0;
  int64_t replica = 0;
};

/// The micro-steps' results together.
struct AccumulatedStep {
  /// The mean of the micro-steps' loss terms (each a batch mean), in the
  /// manifest's order, total_loss included.
  std::vector<std::pair<std::string, double>> losses;
  /// The step's tensors stacked along the batch (when kept).
  std::vector<F32Tensor> tensors;
  /// The first non-finite tensor of the first micro-step whose total loss
  /// is not finite (Session::firstNonFinite), or empty.
  std::string nonFinite;
  /// The last micro-step's inputs (a re-run with every op checked uses
  /// them).
  std::vector<std::vector<float>> lastInputs;

  double loss(const std::string &name) const;
};

class StepRunner {
public:
  StepRunner(Session &session, uint64_t seed) : session(session), seed(seed) {}

  /// Runs `entry` once per micro-step `0 .. count-1`, with the inputs and
  /// key `next(k)` gives; with `keepTensors`, stacks the outputs.
  AccumulatedStep run(const EntryPoint &entry, int64_t count,
                      const std::function<MicroStep(int64_t)> &next,
                      bool keepTensors);
  /// Sets micro-step `micro`'s dropout key on the session.
  void setKey(const MicroStep &micro);

private:
  Session &session;
  uint64_t seed;
};

/// The optimizer half of step `step`, after its micro-steps: clip and AdamW
/// at `lr` when `loss` is finite (`beforeUpdate` runs first: the gradients'
/// all-reduce), else the accumulators are dropped; then `scaler`'s verdict,
/// which updates `state` (its step becomes `step`).
struct OptimizerOutcome {
  double gradNorm = NAN, clipCoef = NAN; ///< NaN when no update ran
  StepVerdict verdict;
};
OptimizerOutcome finishOptimizerStep(
    Session &session, TrainState &state, const LossScaler &scaler, int64_t step,
    double lr, double loss, const std::function<void()> &beforeUpdate = {});

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_STEPRUNNER_H
