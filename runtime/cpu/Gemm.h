//===- Gemm.h - The CPU backend's fp32 matrix products ----------*- C++ -*-===//
//
// This file declares the one fp32 GEMM that the CPU backend's linear,
// convolution and batched-product kernels call. It runs libxsmm's JIT
// kernels, which libxsmm generates for the instruction set it reads from
// CPUID (AVX2, AVX-512), on cache-sized blocks of the operands. BLAS
// libraries that pick kernels from a table of CPU models instead (Debian's
// OpenBLAS 0.3.21 runs its SSE3 "Prescott" kernels on CPUs newer than it,
// about 5x below the machine's rate) are only the fallback: where libxsmm
// has no kernel for this CPU, or LOCO_CPU_GEMM=openblas asks for it
// (benchmarks compare the two).
//
// Results are the same run to run: the kernels give each thread the same
// rows for the same thread count, and the K-blocks accumulate in a fixed
// order. (Another thread count may change the last bits: libxsmm's kernels
// for different block shapes can order a row's sum differently, as BLAS
// libraries' kernels do.) A call allocates nothing once its block shapes
// have been generated (the first step makes them all).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_GEMM_H
#define LOCO_RUNTIME_CPU_GEMM_H

#include <cstdint>
#include <string>

namespace loco::cpu {

/// The operands of a row-major product C[M, N] = op(A) op(B): op(A) is
/// [M, K], stored [M, K] or, with transA, [K, M]; B is [K, N]. Leading
/// dimensions are row strides in elements; rows may overlap (a stride below
/// the row length read: libxsmm checks leading dimensions against a
/// block's rows, so such products can run on the fallback). A transposed B
/// ([N, K]) is packed by the caller with packTransposed (its scratch, K x N
/// floats).
struct GemmShape {
  int64_t M, N, K;
  bool transA = false;
  int64_t lda, ldb, ldc;
  /// A batch-reducing product: the sum over t < batch of op(A_t) B_t, with
  /// A_t = A + t * strideA and B_t = B + t * strideB (elements). A 1-D
  /// convolution is one, over its kernel taps.
  int64_t batch = 1, strideA = 0, strideB = 0;
};

/// C = op(A) B, or C += op(A) B when `accumulate` (summed over the batch);
/// single-threaded (the callers share rows or tasks out between their
/// OpenMP threads).
void gemm(const GemmShape &shape, const float *A, const float *B, float *C,
          bool accumulate);

/// out[K, N] (row stride N) = B^T for B [N, K] with row stride ldb.
void packTransposed(const float *B, int64_t N, int64_t K, int64_t ldb,
                    float *out);

/// What runs the products in this process: the library and, for libxsmm,
/// the instruction set its code generator targets (libxsmm's name for it,
/// e.g. "hsw" for AVX2, "skx"/"clx"/"cpx" for AVX-512).
struct GemmInfo {
  std::string library;
  std::string isa;
  /// Whether that instruction set is below what this CPU supports
  /// (AVX2 or AVX-512 present but a narrower kernel in use).
  bool generic = false;
};
GemmInfo gemmInfo();

/// Calls of gemm that ran on the fallback since the process started (0 on a
/// CPU that libxsmm serves, unless LOCO_CPU_GEMM=openblas).
int64_t gemmFallbackCalls();

/// "libxsmm 1.17 (cpx)": for describe strings.
std::string describeGemm();

} // namespace loco::cpu

#endif // LOCO_RUNTIME_CPU_GEMM_H
