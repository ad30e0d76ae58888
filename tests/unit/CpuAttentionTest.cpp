//===- CpuAttentionTest.cpp - Flash attention vs the unfused composition --===//
//
// loco_flash_attention and its backward are compared with the unfused
// kernels they replace (batch_matmul, scale, softmax, dropout, and their
// backward kernels) on random inputs, for head dims 4, 8, 12, 16, 24, 32 and
// 64 (every tile product is a libxsmm kernel of its own shape, or the loop
// of SmallGemm.cpp under LOCO_SMALL_GEMM=loop: ctest runs both),
// lengths that are and are not multiples of the 64-wide tiles, unequal query
// and key lengths, and dropout on (the same Philox stream: the masks must be
// identical in forward and backward, or the results would differ by O(1)).
// Tolerance: 1e-5 of each tensor's largest magnitude: the online softmax
// rescales partial sums in float32, a different rounding order than the
// composition's, worth ~1e-7..1e-6 here.
//
//===----------------------------------------------------------------------===//

#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace {

using namespace loco::test;

/// (head dim, Lq, Lk, dropout)
using Case = std::tuple<int64_t, int64_t, int64_t, double>;

class FlashAttention : public CpuContextTest<::testing::TestWithParam<Case>> {
protected:
  void SetUp() override {
    CpuContextTest::SetUp();
    if (ctx)
      loco_context_set_rng(ctx, 11, 5);
  }
};

TEST_P(FlashAttention, MatchesTheUnfusedComposition) {
  auto [d, Lq, Lk, p] = GetParam();
  int64_t batch = 3, stream = p > 0 ? 9 : -1;
  double scale = 1.0 / std::sqrt(static_cast<double>(d));
  Vec q = randomVec(batch * Lq * d, 1), k = randomVec(batch * Lk * d, 2),
      v = randomVec(batch * Lk * d, 3), dout = randomVec(batch * Lq * d, 4);

  // Unfused forward.
  int64_t scoresSize = batch * Lq * Lk;
  Vec scores(scoresSize), scaled(scoresSize), probs(scoresSize),
      dropped(scoresSize);
  Vec expectOut(batch * Lq * d);
  loco_batch_matmul(ctx, q.data(), k.data(), scores.data(), batch, Lq, d, Lk, 0,
                    1);
  loco_scale(ctx, scores.data(), scaled.data(), scoresSize, scale);
  loco_softmax(ctx, scaled.data(), probs.data(), batch * Lq, Lk, 1);
  loco_dropout(ctx, probs.data(), dropped.data(), scoresSize, p,
               stream < 0 ? 0 : stream, 0);
  loco_batch_matmul(ctx, dropped.data(), v.data(), expectOut.data(), batch, Lq,
                    Lk, d, 0, 0);
  Vec expectLse(batch * Lq);
  for (int64_t r = 0; r < batch * Lq; ++r) {
    double mx = -1e300, sum = 0.0;
    for (int64_t j = 0; j < Lk; ++j)
      mx = std::max(mx, static_cast<double>(scaled[r * Lk + j]));
    for (int64_t j = 0; j < Lk; ++j)
      sum += std::exp(scaled[r * Lk + j] - mx);
    expectLse[r] = static_cast<float>(mx + std::log(sum));
  }

  Vec out(batch * Lq * d), lse(batch * Lq);
  loco_flash_attention(ctx, q.data(), k.data(), v.data(), out.data(),
                       lse.data(), batch, Lq, Lk, d, d, scale, p, stream, 0);
  EXPECT_LT(relError(out, expectOut), 1e-5);
  EXPECT_LT(relError(lse, expectLse), 1e-5);

  // Unfused backward: dV = P~^T dO; dP = dropout(dO V^T); dS = softmax'(dP);
  // dQ = scale dS K; dK = scale dS^T Q.
  Vec dDropped(scoresSize), dProbs(scoresSize), dScaled(scoresSize),
      dScores(scoresSize);
  Vec expectDq(q.size()), expectDk(k.size()), expectDv(v.size());
  loco_batch_matmul(ctx, dropped.data(), dout.data(), expectDv.data(), batch,
                    Lk, Lq, d, 1, 0);
  loco_batch_matmul(ctx, dout.data(), v.data(), dDropped.data(), batch, Lq, d,
                    Lk, 0, 1);
  loco_dropout(ctx, dDropped.data(), dProbs.data(), scoresSize, p,
               stream < 0 ? 0 : stream, 0);
  loco_softmax_backward(ctx, probs.data(), dProbs.data(), dScaled.data(),
                        batch * Lq, Lk, 1);
  loco_scale(ctx, dScaled.data(), dScores.data(), scoresSize, scale);
  loco_batch_matmul(ctx, dScores.data(), k.data(), expectDq.data(), batch, Lq,
                    Lk, d, 0, 0);
  loco_batch_matmul(ctx, dScores.data(), q.data(), expectDk.data(), batch, Lk,
                    Lq, d, 1, 0);

  Vec dq(q.size()), dk(k.size()), dv(v.size());
  loco_flash_attention_backward(ctx, q.data(), k.data(), v.data(), out.data(),
                                lse.data(), dout.data(), dq.data(), dk.data(),
                                dv.data(), batch, Lq, Lk, d, d, scale, p,
                                stream, 0);
  EXPECT_LT(relError(dq, expectDq), 1e-5);
  EXPECT_LT(relError(dk, expectDk), 1e-5);
  EXPECT_LT(relError(dv, expectDv), 1e-5);
}

// Row chunking runs attention on batch entries [b0, b1) with the dropout
// offset of entry b0: the chunks together must give the whole op's outputs
// and gradients bit for bit (same kernels, same per-row order).
TEST(FlashAttentionChunks, OffsetChunksEqualTheWhole) {
  char error[256];
  loco_context *ctx = loco_context_create("cpu", error, sizeof(error));
  ASSERT_NE(ctx, nullptr);
  loco_context_set_rng(ctx, 5, 3);
  int64_t batch = 5, L = 37, d = 8, rows = L * d, split = 2;
  Vec q = randomVec(batch * rows, 1), k = randomVec(batch * rows, 2),
      v = randomVec(batch * rows, 3), dout = randomVec(batch * rows, 4);
  auto run = [&](int64_t b0, int64_t count, Vec &out, Vec &lse, Vec &dq,
                 Vec &dk, Vec &dv) {
    int64_t o = b0 * rows, offset = b0 * L * L;
    loco_flash_attention(ctx, q.data() + o, k.data() + o, v.data() + o,
                         out.data() + o, lse.data() + b0 * L, count, L, L, d, d,
                         0.35, 0.3, 4, offset);
    loco_flash_attention_backward(
        ctx, q.data() + o, k.data() + o, v.data() + o, out.data() + o,
        lse.data() + b0 * L, dout.data() + o, dq.data() + o, dk.data() + o,
        dv.data() + o, count, L, L, d, d, 0.35, 0.3, 4, offset);
  };
  Vec out(q.size()), lse(batch * L), dq(q.size()), dk(q.size()), dv(q.size());
  Vec out2(q.size()), lse2(batch * L), dq2(q.size()), dk2(q.size()),
      dv2(q.size());
  run(0, batch, out, lse, dq, dk, dv);
  run(0, split, out2, lse2, dq2, dk2, dv2);
  run(split, batch - split, out2, lse2, dq2, dk2, dv2);
  EXPECT_EQ(out, out2);
  EXPECT_EQ(lse, lse2);
  EXPECT_EQ(dq, dq2);
  EXPECT_EQ(dk, dk2);
  EXPECT_EQ(dv, dv2);
  loco_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FlashAttention,
    ::testing::Values(Case{4, 70, 70, 0.0}, Case{16, 70, 70, 0.0},
                      Case{24, 129, 129, 0.0}, Case{32, 65, 65, 0.0},
                      Case{16, 50, 131, 0.0}, Case{8, 129, 129, 0.2},
                      Case{24, 70, 70, 0.2}, Case{32, 1, 64, 0.0},
                      Case{12, 200, 150, 0.1}, Case{64, 130, 70, 0.0}));

TEST(FlashAttentionEval, DropoutIsOffInEvaluation) {
  char error[256];
  loco_context *ctx = loco_context_create("cpu", error, sizeof(error));
  ASSERT_NE(ctx, nullptr);
  int64_t batch = 2, L = 20, d = 8;
  Vec q = randomVec(batch * L * d, 5), k = randomVec(batch * L * d, 6),
      v = randomVec(batch * L * d, 7);
  Vec a(q.size()), b(q.size()), lse(batch * L);
  loco_flash_attention(ctx, q.data(), k.data(), v.data(), a.data(), lse.data(),
                       batch, L, L, d, d, 0.35, 0.0, -1, 0);
  loco_context_set_training(ctx, 0);
  loco_flash_attention(ctx, q.data(), k.data(), v.data(), b.data(), lse.data(),
                       batch, L, L, d, d, 0.35, 0.5, 3, 0);
  EXPECT_EQ(a, b);
  loco_context_destroy(ctx);
}

} // namespace

namespace loco::cpu {
float expShifted(float *x, int64_t n, float shift);
const char *vectorIsa();
} // namespace loco::cpu

namespace {

/// Distance in units in the last place between two finite floats of the
/// same sign.
int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(int64_t(ia) - int64_t(ib));
}

// The attention kernels' exponentials (SLEEF's expf, 1.0-ULP variants)
// against libm's exp in double rounded to float, over the range softmax
// uses (x - max <= 0, down to where float underflows) and lengths that
// leave every tail size. SLEEF bounds its error by 1.0 ULP of the exact
// value and the rounded reference is within 0.5 ULP of it, so the two
// floats differ by at most 1 ULP; below exp(-87.3) the results are
// subnormal, where the bound is absolute (1 ULP of the smallest normal).
TEST(VectorExp, WithinOneUlpOfLibm) {
  std::vector<float> x, y;
  for (double v = -104.0; v <= 0.0; v += 1.0 / 1024)
    x.push_back(static_cast<float>(v));
  x.push_back(-1e30f);
  x.push_back(0.0f);
  y = x;
  float shift = 0.75f;
  for (float &v : y)
    v += shift;
  float sum = loco::cpu::expShifted(y.data(), y.size(), shift);
  double refSum = 0;
  int64_t worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    // y[i] held x[i] + shift; its exponent is (x[i] + shift) - shift,
    // computed in float as the kernel does.
    float arg = (x[i] + shift) - shift;
    float ref = static_cast<float>(std::exp(static_cast<double>(arg)));
    refSum += ref;
    if (ref < std::numeric_limits<float>::min()) {
      EXPECT_LE(std::fabs(y[i] - ref),
                std::numeric_limits<float>::min() *
                    std::numeric_limits<float>::epsilon())
          << "exp(" << arg << ")";
      continue;
    }
    worst = std::max(worst, ulpDistance(y[i], ref));
    ASSERT_LE(ulpDistance(y[i], ref), 1) << "exp(" << arg << ")";
  }
  EXPECT_EQ(y[x.size() - 2], 0.0f);
  EXPECT_EQ(y[x.size() - 1], 1.0f);
  // Float lanes summing ~10^5 terms: 1e-5 relative.
  EXPECT_NEAR(sum, refSum, 1e-5 * refSum);
  std::cout << "[ measured ] " << loco::cpu::vectorIsa() << " expf: worst "
            << worst << " ulp over " << x.size() << " values\n";
  // Every tail length: the padding adds nothing to the sum.
  for (int64_t n = 1; n <= 40; ++n) {
    std::vector<float> row(n, 0.0f);
    EXPECT_EQ(loco::cpu::expShifted(row.data(), n, 0.0f), float(n)) << n;
  }
}

} // namespace
