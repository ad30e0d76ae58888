//===- Context.h - The CPU backend's context --------------------*- C++ -*-===//
//
// This file declares the CPU backend's loco_context: error state, RNG key,
// and the FFTW plans, which are created once per transform size and reused.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_CONTEXT_H
#define LOCO_RUNTIME_CPU_CONTEXT_H

#include "runtime/api.h"

#include <map>
#include <mutex>
#include <string>

struct loco_context {
  std::string error;
  std::string description;
  uint64_t seed = 0, step = 0;
  bool training = true;
  int64_t optimizerStep = 1;
  double lr = 0.0;

  /// Batched real FFT plans keyed by (n_fft, frames, inverse).
  std::mutex planMutex;
  std::map<std::tuple<int64_t, int64_t, bool>, void *> plans;

  /// Records the first error; later ones are dropped.
  void fail(const std::string &message) {
    if (error.empty())
      error = message;
  }
};

#endif // LOCO_RUNTIME_CPU_CONTEXT_H
