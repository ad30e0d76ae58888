//===- DeviceMemoryTest.cpp - locorun's device memory split ---------------===//
//
// DeviceMemoryTrace separates what the CUDA runtime and libraries hold
// (measured at the end of warm-up) from the plan, and compares the rest of
// the peak after warm-up with the plan. The samples here are what a device
// reports after each entry point; the arithmetic is exact (integers).
//
//===----------------------------------------------------------------------===//

#include "runtime/session/DeviceMemory.h"

#include <gtest/gtest.h>

using loco::DeviceMemoryTrace;

namespace {

constexpr int64_t kPlan = 1000;

TEST(DeviceMemoryTrace, LibrariesAreMeasuredAfterWarmup) {
  DeviceMemoryTrace trace;
  // (in use after the training step, after the optimizer step) per step:
  // step 1 is eager (kernel images load lazily, plans are made), step 2
  // captures graphs (their executables), steps 3 and 4 replay.
  const int64_t samples[4][2] = {
      {1100, 1150}, {1180, 1200}, {1200, 1200}, {1200, 1200}};
  for (int step = 0; step < 4; ++step) {
    EXPECT_EQ(trace.separated(), step > DeviceMemoryTrace::kWarmupSteps);
    trace.sample(samples[step][0], false);
    trace.sample(samples[step][1], true);
  }
  ASSERT_TRUE(trace.separated());
  EXPECT_EQ(trace.libraryBytes(kPlan), 200);
  EXPECT_EQ(trace.peakLessLibraries(kPlan), kPlan);
}

TEST(DeviceMemoryTrace, GrowthAfterWarmupCountsAgainstThePlan) {
  DeviceMemoryTrace trace;
  for (int step = 0; step < DeviceMemoryTrace::kWarmupSteps; ++step) {
    trace.sample(1100, false);
    trace.sample(1100, true);
  }
  // A validation pass captures a new graph, or a kernel allocates: 30 bytes
  // more than at the end of warm-up.
  trace.sample(1130, false);
  trace.sample(1100, true);
  ASSERT_TRUE(trace.separated());
  EXPECT_EQ(trace.libraryBytes(kPlan), 100);
  EXPECT_EQ(trace.peakLessLibraries(kPlan), 1030);
}

TEST(DeviceMemoryTrace, NoLibraryBytesBelowThePlan) {
  // A context that holds less than its plan after warm-up (a lazily
  // committed arena) reports no library bytes, not negative ones.
  DeviceMemoryTrace trace;
  for (int step = 0; step <= DeviceMemoryTrace::kWarmupSteps; ++step)
    trace.sample(900, true);
  EXPECT_EQ(trace.libraryBytes(kPlan), 0);
  EXPECT_EQ(trace.peakLessLibraries(kPlan), 900);
}

} // namespace
