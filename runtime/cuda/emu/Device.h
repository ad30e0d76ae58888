//===- Device.h - CUDA's device side, emulated on the CPU -------*- C++ -*-===//
//
// This file declares what a kernel of runtime/cuda/ sees when the backend is
// compiled by the host compiler for the emulation target
// (-DLOCO_CUDA_EMULATION=ON): the function qualifiers, dim3 and the built-in
// index variables, the math intrinsics the kernels use with CUDA's rounding,
// __syncthreads and the warp shuffles. The scheduler (Scheduler.cpp) runs
// every thread of a block as a fiber and switches at barriers and warp
// collectives; the built-in variables name the thread that runs now.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_DEVICE_H
#define LOCO_RUNTIME_CUDA_EMU_DEVICE_H

#include <cmath>
// CUDA declares the math functions (isfinite, expf, ...) globally.
#include <cstdint>
#include <cstring>
#include <math.h>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
/// Static shared memory is one object per declaration: launches run one at
/// a time (the scheduler holds a lock for the whole grid) and the blocks of
/// a launch one after another.
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};

/// CUDA's vector type (vector_types.h), 16-byte aligned as there.
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) {
  return {x, y, z, w};
}

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x = 1, unsigned y = 1, unsigned z = 1)
      : x(x), y(y), z(z) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

namespace loco::emu {
/// The running thread's indices and its launch's shape, set by the
/// scheduler before it resumes a thread, and read under its lock (one grid
/// runs at a time). Not thread_local: in a library opened with dlopen every
/// read was a call into the dynamic linker (a fifth of an emulated step's
/// time).
struct Builtins {
  uint3 threadIdx, blockIdx;
  dim3 blockDim, gridDim;
};
/// The one instance. A function, not a variable: an executable that
/// compiles kernels (the emulation's tests) would get its own copy of a
/// variable by copy relocation, which the scheduler never writes. Constant
/// (the same reference on every call), so that a kernel calls it once.
[[gnu::const]] Builtins &builtins();
} // namespace loco::emu

#define threadIdx (::loco::emu::builtins().threadIdx)
#define blockIdx (::loco::emu::builtins().blockIdx)
#define blockDim (::loco::emu::builtins().blockDim)
#define gridDim (::loco::emu::builtins().gridDim)
constexpr int warpSize = 32;

//===----------------------------------------------------------------------===//
// Math
//===----------------------------------------------------------------------===//

// CUDA's min and max take mixed integer types in device code.
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) {
  return b < a ? b : a;
}
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) {
  return a < b ? b : a;
}

/// The product rounded once, never contracted into an FMA.
inline float __fmul_rn(float a, float b) {
  volatile float product = a * b;
  return product;
}
inline float __fadd_rn(float a, float b) {
  volatile float sum = a + b;
  return sum;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __saturatef(float x) {
  return x > 1.0f ? 1.0f : (x >= 0.0f ? x : 0.0f);
}

//===----------------------------------------------------------------------===//
// Barriers and warp collectives
//===----------------------------------------------------------------------===//

namespace loco::emu {

/// One lane's part in a warp collective: what it brings, where its result
/// goes, and its own argument (a shuffle's lane, mask or delta).
struct LaneSlot {
  const void *in;
  void *out;
  int argument;
};

/// Completes a collective once every lane of `mask` has arrived: slots[l]
/// is lane l's, or null for a lane outside the mask.
using CollectiveFn = void (*)(LaneSlot *const *slots);

/// Waits until every live thread of the block arrives (__syncthreads).
void blockBarrier();

/// The calling lane's part in the collective `what` over the lanes of
/// `mask`; the last lane to arrive runs `complete` for all of them. Every
/// lane of the mask must call the same collective with the same mask.
void warpCollective(const char *what, unsigned mask, LaneSlot slot,
                    CollectiveFn complete);

template <typename T> struct Shuffle {
  static_assert(std::is_trivially_copyable_v<T>, "shuffles move bytes");
  /// Lane l's result is lane source(l)'s value, or its own when the source
  /// is outside the segment of `width` lanes (CUDA's rule).
  template <int (*source)(int lane, int argument, int width), int kWidth>
  static void complete(LaneSlot *const *slots) {
    for (int lane = 0; lane < 32; ++lane) {
      if (!slots[lane])
        continue;
      int from = source(lane, slots[lane]->argument, kWidth);
      const LaneSlot *src = from >= 0 && from < 32 ? slots[from] : nullptr;
      std::memcpy(slots[lane]->out, src ? src->in : slots[lane]->in, sizeof(T));
    }
  }
};

inline int xorSource(int lane, int mask, int width) {
  int from = lane ^ mask;
  return from / width == lane / width ? from : lane;
}
inline int downSource(int lane, int delta, int width) {
  int from = lane + delta;
  return from / width == lane / width ? from : lane;
}
inline int upSource(int lane, int delta, int width) {
  int from = lane - delta;
  return from >= 0 && from / width == lane / width ? from : lane;
}
inline int indexSource(int lane, int index, int width) {
  return lane / width * width + ((index % width) + width) % width;
}

/// Stops the process with a message naming the running kernel, block and
/// thread (a fault: CUDA would leave the context unusable).
[[noreturn]] void kernelFault(const char *what);

template <int (*source)(int, int, int), typename T>
T shuffle(const char *what, unsigned mask, T value, int argument, int width) {
  if (width != 32)
    kernelFault("a shuffle narrower than the warp is not emulated");
  T result;
  warpCollective(what, mask, LaneSlot{&value, &result, argument},
                 &Shuffle<T>::template complete<source, 32>);
  return result;
}

} // namespace loco::emu

inline void __syncthreads() { loco::emu::blockBarrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  loco::emu::warpCollective("__syncwarp", mask, {nullptr, nullptr, 0},
                            [](loco::emu::LaneSlot *const *) {});
}

// Shuffles over the whole warp (width 32: the only width the kernels use;
// another is refused when it runs rather than emulated wrongly).
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int laneMask, int width = 32) {
  return loco::emu::shuffle<loco::emu::xorSource>("__shfl_xor_sync", mask,
                                                  value, laneMask, width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return loco::emu::shuffle<loco::emu::downSource>(
      "__shfl_down_sync", mask, value, static_cast<int>(delta), width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return loco::emu::shuffle<loco::emu::upSource>(
      "__shfl_up_sync", mask, value, static_cast<int>(delta), width);
}
template <typename T>
T __shfl_sync(unsigned mask, T value, int lane, int width = 32) {
  return loco::emu::shuffle<loco::emu::indexSource>("__shfl_sync", mask, value,
                                                    lane, width);
}

/// Dynamic shared memory (`extern __shared__ T name[]` in CUDA): the block's
/// buffer of the launch's size, filled with NaN bytes before each block.
namespace loco::emu {
void *dynamicShared();
}
#define LOCO_DYNAMIC_SHARED(type, name)                                        \
  type *name = static_cast<type *>(::loco::emu::dynamicShared())

#endif // LOCO_RUNTIME_CUDA_EMU_DEVICE_H
