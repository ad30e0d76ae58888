//===- HalfElementwise.cpp - bf16/f16 casts and element-wise kernels ------===//
//
// This file implements the casts and the element-wise kernels of the
// reduced-precision ABI (api.h, "Reduced precision") on the CPU: each element
// is widened to float, computed as the f32 kernel computes it (SLEEF's
// exp, a block at a time), and rounded once. Dropout shares the f32
// kernel's code (Elementwise.cpp).
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"
#include "runtime/cpu/VectorMath.h"

#include <algorithm>
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

/// SiLU and its gradient from x and e = exp(-x), as the f32 kernels
/// compute them (Elementwise.cpp): the one formula of the reduced-precision
/// kernels, fused or not.
inline float siluOf(float x, float e) { return x / (1.0f + e); }
inline float siluGradOf(float x, float e, float g) {
  float s = 1.0f / (1.0f + e);
  return g * s * (1.0f + x * (1.0f - s));
}

constexpr int64_t kBlock = 1024;

/// Widens x[0, m) into v and sets e = exp(-v) with SLEEF, a block at once
/// (a scalar exp per element made these kernels 7x slower than the f32
/// ones).
template <typename H>
void widenWithExp(const loco_half *x, int64_t m, float *v, float *e) {
  for (int64_t i = 0; i < m; ++i)
    v[i] = H::load(x[i]);
  loco::cpu::expScaled(v, -1.0f, e, m);
}

template <typename H>
void silu(const loco_half *x, loco_half *out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b += kBlock) {
    int64_t m = std::min(kBlock, n - b);
    alignas(64) float v[kBlock], e[kBlock];
    widenWithExp<H>(x + b, m, v, e);
    for (int64_t i = 0; i < m; ++i)
      out[b + i] = H::store(siluOf(v[i], e[i]));
  }
}

template <typename H>
void siluBackward(const loco_half *x, const loco_half *g, loco_half *out,
                  int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b += kBlock) {
    int64_t m = std::min(kBlock, n - b);
    alignas(64) float v[kBlock], e[kBlock];
    widenWithExp<H>(x + b, m, v, e);
    for (int64_t i = 0; i < m; ++i)
      out[b + i] = H::store(siluGradOf(v[i], e[i], H::load(g[b + i])));
  }
}

/// loco_swiglu and its backward on [rows, 2H] inputs, rounding where the
/// unfused kernels (silu, mul, silu_backward) store.
template <typename H>
void swiglu(const loco_half *x, loco_half *out, int64_t rows, int64_t hidden) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j0 = 0; j0 < hidden; j0 += kBlock) {
      int64_t m = std::min(kBlock, hidden - j0);
      alignas(64) float b[kBlock], e[kBlock];
      const loco_half *a = x + 2 * r * hidden + j0;
      widenWithExp<H>(a + hidden, m, b, e);
      loco_half *y = out + r * hidden + j0;
      for (int64_t j = 0; j < m; ++j)
        y[j] = H::store(H::load(a[j]) * H::load(H::store(siluOf(b[j], e[j]))));
    }
}

template <typename H>
void swigluBackward(const loco_half *x, const loco_half *g, loco_half *out,
                    int64_t rows, int64_t hidden) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j0 = 0; j0 < hidden; j0 += kBlock) {
      int64_t m = std::min(kBlock, hidden - j0);
      alignas(64) float b[kBlock], e[kBlock];
      int64_t ia = 2 * r * hidden + j0, ib = ia + hidden;
      widenWithExp<H>(x + ib, m, b, e);
      const loco_half *gr = g + r * hidden + j0;
      for (int64_t j = 0; j < m; ++j) {
        float a = H::load(x[ia + j]), gj = H::load(gr[j]);
        float act = H::load(H::store(siluOf(b[j], e[j])));
        float gateGrad = H::load(H::store(gj * a));
        out[ia + j] = H::store(gj * act);
        out[ib + j] = H::store(siluGradOf(b[j], e[j], gateGrad));
      }
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
    silu<H>(x, out, n);                                                        \
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
