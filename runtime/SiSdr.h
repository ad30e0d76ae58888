//===- SiSdr.h - Scale-invariant SDR of one signal, on the host -*- C++ -*-===//
//
// This file implements upstream's SI-SDR (zero-mean signals, the target
// scaled by the projection, 10 log10 of the energy ratio, eps in both)
// for one estimate, in double: the CPU backend's loco_si_sdr and locorun's
// validation metric (on outputs already copied back from any device).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SISDR_H
#define LOCO_RUNTIME_SISDR_H

#include <cmath>
#include <cstdint>

namespace loco {

inline float siSdrDb(const float *e, const float *t, int64_t N, double eps) {
  double meanE = 0.0, meanT = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    meanE += e[i];
    meanT += t[i];
  }
  meanE /= N;
  meanT /= N;
  double dot = 0.0, targetEnergy = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    double ev = e[i] - meanE, tv = t[i] - meanT;
    dot += ev * tv;
    targetEnergy += tv * tv;
  }
  double alpha = dot / (targetEnergy + eps);
  double projEnergy = 0.0, noiseEnergy = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    double proj = alpha * (t[i] - meanT);
    double noise = (e[i] - meanE) - proj;
    projEnergy += proj * proj;
    noiseEnergy += noise * noise;
  }
  return static_cast<float>(
      10.0 * std::log10((projEnergy + eps) / (noiseEnergy + eps)));
}

} // namespace loco

#endif // LOCO_RUNTIME_SISDR_H
