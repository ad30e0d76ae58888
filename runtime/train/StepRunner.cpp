//===- StepRunner.cpp - An optimizer step's micro-steps -------------------===//
//
// This file implements StepRunner.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/StepRunner.h"

#include <algorithm>
#include <cmath>

using namespace loco;

double AccumulatedStep::loss(const std::string &name) const {
  for (const auto &[term, value] : losses)
    if (term == name)
      return value;
  return NAN;
}

void StepRunner::setKey(const MicroStep &micro) {
  session.backend().loco_context_set_rng(session.context(), seed,
                                         micro.rngStep);
  session.backend().loco_context_set_rng_replica(session.context(),
                                                 micro.replica);
}

AccumulatedStep StepRunner::run(const EntryPoint &entry, int64_t count,
                                const std::function<MicroStep(int64_t)> &next,
                                bool keepTensors) {
  AccumulatedStep step;
  for (int64_t k = 0; k < count; ++k) {
    MicroStep micro = next(k);
    session.setInputs(micro.inputs);
    setKey(micro);
    StepOutputs out = session.run(entry);
    // Losses are batch means: the step's is the mean of the micro-steps'.
    for (const auto &[name, value] : out.losses) {
      double share = value / static_cast<double>(count);
      auto it = std::find_if(step.losses.begin(), step.losses.end(),
                             [&](const auto &t) { return t.first == name; });
      if (it == step.losses.end())
        step.losses.emplace_back(name, share);
      else
        it->second += share;
    }
    if (step.nonFinite.empty() && !std::isfinite(out.loss("total_loss")))
      step.nonFinite = session.firstNonFinite(micro.inputs, out);
    // Estimates stack along the batch.
    if (keepTensors) {
      if (k == 0) {
        step.tensors = std::move(out.tensors);
        for (F32Tensor &tensor : step.tensors)
          tensor.shape[0] *= count;
      } else {
        for (size_t i = 0; i < step.tensors.size(); ++i)
          step.tensors[i].values.insert(step.tensors[i].values.end(),
                                        out.tensors[i].values.begin(),
                                        out.tensors[i].values.end());
      }
    }
    step.lastInputs = std::move(micro.inputs);
  }
  return step;
}

OptimizerOutcome loco::finishOptimizerStep(
    Session &session, TrainState &state, const LossScaler &scaler, int64_t step,
    double lr, double loss, const std::function<void()> &beforeUpdate) {
  // A non-finite loss: skip the optimizer step (its accumulators are
  // dropped). A non-finite gradient: AdamW skips the update itself.
  OptimizerOutcome outcome;
  int64_t badUpdates = 0;
  if (std::isfinite(loss)) {
    if (beforeUpdate)
      beforeUpdate();
    // AdamW's bias correction counts the updates applied.
    session.optimizerStep(step - state.skippedSteps, lr);
    loco_optimizer_scratch scalars = session.optimizerScalars();
    outcome.gradNorm = scalars.grad_norm;
    outcome.clipCoef = scalars.clip_coef;
    badUpdates = scalars.nonfinite_updates;
  } else {
    session.zeroGradients();
  }
  state.step = step;
  outcome.verdict = scaler.judge(state, loss, outcome.gradNorm, badUpdates);
  return outcome;
}
