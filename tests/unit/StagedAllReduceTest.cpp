//===- StagedAllReduceTest.cpp - The order of the NCCL staged all-reduce --===//
//
// stagedAllReduce against a fake non-blocking communicator: the copy back to
// the host is enqueued only after the collective settles (a communicator
// that answers "in progress" several times must not see it earlier, or the
// host gets its local values back), a timeout while in progress stops before
// the copy, and a failed step stops the sequence.
//
//===----------------------------------------------------------------------===//

#include "runtime/dist/StagedAllReduce.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace loco;

namespace {

/// Records each step; the collective stays in progress for `busyPolls`
/// polls (and forever when negative), then ends as `outcome`.
struct FakeCommunicator {
  int busyPolls = 0;
  CollectiveState outcome = CollectiveState::Done;
  int expireAfterPolls = -1;
  bool copyInFails = false;
  std::vector<std::string> log;
  int polls = 0;

  bool copyIn() {
    log.push_back("copyIn");
    return !copyInFails;
  }
  CollectiveState reduce() {
    log.push_back("reduce");
    return busyPolls != 0 ? CollectiveState::InProgress : outcome;
  }
  CollectiveState poll() {
    log.push_back("poll");
    ++polls;
    if (busyPolls < 0 || polls < busyPolls)
      return CollectiveState::InProgress;
    return outcome;
  }
  bool expired() { return expireAfterPolls >= 0 && polls >= expireAfterPolls; }
  bool copyOut() {
    log.push_back("copyOut");
    return true;
  }
  bool wait() {
    log.push_back("wait");
    return true;
  }
};

using Log = std::vector<std::string>;

TEST(StagedAllReduce, CopyBackOnlyAfterTheCollectiveSettles) {
  FakeCommunicator fake;
  fake.busyPolls = 3;
  EXPECT_TRUE(stagedAllReduce(fake));
  EXPECT_EQ(fake.log, (Log{"copyIn", "reduce", "poll", "poll", "poll",
                           "copyOut", "wait"}));
}

TEST(StagedAllReduce, ImmediateCompletionCopiesBackAtOnce) {
  FakeCommunicator fake;
  EXPECT_TRUE(stagedAllReduce(fake));
  EXPECT_EQ(fake.log, (Log{"copyIn", "reduce", "copyOut", "wait"}));
}

TEST(StagedAllReduce, TimeoutInProgressNeverCopiesBack) {
  FakeCommunicator fake;
  fake.busyPolls = -1; // a peer that never comes
  fake.expireAfterPolls = 5;
  EXPECT_FALSE(stagedAllReduce(fake));
  EXPECT_EQ(fake.polls, 5);
  for (const std::string &step : fake.log)
    EXPECT_NE(step, "copyOut");
}

TEST(StagedAllReduce, FailuresStopTheSequence) {
  FakeCommunicator failed;
  failed.busyPolls = 2;
  failed.outcome = CollectiveState::Failed;
  EXPECT_FALSE(stagedAllReduce(failed));
  EXPECT_EQ(failed.log, (Log{"copyIn", "reduce", "poll", "poll"}));
  FakeCommunicator noCopy;
  noCopy.copyInFails = true;
  EXPECT_FALSE(stagedAllReduce(noCopy));
  EXPECT_EQ(noCopy.log, (Log{"copyIn"}));
}

} // namespace
