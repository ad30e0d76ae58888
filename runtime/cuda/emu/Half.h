//===- Half.h - CUDA's 16-bit float types, emulated -------------*- C++ -*-===//
//
// This file defines __half and __nv_bfloat16 (cuda_fp16.h, cuda_bf16.h) for
// the emulation target with the conversions the kernels use. Float to f16
// goes through the compiler's _Float16 (IEEE round-to-nearest-even with
// subnormals, as __float2half_rn); float to bf16 rounds to nearest even on
// the bits (NaN kept quiet), as __float2bfloat16_rn. Widening is exact.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_HALF_H
#define LOCO_RUNTIME_CUDA_EMU_HALF_H

#include <cstdint>
#include <cstring>

struct __half {
  unsigned short bits;
};
struct __nv_bfloat16 {
  unsigned short bits;
};

inline __half __float2half_rn(float f) {
  _Float16 h = static_cast<_Float16>(f);
  __half out;
  std::memcpy(&out.bits, &h, sizeof(h));
  return out;
}
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) {
  _Float16 v;
  std::memcpy(&v, &h.bits, sizeof(v));
  return static_cast<float>(v);
}
inline __half __ushort_as_half(unsigned short bits) { return {bits}; }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep the sign, make it quiet
    return {static_cast<unsigned short>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<unsigned short>(u >> 16)};
}
inline __nv_bfloat16 __float2bfloat16(float f) {
  return __float2bfloat16_rn(f);
}
inline float __bfloat162float(__nv_bfloat16 h) {
  uint32_t u = static_cast<uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) {
  return {bits};
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.bits; }

namespace loco::emu {
/// Widening for code generic over the element type (wmma's fragments).
inline float widen(float f) { return f; }
inline float widen(__half h) { return __half2float(h); }
inline float widen(__nv_bfloat16 h) { return __bfloat162float(h); }
} // namespace loco::emu

#endif // LOCO_RUNTIME_CUDA_EMU_HALF_H
