//===- HalfElementwise.cpp - bf16/f16 casts and element-wise kernels ------===//
//
// This file implements the casts and the element-wise kernels of the
// reduced-precision ABI (api.h, "Reduced precision") on the CPU: each element
// is widened to float, computed as the f32 kernel computes it, and rounded
// once. Dropout shares the f32 kernel's code (Elementwise.cpp).
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace {

using loco::Bf16;
using loco::F16;

template <typename H, typename Op>
void binary(const loco_half *a, const loco_half *b, loco_half *out, int64_t n,
            Op op) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::store(op(H::load(a[i]), H::load(b[i])));
}

template <typename H, typename Op>
void unary(const loco_half *x, loco_half *out, int64_t n, Op op) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::store(op(H::load(x[i])));
}

/// SiLU and its gradient: the one formula of the reduced-precision kernels,
/// fused or not.
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float siluGrad(float x, float g) {
  float s = 1.0f / (1.0f + std::exp(-x));
  return g * s * (1.0f + x * (1.0f - s));
}

template <typename H>
void siluBackward(const loco_half *x, const loco_half *g, loco_half *out,
                  int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::store(siluGrad(H::load(x[i]), H::load(g[i])));
}

/// loco_swiglu and its backward on [rows, 2H] inputs, rounding where the
/// unfused kernels (silu, mul, silu_backward) store.
template <typename H>
void swiglu(const loco_half *x, loco_half *out, int64_t rows, int64_t hidden) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < hidden; ++j) {
      float s = H::load(H::store(silu(H::load(x[(2 * r + 1) * hidden + j]))));
      out[r * hidden + j] = H::store(H::load(x[2 * r * hidden + j]) * s);
    }
}

template <typename H>
void swigluBackward(const loco_half *x, const loco_half *g, loco_half *out,
                    int64_t rows, int64_t hidden) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < hidden; ++j) {
      int64_t ia = 2 * r * hidden + j, ib = ia + hidden;
      float a = H::load(x[ia]), b = H::load(x[ib]), gj = H::load(g[r * hidden + j]);
      float act = H::load(H::store(silu(b)));
      float gateGrad = H::load(H::store(gj * a));
      out[ia] = H::store(gj * act);
      out[ib] = H::store(siluGrad(b, gateGrad));
    }
}

} // namespace

extern "C" {

#define LOCO_HALF_ELEMENTWISE(S, H)                                            \
  void loco_cast_f32_##S(loco_context *, const float *x, loco_half *out,       \
                         int64_t n) {                                          \
    loco::narrow<H>(x, out, n);                                                \
  }                                                                            \
  void loco_cast_##S##_f32(loco_context *, const loco_half *x, float *out,     \
                           int64_t n) {                                        \
    loco::widen<H>(x, out, n);                                                 \
  }                                                                            \
  void loco_add_##S(loco_context *, const loco_half *a, const loco_half *b,    \
                    loco_half *out, int64_t n) {                               \
    binary<H>(a, b, out, n, [](float x, float y) { return x + y; });           \
  }                                                                            \
  void loco_sub_##S(loco_context *, const loco_half *a, const loco_half *b,    \
                    loco_half *out, int64_t n) {                               \
    binary<H>(a, b, out, n, [](float x, float y) { return x - y; });           \
  }                                                                            \
  void loco_mul_##S(loco_context *, const loco_half *a, const loco_half *b,    \
                    loco_half *out, int64_t n) {                               \
    binary<H>(a, b, out, n, [](float x, float y) { return x * y; });           \
  }                                                                            \
  void loco_div_##S(loco_context *, const loco_half *a, const loco_half *b,    \
                    loco_half *out, int64_t n) {                               \
    binary<H>(a, b, out, n, [](float x, float y) { return x / y; });           \
  }                                                                            \
  void loco_silu_##S(loco_context *, const loco_half *x, loco_half *out,       \
                     int64_t n) {                                              \
    unary<H>(x, out, n, silu);                                                 \
  }                                                                            \
  void loco_swiglu_##S(loco_context *, const loco_half *x, loco_half *out,     \
                       int64_t rows, int64_t hidden) {                         \
    swiglu<H>(x, out, rows, hidden);                                           \
  }                                                                            \
  void loco_swiglu_backward_##S(loco_context *, const loco_half *x,            \
                                const loco_half *g, loco_half *out,            \
                                int64_t rows, int64_t hidden) {                \
    swigluBackward<H>(x, g, out, rows, hidden);                                \
  }                                                                            \
  void loco_scale_##S(loco_context *, const loco_half *x, loco_half *out,      \
                      int64_t n, double factor) {                              \
    float f = static_cast<float>(factor);                                      \
    unary<H>(x, out, n, [f](float v) { return v * f; });                       \
  }                                                                            \
  void loco_copy_##S(loco_context *, const loco_half *x, loco_half *out,       \
                     int64_t n) {                                              \
    if (x != out)                                                              \
      std::memmove(out, x, n * sizeof(loco_half));                             \
  }                                                                            \
  void loco_fill_##S(loco_context *, loco_half *out, int64_t n,                \
                     double value) {                                           \
    std::fill(out, out + n, H::store(static_cast<float>(value)));              \
  }                                                                            \
  void loco_silu_backward_##S(loco_context *, const loco_half *x,              \
                              const loco_half *g, loco_half *out, int64_t n) { \
    siluBackward<H>(x, g, out, n);                                             \
  }
LOCO_HALF_ELEMENTWISE(bf16, Bf16)
LOCO_HALF_ELEMENTWISE(f16, F16)
#undef LOCO_HALF_ELEMENTWISE

} // extern "C"
