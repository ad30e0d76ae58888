//===- VectorMath.h - Vector exp for the CPU kernels ------------*- C++ -*-===//
//
// This file declares the vectorised exponentials of the CPU backend. They
// call SLEEF's `expf` with a 1.0-ULP bound (the `_u10` variants), AVX-512
// where the CPU has it and AVX2 otherwise (the backend's baseline is
// x86-64-v3), chosen once at run time.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_VECTORMATH_H
#define LOCO_RUNTIME_CPU_VECTORMATH_H

#include <cstdint>

namespace loco::cpu {

/// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results
/// (accumulated in fp32 lanes). A shift of -inf's result is NaN, as
/// std::exp's would be; callers pass finite shifts.
float expShifted(float *x, int64_t n, float shift);

/// out[i] = exp(factor * x[i]) for i < n (out may be x).
void expScaled(const float *x, float factor, float *out, int64_t n);

/// The instruction set expShifted runs on: "avx512f" or "avx2".
const char *vectorIsa();

} // namespace loco::cpu

#endif // LOCO_RUNTIME_CPU_VECTORMATH_H
