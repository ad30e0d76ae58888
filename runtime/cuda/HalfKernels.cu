//===- HalfKernels.cu - bf16/f16 kernels on CUDA --------------------------===//
//
// This file implements the reduced-precision ABI (api.h, "Reduced
// precision") on CUDA: casts and element-wise kernels read and write bf16
// or f16 and compute in fp32 (dropout shares loco_dropout's code in
// Elementwise.cu); the
// linear layers and batched products are cuBLASLt matmuls on bf16/f16
// operands and results with fp32 accumulation; the convolutions (Conv.cu)
// and the attention (Attention.cu) read and write bf16/f16 directly. Data
// movement is in Movement.cu.
//
// Not yet run on a GPU (no session has had one): the conformance suite's
// bf16 cases are the check for the first that does.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Half.cuh"

using namespace loco::cuda;

namespace {

template <typename H, typename Op>
void binary(loco_context *ctx, const loco_half *a, const loco_half *b,
            loco_half *out, int64_t n, Op op) {
  forEach(ctx, n, [=] __device__(int64_t i) {
    out[i] = H::store(op(H::load(a[i]), H::load(b[i])));
  });
}

struct Add {
  __device__ float operator()(float x, float y) const { return x + y; }
};
struct Sub {
  __device__ float operator()(float x, float y) const { return x - y; }
};
struct Mul {
  __device__ float operator()(float x, float y) const { return x * y; }
};
struct Div {
  __device__ float operator()(float x, float y) const { return x / y; }
};

template <typename H>
void silu(loco_context *ctx, const loco_half *x, loco_half *out, int64_t n) {
  forEach(ctx, n, [=] __device__(int64_t i) {
    out[i] = H::store(siluOf(H::load(x[i])));
  });
}

template <typename H>
void siluBackward(loco_context *ctx, const loco_half *x, const loco_half *g,
                  loco_half *out, int64_t n) {
  forEach(ctx, n, [=] __device__(int64_t i) {
    out[i] = H::store(siluGradOf(H::load(x[i]), H::load(g[i])));
  });
}

/// loco_swiglu and its backward, rounding where the unfused kernels (silu,
/// mul, silu_backward) store.
template <typename H>
void swiglu(loco_context *ctx, const loco_half *x, loco_half *out, int64_t rows,
            int64_t hidden) {
  forEach(ctx, rows * hidden, [=] __device__(int64_t i) {
    int64_t ia = 2 * (i / hidden) * hidden + i % hidden;
    float act = H::load(H::store(siluOf(H::load(x[ia + hidden]))));
    out[i] = H::store(H::load(x[ia]) * act);
  });
}

template <typename H>
void swigluBackward(loco_context *ctx, const loco_half *x, const loco_half *g,
                    loco_half *out, int64_t rows, int64_t hidden) {
  forEach(ctx, rows * hidden, [=] __device__(int64_t i) {
    int64_t ia = 2 * (i / hidden) * hidden + i % hidden, ib = ia + hidden;
    float a = H::load(x[ia]), b = H::load(x[ib]), gi = H::load(g[i]);
    float act = H::load(H::store(siluOf(b)));
    float gateGrad = H::load(H::store(gi * a));
    out[ia] = H::store(gi * act);
    out[ib] = H::store(siluGradOf(b, gateGrad));
  });
}

template <typename H>
void scale(loco_context *ctx, const loco_half *x, loco_half *out, int64_t n,
           double factor) {
  float f = static_cast<float>(factor);
  forEach(ctx, n,
          [=] __device__(int64_t i) { out[i] = H::store(H::load(x[i]) * f); });
}

template <typename H>
void fill(loco_context *ctx, loco_half *out, int64_t n, double value) {
  float v = static_cast<float>(value);
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = H::store(v); });
}

void copy(loco_context *ctx, const loco_half *x, loco_half *out, int64_t n) {
  if (x != out && n > 0)
    LOCO_CHECK_ENQUEUE(ctx,
                       cudaMemcpyAsync(out, x, n * sizeof(loco_half),
                                       cudaMemcpyDeviceToDevice, ctx->stream));
}

/// out [N, K] = g^T x on bf16/f16 storage: one cuBLASLt product over all
/// rows, accumulated in fp32 and rounded once (no rows: zeros).
void linearWeightGrad(loco_context *ctx, const loco_half *x, const loco_half *g,
                      loco_half *out, int64_t M, int64_t K, int64_t N,
                      int dtype) {
  if (M == 0) {
    LOCO_CHECK_ENQUEUE(
        ctx, cudaMemsetAsync(out, 0, N * K * sizeof(loco_half), ctx->stream));
    return;
  }
  GemmShape s{N, K, M, true, false, N, K, K, 1, 0, 0, 0, ctx->math, dtype};
  gemm(ctx, s, g, x, out, 1.0f, 0.0f);
}

} // namespace

extern "C" {

#define LOCO_CUDA_HALF_KERNELS(S, H, DTYPE)                                    \
  void loco_cast_f32_##S(loco_context *ctx, const float *x, loco_half *out,    \
                         int64_t n) {                                          \
    narrow<H>(ctx, x, out, n);                                                 \
  }                                                                            \
  void loco_cast_##S##_f32(loco_context *ctx, const loco_half *x, float *out,  \
                           int64_t n) {                                        \
    widen<H>(ctx, x, out, n);                                                  \
  }                                                                            \
  void loco_add_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n) {                               \
    binary<H>(ctx, a, b, out, n, Add());                                       \
  }                                                                            \
  void loco_sub_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n) {                               \
    binary<H>(ctx, a, b, out, n, Sub());                                       \
  }                                                                            \
  void loco_mul_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n) {                               \
    binary<H>(ctx, a, b, out, n, Mul());                                       \
  }                                                                            \
  void loco_div_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n) {                               \
    binary<H>(ctx, a, b, out, n, Div());                                       \
  }                                                                            \
  void loco_silu_##S(loco_context *ctx, const loco_half *x, loco_half *out,    \
                     int64_t n) {                                              \
    silu<H>(ctx, x, out, n);                                                   \
  }                                                                            \
  void loco_swiglu_##S(loco_context *ctx, const loco_half *x, loco_half *out,  \
                       int64_t rows, int64_t hidden) {                         \
    swiglu<H>(ctx, x, out, rows, hidden);                                      \
  }                                                                            \
  void loco_swiglu_backward_##S(loco_context *ctx, const loco_half *x,         \
                                const loco_half *g, loco_half *out,            \
                                int64_t rows, int64_t hidden) {                \
    swigluBackward<H>(ctx, x, g, out, rows, hidden);                           \
  }                                                                            \
  void loco_scale_##S(loco_context *ctx, const loco_half *x, loco_half *out,   \
                      int64_t n, double factor) {                              \
    scale<H>(ctx, x, out, n, factor);                                          \
  }                                                                            \
  void loco_copy_##S(loco_context *ctx, const loco_half *x, loco_half *out,    \
                     int64_t n) {                                              \
    copy(ctx, x, out, n);                                                      \
  }                                                                            \
  void loco_fill_##S(loco_context *ctx, loco_half *out, int64_t n,             \
                     double value) {                                           \
    fill<H>(ctx, out, n, value);                                               \
  }                                                                            \
  void loco_silu_backward_##S(loco_context *ctx, const loco_half *x,           \
                              const loco_half *g, loco_half *out, int64_t n) { \
    siluBackward<H>(ctx, x, g, out, n);                                        \
  }                                                                            \
  void loco_linear_##S(loco_context *ctx, const loco_half *x,                  \
                       const loco_half *w, loco_half *out, int64_t M,          \
                       int64_t K, int64_t N) {                                 \
    GemmShape s{M, N, K, false, true, K, K, N, 1, 0, 0, 0, ctx->math, DTYPE};  \
    gemm(ctx, s, x, w, out, 1.0f, 0.0f);                                       \
  }                                                                            \
  void loco_linear_weight_grad_##S(loco_context *ctx, const loco_half *x,      \
                                   const loco_half *g, loco_half *out,         \
                                   int64_t M, int64_t K, int64_t N) {          \
    linearWeightGrad(ctx, x, g, out, M, K, N, DTYPE);                          \
  }                                                                            \
  void loco_batch_matmul_##S(loco_context *ctx, const loco_half *a,            \
                             const loco_half *b, loco_half *out,               \
                             int64_t batch, int64_t M, int64_t K, int64_t N,   \
                             int64_t transpose_a, int64_t transpose_b) {       \
    GemmShape s{M,                                                             \
                N,                                                             \
                K,                                                             \
                transpose_a != 0,                                              \
                transpose_b != 0,                                              \
                transpose_a ? M : K,                                           \
                transpose_b ? K : N,                                           \
                N,                                                             \
                batch,                                                         \
                M * K,                                                         \
                K * N,                                                         \
                M * N,                                                         \
                ctx->math,                                                     \
                DTYPE};                                                        \
    gemm(ctx, s, a, b, out, 1.0f, 0.0f);                                       \
  }
LOCO_CUDA_HALF_KERNELS(bf16, Bf16, LOCO_DTYPE_BF16)
LOCO_CUDA_HALF_KERNELS(f16, F16, LOCO_DTYPE_F16)
#undef LOCO_CUDA_HALF_KERNELS

} // extern "C"
