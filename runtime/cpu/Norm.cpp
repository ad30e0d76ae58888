//===- Norm.cpp - GroupNorm and RMSGroupNorm on the CPU -------------------===//
//
// This file implements the normalisations. Statistics accumulate in double:
// the encoder's GroupNorm(1) sums over C x T x F elements of a sample, where
// float accumulation would lose digits the golden comparison needs.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <cmath>

extern "C" {

void loco_group_norm(loco_context *, const float *x, const float *gamma,
                     const float *beta, float *out, int64_t B, int64_t C,
                     int64_t S, int64_t groups, double eps) {
  int64_t perGroup = C / groups;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const float *xg = x + (n * C + g * perGroup) * S;
      float *og = out + (n * C + g * perGroup) * S;
      int64_t count = perGroup * S;
      double sum = 0.0;
      for (int64_t i = 0; i < count; ++i)
        sum += xg[i];
      double mean = sum / count, var = 0.0;
      for (int64_t i = 0; i < count; ++i) {
        double d = xg[i] - mean;
        var += d * d;
      }
      double inv = 1.0 / std::sqrt(var / count + eps);
      for (int64_t c = 0; c < perGroup; ++c) {
        float scale = static_cast<float>(inv * gamma[g * perGroup + c]);
        float shift = static_cast<float>(beta[g * perGroup + c] -
                                         mean * inv * gamma[g * perGroup + c]);
        const float *xc = xg + c * S;
        float *oc = og + c * S;
        for (int64_t i = 0; i < S; ++i)
          oc[i] = xc[i] * scale + shift;
      }
    }
  }
}

void loco_rms_group_norm(loco_context *, const float *x, const float *gamma,
                         float *out, int64_t rows, int64_t C, int64_t groups,
                         double eps) {
  int64_t perGroup = C / groups;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float *xg = x + r * C + g * perGroup;
      float *og = out + r * C + g * perGroup;
      double sumSq = 0.0;
      for (int64_t c = 0; c < perGroup; ++c)
        sumSq += static_cast<double>(xg[c]) * xg[c];
      double inv = 1.0 / (std::sqrt(sumSq / perGroup) + eps);
      for (int64_t c = 0; c < perGroup; ++c)
        og[c] = static_cast<float>(xg[c] * inv) * gamma[g * perGroup + c];
    }
  }
}

} // extern "C"
