//===- Silu.h - SiLU and blocks of exp(-x) for the CPU kernels --*- C++ -*-===//
//
// This file defines what the f32 and the bf16/f16 SiLU and SwiGLU kernels
// share: the one formula of SiLU and its gradient from x and e = exp(-x),
// and the loops that hand a kernel its elements with e computed by SLEEF a
// block at a time. Elements are read through a storage policy (Half.h:
// F32, Bf16, F16); f32 blocks are used in place, 16-bit ones widened first.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_SILU_H
#define LOCO_RUNTIME_CPU_SILU_H

#include "runtime/cpu/VectorMath.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace loco::cpu {

inline float siluOf(float x, float e) { return x / (1.0f + e); }
inline float siluGradOf(float x, float e, float g) {
  float s = 1.0f / (1.0f + e);
  return g * s * (1.0f + x * (1.0f - s));
}

constexpr int64_t kExpBlock = 1024;

/// x[0, m) as floats: x itself for f32, else widened into `buffer`.
template <typename H, typename T>
const float *widened(const T *x, int64_t m, float *buffer) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    for (int64_t i = 0; i < m; ++i)
      buffer[i] = H::load(x[i]);
    return buffer;
  }
}

/// out[i] = store(f(i, x[i], exp(-x[i]))) for i < n, x[i] widened.
template <typename H, typename T, typename F>
void mapWithExpNegated(const T *x, T *out, int64_t n, F f) {
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b += kExpBlock) {
    int64_t m = std::min(kExpBlock, n - b);
    alignas(64) float buffer[kExpBlock], e[kExpBlock];
    const float *v = widened<H>(x + b, m, buffer);
    expScaled(v, -1.0f, e, m);
    for (int64_t i = 0; i < m; ++i)
      out[b + i] = H::store(f(b + i, v[i], e[i]));
  }
}

/// For every one of `rows` rows of a SwiGLU input [rows, 2H] (value half
/// a, gate half b): f(a, b, e, r, j0, m) on the positions [j0, j0 + m) of
/// row r, with a as stored, b widened and e = exp(-b).
template <typename H, typename T, typename F>
void forGateBlocks(const T *x, int64_t rows, int64_t hidden, F f) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j0 = 0; j0 < hidden; j0 += kExpBlock) {
      int64_t m = std::min(kExpBlock, hidden - j0);
      alignas(64) float buffer[kExpBlock], e[kExpBlock];
      const T *a = x + r * 2 * hidden + j0;
      const float *b = widened<H>(a + hidden, m, buffer);
      expScaled(b, -1.0f, e, m);
      f(a, b, e, r, j0, m);
    }
}

} // namespace loco::cpu

#endif // LOCO_RUNTIME_CPU_SILU_H
