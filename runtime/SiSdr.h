//===- SiSdr.h - Scale-invariant SDR of one signal, on the host -*- C++ -*-===//
//
// This file implements upstream's SI-SDR (zero-mean signals, the target
// scaled by the projection, 10 log10 of the energy ratio, eps in both)
// for one estimate, in double, and the statistics its gradient needs: the
// CPU backend's loco_si_sdr and its backward, and locorun's validation
// metric (on outputs already copied back from any device).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SISDR_H
#define LOCO_RUNTIME_SISDR_H

#include <cmath>
#include <cstdint>

namespace loco {

/// The means of e and t, and the dot product and energies of the centred
/// signals, in double.
struct SiSdrStatistics {
  double meanE = 0.0, meanT = 0.0;
  double dot = 0.0, targetEnergy = 0.0, estimateEnergy = 0.0;
};

inline SiSdrStatistics siSdrStatistics(const float *e, const float *t,
                                       int64_t N) {
  SiSdrStatistics s;
  for (int64_t i = 0; i < N; ++i) {
    s.meanE += e[i];
    s.meanT += t[i];
  }
  s.meanE /= N;
  s.meanT /= N;
  for (int64_t i = 0; i < N; ++i) {
    double ev = e[i] - s.meanE, tv = t[i] - s.meanT;
    s.dot += ev * tv;
    s.targetEnergy += tv * tv;
    s.estimateEnergy += ev * ev;
  }
  return s;
}

inline float siSdrDb(const float *e, const float *t, int64_t N, double eps) {
  SiSdrStatistics s = siSdrStatistics(e, t, N);
  double alpha = s.dot / (s.targetEnergy + eps);
  double projEnergy = 0.0, noiseEnergy = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    double proj = alpha * (t[i] - s.meanT);
    double noise = (e[i] - s.meanE) - proj;
    projEnergy += proj * proj;
    noiseEnergy += noise * noise;
  }
  return static_cast<float>(
      10.0 * std::log10((projEnergy + eps) / (noiseEnergy + eps)));
}

} // namespace loco

#endif // LOCO_RUNTIME_SISDR_H
