//===- Half.h - bf16 and f16 storage on the CPU -----------------*- C++ -*-===//
//
// This file defines the two 16-bit storage types of the reduced-precision
// kernels as load/store policies: `load` widens exactly to float, `store`
// rounds a float to nearest even, as torch's `.to(dtype)` does. f16 goes
// through F16C's conversion instructions (part of x86-64-v3; GCC 12's
// _Float16 would call libgcc per element), bf16
// through the bit pattern (the upper half of a float, with the usual
// round-to-nearest-even carry and NaNs kept quiet). The bulk conversions
// are checked against oneDNN's reorder in the kernel tests.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_HALF_H
#define LOCO_RUNTIME_CPU_HALF_H

#include "runtime/abi/api.h"

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace loco {

/// f32 storage, read and written as is: the policy of the f32 kernels
/// that share code with the 16-bit ones.
struct F32 {
  static float load(float v) { return v; }
  static float store(float v) { return v; }
};

struct Bf16 {
  static constexpr const char *name = "bf16";
  static inline float load(loco_half h) {
    uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
  }
  static inline loco_half store(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep it a quiet NaN
      return static_cast<loco_half>((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<loco_half>(bits >> 16);
  }
};

struct F16 {
  static constexpr const char *name = "f16";
  static inline float load(loco_half h) { return _cvtsh_ss(h); }
  static inline loco_half store(float f) {
    return static_cast<loco_half>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
  }
};

/// out[i] = load(x[i]) for i < n, in parallel.
template <typename H> void widen(const loco_half *x, float *out, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::load(x[i]);
}

/// out[i] = store(x[i]) for i < n, in parallel.
template <typename H> void narrow(const float *x, loco_half *out, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::store(x[i]);
}

/// widen and narrow on the calling thread, for kernels that convert a
/// thread's own rows inside their parallel region.
template <typename H>
void widenOnThread(const loco_half *x, float *out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::load(x[i]);
}
template <typename H>
void narrowOnThread(const float *x, loco_half *out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    out[i] = H::store(x[i]);
}

/// f16: eight elements per F16C instruction.
template <> inline void widen<F16>(const loco_half *x, float *out, int64_t n) {
  int64_t blocks = n / 8;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b)
    _mm256_storeu_ps(out + 8 * b,
                     _mm256_cvtph_ps(_mm_loadu_si128(
                         reinterpret_cast<const __m128i *>(x + 8 * b))));
  for (int64_t i = 8 * blocks; i < n; ++i)
    out[i] = F16::load(x[i]);
}

template <> inline void narrow<F16>(const float *x, loco_half *out, int64_t n) {
  int64_t blocks = n / 8;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b)
    _mm_storeu_si128(
        reinterpret_cast<__m128i *>(out + 8 * b),
        _mm256_cvtps_ph(_mm256_loadu_ps(x + 8 * b), _MM_FROUND_TO_NEAREST_INT));
  for (int64_t i = 8 * blocks; i < n; ++i)
    out[i] = F16::store(x[i]);
}

} // namespace loco

#endif // LOCO_RUNTIME_CPU_HALF_H
