//===- Loss.cpp - Loss pieces on the CPU ----------------------------------===//
//
// This file implements SI-SDR, L1, MSE and the log1p-magnitude spectral L1
// of upstream MSSLoss. Sums accumulate in double.
//
//===----------------------------------------------------------------------===//

#include "runtime/SiSdr.h"
#include "runtime/cpu/Context.h"
#include "runtime/cpu/Parallel.h"

#include <cmath>

extern "C" {

void loco_si_sdr(loco_context *, const float *e, const float *t, float *out,
                 int64_t B, int64_t N, double eps) {
  for (int64_t b = 0; b < B; ++b)
    out[b] = loco::siSdrDb(e + b * N, t + b * N, N, eps);
}

void loco_l1_loss(loco_context *, const float *e, const float *t, float *out,
                  int64_t n) {
  double sum = loco::parallelSum(n, [&](int64_t i) {
    return std::fabs(static_cast<double>(e[i]) - t[i]);
  });
  out[0] = static_cast<float>(sum / n);
}

void loco_mse_loss(loco_context *, const float *e, const float *t, float *out,
                   int64_t n) {
  double sum = loco::parallelSum(n, [&](int64_t i) {
    double d = static_cast<double>(e[i]) - t[i];
    return d * d;
  });
  out[0] = static_cast<float>(sum / n);
}

void loco_spectral_l1(loco_context *, const float *E, const float *T,
                      float *out, int64_t B, int64_t frames, int64_t F) {
  int64_t plane = frames * F;
  double sum = loco::parallelSum(B * plane, [&](int64_t i) {
    int64_t b = i / plane, j = i % plane;
    const float *e = E + b * 2 * plane, *t = T + b * 2 * plane;
    float magE = std::sqrt(e[j] * e[j] + e[plane + j] * e[plane + j]);
    float magT = std::sqrt(t[j] * t[j] + t[plane + j] * t[plane + j]);
    return std::fabs(static_cast<double>(std::log1p(magE)) - std::log1p(magT));
  });
  out[0] = static_cast<float>(sum / (B * plane));
}

} // extern "C"

extern "C" {

void loco_si_sdr_backward(loco_context *ctx, const float *e, const float *t,
                          const float *g, float *out, int64_t B, int64_t N,
                          double eps) {
  loco::Scratch scratch(ctx);
  double *grad = scratch.take<double>(N);
  for (int64_t b = 0; b < B; ++b) {
    const float *eb = e + b * N, *tb = t + b * N;
    float *ob = out + b * N;
    loco::SiSdrStatistics stats = loco::siSdrStatistics(eb, tb, N);
    double meanE = stats.meanE, meanT = stats.meanT, dot = stats.dot;
    double tt = stats.targetEnergy, ee = stats.estimateEnergy;
    // sisdr = 10 log10(num / den), num = a^2 T + eps,
    // den = |e|^2 - 2 a D + a^2 T + eps, a = D / (T + eps).
    double a = dot / (tt + eps);
    double num = a * a * tt + eps, den = ee - 2 * a * dot + a * a * tt + eps;
    double k = 10.0 / std::log(10.0) * g[b];
    // d num/de = 2 a T t / (T + eps); d den/de = 2 e - 2 a t +
    // (2 a T - 2 D) t / (T + eps), on the centred signals.
    double cNumT = 2 * a * tt / (tt + eps);
    double cDenT = -2 * a + (2 * a * tt - 2 * dot) / (tt + eps);
    double meanGrad = 0.0;
    for (int64_t i = 0; i < N; ++i) {
      double ev = eb[i] - meanE, tv = tb[i] - meanT;
      grad[i] = k * (cNumT * tv / num - (2 * ev + cDenT * tv) / den);
      meanGrad += grad[i];
    }
    meanGrad /= N;
    // The mean removal's Jacobian centres the gradient.
    for (int64_t i = 0; i < N; ++i)
      ob[i] = static_cast<float>(grad[i] - meanGrad);
  }
}

void loco_l1_loss_backward(loco_context *, const float *e, const float *t,
                           const float *g, float *out, int64_t n) {
  float scale = g[0] / static_cast<float>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float d = e[i] - t[i];
    out[i] = d > 0 ? scale : (d < 0 ? -scale : 0.0f);
  }
}

void loco_mse_loss_backward(loco_context *, const float *e, const float *t,
                            const float *g, float *out, int64_t n) {
  float scale = 2.0f * g[0] / static_cast<float>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = scale * (e[i] - t[i]);
}

void loco_spectral_l1_backward(loco_context *, const float *E, const float *T,
                               const float *g, float *out, int64_t B,
                               int64_t frames, int64_t F) {
  int64_t plane = frames * F;
  float scale = g[0] / static_cast<float>(B * plane);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B * plane; ++i) {
    int64_t b = i / plane, j = i % plane;
    const float *e = E + b * 2 * plane, *t = T + b * 2 * plane;
    float *o = out + b * 2 * plane;
    float magE = std::sqrt(e[j] * e[j] + e[plane + j] * e[plane + j]);
    float magT = std::sqrt(t[j] * t[j] + t[plane + j] * t[plane + j]);
    float d = std::log1p(magE) - std::log1p(magT);
    float sign = d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
    // d|X|/dX = X / |X|, taken as 0 at X = 0.
    float factor = magE > 0 ? scale * sign / ((1.0f + magE) * magE) : 0.0f;
    o[j] = factor * e[j];
    o[plane + j] = factor * e[plane + j];
  }
}

} // extern "C"
