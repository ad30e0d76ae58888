//===- VectorMath.cpp - Vector exp for the CPU kernels --------------------===//
//
// SLEEF's expf (libsleef-dev) at its 1.0-ULP accuracy, 16 lanes on AVX-512
// and 8 on AVX2. A row's tail is padded with -inf in a register-sized
// buffer, whose exponentials are 0 and add nothing to the sum.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/VectorMath.h"

#include <immintrin.h>
#include <sleef.h>

#include <algorithm>
#include <limits>

// sleef.h declares the AVX-512 entry points only when the translation unit
// is compiled for AVX-512; this one is not (x86-64-v3) and calls it from a
// function that is.
extern "C" __m512 Sleef_expf16_u10avx512f(__m512);

namespace {

__attribute__((target("avx512f"))) float expShifted512(float *x, int64_t n,
                                                       float shift) {
  __m512 s = _mm512_set1_ps(shift), sum = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 e =
        Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
    _mm512_storeu_ps(x + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (i < n) {
    __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 in = _mm512_mask_loadu_ps(
        _mm512_set1_ps(-std::numeric_limits<float>::infinity()), tail, x + i);
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(in, s));
    _mm512_mask_storeu_ps(x + i, tail, e);
    sum = _mm512_add_ps(sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

float expShifted256(float *x, int64_t n, float shift) {
  __m256 s = _mm256_set1_ps(shift), sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (i < n) {
    alignas(32) float pad[8];
    std::fill(pad, pad + 8, -std::numeric_limits<float>::infinity());
    std::copy(x + i, x + n, pad);
    __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_load_ps(pad), s));
    _mm256_store_ps(pad, e);
    std::copy(pad, pad + (n - i), x + i);
    sum = _mm256_add_ps(sum, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (float lane : lanes)
    total += lane;
  return total;
}

__attribute__((target("avx512f"))) void
expScaled512(const float *x, float factor, float *out, int64_t n) {
  __m512 f = _mm512_set1_ps(factor);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, Sleef_expf16_u10avx512f(
                                  _mm512_mul_ps(_mm512_loadu_ps(x + i), f)));
  if (i < n) {
    __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 in = _mm512_maskz_loadu_ps(tail, x + i);
    _mm512_mask_storeu_ps(out + i, tail,
                          Sleef_expf16_u10avx512f(_mm512_mul_ps(in, f)));
  }
}

void expScaled256(const float *x, float factor, float *out, int64_t n) {
  __m256 f = _mm256_set1_ps(factor);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(
        out + i, Sleef_expf8_u10avx2(_mm256_mul_ps(_mm256_loadu_ps(x + i), f)));
  if (i < n) {
    alignas(32) float pad[8] = {};
    std::copy(x + i, x + n, pad);
    _mm256_store_ps(pad,
                    Sleef_expf8_u10avx2(_mm256_mul_ps(_mm256_load_ps(pad), f)));
    std::copy(pad, pad + (n - i), out + i);
  }
}

bool hasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

} // namespace

float loco::cpu::expShifted(float *x, int64_t n, float shift) {
  return hasAvx512() ? expShifted512(x, n, shift) : expShifted256(x, n, shift);
}

void loco::cpu::expScaled(const float *x, float factor, float *out, int64_t n) {
  if (hasAvx512())
    expScaled512(x, factor, out, n);
  else
    expScaled256(x, factor, out, n);
}

const char *loco::cpu::vectorIsa() { return hasAvx512() ? "avx512f" : "avx2"; }
