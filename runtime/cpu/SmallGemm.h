//===- SmallGemm.h - JIT small matrix products (libxsmm) --------*- C++ -*-===//
//
// This file declares the small matrix products of the CPU backend's tiled
// kernels (flash attention): C (m x n) = A (m x k) B (k x n), plus C when
// accumulating, all column-major with leading dimensions, as libxsmm
// defines them. libxsmm generates a register-blocked kernel for each shape
// the first time it is asked for (for the CPU it runs on: AVX2, AVX-512,
// AMX) and returns the cached kernel after; a step's warm-up makes them all,
// and later calls allocate nothing. Where libxsmm has no kernel for the
// CPU, or LOCO_SMALL_GEMM=loop asks for it (tests), a plain loop computes
// the same product.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_SMALLGEMM_H
#define LOCO_RUNTIME_CPU_SMALLGEMM_H

#include <cstdint>

namespace loco::cpu {

class SmallGemm {
public:
  /// The product of this shape; `accumulate` adds to C (beta = 1).
  SmallGemm(int m, int n, int k, int lda, int ldb, int ldc, bool accumulate);

  void operator()(const float *a, const float *b, float *c) const;

private:
  using Kernel = void (*)(const float *, const float *, float *, ...);
  Kernel kernel = nullptr;
  int m, n, k, lda, ldb, ldc;
  bool accumulate;
};

} // namespace loco::cpu

#endif // LOCO_RUNTIME_CPU_SMALLGEMM_H
