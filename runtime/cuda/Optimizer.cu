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

namespace {
/// Element i's new weight and moments, with the scalars as the CPU backend
/// computes them (double, rounded once).
__device__ inline void
adamwUpdate(const StepState &state, const loco_optimizer_scratch &scratch,
            double beta1, double beta2, double eps, double weightDecay, float p,
            float g, float m, float v, float &pOut, float &mOut, float &vOut) {
  double lr = state.lr, step = static_cast<double>(state.optimizerStep);
  float decay = static_cast<float>(1.0 - lr * weightDecay);
  float stepSize = static_cast<float>(lr / (1.0 - pow(beta1, step)));
  float correction2Sqrt = static_cast<float>(sqrt(1.0 - pow(beta2, step)));
  // Unscaled and clipped at once (a power of two: exact).
  float grad =
      g * (scratch.clip_coef * static_cast<float>(1.0 / state.lossScale));
  mOut = m * static_cast<float>(beta1) + grad * static_cast<float>(1.0 - beta1);
  vOut = v * static_cast<float>(beta2) +
         grad * grad * static_cast<float>(1.0 - beta2);
  float denom = sqrtf(vOut) / correction2Sqrt + static_cast<float>(eps);
  pOut = p * decay - stepSize * (mOut / denom);
}
} // namespace

extern "C" {

void loco_grad_norm_begin(loco_context *ctx, loco_optimizer_scratch *scratch) {
  LOCO_CHECK_ENQUEUE(
      ctx, cudaMemsetAsync(scratch, 0, sizeof(*scratch), ctx->stream));
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
  const StepState *state = ctx->state;
  forEach(ctx, 1, [=] __device__(int64_t) {
    // The accumulators hold lossScale times the gradients.
    float norm =
        static_cast<float>(sqrt(scratch->sum_squares) / state->lossScale);
    scratch->grad_norm = norm;
    scratch->clip_coef =
        fminf(1.0f, static_cast<float>(maxNorm / (norm + 1e-6)));
  });
}

void loco_adamw_check(loco_context *ctx, const float *p, const float *g,
                      const float *m, const float *v, int64_t n,
                      loco_optimizer_scratch *scratch, double beta1,
                      double beta2, double eps, double weightDecay) {
  const StepState *state = ctx->state;
  segmentedSum(
      ctx, 1, n,
      [=] __device__(int64_t, int64_t i) {
        if (!isfinite(scratch->grad_norm))
          return 0.0; // skipped anyway
        float pi, mi, vi;
        adamwUpdate(*state, *scratch, beta1, beta2, eps, weightDecay, p[i],
                    g[i], m[i], v[i], pi, mi, vi);
        return isfinite(pi) && isfinite(mi) && isfinite(vi) ? 0.0 : 1.0;
      },
      [=] __device__(int64_t, double bad) {
        scratch->nonfinite_updates += static_cast<int64_t>(bad);
      });
}

void loco_adamw(loco_context *ctx, float *p, float *g, float *m, float *v,
                int64_t n, const loco_optimizer_scratch *scratch, double beta1,
                double beta2, double eps, double weightDecay) {
  const StepState *state = ctx->state;
  forEach(ctx, n, [=] __device__(int64_t i) {
    // A non-finite gradient or update anywhere: skip (the CPU's rule).
    if (!isfinite(scratch->grad_norm) || scratch->nonfinite_updates > 0) {
      g[i] = 0.0f;
      return;
    }
    adamwUpdate(*state, *scratch, beta1, beta2, eps, weightDecay, p[i], g[i],
                m[i], v[i], p[i], m[i], v[i]);
    g[i] = 0.0f;
  });
}

} // extern "C"
