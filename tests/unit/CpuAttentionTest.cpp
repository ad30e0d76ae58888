//===- CpuAttentionTest.cpp - Flash attention vs the unfused composition --===//
//
// loco_flash_attention and its backward are compared with the unfused
// kernels they replace (batch_matmul, scale, softmax, dropout, and their
// backward kernels) on random inputs, for head dims 4, 16, 24 and 32,
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
#include <random>
#include <tuple>
#include <vector>

namespace {

using namespace loco::test;

/// (head dim, Lq, Lk, dropout)
using Case = std::tuple<int64_t, int64_t, int64_t, double>;

class FlashAttention
    : public CpuContextTest<::testing::TestWithParam<Case>> {
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
  Vec scores(scoresSize), scaled(scoresSize), probs(scoresSize), dropped(scoresSize);
  Vec expectOut(batch * Lq * d);
  loco_batch_matmul(ctx, q.data(), k.data(), scores.data(), batch, Lq, d, Lk, 0, 1);
  loco_scale(ctx, scores.data(), scaled.data(), scoresSize, scale);
  loco_softmax(ctx, scaled.data(), probs.data(), batch * Lq, Lk, 1);
  loco_dropout(ctx, probs.data(), dropped.data(), scoresSize, p, stream < 0 ? 0 : stream, 0);
  loco_batch_matmul(ctx, dropped.data(), v.data(), expectOut.data(), batch, Lq, Lk, d, 0, 0);
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
  loco_flash_attention(ctx, q.data(), k.data(), v.data(), out.data(), lse.data(),
                       batch, Lq, Lk, d, d, scale, p, stream, 0);
  EXPECT_LT(relError(out, expectOut), 1e-5);
  EXPECT_LT(relError(lse, expectLse), 1e-5);

  // Unfused backward: dV = P~^T dO; dP = dropout(dO V^T); dS = softmax'(dP);
  // dQ = scale dS K; dK = scale dS^T Q.
  Vec dDropped(scoresSize), dProbs(scoresSize), dScaled(scoresSize), dScores(scoresSize);
  Vec expectDq(q.size()), expectDk(k.size()), expectDv(v.size());
  loco_batch_matmul(ctx, dropped.data(), dout.data(), expectDv.data(), batch, Lk, Lq, d, 1, 0);
  loco_batch_matmul(ctx, dout.data(), v.data(), dDropped.data(), batch, Lq, d, Lk, 0, 1);
  loco_dropout(ctx, dDropped.data(), dProbs.data(), scoresSize, p, stream < 0 ? 0 : stream, 0);
  loco_softmax_backward(ctx, probs.data(), dProbs.data(), dScaled.data(), batch * Lq, Lk, 1);
  loco_scale(ctx, dScaled.data(), dScores.data(), scoresSize, scale);
  loco_batch_matmul(ctx, dScores.data(), k.data(), expectDq.data(), batch, Lq, Lk, d, 0, 0);
  loco_batch_matmul(ctx, dScores.data(), q.data(), expectDk.data(), batch, Lk, Lq, d, 1, 0);

  Vec dq(q.size()), dk(k.size()), dv(v.size());
  loco_flash_attention_backward(ctx, q.data(), k.data(), v.data(), out.data(),
                                lse.data(), dout.data(), dq.data(), dk.data(),
                                dv.data(), batch, Lq, Lk, d, d, scale, p, stream, 0);
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
                         out.data() + o, lse.data() + b0 * L, count, L, L, d,
                         d, 0.35, 0.3, 4, offset);
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
                      Case{24, 70, 70, 0.2}, Case{32, 1, 64, 0.0}));

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
