//===- Optimizer.cpp - Gradient clipping and AdamW on the CPU -------------===//
//
// This file implements the optimizer step as torch 1.13 computes it:
// clip_grad_norm_ (global L2 norm, coefficient min(max_norm / (norm + 1e-6),
// 1)) and AdamW's single-tensor update in float32 with double scalars. A
// step whose gradient norm is not finite is skipped (as torch's GradScaler
// skips one), so that no NaN or Inf reaches the weights or the moments.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

extern "C" {

void loco_grad_norm_begin(loco_context *, loco_optimizer_scratch *scratch) {
  std::memset(scratch, 0, sizeof(*scratch));
}

void loco_grad_norm_accumulate(loco_context *, const float *g, int64_t n,
                               loco_optimizer_scratch *scratch) {
  scratch->sum_squares += loco::parallelSum(
      n, [&](int64_t i) { return static_cast<double>(g[i]) * g[i]; });
}

void loco_grad_norm_finish(loco_context *, loco_optimizer_scratch *scratch,
                           double maxNorm) {
  float norm = static_cast<float>(std::sqrt(scratch->sum_squares));
  scratch->grad_norm = norm;
  scratch->clip_coef =
      std::min(1.0f, static_cast<float>(maxNorm / (norm + 1e-6)));
}

void loco_adamw(loco_context *ctx, float *p, float *g, float *m, float *v,
                int64_t n, const loco_optimizer_scratch *scratch, double beta1,
                double beta2, double eps, double weightDecay) {
  // A non-finite gradient anywhere: skip the update, keep the state.
  if (!std::isfinite(scratch->grad_norm)) {
    std::fill(g, g + n, 0.0f);
    return;
  }
  double lr = ctx->lr;
  double step = static_cast<double>(ctx->optimizerStep);
  float decay = static_cast<float>(1.0 - lr * weightDecay);
  float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  float oneMinusB1 = static_cast<float>(1.0 - beta1);
  float oneMinusB2 = static_cast<float>(1.0 - beta2);
  double biasCorrection1 = 1.0 - std::pow(beta1, step);
  double biasCorrection2 = 1.0 - std::pow(beta2, step);
  float stepSize = static_cast<float>(lr / biasCorrection1);
  float correction2Sqrt = static_cast<float>(std::sqrt(biasCorrection2));
  float epsF = static_cast<float>(eps), coef = scratch->clip_coef;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float grad = g[i] * coef;
    p[i] *= decay;
    m[i] = m[i] * b1 + grad * oneMinusB1;
    v[i] = v[i] * b2 + grad * grad * oneMinusB2;
    float denom = std::sqrt(v[i]) / correction2Sqrt + epsF;
    p[i] -= stepSize * (m[i] / denom);
    g[i] = 0.0f;
  }
}

} // extern "C"
