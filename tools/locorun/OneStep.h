//===- OneStep.h - locorun --one-step, --batch, --dump, --eval --*- C++ -*-===//
//
// This file declares the single step of locorun: one training step (forward,
// loss, backward, clip + AdamW) or one forward pass, on a --batch file or on
// synthetic input, printing the losses and optionally dumping the outputs,
// gradients and the weights after the step (what the golden tests compare).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_ONESTEP_H
#define LOCO_TOOLS_LOCORUN_ONESTEP_H

#include "runtime/session/Session.h"

#include <cstdint>
#include <string>

namespace loco {

struct OneStepOptions {
  std::string artifact; ///< for the report line
  std::string batch;    ///< --batch: the inputs, else synthetic ones
  std::string dump;     ///< --dump DIR, or empty
  bool eval = false;    ///< --eval: the forward pass only
  /// --dry-run (the emulated CUDA device): kernels, copies and library
  /// calls did not run, so there are no values to report.
  bool dryRun = false;
};

/// Runs the step on `session` with dropout keys from `seed`, through the
/// trainer's StepRunner: a train.so that lococ micro-batched runs the
/// config's batch as its micro-batches, accumulating their gradients.
void runOneStep(Session &session, const OneStepOptions &options, uint64_t seed);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_ONESTEP_H
