//===- HalfStaging.h - The CPU's operations for staged bf16/f16 --*- C++
//-*-===//
//
// This file defines the CPU backend's `Ops` for runtime/HalfStaged.h:
// parallel widening and rounding (Half.h), fp32 sums, and the nested
// workspace Scratch.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_HALFSTAGING_H
#define LOCO_RUNTIME_CPU_HALFSTAGING_H

#include "runtime/HalfStaged.h"
#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace loco {

/// Whether LOCO_CPU_HALF_GEMM=staged asks the bf16 products and 1-D
/// convolutions to take the staged path on a CPU with bf16 instructions
/// (the kernel tests and benchmarks compare the two).
inline bool halfStagingForced() {
  const char *force = std::getenv("LOCO_CPU_HALF_GEMM");
  return force && std::strcmp(force, "staged") == 0;
}

struct CpuStaging {
  using Scratch = loco::Scratch;
  template <typename H>
  static void widen(loco_context *, const loco_half *x, float *out, int64_t n) {
    loco::widen<H>(x, out, n);
  }
  template <typename H>
  static void narrow(loco_context *, const float *x, loco_half *out,
                     int64_t n) {
    loco::narrow<H>(x, out, n);
  }
  /// sum[i] += part[i].
  static void addInto(loco_context *, float *sum, const float *part,
                      int64_t n) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i)
      sum[i] += part[i];
  }
  static void zero(loco_context *, float *x, int64_t n) {
    std::fill(x, x + n, 0.0f);
  }
};

} // namespace loco

#endif // LOCO_RUNTIME_CPU_HALFSTAGING_H
