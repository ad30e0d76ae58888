//===- Elementwise.cu - Element-wise and attention pieces on CUDA ---------===//
//
// This file implements the element-wise kernels, RoPE, softmax and dropout.
// Dropout draws with runtime/Philox.h from the key in device memory, so its
// masks equal the CPU backend's bit for bit, and a replayed graph uses the
// step it runs in.
//
//===----------------------------------------------------------------------===//

#include "runtime/Philox.h"
#include "runtime/cuda/Half.cuh"
#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

extern "C" {

#define LOCO_BINARY(NAME, EXPR)                                                \
  void NAME(loco_context *ctx, const float *a, const float *b, float *out,     \
            int64_t n) {                                                       \
    forEach(ctx, n, [=] __device__(int64_t i) { out[i] = EXPR; });             \
  }
LOCO_BINARY(loco_add, a[i] + b[i])
LOCO_BINARY(loco_sub, a[i] - b[i])
LOCO_BINARY(loco_mul, a[i] * b[i])
LOCO_BINARY(loco_div, a[i] / b[i])
#undef LOCO_BINARY

void loco_silu(loco_context *ctx, const float *x, float *out, int64_t n) {
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = siluOf(x[i]); });
}

void loco_swiglu(loco_context *ctx, const float *x, float *out, int64_t rows,
                 int64_t H) {
  forEach(ctx, rows * H, [=] __device__(int64_t i) {
    int64_t r = i / H, j = i % H;
    out[i] = x[2 * r * H + j] * siluOf(x[(2 * r + 1) * H + j]);
  });
}

void loco_scale(loco_context *ctx, const float *x, float *out, int64_t n,
                double factor) {
  float f = static_cast<float>(factor);
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = x[i] * f; });
}

void loco_copy(loco_context *ctx, const float *x, float *out, int64_t n) {
  if (x != out && n > 0)
    LOCO_CHECK_ENQUEUE(ctx,
                       cudaMemcpyAsync(out, x, n * sizeof(float),
                                       cudaMemcpyDeviceToDevice, ctx->stream));
}

void loco_fill(loco_context *ctx, float *out, int64_t n, double value) {
  float v = static_cast<float>(value);
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = v; });
}

void loco_fill_loss_scaled(loco_context *ctx, float *out, int64_t n,
                           double value) {
  // The scale is a per-step scalar in device memory: a replayed graph sees
  // the current one.
  const StepState *state = ctx->state;
  forEach(ctx, n, [=] __device__(int64_t i) {
    out[i] = static_cast<float>(value * state->lossScale);
  });
}

void loco_rope(loco_context *ctx, const float *x, float *out, int64_t outer,
               int64_t L, int64_t d, double theta, int64_t inverse) {
  int64_t half = d / 2;
  float th = static_cast<float>(theta), sign = inverse ? -1.0f : 1.0f;
  // One thread per rotated pair; the angle in float32 as upstream computes
  // it (inverse frequency, position product, then cos and sin).
  forEach(ctx, outer * L * half, [=] __device__(int64_t idx) {
    int64_t i = idx % half, row = idx / half, p = row % L;
    float invFreq =
        1.0f / powf(th, static_cast<float>(2 * i) / static_cast<float>(d));
    float angle = static_cast<float>(p) * invFreq;
    float c = cosf(angle), s = sign * sinf(angle);
    const float *xr = x + row * d;
    float x0 = xr[2 * i], x1 = xr[2 * i + 1];
    out[row * d + 2 * i] = x0 * c - x1 * s;
    out[row * d + 2 * i + 1] = x1 * c + x0 * s;
  });
}

void loco_softmax(loco_context *ctx, const float *x, float *out, int64_t outer,
                  int64_t n, int64_t inner) {
  forEach(ctx, outer * inner, [=] __device__(int64_t col) {
    int64_t o = col / inner, j = col % inner;
    const float *xr = x + o * n * inner + j;
    float *yr = out + o * n * inner + j;
    float maxValue = xr[0];
    for (int64_t i = 1; i < n; ++i)
      maxValue = fmaxf(maxValue, xr[i * inner]);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      float e = expf(xr[i * inner] - maxValue);
      yr[i * inner] = e;
      sum += e;
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i)
      yr[i * inner] *= inv;
  });
}

void loco_swiglu_backward(loco_context *ctx, const float *x, const float *g,
                          float *out, int64_t rows, int64_t H) {
  // out may alias x: each thread reads its pair before writing it.
  forEach(ctx, rows * H, [=] __device__(int64_t i) {
    int64_t ia = 2 * (i / H) * H + i % H, ib = ia + H;
    float a = x[ia], b = x[ib];
    out[ia] = g[i] * siluOf(b);
    out[ib] = siluGradOf(b, g[i] * a);
  });
}

} // extern "C"

namespace {
/// Inverted dropout on storage T read and written through the policy H
/// (Half.cuh): the f32 kernel and the bf16/f16 ones draw the same mask.
template <typename T, typename H>
void dropout(loco_context *ctx, const T *x, T *out, int64_t n, double p,
             int64_t stream, int64_t indexOffset) {
  if (p == 0.0) {
    if (x != out && n > 0)
      LOCO_CHECK_ENQUEUE(ctx, cudaMemcpyAsync(out, x, n * sizeof(T),
                                              cudaMemcpyDeviceToDevice,
                                              ctx->stream));
    return;
  }
  float keepScale = static_cast<float>(1.0 / (1.0 - p));
  float threshold = static_cast<float>(p);
  const StepState *state = ctx->state;
  uint64_t s = static_cast<uint64_t>(stream);
  forEach(ctx, n, [=] __device__(int64_t i) {
    if (!state->training) {
      out[i] = x[i];
      return;
    }
    float u = loco::philoxUniform(state->seed, state->step, s,
                                  static_cast<uint64_t>(indexOffset + i));
    out[i] = H::store(u >= threshold ? H::load(x[i]) * keepScale : 0.0f);
  });
}

/// residual + dropout(x): the residual and the result stored through R, x
/// through X. The dropout rounds to X's type and the sum widens it, as
/// loco_dropout, a widening cast and loco_add would; out may be r (or x
/// when R and X store alike).
template <typename R, typename X, typename TR, typename TX>
void dropoutAdd(loco_context *ctx, const TR *r, const TX *x, TR *out, int64_t n,
                double p, int64_t stream, int64_t indexOffset) {
  float keepScale = static_cast<float>(1.0 / (1.0 - p));
  float threshold = static_cast<float>(p);
  const StepState *state = ctx->state;
  uint64_t s = static_cast<uint64_t>(stream);
  forEach(ctx, n, [=] __device__(int64_t i) {
    float dropped = X::load(x[i]);
    if (state->training && p != 0.0) {
      float u = loco::philoxUniform(state->seed, state->step, s,
                                    static_cast<uint64_t>(indexOffset + i));
      // __fmul_rn is never contracted into an FMA with the sum below, which
      // the unfused dropout and add round separately.
      dropped = X::load(
          X::store(u >= threshold ? __fmul_rn(dropped, keepScale) : 0.0f));
    }
    out[i] = R::store(R::load(r[i]) + dropped);
  });
}
} // namespace

extern "C" {

void loco_dropout(loco_context *ctx, const float *x, float *out, int64_t n,
                  double p, int64_t stream, int64_t indexOffset) {
  dropout<float, F32>(ctx, x, out, n, p, stream, indexOffset);
}
void loco_dropout_bf16(loco_context *ctx, const loco_half *x, loco_half *out,
                       int64_t n, double p, int64_t stream,
                       int64_t index_offset) {
  dropout<loco_half, Bf16>(ctx, x, out, n, p, stream, index_offset);
}
void loco_dropout_f16(loco_context *ctx, const loco_half *x, loco_half *out,
                      int64_t n, double p, int64_t stream,
                      int64_t index_offset) {
  dropout<loco_half, F16>(ctx, x, out, n, p, stream, index_offset);
}

void loco_dropout_add(loco_context *ctx, const float *r, const float *x,
                      float *out, int64_t n, double p, int64_t stream,
                      int64_t indexOffset) {
  dropoutAdd<F32, F32>(ctx, r, x, out, n, p, stream, indexOffset);
}
#define LOCO_HALF_DROPOUT_ADD(S, H)                                            \
  void loco_dropout_add_##S(loco_context *ctx, const loco_half *r,             \
                            const loco_half *x, loco_half *out, int64_t n,     \
                            double p, int64_t stream, int64_t indexOffset) {   \
    dropoutAdd<H, H>(ctx, r, x, out, n, p, stream, indexOffset);               \
  }                                                                            \
  void loco_dropout_add_f32_##S(                                               \
      loco_context *ctx, const float *r, const loco_half *x, float *out,       \
      int64_t n, double p, int64_t stream, int64_t indexOffset) {              \
    dropoutAdd<F32, H>(ctx, r, x, out, n, p, stream, indexOffset);             \
  }
LOCO_HALF_DROPOUT_ADD(bf16, Bf16)
LOCO_HALF_DROPOUT_ADD(f16, F16)
#undef LOCO_HALF_DROPOUT_ADD

void loco_softmax_backward(loco_context *ctx, const float *y, const float *g,
                           float *out, int64_t outer, int64_t n,
                           int64_t inner) {
  forEach(ctx, outer * inner, [=] __device__(int64_t col) {
    int64_t o = col / inner, j = col % inner;
    const float *yr = y + o * n * inner + j, *gr = g + o * n * inner + j;
    float *dr = out + o * n * inner + j;
    double dot = 0.0;
    for (int64_t i = 0; i < n; ++i)
      dot += static_cast<double>(yr[i * inner]) * gr[i * inner];
    float d = static_cast<float>(dot);
    for (int64_t i = 0; i < n; ++i)
      dr[i * inner] = yr[i * inner] * (gr[i * inner] - d);
  });
}

void loco_silu_backward(loco_context *ctx, const float *x, const float *g,
                        float *out, int64_t n) {
  forEach(ctx, n,
          [=] __device__(int64_t i) { out[i] = siluGradOf(x[i], g[i]); });
}

} // extern "C"
