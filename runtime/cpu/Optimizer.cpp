//===- Optimizer.cpp - Gradient clipping and AdamW on the CPU -------------===//
//
// This file implements the optimizer step as torch 1.13 computes it:
// clip_grad_norm_ (global L2 norm, coefficient min(max_norm / (norm + 1e-6),
// 1)) and AdamW's single-tensor update in float32 with double scalars. A
// step whose gradient norm is not finite, or whose update would make any
// weight or moment non-finite, is skipped whole (as torch's GradScaler
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

void loco_grad_norm_finish(loco_context *ctx, loco_optimizer_scratch *scratch,
                           double maxNorm) {
  // The accumulators hold lossScale times the gradients.
  float norm =
      static_cast<float>(std::sqrt(scratch->sum_squares) / ctx->lossScale);
  scratch->grad_norm = norm;
  scratch->clip_coef =
      std::min(1.0f, static_cast<float>(maxNorm / (norm + 1e-6)));
}

/// The scalars of one AdamW step, as torch 1.13 computes them (double,
/// rounded once to float).
struct AdamwScalars {
  float decay, b1, b2, oneMinusB1, oneMinusB2, stepSize, correction2Sqrt, eps,
      coef;
  AdamwScalars(const loco_context *ctx, const loco_optimizer_scratch *scratch,
               double beta1, double beta2, double eps, double weightDecay) {
    double lr = ctx->lr, step = static_cast<double>(ctx->optimizerStep);
    decay = static_cast<float>(1.0 - lr * weightDecay);
    b1 = static_cast<float>(beta1);
    b2 = static_cast<float>(beta2);
    oneMinusB1 = static_cast<float>(1.0 - beta1);
    oneMinusB2 = static_cast<float>(1.0 - beta2);
    stepSize = static_cast<float>(lr / (1.0 - std::pow(beta1, step)));
    correction2Sqrt =
        static_cast<float>(std::sqrt(1.0 - std::pow(beta2, step)));
    this->eps = static_cast<float>(eps);
    // Unscaled and clipped at once (a power of two: exact).
    coef = scratch->clip_coef * static_cast<float>(1.0 / ctx->lossScale);
  }
  /// Element i's new weight and moments.
  void update(float p, float g, float m, float v, float &pOut, float &mOut,
              float &vOut) const {
    float grad = g * coef;
    mOut = m * b1 + grad * oneMinusB1;
    vOut = v * b2 + grad * grad * oneMinusB2;
    float denom = std::sqrt(vOut) / correction2Sqrt + eps;
    pOut = p * decay - stepSize * (mOut / denom);
  }
};

void loco_adamw_check(loco_context *ctx, const float *p, const float *g,
                      const float *m, const float *v, int64_t n,
                      loco_optimizer_scratch *scratch, double beta1,
                      double beta2, double eps, double weightDecay) {
  if (!std::isfinite(scratch->grad_norm))
    return; // skipped anyway
  AdamwScalars s(ctx, scratch, beta1, beta2, eps, weightDecay);
  int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad)
  for (int64_t i = 0; i < n; ++i) {
    float pi, mi, vi;
    s.update(p[i], g[i], m[i], v[i], pi, mi, vi);
    bad += !(std::isfinite(pi) && std::isfinite(mi) && std::isfinite(vi));
  }
  scratch->nonfinite_updates += bad;
}

void loco_adamw(loco_context *ctx, float *p, float *g, float *m, float *v,
                int64_t n, const loco_optimizer_scratch *scratch, double beta1,
                double beta2, double eps, double weightDecay) {
  // A non-finite gradient or update anywhere: skip, keep the state.
  if (!std::isfinite(scratch->grad_norm) || scratch->nonfinite_updates > 0) {
    std::fill(g, g + n, 0.0f);
    return;
  }
  AdamwScalars s(ctx, scratch, beta1, beta2, eps, weightDecay);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    s.update(p[i], g[i], m[i], v[i], p[i], m[i], v[i]);
    g[i] = 0.0f;
  }
}

} // extern "C"
