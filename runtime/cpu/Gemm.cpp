//===- Gemm.cpp - The CPU backend's fp32 matrix products ------------------===//
//
// libxsmm works in column-major terms, C (m x n) = A (m x k) B (k x n), with
// a transposed B as its only transposition. A row-major product is the same
// product transposed: C^T (N x M) = B^T op(A)^T, where the row-major B [K, N]
// is already the column-major N x K operand, a row-major A [M, K] the
// column-major K x M one, and a row-major A stored [K, M] (transA) libxsmm's
// transposed B.
//
// The product is cut into blocks small enough for the core's caches: up to
// kBlockN columns of B at once (its block, K-block deep, stays in L2 while
// the rows of A stream past), kBlockM rows of A, and kBlockK of the depth
// (long weight-gradient reductions), the K-blocks accumulating in order. A
// call needs at most eight block shapes (whole and tail in each dimension),
// which libxsmm generates once and then finds in its registry.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Gemm.h"

#include <cblas.h>
#include <libxsmm.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace loco::cpu;

namespace {

constexpr int64_t kBlockN = 256; // columns of C (row-major N)
constexpr int64_t kBlockM = 192; // rows of C (row-major M)
constexpr int64_t kBlockK = 512; // depth

std::atomic<int64_t> fallbackCalls{0};

bool forcedOpenBlas() {
  static const bool forced = [] {
    const char *choice = std::getenv("LOCO_CPU_GEMM");
    return choice && std::strcmp(choice, "openblas") == 0;
  }();
  return forced;
}

/// The fallback: OpenBLAS's sgemm (single-threaded in this backend).
void blasGemm(const GemmShape &s, const float *A, const float *B, float *C,
              bool accumulate) {
  fallbackCalls.fetch_add(1, std::memory_order_relaxed);
  cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans,
              CblasNoTrans, s.M, s.N, s.K, 1.0f, A, s.lda, B, s.ldb,
              accumulate ? 1.0f : 0.0f, C, s.ldc);
}

/// The kernel of one block shape (column-major m x n x k); null where
/// libxsmm has none.
libxsmm_smmfunction blockKernel(const GemmShape &s, int64_t m, int64_t n,
                                int64_t k, bool accumulate) {
  int lda = static_cast<int>(s.ldb), ldb = static_cast<int>(s.lda),
      ldc = static_cast<int>(s.ldc);
  float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  int flags = s.transA ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
  return libxsmm_smmdispatch(static_cast<int>(m), static_cast<int>(n),
                             static_cast<int>(k), &lda, &ldb, &ldc, &alpha,
                             &beta, &flags, nullptr);
}

bool fitsInt(const GemmShape &s) {
  constexpr int64_t kMax = 0x7fffffff;
  return s.lda <= kMax && s.ldb <= kMax && s.ldc <= kMax;
}

} // namespace

void loco::cpu::gemm(const GemmShape &s, const float *A, const float *B,
                     float *C, bool accumulate) {
  if (s.M <= 0 || s.N <= 0)
    return;
  if (s.K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < s.M; ++i)
        std::fill(C + i * s.ldc, C + i * s.ldc + s.N, 0.0f);
    return;
  }
  if (forcedOpenBlas() || !fitsInt(s))
    return blasGemm(s, A, B, C, accumulate);

  // Kernels by [tail in N][tail in M][tail in K][accumulating], made on
  // first use within this call.
  libxsmm_smmfunction kernels[2][2][2][2] = {};
  auto kernelFor = [&](int64_t n, int64_t m, int64_t k, bool acc) {
    libxsmm_smmfunction &slot =
        kernels[n != kBlockN][m != kBlockM][k != kBlockK][acc];
    if (!slot)
      slot = blockKernel(s, n, m, k, acc);
    return slot;
  };
  for (int64_t j0 = 0; j0 < s.N; j0 += kBlockN) {
    int64_t n = std::min(kBlockN, s.N - j0);
    for (int64_t i0 = 0; i0 < s.M; i0 += kBlockM) {
      int64_t m = std::min(kBlockM, s.M - i0);
      for (int64_t p0 = 0; p0 < s.K; p0 += kBlockK) {
        int64_t k = std::min(kBlockK, s.K - p0);
        bool acc = accumulate || p0 > 0;
        libxsmm_smmfunction kernel = kernelFor(n, m, k, acc);
        if (!kernel) {
          // No kernel for this CPU: the whole product on the fallback
          // (only possible before any block ran: the first block's shape
          // exists whenever any does).
          if (j0 == 0 && i0 == 0 && p0 == 0)
            return blasGemm(s, A, B, C, accumulate);
          std::fprintf(stderr, "lococ: libxsmm refused a block shape "
                               "after accepting another\n");
          std::abort();
        }
        const float *b = B + p0 * s.ldb + j0;
        const float *a = s.transA ? A + p0 * s.lda + i0 : A + i0 * s.lda + p0;
        kernel(b, a, C + i0 * s.ldc + j0);
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
  if (forcedOpenBlas() || arch < LIBXSMM_X86_AVX) {
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
  if (info.library == "OpenBLAS") {
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

double loco::cpu::measureGemmRate() {
  // A linear layer's row block of a small config: [1024, 64] x [64, 192].
  constexpr int64_t M = 1024, K = 64, N = 192;
  std::vector<float> a(M * K, 0.5f), b(K * N, 0.25f), c(M * N);
  GemmShape shape{M, N, K, false, K, N, N};
  gemm(shape, a.data(), b.data(), c.data(), false); // generate the kernels
  auto start = std::chrono::steady_clock::now();
  int64_t calls = 0;
  double seconds = 0.0;
  while (seconds < 0.03) {
    for (int i = 0; i < 8; ++i, ++calls)
      gemm(shape, a.data(), b.data(), c.data(), false);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start)
                  .count();
  }
  return 2.0 * M * N * K * calls / seconds / 1e9;
}

std::string loco::cpu::describeGemm() {
  int64_t before = gemmFallbackCalls();
  double rate = measureGemmRate();
  // The measurement's own calls are not the step's.
  fallbackCalls.fetch_sub(gemmFallbackCalls() - before);
  GemmInfo info = gemmInfo();
  char text[160];
  std::snprintf(text, sizeof(text), "%s (%s%s), %.0f GFLOP/s per thread",
                info.library.c_str(), info.isa.c_str(),
                info.generic ? ", a generic kernel on this CPU" : "", rate);
  return text;
}
