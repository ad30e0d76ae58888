//===- Loader.cpp - Training batches prepared on a loader thread ----------===//
//
// This file implements BatchLoader.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Loader.h"
#include "runtime/support/RunError.h"

#include <chrono>

using namespace loco;

BatchLoader::BatchLoader(const TrackSource &data, size_t numInputs,
                         LoaderPlan plan, size_t capacity)
    : data(data), numInputs(numInputs), plan(std::move(plan)),
      capacity(std::max<size_t>(1, capacity)) {
  thread = std::thread([this] { run(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  thread.join();
}

AugmentKey BatchLoader::keyOf(const LoaderPlan &plan, int64_t step,
                              int64_t micro) {
  AugmentKey key;
  key.spec = &plan.augment;
  key.sampleRate = plan.sampleRate;
  key.epoch = static_cast<uint64_t>((step - 1) / plan.stepsPerEpoch);
  int64_t stepInEpoch = (step - 1) % plan.stepsPerEpoch;
  key.firstSample = static_cast<uint64_t>(
      ((stepInEpoch * plan.batches() + plan.batchOf(micro)) * plan.ranks *
           plan.pieces +
       plan.placeOf(micro)) *
      plan.batch);
  return key;
}

void BatchLoader::run() {
  try {
    for (int64_t step = plan.firstStep + 1; step <= plan.lastStep; ++step)
      for (int64_t micro = 0; micro < plan.accumulation; ++micro) {
        LoadedBatch batch;
        batch.step = step;
        batch.micro = micro;
        batch.inputs.resize(numInputs);
        auto start = std::chrono::steady_clock::now();
        AugmentKey key = keyOf(plan, step, micro);
        batch.augmentSeconds =
            sampleBatch(data, plan.seed, step, plan.batchOf(micro), plan.batch,
                        plan.segment, plan.randomChunks, batch.inputs, key,
                        plan.placeOf(micro) * plan.batch);
        batch.loadSeconds = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count();
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stopping || queue.size() < capacity; });
        if (stopping)
          return;
        queue.push_back(std::move(batch));
        changed.notify_all();
      }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    error = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex);
  finished = true;
  changed.notify_all();
}

LoadedBatch BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex);
  changed.wait(lock, [&] { return !queue.empty() || finished; });
  if (queue.empty()) {
    if (error)
      std::rethrow_exception(error);
    throw RunError("the batch loader ran past the last step");
  }
  LoadedBatch batch = std::move(queue.front());
  queue.pop_front();
  changed.notify_all();
  return batch;
}
