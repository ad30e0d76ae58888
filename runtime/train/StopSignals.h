//===- StopSignals.h - SIGTERM and SIGINT end training cleanly --*- C++ -*-===//
//
// This file declares StopSignals: while one exists, SIGTERM (what Slurm and
// Kubernetes send before they kill a job) and SIGINT are caught, and the
// training loop reads the signal at each step boundary, checkpoints the
// step in flight and ends. The handler resets itself (SA_RESETHAND): a
// second signal ends the process at once.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_STOPSIGNALS_H
#define LOCO_RUNTIME_TRAIN_STOPSIGNALS_H

#include <signal.h>

namespace loco {

class StopSignals {
public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

  /// The number of the signal caught so far, else 0.
  static int caught();

private:
  struct sigaction previousTerm{}, previousInt{};
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_STOPSIGNALS_H
