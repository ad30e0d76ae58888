//===- CpuGemmTest.cpp - The CPU backend's GEMM -----------------*- C++ -*-===//
//
// loco::cpu::gemm against a naive double loop, on shapes that cut into
// whole and tail blocks in every dimension, with strided operands, the
// transposed left operand and accumulation (C's old values unread without
// it); the same bits run to run; and the kernel it runs is not a
// generic one on a CPU with AVX2 or AVX-512 (Debian's OpenBLAS falls back to
// SSE3 kernels on CPUs newer than its model table, 5x below the machine).
//
// Tolerance: 2e-5 of the reference's largest magnitude (as CpuKernelsTest):
// fp32 FMA chains of up to 1,800 terms of random [-1, 1] products stay
// within a few 1e-6 of it.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Gemm.h"
#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace loco::test;
using loco::cpu::GemmShape;

struct Case {
  int64_t M, N, K;
  bool transA, accumulate;
  int64_t padA, padB, padC; // extra elements per row of each operand
  int64_t batch = 1;        // batch-reducing: operand t starts t rows on
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << c.M << "x" << c.N << "x" << c.K << (c.transA ? " transA" : "")
      << (c.accumulate ? " accumulate" : "") << " pads " << c.padA << ","
      << c.padB << "," << c.padC << " batch " << c.batch;
}

class CpuGemm : public ::testing::TestWithParam<Case> {};

TEST_P(CpuGemm, MatchesNaiveProduct) {
  const Case &c = GetParam();
  int64_t aRows = c.transA ? c.K : c.M, aCols = c.transA ? c.M : c.K;
  GemmShape s{c.M,          c.N,         c.K, c.transA, aCols + c.padA,
              c.N + c.padB, c.N + c.padC};
  // Batch entry t: A shifted by t rows (overlapping entries, as the taps of
  // a convolution), B by a whole matrix.
  s.batch = c.batch;
  s.strideA = s.lda;
  s.strideB = c.K * s.ldb;
  Vec a = randomVec((aRows + c.batch) * s.lda, 11),
      b = randomVec(c.batch * c.K * s.ldb, 12),
      out = randomVec(c.M * s.ldc, 13);
  // Without accumulation C's old values must not be read: NaN shows it.
  if (!c.accumulate)
    for (int64_t i = 0; i < c.M; ++i)
      std::fill(out.begin() + i * s.ldc, out.begin() + i * s.ldc + c.N, NAN);
  Vec before = out;
  loco::cpu::gemm(s, a.data(), b.data(), out.data(), c.accumulate);
  double scale = 0, worst = 0;
  std::vector<double> ref(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = c.accumulate ? before[i * s.ldc + j] : 0.0;
      for (int64_t t = 0; t < c.batch; ++t) {
        const float *at = a.data() + t * s.strideA;
        const float *bt = b.data() + t * s.strideB;
        for (int64_t p = 0; p < c.K; ++p)
          sum += double(c.transA ? at[p * s.lda + i] : at[i * s.lda + p]) *
                 bt[p * s.ldb + j];
      }
      ref[i * c.N + j] = sum;
      scale = std::max(scale, std::abs(sum));
    }
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j)
      worst = std::max(worst, std::abs(out[i * s.ldc + j] - ref[i * c.N + j]));
  EXPECT_LE(worst, 2e-5 * std::max(scale, 1.0));
  // The padding between rows of C is never written.
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < s.ldc; ++j)
      ASSERT_EQ(out[i * s.ldc + j], before[i * s.ldc + j]) << i << "," << j;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuGemm,
    ::testing::Values(Case{1, 1, 1, false, false, 0, 0, 0},
                      Case{7, 5, 3, false, true, 1, 2, 3},
                      Case{7, 5, 3, true, false, 2, 0, 1},
                      // Whole and tail blocks in M (128), N (128, from 321
                      // columns on) and K (512).
                      Case{400, 700, 1100, false, false, 3, 5, 7},
                      Case{400, 700, 1100, true, true, 0, 1, 0},
                      // Batch-reducing, as a convolution's taps.
                      Case{170, 384, 48, false, true, 0, 0, 0, 4},
                      Case{300, 700, 600, false, false, 1, 2, 3, 3},
                      // A linear layer's row block and a conv tap (strided
                      // rows of x, accumulating).
                      Case{1000, 144, 48, false, false, 0, 0, 0},
                      Case{170, 384, 48, false, true, 48, 0, 0},
                      // A weight gradient: short wide result, long depth.
                      Case{48, 384, 5000, true, false, 0, 0, 0},
                      // No depth: C is zeroed, or left as it is.
                      Case{9, 4, 0, false, false, 0, 0, 0},
                      Case{9, 4, 0, true, true, 0, 0, 0}));

// Run to run, the same call gives the same bits (the kernels' threads get
// the same rows for the same thread count; a different split may change the
// last bits, since libxsmm's kernels for different block shapes can order a
// row's sum differently).
TEST(CpuGemmRepeat, SameCallSameBits) {
  int64_t M = 333, N = 200, K = 700;
  for (bool transA : {false, true}) {
    Vec a = randomVec(M * K, 21), b = randomVec(K * N, 22);
    Vec first(M * N), second(M * N, 7.0f);
    GemmShape s{M, N, K, transA, transA ? M : K, N, N};
    loco::cpu::gemm(s, a.data(), b.data(), first.data(), false);
    loco::cpu::gemm(s, a.data(), b.data(), second.data(), false);
    EXPECT_EQ(0, std::memcmp(first.data(), second.data(),
                             sizeof(float) * first.size()))
        << (transA ? "transA" : "");
  }
}

TEST(CpuGemmPack, PackTransposedTransposes) {
  int64_t N = 37, K = 70, ldb = 75;
  Vec b = randomVec(N * ldb, 31), out(K * N);
  loco::cpu::packTransposed(b.data(), N, K, ldb, out.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      ASSERT_EQ(out[k * N + n], b[n * ldb + k]);
}

bool openBlasForced() {
  const char *choice = std::getenv("LOCO_CPU_GEMM");
  return choice && std::strcmp(choice, "openblas") == 0;
}

// The GEMM path of the step runs a kernel for this CPU's vector width: a
// machine with AVX2 or AVX-512 that gets a generic kernel fails here, and
// every product of the kernels above ran on it (no fallback call).
TEST(CpuGemmKernel, IsNotGenericOnThisCpu) {
  loco::cpu::GemmInfo info = loco::cpu::gemmInfo();
  std::cout << "[ measured ] " << loco::cpu::describeGemm() << "\n";
  if (openBlasForced())
    return; // LOCO_CPU_GEMM=openblas: the fallback, whatever its kernels
  EXPECT_FALSE(info.generic) << info.library << " runs its '" << info.isa
                             << "' kernels, below what this CPU supports";
  EXPECT_NE(info.library.find("libxsmm"), std::string::npos) << info.library;
  int64_t before = loco::cpu::gemmFallbackCalls();
  Vec a = randomVec(300 * 64, 41), b = randomVec(64 * 200, 42), c(300 * 200);
  for (bool transA : {false, true})
    loco::cpu::gemm({300, 200, 64, transA, transA ? 300 : 64, 200, 200},
                    a.data(), b.data(), c.data(), transA);
  EXPECT_EQ(loco::cpu::gemmFallbackCalls(), before);
}

} // namespace
