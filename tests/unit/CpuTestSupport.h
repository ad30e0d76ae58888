//===- CpuTestSupport.h - Helpers of the CPU kernel tests -------*- C++ -*-===//
//
// This file declares what the CPU kernel tests share: seeded random inputs,
// the relative error every comparison reports, and a fixture that owns a CPU
// context and fails the test if a kernel left an error in it.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TESTS_UNIT_CPUTESTSUPPORT_H
#define LOCO_TESTS_UNIT_CPUTESTSUPPORT_H

#include "runtime/abi/api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace loco::test {

using Vec = std::vector<float>;

/// n values uniform in [-scale, scale), the same for the same seed.
inline Vec randomVec(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  Vec v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// Max |actual - expected| relative to max |expected|, in double. A braced
/// list of expected values reads as doubles.
template <typename T = double>
double relError(const Vec &actual, const std::vector<T> &expected) {
  double maxRef = 0.0, maxDiff = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    double ref = static_cast<double>(expected[i]);
    maxRef = std::max(maxRef, std::fabs(ref));
    double diff = static_cast<double>(actual[i]) - ref;
    maxDiff = std::max(maxDiff, std::fabs(diff));
  }
  return maxDiff / std::max(maxRef, 1e-30);
}

/// A fixture (over `Base`, a gtest fixture) that owns a CPU context and
/// expects no kernel error to be left in it when the test ends.
template <typename Base = ::testing::Test> class CpuContextTest : public Base {
protected:
  void SetUp() override {
    char error[256];
    ctx = loco_context_create("cpu", error, sizeof(error));
    ASSERT_NE(ctx, nullptr) << error;
  }
  void TearDown() override {
    if (!ctx)
      return;
    EXPECT_EQ(loco_context_error(ctx), nullptr) << loco_context_error(ctx);
    loco_context_destroy(ctx);
  }
  loco_context *ctx = nullptr;
};

} // namespace loco::test

#endif // LOCO_TESTS_UNIT_CPUTESTSUPPORT_H
