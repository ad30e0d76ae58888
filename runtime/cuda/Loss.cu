//===- Loss.cu - Loss pieces on CUDA --------------------------------------===//
//
// This file implements SI-SDR, L1, MSE and the log1p-magnitude spectral L1
// with their gradients. Every sum is a deterministic reduction in double;
// SI-SDR's per-signal statistics (means, then dot products and energies)
// take one reduction pass each, kept in the fixed workspace's stat slots.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/CudaLimits.h"
#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

namespace {
/// Per signal b: stats[8 b + 0..1] = means of e and t; + 2..4 = dot(e, t),
/// |t|^2, |e|^2 of the centred signals.
bool siSdrStatistics(loco_context *ctx, const float *e, const float *t,
                     int64_t B, int64_t N, double *stats) {
  if (!ctx->withinLimit(loco::cuda_limits::siSdrSignals(B), "loco_si_sdr"))
    return false;
  segmentedSum(
      ctx, 2 * B, N,
      [=] __device__(int64_t s, int64_t i) {
        const float *src = s % 2 ? t : e;
        return static_cast<double>(src[s / 2 * N + i]);
      },
      [=] __device__(int64_t s, double sum) {
        stats[8 * (s / 2) + s % 2] = sum / N;
      });
  segmentedSum(
      ctx, 3 * B, N,
      [=] __device__(int64_t s, int64_t i) {
        int64_t b = s / 3, which = s % 3;
        double ev = e[b * N + i] - stats[8 * b],
               tv = t[b * N + i] - stats[8 * b + 1];
        return which == 0 ? ev * tv : (which == 1 ? tv * tv : ev * ev);
      },
      [=] __device__(int64_t s, double sum) {
        stats[8 * (s / 3) + 2 + s % 3] = sum;
      });
  return true;
}
} // namespace

extern "C" {

void loco_si_sdr(loco_context *ctx, const float *e, const float *t, float *out,
                 int64_t B, int64_t N, double eps) {
  double *stats = statSlots(ctx);
  if (!siSdrStatistics(ctx, e, t, B, N, stats))
    return;
  // Projection and noise energies, as the CPU kernel sums them.
  segmentedSum(
      ctx, 2 * B, N,
      [=] __device__(int64_t s, int64_t i) {
        int64_t b = s / 2;
        const double *st = stats + 8 * b;
        double alpha = st[2] / (st[3] + eps);
        double proj = alpha * (t[b * N + i] - st[1]);
        double noise = (e[b * N + i] - st[0]) - proj;
        return s % 2 ? noise * noise : proj * proj;
      },
      [=] __device__(int64_t s, double sum) {
        stats[8 * (s / 2) + 5 + s % 2] = sum;
      });
  forEach(ctx, B, [=] __device__(int64_t b) {
    const double *st = stats + 8 * b;
    out[b] = static_cast<float>(10.0 * log10((st[5] + eps) / (st[6] + eps)));
  });
}

void loco_l1_loss(loco_context *ctx, const float *e, const float *t, float *out,
                  int64_t n) {
  segmentedSum(
      ctx, 1, n,
      [=] __device__(int64_t, int64_t i) {
        return fabs(static_cast<double>(e[i]) - t[i]);
      },
      [=] __device__(int64_t, double sum) {
        out[0] = static_cast<float>(sum / n);
      });
}

void loco_mse_loss(loco_context *ctx, const float *e, const float *t,
                   float *out, int64_t n) {
  segmentedSum(
      ctx, 1, n,
      [=] __device__(int64_t, int64_t i) {
        double d = static_cast<double>(e[i]) - t[i];
        return d * d;
      },
      [=] __device__(int64_t, double sum) {
        out[0] = static_cast<float>(sum / n);
      });
}

void loco_spectral_l1(loco_context *ctx, const float *E, const float *T,
                      float *out, int64_t B, int64_t frames, int64_t F) {
  int64_t plane = frames * F;
  segmentedSum(
      ctx, 1, B * plane,
      [=] __device__(int64_t, int64_t i) {
        int64_t b = i / plane, j = i % plane;
        const float *e = E + b * 2 * plane, *t = T + b * 2 * plane;
        float magE = sqrtf(e[j] * e[j] + e[plane + j] * e[plane + j]);
        float magT = sqrtf(t[j] * t[j] + t[plane + j] * t[plane + j]);
        return fabs(static_cast<double>(log1pf(magE)) - log1pf(magT));
      },
      [=] __device__(int64_t, double sum) {
        out[0] = static_cast<float>(sum / (B * plane));
      });
}

void loco_si_sdr_backward(loco_context *ctx, const float *e, const float *t,
                          const float *g, float *out, int64_t B, int64_t N,
                          double eps) {
  double *stats = statSlots(ctx);
  if (!siSdrStatistics(ctx, e, t, B, N, stats))
    return;
  // The uncentred gradient of element i (see the CPU kernel's derivation).
  auto grad = [=] __device__(int64_t b, int64_t i) {
    const double *st = stats + 8 * b;
    double dot = st[2], tt = st[3], ee = st[4];
    double a = dot / (tt + eps);
    double num = a * a * tt + eps, den = ee - 2 * a * dot + a * a * tt + eps;
    double k = 10.0 / log(10.0) * g[b];
    double cNumT = 2 * a * tt / (tt + eps);
    double cDenT = -2 * a + (2 * a * tt - 2 * dot) / (tt + eps);
    double ev = e[b * N + i] - st[0], tv = t[b * N + i] - st[1];
    return k * (cNumT * tv / num - (2 * ev + cDenT * tv) / den);
  };
  segmentedSum(ctx, B, N, grad, [=] __device__(int64_t b, double sum) {
    stats[8 * b + 7] = sum / N;
  });
  forEach(ctx, B * N, [=] __device__(int64_t idx) {
    int64_t b = idx / N, i = idx % N;
    out[idx] = static_cast<float>(grad(b, i) - stats[8 * b + 7]);
  });
}

void loco_l1_loss_backward(loco_context *ctx, const float *e, const float *t,
                           const float *g, float *out, int64_t n) {
  float count = static_cast<float>(n);
  forEach(ctx, n, [=] __device__(int64_t i) {
    float scale = g[0] / count;
    float d = e[i] - t[i];
    out[i] = d > 0 ? scale : (d < 0 ? -scale : 0.0f);
  });
}

void loco_mse_loss_backward(loco_context *ctx, const float *e, const float *t,
                            const float *g, float *out, int64_t n) {
  float count = static_cast<float>(n);
  forEach(ctx, n, [=] __device__(int64_t i) {
    float scale = 2.0f * g[0] / count;
    out[i] = scale * (e[i] - t[i]);
  });
}

void loco_spectral_l1_backward(loco_context *ctx, const float *E,
                               const float *T, const float *g, float *out,
                               int64_t B, int64_t frames, int64_t F) {
  int64_t plane = frames * F;
  float count = static_cast<float>(B * plane);
  forEach(ctx, B * plane, [=] __device__(int64_t i) {
    int64_t b = i / plane, j = i % plane;
    const float *e = E + b * 2 * plane, *t = T + b * 2 * plane;
    float *o = out + b * 2 * plane;
    float scale = g[0] / count;
    float magE = sqrtf(e[j] * e[j] + e[plane + j] * e[plane + j]);
    float magT = sqrtf(t[j] * t[j] + t[plane + j] * t[plane + j]);
    float d = log1pf(magE) - log1pf(magT);
    float sign = d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
    float factor = magE > 0 ? scale * sign / ((1.0f + magE) * magE) : 0.0f;
    o[j] = factor * e[j];
    o[plane + j] = factor * e[plane + j];
  });
}

} // extern "C"
