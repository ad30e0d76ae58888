//===- Loss.cpp - Loss pieces on the CPU ----------------------------------===//
//
// This file implements SI-SDR, L1, MSE and the log1p-magnitude spectral L1
// of upstream MSSLoss. Sums accumulate in double.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <cmath>

extern "C" {

void loco_si_sdr(loco_context *, const float *e, const float *t, float *out,
                 int64_t B, int64_t N, double eps) {
  for (int64_t b = 0; b < B; ++b) {
    const float *eb = e + b * N, *tb = t + b * N;
    double meanE = 0.0, meanT = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      meanE += eb[i];
      meanT += tb[i];
    }
    meanE /= N;
    meanT /= N;
    double dot = 0.0, targetEnergy = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      double ev = eb[i] - meanE, tv = tb[i] - meanT;
      dot += ev * tv;
      targetEnergy += tv * tv;
    }
    double alpha = dot / (targetEnergy + eps);
    double projEnergy = 0.0, noiseEnergy = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      double proj = alpha * (tb[i] - meanT);
      double noise = (eb[i] - meanE) - proj;
      projEnergy += proj * proj;
      noiseEnergy += noise * noise;
    }
    out[b] = static_cast<float>(
        10.0 * std::log10((projEnergy + eps) / (noiseEnergy + eps)));
  }
}

void loco_l1_loss(loco_context *, const float *e, const float *t, float *out,
                  int64_t n) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    sum += std::fabs(static_cast<double>(e[i]) - t[i]);
  out[0] = static_cast<float>(sum / n);
}

void loco_mse_loss(loco_context *, const float *e, const float *t, float *out,
                   int64_t n) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(e[i]) - t[i];
    sum += d * d;
  }
  out[0] = static_cast<float>(sum / n);
}

void loco_spectral_l1(loco_context *, const float *E, const float *T,
                      float *out, int64_t B, int64_t frames, int64_t F) {
  int64_t plane = frames * F;
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < B * plane; ++i) {
    int64_t b = i / plane, j = i % plane;
    const float *e = E + b * 2 * plane, *t = T + b * 2 * plane;
    float magE = std::sqrt(e[j] * e[j] + e[plane + j] * e[plane + j]);
    float magT = std::sqrt(t[j] * t[j] + t[plane + j] * t[plane + j]);
    sum += std::fabs(static_cast<double>(std::log1p(magE)) - std::log1p(magT));
  }
  out[0] = static_cast<float>(sum / (B * plane));
}

} // extern "C"
