//===- Norm.cu - GroupNorm and RMSGroupNorm on CUDA -----------------------===//
//
// This file implements the normalisations. GroupNorm's statistics are a
// two-pass global reduction (mean, then the centred sum of squares) over
// each (sample, group), which for the encoder's GroupNorm(1) spans C x T x F
// elements: many blocks per group, partials in double, no atomics.
// RMSGroupNorm normalises one row group per thread; its gamma gradient sums
// over rows in per-block partials.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/CudaLimits.h"
#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

namespace {
/// mean and 1 / sqrt(var + eps) of each (sample, group) into stats[2 s],
/// stats[2 s + 1].
void groupStatistics(loco_context *ctx, const float *x, int64_t B, int64_t C,
                     int64_t S, int64_t groups, double eps, double *stats) {
  int64_t count = C / groups * S;
  segmentedSum(
      ctx, B * groups, count,
      [=] __device__(int64_t s, int64_t i) {
        return static_cast<double>(x[s * count + i]);
      },
      [=] __device__(int64_t s, double sum) { stats[2 * s] = sum / count; });
  segmentedSum(
      ctx, B * groups, count,
      [=] __device__(int64_t s, int64_t i) {
        double d = x[s * count + i] - stats[2 * s];
        return d * d;
      },
      [=] __device__(int64_t s, double sum) {
        stats[2 * s + 1] = 1.0 / sqrt(sum / count + eps);
      });
}

/// dgamma[c] partials of RMSGroupNorm: block `part` takes a range of rows,
/// one thread per channel; each row's group sums of squares come from the
/// row staged in shared memory.
__global__ void __launch_bounds__(1024)
    rmsGammaPartials(const float *x, const float *g, int64_t rows, int64_t C,
                     int64_t perGroup, double eps, int parts,
                     double *partials) {
  LOCO_DYNAMIC_SHARED(float, squares);
  int64_t chunk = (rows + parts - 1) / parts;
  int64_t begin = blockIdx.x * chunk, end = min(rows, begin + chunk);
  int c = threadIdx.x;
  double acc = 0.0;
  for (int64_t r = begin; r < end; ++r) {
    float xv = c < C ? x[r * C + c] : 0.0f;
    if (c < C)
      squares[c] = xv;
    __syncthreads();
    if (c < C) {
      int64_t first = c / perGroup * perGroup;
      double sumSq = 0.0;
      for (int64_t j = 0; j < perGroup; ++j)
        sumSq += static_cast<double>(squares[first + j]) * squares[first + j];
      double s = 1.0 / (sqrt(sumSq / perGroup) + eps);
      acc += static_cast<double>(g[r * C + c]) * xv * s;
    }
    __syncthreads();
  }
  if (c < C)
    partials[blockIdx.x * C + c] = acc;
}
} // namespace

extern "C" {

void loco_group_norm(loco_context *ctx, const float *x, const float *gamma,
                     const float *beta, float *out, int64_t B, int64_t C,
                     int64_t S, int64_t groups, double eps) {
  if (!ctx->withinLimit(
          loco::cuda_limits::groupNormStatistics(B, groups, false),
          "loco_group_norm"))
    return;
  double *stats = statSlots(ctx);
  groupStatistics(ctx, x, B, C, S, groups, eps, stats);
  int64_t perGroup = C / groups;
  forEach(ctx, B * C * S, [=] __device__(int64_t i) {
    int64_t c = i / S % C, n = i / (C * S), s = n * groups + c / perGroup;
    double mean = stats[2 * s], inv = stats[2 * s + 1];
    float scale = static_cast<float>(inv * gamma[c]);
    float shift = static_cast<float>(beta[c] - mean * inv * gamma[c]);
    out[i] = x[i] * scale + shift;
  });
}

void loco_rms_group_norm(loco_context *ctx, const float *x, const float *gamma,
                         float *out, int64_t rows, int64_t C, int64_t groups,
                         double eps) {
  int64_t perGroup = C / groups;
  forEach(ctx, rows * groups, [=] __device__(int64_t idx) {
    const float *xg = x + idx * perGroup;
    float *og = out + idx * perGroup;
    const float *gg = gamma + idx % groups * perGroup;
    double sumSq = 0.0;
    for (int64_t c = 0; c < perGroup; ++c)
      sumSq += static_cast<double>(xg[c]) * xg[c];
    double inv = 1.0 / (sqrt(sumSq / perGroup) + eps);
    for (int64_t c = 0; c < perGroup; ++c)
      og[c] = static_cast<float>(xg[c] * inv) * gg[c];
  });
}

void loco_group_norm_backward(loco_context *ctx, const float *x,
                              const float *gamma, const float *g, float *dx,
                              float *dgamma, float *dbeta, int64_t B, int64_t C,
                              int64_t S, int64_t groups, double eps) {
  if (!ctx->withinLimit(loco::cuda_limits::groupNormStatistics(B, groups, true),
                        "loco_group_norm_backward"))
    return;
  int64_t perGroup = C / groups, count = perGroup * S;
  double *stats = statSlots(ctx), *means = stats + 2 * B * groups;
  groupStatistics(ctx, x, B, C, S, groups, eps, stats);
  // Per (sample, channel): sum g and sum g xhat.
  Scratch scratch(ctx);
  double *partBeta = scratch.take<double>(B * C);
  double *partGamma = scratch.take<double>(B * C);
  segmentedSum(
      ctx, B * C, S,
      [=] __device__(int64_t nc, int64_t s) {
        return static_cast<double>(g[nc * S + s]);
      },
      [=] __device__(int64_t nc, double sum) { partBeta[nc] = sum; });
  segmentedSum(
      ctx, B * C, S,
      [=] __device__(int64_t nc, int64_t s) {
        int64_t grp = (nc / C) * groups + nc % C / perGroup;
        double xhat = (x[nc * S + s] - stats[2 * grp]) * stats[2 * grp + 1];
        return g[nc * S + s] * xhat;
      },
      [=] __device__(int64_t nc, double sum) { partGamma[nc] = sum; });
  // mean(dxhat) and mean(dxhat xhat) per (sample, group), dxhat = g gamma.
  forEach(ctx, B * groups, [=] __device__(int64_t s) {
    int64_t n = s / groups, grp = s % groups;
    double sumD = 0.0, sumDX = 0.0;
    for (int64_t c = grp * perGroup; c < (grp + 1) * perGroup; ++c) {
      sumD += partBeta[n * C + c] * gamma[c];
      sumDX += partGamma[n * C + c] * gamma[c];
    }
    means[2 * s] = sumD / count;
    means[2 * s + 1] = sumDX / count;
  });
  forEach(ctx, B * C * S, [=] __device__(int64_t i) {
    int64_t c = i / S % C, n = i / (C * S), s = n * groups + c / perGroup;
    double inv = stats[2 * s + 1];
    double xhat = (x[i] - stats[2 * s]) * inv;
    dx[i] = static_cast<float>(
        inv * (g[i] * gamma[c] - means[2 * s] - xhat * means[2 * s + 1]));
  });
  forEach(ctx, C, [=] __device__(int64_t c) {
    double sg = 0.0, sb = 0.0;
    for (int64_t n = 0; n < B; ++n) {
      sg += partGamma[n * C + c];
      sb += partBeta[n * C + c];
    }
    dgamma[c] = static_cast<float>(sg);
    dbeta[c] = static_cast<float>(sb);
  });
}

void loco_rms_group_norm_backward(loco_context *ctx, const float *x,
                                  const float *gamma, const float *g, float *dx,
                                  float *dgamma, int64_t rows, int64_t C,
                                  int64_t groups, double eps) {
  int64_t perGroup = C / groups;
  if (!ctx->withinLimit(loco::cuda_limits::rmsGroupNormChannels(C),
                        "loco_rms_group_norm_backward"))
    return;
  forEach(ctx, rows * groups, [=] __device__(int64_t idx) {
    const float *xg = x + idx * perGroup, *gg = g + idx * perGroup;
    const float *ga = gamma + idx % groups * perGroup;
    float *dg = dx + idx * perGroup;
    double sumSq = 0.0;
    for (int64_t c = 0; c < perGroup; ++c)
      sumSq += static_cast<double>(xg[c]) * xg[c];
    double rms = sqrt(sumSq / perGroup), s = 1.0 / (rms + eps);
    double dot = 0.0;
    for (int64_t c = 0; c < perGroup; ++c)
      dot += static_cast<double>(gg[c]) * ga[c] * xg[c];
    double coef = rms > 0.0 ? s * s * dot / (perGroup * rms) : 0.0;
    for (int64_t c = 0; c < perGroup; ++c)
      dg[c] = static_cast<float>(gg[c] * static_cast<double>(ga[c]) * s -
                                 coef * xg[c]);
  });
  int64_t parts =
      std::min<int64_t>({std::max<int64_t>(1, rows / 256), 512, kSumSlots / C});
  int threads = static_cast<int>((C + 31) / 32 * 32);
  double *partials = ctx->partials;
  LOCO_LAUNCH(rmsGammaPartials, static_cast<unsigned>(parts), threads,
              threads * sizeof(float), ctx->stream)(
      x, g, rows, C, perGroup, eps, static_cast<int>(parts), partials);
  LOCO_CHECK_LAUNCH(ctx, rmsGammaPartials);
  forEach(ctx, C, [=] __device__(int64_t c) {
    double sum = 0.0;
    for (int64_t p = 0; p < parts; ++p)
      sum += partials[p * C + c];
    dgamma[c] = static_cast<float>(sum);
  });
}

} // extern "C"
