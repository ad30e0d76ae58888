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
#include "runtime/cpu/Silu.h"

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

using loco::cpu::siluGradOf;
using loco::cpu::siluOf;

/// loco_swiglu and its backward on [rows, 2H] inputs, rounding where the
/// unfused kernels (silu, mul, silu_backward) store.
template <typename H>
void swiglu(const loco_half *x, loco_half *out, int64_t rows, int64_t hidden) {
  loco::cpu::forGateBlocks<H>(
      x, rows, hidden,
      [&](const loco_half *a, const float *b, const float *e, int64_t r,
          int64_t j0, int64_t m) {
        loco_half *y = out + r * hidden + j0;
        for (int64_t j = 0; j < m; ++j)
          y[j] =
              H::store(H::load(a[j]) * H::load(H::store(siluOf(b[j], e[j]))));
      });
}

template <typename H>
void swigluBackward(const loco_half *x, const loco_half *g, loco_half *out,
                    int64_t rows, int64_t hidden) {
  // out may alias x: the gate block is widened before any write, and each
  // position's value is read before the same position is written.
  loco::cpu::forGateBlocks<H>(
      x, rows, hidden,
      [&](const loco_half *a, const float *b, const float *e, int64_t r,
          int64_t j0, int64_t m) {
        const loco_half *gr = g + r * hidden + j0;
        loco_half *da = out + r * 2 * hidden + j0, *db = da + hidden;
        for (int64_t j = 0; j < m; ++j) {
          float av = H::load(a[j]), gj = H::load(gr[j]);
          float act = H::load(H::store(siluOf(b[j], e[j])));
          float gateGrad = H::load(H::store(gj * av));
          da[j] = H::store(gj * act);
          db[j] = H::store(siluGradOf(b[j], e[j], gateGrad));
        }
      });
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
    loco::cpu::mapWithExpNegated<H>(                                           \
        x, out, n, [](int64_t, float v, float e) { return siluOf(v, e); });    \
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
    loco::cpu::mapWithExpNegated<H>(x, out, n,                                 \
                                    [g](int64_t i, float v, float e) {         \
                                      return siluGradOf(v, e, H::load(g[i]));  \
                                    });                                        \
  }
LOCO_HALF_ELEMENTWISE(bf16, Bf16)
LOCO_HALF_ELEMENTWISE(f16, F16)
#undef LOCO_HALF_ELEMENTWISE

} // extern "C"
