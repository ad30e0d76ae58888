//===- Optimizer.cu - Gradient clipping and AdamW on CUDA -----------------===//
//
// This file implements the optimizer step as torch 1.13 computes it, fused:
// the global gradient norm is a deterministic reduction added into the
// arena's scratch scalars, and AdamW (decoupled decay, bias correction, the
// clip coefficient applied to the gradient, the accumulator zeroed) is one
// kernel reading the step and learning rate from device memory.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

extern "C" {

void loco_grad_norm_begin(loco_context *ctx, loco_optimizer_scratch *scratch) {
  LOCO_CHECK(ctx, cudaMemsetAsync(scratch, 0, sizeof(*scratch), ctx->stream));
}

void loco_grad_norm_accumulate(loco_context *ctx, const float *g, int64_t n,
                               loco_optimizer_scratch *scratch) {
  segmentedSum(
      ctx, 1, n,
      [=] __device__(int64_t, int64_t i) {
        return static_cast<double>(g[i]) * g[i];
      },
      [=] __device__(int64_t, double sum) { scratch->sum_squares += sum; });
}

void loco_grad_norm_finish(loco_context *ctx, loco_optimizer_scratch *scratch,
                           double maxNorm) {
  forEach(ctx, 1, [=] __device__(int64_t) {
    float norm = static_cast<float>(sqrt(scratch->sum_squares));
    scratch->grad_norm = norm;
    scratch->clip_coef =
        fminf(1.0f, static_cast<float>(maxNorm / (norm + 1e-6)));
  });
}

void loco_adamw(loco_context *ctx, float *p, float *g, float *m, float *v,
                int64_t n, const loco_optimizer_scratch *scratch, double beta1,
                double beta2, double eps, double weightDecay) {
  const StepState *state = ctx->state;
  float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  float oneMinusB1 = static_cast<float>(1.0 - beta1);
  float oneMinusB2 = static_cast<float>(1.0 - beta2);
  float epsF = static_cast<float>(eps);
  forEach(ctx, n, [=] __device__(int64_t i) {
    // A non-finite gradient anywhere: skip the update (the CPU's rule).
    if (!isfinite(scratch->grad_norm)) {
      g[i] = 0.0f;
      return;
    }
    // The scalars as the CPU backend computes them (double, rounded once).
    double lr = state->lr, step = static_cast<double>(state->optimizerStep);
    float decay = static_cast<float>(1.0 - lr * weightDecay);
    double biasCorrection1 = 1.0 - pow(beta1, step);
    double biasCorrection2 = 1.0 - pow(beta2, step);
    float stepSize = static_cast<float>(lr / biasCorrection1);
    float correction2Sqrt = static_cast<float>(sqrt(biasCorrection2));
    float grad = g[i] * scratch->clip_coef;
    float pi = p[i] * decay;
    float mi = m[i] * b1 + grad * oneMinusB1;
    float vi = v[i] * b2 + grad * grad * oneMinusB2;
    float denom = sqrtf(vi) / correction2Sqrt + epsF;
    p[i] = pi - stepSize * (mi / denom);
    m[i] = mi;
    v[i] = vi;
    g[i] = 0.0f;
  });
}

} // extern "C"
