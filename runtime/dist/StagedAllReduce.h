//===- StagedAllReduce.h - The order of a host-staged all-reduce -*- C++
//-*-===//
//
// This file defines stagedAllReduce: the steps of an all-reduce of host
// values through a device buffer on a non-blocking communicator (NCCL with
// config.blocking = 0), in the only order that is right. Such a communicator
// may return ncclInProgress before the collective is on the stream, so the
// copy back to the host is enqueued only once the collective has settled;
// enqueued earlier, it can run first and bring back the local values.
// Separated from NCCL so that the order is tested without a GPU
// (tests/unit/StagedAllReduceTest.cpp, with a fake communicator).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DIST_STAGEDALLREDUCE_H
#define LOCO_RUNTIME_DIST_STAGEDALLREDUCE_H

namespace loco {

/// A collective's state as a non-blocking communicator reports it.
enum class CollectiveState { Done, InProgress, Failed };

/// Runs an all-reduce staged through the device. `steps` provides:
///   bool copyIn()                - the host values to the device, enqueued
///   CollectiveState reduce()     - the collective, enqueued (or not yet)
///   CollectiveState poll()       - the communicator's state now
///   bool expired()               - the collective timeout has passed
///   bool copyOut()               - the device values to (pinned) host
///                                  memory, enqueued
///   bool wait()                  - the stream's work done, polled against
///                                  the timeout
/// Returns false at the first step that fails (the steps report why).
template <typename Steps> bool stagedAllReduce(Steps &steps) {
  if (!steps.copyIn())
    return false;
  CollectiveState state = steps.reduce();
  while (state == CollectiveState::InProgress) {
    if (steps.expired())
      return false;
    state = steps.poll();
  }
  if (state != CollectiveState::Done)
    return false;
  return steps.copyOut() && steps.wait();
}

} // namespace loco

#endif // LOCO_RUNTIME_DIST_STAGEDALLREDUCE_H
