//===- Philox.h - Counter-based random numbers ------------------*- C++ -*-===//
//
// This file implements Philox4x32-10 (Salmon et al., SC'11), the generator
// behind dropout. A draw is a pure function of (seed, step, stream, element
// index), so a recomputation reproduces a mask exactly, and the same header
// compiles for host and device so that backends agree bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_PHILOX_H
#define LOCO_RUNTIME_PHILOX_H

#include <stdint.h>

#if defined(__CUDACC__)
#define LOCO_HOST_DEVICE __host__ __device__
#else
#define LOCO_HOST_DEVICE
#endif

namespace loco {

struct PhiloxOut {
  uint32_t v[4];
};

LOCO_HOST_DEVICE inline void philoxMulHiLo(uint32_t a, uint32_t b, uint32_t &hi,
                                           uint32_t &lo) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

/// Philox4x32 with 10 rounds on counter `c` and key `k`.
LOCO_HOST_DEVICE inline PhiloxOut philox4x32(uint32_t c0, uint32_t c1,
                                             uint32_t c2, uint32_t c3,
                                             uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philoxMulHiLo(0xD2511F53u, c0, hi0, lo0);
    philoxMulHiLo(0xCD9E8D57u, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

/// The four draws of counter block `block` (elements 4 block .. 4 block + 3).
LOCO_HOST_DEVICE inline PhiloxOut philoxBlock(uint64_t seed, uint64_t step,
                                              uint64_t stream, uint64_t block) {
  return philox4x32(
      static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
      static_cast<uint32_t>(stream), static_cast<uint32_t>(step),
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

/// A 32-bit draw as a uniform in [0, 1) with 24 bits.
LOCO_HOST_DEVICE inline float philoxToUniform(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

/// The uniform in [0, 1) that element `index` of random stream `stream`
/// draws at optimizer step `step` under `seed`.
LOCO_HOST_DEVICE inline float philoxUniform(uint64_t seed, uint64_t step,
                                            uint64_t stream, uint64_t index) {
  return philoxToUniform(
      philoxBlock(seed, step, stream, index >> 2).v[index & 3]);
}

} // namespace loco

#endif // LOCO_RUNTIME_PHILOX_H
