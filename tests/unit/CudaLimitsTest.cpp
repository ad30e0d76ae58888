//===- CudaLimitsTest.cpp - The CUDA kernels' fixed limits ----------------===//
//
// runtime/abi/CudaLimits.h without a GPU: each check takes its limit and
// refuses one past it, and the table reads each kernel's scalars at the
// positions of runtime/abi/api.h's declarations (the lit test
// check-target-limits.mlir covers the positions of the ops that reach
// them through the compiler).
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/CudaLimits.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace loco::cuda_limits;

namespace {

CallScalars ints(std::initializer_list<int64_t> values) {
  CallScalars scalars;
  for (int64_t value : values)
    scalars.push_back(CallScalar{value, 0.0, {}});
  return scalars;
}

TEST(CudaLimits, EachCheckTakesItsLimitAndRefusesOnePast) {
  // 2 statistics per (sample, group) forward, 4 backward.
  EXPECT_EQ(groupNormStatistics(kStatSlots / 2, 1, false), "");
  EXPECT_NE(groupNormStatistics(kStatSlots / 2 + 1, 1, false), "");
  EXPECT_EQ(groupNormStatistics(kStatSlots / 8, 2, true), "");
  EXPECT_NE(groupNormStatistics(kStatSlots / 8, 2 + 1, true), "");
  EXPECT_EQ(rmsGroupNormChannels(1024), "");
  EXPECT_EQ(rmsGroupNormChannels(1025),
            "1025 channels exceed the gamma gradient's threads per block, "
            "1024");
  EXPECT_EQ(siSdrSignals(kStatSlots / 8), "");
  EXPECT_NE(siSdrSignals(kStatSlots / 8 + 1), "");
  EXPECT_EQ(conv1dWeightGradGrid(4096, 4096, 65535), "");
  EXPECT_EQ(conv1dWeightGradGrid(1, 1, 65536),
            "65536 taps exceed the grid's z limit, 65535");
  EXPECT_EQ(attentionShape(1, 1, 64, 64), "");
  EXPECT_EQ(attentionShape(1, 1, 16, 65),
            "head dims 16/65 are outside the attention tiles' 1..64");
  EXPECT_NE(attentionShape(1, 1, 0, 0), "");
  // Row tiles: batch x ceil(Lq / 64) blocks on the grid's x.
  EXPECT_EQ(attentionShape(kMaxGridX, 64, 8, 8), "");
  EXPECT_NE(attentionShape(kMaxGridX, 65, 8, 8), "");
  EXPECT_EQ(movementRank(16), "");
  EXPECT_NE(movementRank(17), "");
  EXPECT_NE(movementRank(0), "");
  // Up to the partial sums any count runs in parts; beyond, one block each.
  EXPECT_EQ(reductionSegments(kSumSlots), "");
  EXPECT_EQ(reductionSegments(kMaxGridX), "");
  EXPECT_NE(reductionSegments(kMaxGridX + 1), "");
}

TEST(CudaLimits, TheTableReadsApiOrder) {
  // loco_group_norm(ctx, x, gamma, beta, out, B, C, S, groups, eps).
  CallScalars norm = ints({kStatSlots / 2 + 1, 16, 100, 1});
  norm.push_back(CallScalar{0, 1e-5, {}});
  ASSERT_EQ(checkCall("loco_group_norm", norm).size(), 1u);
  norm[1].integer = 1 << 20; // C does not matter
  norm[0].integer = kStatSlots / 2;
  EXPECT_TRUE(checkCall("loco_group_norm", norm).empty());
  // loco_conv1d_weight_grad(ctx, x, g, out, R, L, Ci, Co, K).
  EXPECT_TRUE(
      checkCall("loco_conv1d_weight_grad", ints({1 << 20, 1 << 20, 1, 1, 4}))
          .empty());
  std::vector<std::string> taps =
      checkCall("loco_conv_transpose1d_weight_grad", ints({1, 1, 1, 1, 65536}));
  ASSERT_EQ(taps.size(), 1u);
  EXPECT_NE(taps[0].find("65536 taps"), std::string::npos) << taps[0];
  EXPECT_NE(taps[0].find("set by model.conv1d_kernel"), std::string::npos);
  // loco_flash_attention(..., batch, Lq, Lk, d, dv, scale, p, ...).
  CallScalars flash = ints({8, 100, 100, 64, 96});
  ASSERT_EQ(checkCall("loco_flash_attention_backward", flash).size(), 1u);
  // loco_reduce(..., rank, shape, mask, mean): the kept dims are segments.
  CallScalars reduce = ints({2});
  reduce.push_back(CallScalar{0, 0.0, {kMaxGridX + 1, 2}});
  reduce.push_back(CallScalar{0, 0.0, {0, 1}});
  reduce.push_back(CallScalar{0, 0.0, {}});
  ASSERT_EQ(checkCall("loco_reduce", reduce).size(), 1u);
  reduce[2].array = {1, 0};
  EXPECT_TRUE(checkCall("loco_reduce", reduce).empty());
  // A call with fewer scalars than its row reads is reported, not read past.
  EXPECT_EQ(checkCall("loco_si_sdr", {}).size(), 1u);
  // Kernels without fixed limits pass.
  EXPECT_TRUE(checkCall("loco_add", ints({1})).empty());
}

TEST(CudaLimits, EveryRowNamesItsKeysAndLimit) {
  std::set<std::string> functions;
  for (const KernelLimit &row : kernelLimits()) {
    EXPECT_EQ(std::string(row.function).rfind("loco_", 0), 0u);
    EXPECT_GT(std::string(row.limit).size(), 0u) << row.function;
    EXPECT_GT(std::string(row.keys).size(), 0u) << row.function;
    EXPECT_GT(row.scalars, 0u) << row.function;
    functions.insert(row.function);
  }
  // The kernels whose fixed limits a shape can reach (CudaLimits.h's list).
  for (const char *name :
       {"loco_group_norm", "loco_group_norm_backward",
        "loco_rms_group_norm_backward", "loco_si_sdr", "loco_si_sdr_backward",
        "loco_conv1d_weight_grad", "loco_conv_transpose1d_weight_grad",
        "loco_flash_attention", "loco_flash_attention_backward",
        "loco_transpose", "loco_pad", "loco_broadcast", "loco_reduce"})
    EXPECT_TRUE(functions.count(name)) << name;
}

} // namespace
