//===- Half.cuh - bf16 and f16 storage on CUDA ------------------*- C++ -*-===//
//
// This file defines the CUDA backend's two 16-bit storage types as device
// load/store policies (the CUDA math library's round-to-nearest-even
// conversions, which keep subnormals, as torch's .to(dtype) does), and the
// casts between them and fp32.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_HALF_CUH
#define LOCO_RUNTIME_CUDA_HALF_CUH

#include "runtime/cuda/Reduce.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace loco::cuda {

/// SiLU and its gradient: the one formula of every SiLU and SwiGLU kernel,
/// in each precision, fused or not.
__device__ inline float siluOf(float x) { return x / (1.0f + expf(-x)); }
__device__ inline float siluGradOf(float x, float g) {
  float s = 1.0f / (1.0f + expf(-x));
  return g * s * (1.0f + x * (1.0f - s));
}

/// f32 storage, for kernels shared with the reduced types.
struct F32 {
  using Storage = float;
  static constexpr int kDtype = LOCO_DTYPE_F32;
  __device__ static float load(float v) { return v; }
  __device__ static float store(float v) { return v; }
};

struct Bf16 {
  using Storage = loco_half;
  static constexpr int kDtype = LOCO_DTYPE_BF16;
  __device__ static float load(loco_half h) {
    return __bfloat162float(__ushort_as_bfloat16(h));
  }
  __device__ static loco_half store(float f) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
  }
};

struct F16 {
  using Storage = loco_half;
  static constexpr int kDtype = LOCO_DTYPE_F16;
  __device__ static float load(loco_half h) {
    return __half2float(__ushort_as_half(h));
  }
  __device__ static loco_half store(float f) {
    return __half_as_ushort(__float2half_rn(f));
  }
};

/// Widens n elements of storage H to fp32, on the context's stream.
template <typename H>
void widen(loco_context *ctx, const loco_half *x, float *out, int64_t n) {
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = H::load(x[i]); });
}
/// Rounds n fp32 elements to storage H, on the context's stream.
template <typename H>
void narrow(loco_context *ctx, const float *x, loco_half *out, int64_t n) {
  forEach(ctx, n, [=] __device__(int64_t i) { out[i] = H::store(x[i]); });
}

} // namespace loco::cuda

#endif // LOCO_RUNTIME_CUDA_HALF_CUH
