//===- Gemm.cpp - The CPU backend's fp32 matrix products ------------------===//
//
// libxsmm works in column-major terms, C (m x n) = A (m x k) B (k x n), with
// a transposed B as its only transposition. A row-major product is the same
// product transposed: C^T (N x M) = B^T op(A)^T, where the row-major B [K, N]
// is already the column-major N x K operand, a row-major A [M, K] the
// column-major K x M one, and a row-major A stored [K, M] (transA) libxsmm's
// transposed B.
//
// The product is cut into blocks for the core's caches: kBlockN columns of
// B at once (all of them up to kWholeN: a narrow tail block would re-read
// the rows of A for little work), kBlockM rows of A, and kBlockK of the
// depth (long weight-gradient reductions), the K-blocks accumulating in
// order; for each column block the rows of A stream past it. A call needs
// at most eight block shapes (whole and tail in each dimension), each with
// a fresh and an accumulating kernel, which libxsmm generates once and then
// finds in its registry.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Gemm.h"

#include <cblas.h>
#include <libxsmm.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

using namespace loco::cpu;

namespace {

// The block sizes: timing musdb18_small's products with blocks of 32 to 384
// rows and columns and 256 to 8192 deep put every choice within about 10%
// of the others on an AVX-512 core; these were among the best. A build can
// set them (-DLOCO_GEMM_BLOCK_N=... and _M, _K) to measure others.
#ifndef LOCO_GEMM_BLOCK_N
#define LOCO_GEMM_BLOCK_N 128
#define LOCO_GEMM_BLOCK_M 128
#define LOCO_GEMM_BLOCK_K 512
#endif
constexpr int64_t kBlockN = LOCO_GEMM_BLOCK_N; // columns of C (row-major N)
constexpr int64_t kBlockM = LOCO_GEMM_BLOCK_M; // rows of C (row-major M)
constexpr int64_t kBlockK = LOCO_GEMM_BLOCK_K; // depth
constexpr int64_t kWholeN = 2 * kBlockN + kBlockN / 2;

std::atomic<int64_t> fallbackCalls{0};

bool forcedOpenBlas() {
  static const bool forced = [] {
    const char *choice = std::getenv("LOCO_CPU_GEMM");
    return choice && std::strcmp(choice, "openblas") == 0;
  }();
  return forced;
}

/// The fallback: OpenBLAS's sgemm (single-threaded in this backend), one
/// product per batch entry, accumulating. BLAS wants rows at least as long
/// as they are read; operands whose rows overlap (a stride below the row
/// length) go as products of slices no wider than their row stride: of the
/// depth (A [M, K]), of C's rows (A^T) or of C's columns (B).
void blasGemm(const GemmShape &s, const float *A, const float *B, float *C,
              bool accumulate) {
  fallbackCalls.fetch_add(1, std::memory_order_relaxed);
  // Slices also stay within BLAS's 32-bit sizes.
  constexpr int64_t kMaxSlice = int64_t(1) << 30;
  auto step = [&](bool overlap, int64_t ld, int64_t size) {
    return std::min(kMaxSlice, overlap ? std::max<int64_t>(1, ld) : size);
  };
  int64_t depthStep = step(!s.transA && s.lda < s.K, s.lda, s.K);
  int64_t rowStep = step(s.transA && s.lda < s.M, s.lda, s.M);
  int64_t columnStep = step(s.ldb < s.N, s.ldb, s.N);
  for (int64_t t = 0; t < s.batch; ++t)
    for (int64_t i0 = 0; i0 < s.M; i0 += rowStep)
      for (int64_t j0 = 0; j0 < s.N; j0 += columnStep)
        for (int64_t p0 = 0; p0 < s.K; p0 += depthStep) {
          int64_t m = std::min(rowStep, s.M - i0);
          int64_t n = std::min(columnStep, s.N - j0);
          int64_t k = std::min(depthStep, s.K - p0);
          const float *a = A + t * s.strideA +
                           (s.transA ? p0 * s.lda + i0 : i0 * s.lda + p0);
          const float *b = B + t * s.strideB + p0 * s.ldb + j0;
          bool acc = accumulate || t > 0 || p0 > 0;
          cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans,
                      CblasNoTrans, m, n, k, 1.0f, a, s.lda, b, s.ldb,
                      acc ? 1.0f : 0.0f, C + i0 * s.ldc + j0, s.ldc);
        }
}

/// A libxsmm kernel of one block shape (column-major m x n x k), plain or
/// batch-reducing; null where libxsmm has none (this CPU, or operands whose
/// rows overlap: libxsmm wants leading dimensions of at least the rows).
struct BlockKernel {
  libxsmm_smmfunction plain = nullptr;
  libxsmm_smmfunction_reducebatch_strd batched = nullptr;
  explicit operator bool() const { return plain || batched; }
  void operator()(const float *a, const float *b, float *c,
                  unsigned long long count) const {
    if (batched)
      batched(a, b, c, &count);
    else
      plain(a, b, c);
  }
};

BlockKernel blockKernel(const GemmShape &s, int64_t m, int64_t n, int64_t k,
                        bool accumulate) {
  int lda = static_cast<int>(s.ldb), ldb = static_cast<int>(s.lda),
      ldc = static_cast<int>(s.ldc);
  float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  int flags = s.transA ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
  BlockKernel kernel;
  if (s.batch == 1)
    kernel.plain = libxsmm_smmdispatch(static_cast<int>(m), static_cast<int>(n),
                                       static_cast<int>(k), &lda, &ldb, &ldc,
                                       &alpha, &beta, &flags, nullptr);
  else // strides in bytes
    kernel.batched = libxsmm_smmdispatch_reducebatch_strd(
        static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
        static_cast<int>(s.strideB * 4), static_cast<int>(s.strideA * 4), &lda,
        &ldb, &ldc, &alpha, &beta, &flags, nullptr);
  return kernel;
}

bool fitsInt(const GemmShape &s) {
  constexpr int64_t kMax = 0x7fffffff / 4; // strides pass as bytes
  return s.lda <= kMax && s.ldb <= kMax && s.ldc <= kMax && s.strideA <= kMax &&
         s.strideB <= kMax && s.batch >= 1 && s.strideA >= 0 && s.strideB >= 0;
}

} // namespace

void loco::cpu::gemm(const GemmShape &s, const float *A, const float *B,
                     float *C, bool accumulate) {
  if (s.M <= 0 || s.N <= 0)
    return;
  if (s.K <= 0 || s.batch <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < s.M; ++i)
        std::fill(C + i * s.ldc, C + i * s.ldc + s.N, 0.0f);
    return;
  }
  if (forcedOpenBlas() || !fitsInt(s))
    return blasGemm(s, A, B, C, accumulate);

  // Results up to kWholeN columns wide go as one column block (a narrow
  // tail block would re-read the rows of A for little work).
  int64_t blockN = s.N <= kWholeN ? s.N : kBlockN;
  // The kernels of the (at most 8) block shapes, by [tail in N][tail in M]
  // [tail in K][accumulating], all made before the first block runs, so
  // that a shape libxsmm refuses sends the whole product to the fallback.
  BlockKernel kernels[2][2][2][2];
  for (int tailN = 0; tailN < 2; ++tailN)
    for (int tailM = 0; tailM < 2; ++tailM)
      for (int tailK = 0; tailK < 2; ++tailK)
        for (int acc = 0; acc < 2; ++acc) {
          int64_t n = tailN ? s.N % blockN : std::min(blockN, s.N);
          int64_t m = tailM ? s.M % kBlockM : std::min(kBlockM, s.M);
          int64_t k = tailK ? s.K % kBlockK : std::min(kBlockK, s.K);
          // Shapes the loops below reach: a tail only where there is one,
          // a fresh result only without accumulation, an accumulating one
          // with it or past the first K-block.
          bool reached = n > 0 && m > 0 && k > 0 &&
                         (acc ? accumulate || s.K > kBlockK : !accumulate);
          if (!reached)
            continue;
          kernels[tailN][tailM][tailK][acc] = blockKernel(s, n, m, k, acc);
          if (!kernels[tailN][tailM][tailK][acc])
            return blasGemm(s, A, B, C, accumulate);
        }
  for (int64_t j0 = 0; j0 < s.N; j0 += blockN) {
    int64_t n = std::min(blockN, s.N - j0);
    for (int64_t i0 = 0; i0 < s.M; i0 += kBlockM) {
      int64_t m = std::min(kBlockM, s.M - i0);
      for (int64_t p0 = 0; p0 < s.K; p0 += kBlockK) {
        int64_t k = std::min(kBlockK, s.K - p0);
        bool acc = accumulate || p0 > 0;
        const BlockKernel &kernel =
            kernels[n != blockN][m != kBlockM][k != kBlockK][acc];
        const float *b = B + p0 * s.ldb + j0;
        const float *a = s.transA ? A + p0 * s.lda + i0 : A + i0 * s.lda + p0;
        kernel(b, a, C + i0 * s.ldc + j0, s.batch);
      }
    }
  }
}

void loco::cpu::packTransposed(const float *B, int64_t N, int64_t K,
                               int64_t ldb, float *out) {
  // Tiles of 32 x 32 keep both sides' lines in cache.
  constexpr int64_t kTile = 32;
  for (int64_t n0 = 0; n0 < N; n0 += kTile)
    for (int64_t k0 = 0; k0 < K; k0 += kTile)
      for (int64_t n = n0; n < std::min(N, n0 + kTile); ++n)
        for (int64_t k = k0; k < std::min(K, k0 + kTile); ++k)
          out[k * N + n] = B[n * ldb + k];
}

GemmInfo loco::cpu::gemmInfo() {
  GemmInfo info;
  int arch = libxsmm_get_target_archid();
  bool openBlas = forcedOpenBlas() || arch < LIBXSMM_X86_AVX;
  if (openBlas) {
    info.library = "OpenBLAS";
    info.isa = openblas_get_corename();
  } else {
    info.library = "libxsmm " LIBXSMM_VERSION;
    info.isa = libxsmm_get_target_arch();
  }
  __builtin_cpu_init();
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool avx512 = __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl");
  if (openBlas) {
    // OpenBLAS's x86 cores with AVX2 kernels (and up): everything older
    // (Prescott, Core2, Nehalem, Sandybridge, Bulldozer...) is generic here.
    static const char *const kWide[] = {"Haswell", "Zen", "SkylakeX",
                                        "Cooperlake", "SapphireRapids"};
    bool wide = false;
    for (const char *name : kWide)
      wide = wide || info.isa == name;
    info.generic = (avx2 || avx512) && !wide;
  } else {
    info.generic = (avx512 && arch < LIBXSMM_X86_AVX512_CORE) ||
                   (avx2 && arch < LIBXSMM_X86_AVX2);
  }
  return info;
}

int64_t loco::cpu::gemmFallbackCalls() {
  return fallbackCalls.load(std::memory_order_relaxed);
}

std::string loco::cpu::describeGemm() {
  GemmInfo info = gemmInfo();
  return info.library + " (" + info.isa +
         (info.generic ? ", a generic kernel on this CPU" : "") + ")";
}
