//===- Loader.h - Training batches prepared on a loader thread --*- C++ -*-===//
//
// This file declares BatchLoader: a thread that reads and augments the
// training micro-batches in (step, micro-step) order ahead of the step that
// runs them, into a bounded queue, so that data loading and augmentation
// stay off the step's critical path. Every batch is a function of (seed,
// step, micro-step) alone (Dataset.h, Augment.h): the thread changes when a
// batch is made, never what it holds.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DATA_LOADER_H
#define LOCO_RUNTIME_DATA_LOADER_H

#include "runtime/data/Dataset.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace loco {

struct LoaderPlan {
  uint64_t seed = 0;
  int64_t batch = 1, segment = 0; ///< B, N
  int64_t accumulation = 1, stepsPerEpoch = 1;
  /// Data parallelism: this rank's block of each global batch of
  /// batch x ranks items (rank 0 of 1: a single process).
  int64_t rank = 0, ranks = 1;
  /// lococ's micro-batches per config batch (a divisor of accumulation):
  /// micro-step k loads piece k % pieces of the config's accumulation step
  /// k / pieces, the items that batch has there, so that a micro-batched
  /// plan trains on the unsplit plan's samples.
  int64_t pieces = 1;

  /// The config's accumulation step that micro-step `micro` is a piece of.
  int64_t batchOf(int64_t micro) const { return micro / pieces; }
  /// Where micro-step `micro`'s items sit in that step's global batch, in
  /// units of `batch` items: after the ranks' blocks before this rank's and
  /// the pieces before it. Its samples and its dropout masks (the RNG
  /// replica) are drawn there, so that neither ranks nor pieces change them.
  int64_t placeOf(int64_t micro) const {
    return rank * pieces + micro % pieces;
  }
  /// The config's accumulation steps per optimizer step.
  int64_t batches() const { return accumulation / pieces; }
  bool randomChunks = true;
  AugmentSpec augment;
  int64_t sampleRate = 44100;
  /// Steps (firstStep, lastStep] are loaded: a resumed run starts after
  /// its checkpoint's step.
  int64_t firstStep = 0, lastStep = 0;
};

/// One micro-batch and what it cost on the loader thread.
struct LoadedBatch {
  int64_t step = 0, micro = 0;
  std::vector<std::vector<float>> inputs; ///< mixture then sources, [B, N]
  double loadSeconds = 0.0;               ///< reading and augmenting
  double augmentSeconds = 0.0;            ///< of which augmenting
};

class BatchLoader {
public:
  /// Starts the thread; at most `capacity` micro-batches wait in the queue.
  BatchLoader(const TrackSource &data, size_t numInputs, LoaderPlan plan,
              size_t capacity);
  ~BatchLoader();
  BatchLoader(const BatchLoader &) = delete;
  BatchLoader &operator=(const BatchLoader &) = delete;

  /// The next micro-batch; blocks until it is ready. Rethrows the loader's
  /// error (an unreadable file, say) in the caller's thread.
  LoadedBatch next();

  /// The epoch and sample index in it of item 0 of (step, micro): the key
  /// of its augmentation draws.
  static AugmentKey keyOf(const LoaderPlan &plan, int64_t step, int64_t micro);

private:
  void run();

  const TrackSource &data;
  size_t numInputs;
  LoaderPlan plan;
  size_t capacity;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<LoadedBatch> queue;
  std::exception_ptr error;
  bool stopping = false, finished = false;
  std::thread thread;
};

} // namespace loco

#endif // LOCO_RUNTIME_DATA_LOADER_H
