//===- Norm.cpp - GroupNorm and RMSGroupNorm on the CPU -------------------===//
//
// This file implements the normalisations. Statistics accumulate in double:
// the encoder's GroupNorm(1) sums over C x T x F elements of a sample, where
// float accumulation would lose digits the golden comparison needs.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <omp.h>

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

extern "C" {

void loco_group_norm_backward(loco_context *ctx, const float *x,
                              const float *gamma, const float *g, float *dx,
                              float *dgamma, float *dbeta, int64_t B, int64_t C,
                              int64_t S, int64_t groups, double eps) {
  int64_t perGroup = C / groups;
  // Per (sample, channel) partial sums of g * xhat and g, reduced after.
  loco::Scratch scratch(ctx);
  double *partGamma = scratch.take<double>(B * C);
  double *partBeta = scratch.take<double>(B * C);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t grp = 0; grp < groups; ++grp) {
      int64_t base = (n * C + grp * perGroup) * S, count = perGroup * S;
      double sum = 0.0;
      for (int64_t i = 0; i < count; ++i)
        sum += x[base + i];
      double mean = sum / count, var = 0.0;
      for (int64_t i = 0; i < count; ++i)
        var += (x[base + i] - mean) * (x[base + i] - mean);
      double inv = 1.0 / std::sqrt(var / count + eps);
      // dxhat = g * gamma; dx = inv (dxhat - mean(dxhat) - xhat mean(dxhat
      // xhat)).
      double sumD = 0.0, sumDX = 0.0;
      for (int64_t c = 0; c < perGroup; ++c) {
        int64_t ch = grp * perGroup + c;
        double gPart = 0.0, gxPart = 0.0;
        for (int64_t s = 0; s < S; ++s) {
          int64_t i = base + c * S + s;
          double xhat = (x[i] - mean) * inv;
          gPart += g[i];
          gxPart += g[i] * xhat;
        }
        partBeta[n * C + ch] = gPart;
        partGamma[n * C + ch] = gxPart;
        sumD += gPart * gamma[ch];
        sumDX += gxPart * gamma[ch];
      }
      double meanD = sumD / count, meanDX = sumDX / count;
      for (int64_t c = 0; c < perGroup; ++c) {
        int64_t ch = grp * perGroup + c;
        for (int64_t s = 0; s < S; ++s) {
          int64_t i = base + c * S + s;
          double xhat = (x[i] - mean) * inv;
          dx[i] = static_cast<float>(
              inv * (g[i] * gamma[ch] - meanD - xhat * meanDX));
        }
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    double sg = 0.0, sb = 0.0;
    for (int64_t n = 0; n < B; ++n) {
      sg += partGamma[n * C + c];
      sb += partBeta[n * C + c];
    }
    dgamma[c] = static_cast<float>(sg);
    dbeta[c] = static_cast<float>(sb);
  }
}

void loco_rms_group_norm_backward(loco_context *ctx, const float *x,
                                  const float *gamma, const float *g, float *dx,
                                  float *dgamma, int64_t rows, int64_t C,
                                  int64_t groups, double eps) {
  int64_t perGroup = C / groups;
  int threads = loco::scratchThreads();
  loco::Scratch scratch(ctx);
  double *partial = scratch.take<double>(static_cast<int64_t>(threads) * C);
  std::fill(partial, partial + static_cast<int64_t>(threads) * C, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double *mine = partial + omp_get_thread_num() * C;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t grp = 0; grp < groups; ++grp) {
        const float *xg = x + r * C + grp * perGroup;
        const float *gg = g + r * C + grp * perGroup;
        float *dg = dx + r * C + grp * perGroup;
        double sumSq = 0.0;
        for (int64_t c = 0; c < perGroup; ++c)
          sumSq += static_cast<double>(xg[c]) * xg[c];
        double rms = std::sqrt(sumSq / perGroup), s = 1.0 / (rms + eps);
        // y_c = x_c s gamma_c with s = 1/(rms + eps), d rms/dx_j = x_j/(m rms).
        double dot = 0.0;
        for (int64_t c = 0; c < perGroup; ++c) {
          double gh = static_cast<double>(gg[c]) * gamma[grp * perGroup + c];
          dot += gh * xg[c];
          mine[grp * perGroup + c] += static_cast<double>(gg[c]) * xg[c] * s;
        }
        double coef = rms > 0.0 ? s * s * dot / (perGroup * rms) : 0.0;
        for (int64_t c = 0; c < perGroup; ++c)
          dg[c] = static_cast<float>(
              gg[c] * static_cast<double>(gamma[grp * perGroup + c]) * s -
              coef * xg[c]);
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0.0;
    for (int t = 0; t < threads; ++t)
      sum += partial[static_cast<size_t>(t) * C + c];
    dgamma[c] = static_cast<float>(sum);
  }
}

} // extern "C"
