//===- DeviceMemory.h - Device memory against the plan ----------*- C++ -*-===//
//
// This file declares DeviceMemoryTrace: what a device backend reports in
// use after each step, split into the plan (the arena and the fixed
// workspace, which the context allocates itself) and what the CUDA runtime
// and libraries hold besides: kernel images loaded lazily at first launch,
// cuFFT plan data, cuBLASLt's handle and graph executables. Those are
// measured once, at the end of warm-up (every entry point of a training run
// has then run eagerly and been captured), and the rest of the peak after
// warm-up is compared with the plan. A growth after warm-up (an allocation
// the plan missed) still shows in that ratio; the libraries' fixed cost
// does not.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SESSION_DEVICEMEMORY_H
#define LOCO_RUNTIME_SESSION_DEVICEMEMORY_H

#include <algorithm>
#include <cstdint>

namespace loco {

class DeviceMemoryTrace {
public:
  /// Optimizer steps in warm-up: the first runs every entry point eagerly,
  /// the second captures each as a graph and launches it.
  static constexpr int64_t kWarmupSteps = 2;

  /// Records `inUse` bytes, sampled after a step (an entry point or, when
  /// `optimizerStep`, the optimizer step that ends a training step).
  void sample(int64_t inUse, bool optimizerStep) {
    if (afterWarmup >= 0)
      peakAfterWarmup = std::max(peakAfterWarmup, inUse);
    if (optimizerStep && ++optimizerSteps == kWarmupSteps)
      afterWarmup = inUse;
  }

  /// Whether a step ran after warm-up, so that the split below is known.
  bool separated() const { return peakAfterWarmup >= 0; }
  /// Bytes in use at the end of warm-up beyond the plan's `planBytes`.
  int64_t libraryBytes(int64_t planBytes) const {
    return std::max<int64_t>(0, afterWarmup - planBytes);
  }
  /// The peak after warm-up less the libraries' bytes.
  int64_t peakLessLibraries(int64_t planBytes) const {
    return peakAfterWarmup - libraryBytes(planBytes);
  }

private:
  int64_t optimizerSteps = 0;
  int64_t afterWarmup = -1;
  int64_t peakAfterWarmup = -1;
};

} // namespace loco

#endif // LOCO_RUNTIME_SESSION_DEVICEMEMORY_H
