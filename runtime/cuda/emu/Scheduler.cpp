//===- Scheduler.cpp - Blocks, threads, barriers and warps on fibers ------===//
//
// This file runs a launch's blocks one after another on the calling thread,
// one grid at a time in the process.
// Each thread of a block is a fiber (Boost.Context) on a pooled stack with
// a guard page; a thread runs until it reaches __syncthreads, a warp
// collective or its end, and the scheduler then resumes the next runnable
// thread in an order shuffled per block and after every barrier (seeded by
// LOCO_CUDA_EMU_SEED, default 1), so that a missing barrier reads data that
// is not there yet and shows as a wrong result.
//
// Strict where CUDA leaves behaviour undefined: a thread that exits while
// others wait at a barrier, lanes of a warp that call different collectives
// (or a collective whose mask names a lane that exited or does not exist),
// and threads that wait forever are faults naming the kernel, block and
// thread.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Emulator.h"

#include <boost/context/fiber.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

namespace fibers = boost::context;
using namespace loco::emu;

namespace {

/// A fiber's stack: 256 KiB above a guard page.
constexpr size_t kStackBytes = size_t(256) << 10;
constexpr size_t kPage = 4096;

/// Stacks for up to 1024 threads, made on first use and kept.
class StackPool {
public:
  fibers::stack_context get(int index) {
    while (static_cast<int>(stacks.size()) <= index) {
      void *map = mmap(nullptr, kStackBytes + kPage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (map == MAP_FAILED)
        deviceFault("cannot map a fiber stack for an emulated thread");
      mprotect(map, kPage, PROT_NONE);
      fibers::stack_context stack;
      stack.size = kStackBytes;
      stack.sp = static_cast<char *>(map) + kPage + kStackBytes;
      stacks.push_back(stack);
    }
    return stacks[index];
  }

private:
  std::vector<fibers::stack_context> stacks;
};

/// Hands Boost.Context one pooled stack, which outlives the fiber.
struct PooledStack {
  fibers::stack_context stack;
  fibers::stack_context allocate() { return stack; }
  void deallocate(fibers::stack_context &) noexcept {}
};

enum class State { Runnable, AtBarrier, AtWarp, Done };

struct Worker;

struct Lane {
  uint3 index{};
  int linear = 0;
  State state = State::Runnable;
  /// The fiber running this thread; null before it starts and after it
  /// ends.
  Worker *worker = nullptr;
  LaneSlot slot{};
};

/// A fiber that runs threads of the block one after another until one of
/// them blocks (a barrier, a warp collective): the blocked thread keeps the
/// fiber, and the scheduler starts another for the threads not yet run. A
/// block without barriers thus costs one fiber, not one per thread.
struct Worker {
  int stack = 0;
  fibers::fiber fiber; ///< suspended, or empty when idle
  fibers::fiber back;  ///< the scheduler, while this worker runs
};

struct Warp {
  unsigned arrived = 0, mask = 0;
  const char *what = nullptr;
  CollectiveFn complete = nullptr;
};

/// A small, fast generator for the thread order (splitmix64).
struct Mixer {
  uint64_t state = 0;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  void shuffle(std::vector<int> &order) {
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[next() % i]);
  }
};

/// The block being run on this thread.
struct Block {
  std::vector<Lane> lanes;
  int live = 0, atBarrier = 0, done = 0;
  std::vector<Warp> warps;
  /// The threads in the order they start and, after each barrier, resume.
  std::vector<int> order;
  int started = 0;
  bool reshuffle = false;
};

struct Run {
  const char *kernel = nullptr;
  /// The host thread running the grid (faults elsewhere are not its).
  std::thread::id runner;
  Block *block = nullptr;
  /// The block's state, kept from launch to launch (its vectors keep their
  /// capacity: launches allocate nothing once the widest block has run).
  Block storage;
  Lane *lane = nullptr;
  const std::function<void()> *thread = nullptr;
  Mixer rng;
  uint64_t seed = 0, launch = 0;
  StackPool stacks;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<int> idle; ///< workers without a fiber, by index
  /// The dynamic shared memory: `capacity` bytes ending at a guard page.
  char *sharedMap = nullptr;
  size_t sharedCapacity = 0;
  char *shared = nullptr;
  size_t sharedBytes = 0;
};
/// The grid being run, with the state kept between launches: one grid at
/// a time in the process (host threads that launch at once take turns, as
/// the built-in variables and static shared memory are process-wide).
Run run;
std::mutex gridMutex;

uint64_t seedOfLaunches() {
  const char *value = std::getenv("LOCO_CUDA_EMU_SEED");
  return value ? std::strtoull(value, nullptr, 10) : 1;
}

std::string describeThread() {
  char text[200];
  std::snprintf(text, sizeof(text),
                "block (%u, %u, %u), thread (%u, %u, %u), launch %llu of "
                "the process (LOCO_CUDA_EMU_SEED=%llu)",
                blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y,
                threadIdx.z, static_cast<unsigned long long>(run.launch),
                static_cast<unsigned long long>(run.seed));
  return text;
}

Lane &currentLane(const char *what) {
  if (!run.lane)
    deviceFault(std::string(what) + " called outside a kernel");
  return *run.lane;
}

/// Returns to the scheduler until this thread is runnable again.
void suspend(Lane &lane) {
  Worker &worker = *lane.worker;
  worker.back = std::move(worker.back).resume();
}

/// A thread exited: faults if that leaves a barrier or a warp collective
/// unable to complete.
void checkWaiters(Block &block, const Lane &exited) {
  if (block.atBarrier > 0)
    kernelFault(("a thread exited while " + std::to_string(block.atBarrier) +
                 " others wait at __syncthreads (every thread of the block "
                 "must reach it)")
                    .c_str());
  const Warp &warp = block.warps[exited.linear / 32];
  if (warp.arrived && (warp.mask >> (exited.linear % 32) & 1))
    kernelFault(
        (std::string("a thread exited while its warp waits for it at ") +
         warp.what)
            .c_str());
}

void prepareShared(size_t bytes) {
  run.sharedBytes = bytes;
  if (bytes == 0) {
    run.shared = nullptr;
    return;
  }
  size_t wanted = (bytes + kPage - 1) / kPage * kPage;
  if (wanted > run.sharedCapacity) {
    if (run.sharedMap)
      munmap(run.sharedMap, run.sharedCapacity + kPage);
    void *map = mmap(nullptr, wanted + kPage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
      deviceFault("cannot map the emulated shared memory");
    mprotect(static_cast<char *>(map) + wanted, kPage, PROT_NONE);
    run.sharedMap = static_cast<char *>(map);
    run.sharedCapacity = wanted;
  }
  // The buffer ends at the guard page (an overrun faults) and is 128-byte
  // aligned, as the kernels declare it (LOCO_DYNAMIC_SHARED).
  size_t aligned = (bytes + 127) / 128 * 128;
  run.shared = run.sharedMap + run.sharedCapacity - aligned;
}

/// A worker's body: the block's threads not yet started, in order.
fibers::fiber work(Worker &worker, fibers::fiber &&back) {
  worker.back = std::move(back);
  Block &block = *run.block;
  int count = static_cast<int>(block.lanes.size());
  while (block.started < count) {
    Lane &lane = block.lanes[block.order[block.started++]];
    lane.worker = &worker;
    threadIdx = lane.index;
    run.lane = &lane;
    (*run.thread)();
    lane.state = State::Done;
    lane.worker = nullptr;
    --block.live;
    ++block.done;
    checkWaiters(block, lane);
  }
  return std::move(worker.back);
}

Worker &idleWorker() {
  if (run.idle.empty()) {
    run.workers.push_back(std::make_unique<Worker>());
    run.workers.back()->stack = static_cast<int>(run.workers.size()) - 1;
    return *run.workers.back();
  }
  Worker &worker = *run.workers[run.idle.back()];
  run.idle.pop_back();
  return worker;
}

/// Resumes `worker` (`lane` is the thread it holds, or null to start one).
void resume(Worker &worker, Lane *lane) {
  if (lane) {
    threadIdx = lane->index;
    run.lane = lane;
  }
  worker.fiber = std::move(worker.fiber).resume();
  run.lane = nullptr;
  if (!worker.fiber)
    run.idle.push_back(worker.stack);
}

void runBlock(Block &block) {
  int count = static_cast<int>(block.lanes.size());
  block.live = count;
  block.atBarrier = block.done = block.started = 0;
  block.reshuffle = false;
  for (Warp &warp : block.warps)
    warp = Warp();
  for (Lane &lane : block.lanes) {
    lane.state = State::Runnable;
    lane.worker = nullptr;
  }
  // Shared memory starts as garbage (NaN bytes), not as the last block left
  // it.
  if (run.sharedBytes)
    std::memset(run.shared, 0xff, run.sharedBytes);
  run.rng.shuffle(block.order);
  while (block.done < count) {
    bool progressed = false;
    // Threads released from a barrier or a collective, in order.
    for (int i : block.order) {
      Lane &lane = block.lanes[i];
      if (lane.state == State::Runnable && lane.worker) {
        resume(*lane.worker, &lane);
        progressed = true;
      }
    }
    // Threads not yet started, on fresh workers (each runs threads until
    // one blocks).
    while (block.started < count) {
      Worker &worker = idleWorker();
      worker.fiber = fibers::fiber(std::allocator_arg,
                                   PooledStack{run.stacks.get(worker.stack)},
                                   [&worker](fibers::fiber &&back) {
                                     return work(worker, std::move(back));
                                   });
      resume(worker, nullptr);
      progressed = true;
    }
    // After a barrier every thread has started: a new order for the next
    // phase.
    if (block.reshuffle) {
      run.rng.shuffle(block.order);
      block.reshuffle = false;
    }
    if (!progressed) {
      int waiting = 0;
      for (const Lane &lane : block.lanes)
        waiting += lane.state == State::AtWarp;
      deviceFault(
          std::string("kernel ") + run.kernel + ", block (" +
          std::to_string(blockIdx.x) + ", " + std::to_string(blockIdx.y) +
          ", " + std::to_string(blockIdx.z) + "): deadlock, " +
          std::to_string(block.atBarrier) + " thread(s) at __syncthreads, " +
          std::to_string(waiting) + " at a warp collective, " +
          std::to_string(block.done) + " exited");
    }
  }
}

} // namespace

void loco::emu::runGrid(const char *name, dim3 grid, dim3 block,
                        size_t sharedBytes,
                        const std::function<void()> &thread) {
  static const uint64_t seed = seedOfLaunches();
  installFaultHandler();
  std::lock_guard<std::mutex> lock(gridMutex);
  run.runner = std::this_thread::get_id();
  run.kernel = name;
  run.thread = &thread;
  run.seed = seed;
  run.rng.state = seed * 0x9e3779b97f4a7c15ull + ++run.launch;
  prepareShared(sharedBytes);
  gridDim = grid;
  blockDim = block;
  Block &state = run.storage;
  int count = static_cast<int>(block.x * block.y * block.z);
  state.lanes.resize(count);
  state.warps.resize((count + 31) / 32);
  state.order.resize(count);
  for (int i = 0; i < count; ++i) {
    state.order[i] = i;
    state.lanes[i].linear = i;
    state.lanes[i].index = {i % block.x, i / block.x % block.y,
                            i / (block.x * block.y)};
  }
  run.block = &state;
  // Blocks run one after another in a seeded order (i -> (a i + b) mod n,
  // a coprime to n), so that a block that reads what another block of the
  // launch writes does not always find it written.
  uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  uint64_t a = (run.rng.next() % blocks) | 1, b = run.rng.next() % blocks;
  while (std::gcd(a, blocks) != 1)
    a = a + 2 < blocks ? a + 2 : 1;
  for (uint64_t i = 0; i < blocks; ++i) {
    uint64_t index = (static_cast<unsigned __int128>(a) * i + b) % blocks;
    blockIdx = {static_cast<unsigned>(index % grid.x),
                static_cast<unsigned>(index / grid.x % grid.y),
                static_cast<unsigned>(index / (uint64_t(grid.x) * grid.y))};
    runBlock(state);
  }
  run.block = nullptr;
  run.kernel = nullptr;
}

void *loco::emu::dynamicShared() {
  currentLane("dynamic shared memory");
  return run.shared;
}

void loco::emu::blockBarrier() {
  Lane &lane = currentLane("__syncthreads");
  Block &block = *run.block;
  // Whichever comes first, a thread that exits and one that waits at a
  // barrier are a fault (checkWaiters is the other order).
  if (block.done > 0)
    kernelFault("__syncthreads reached after another thread of the block "
                "exited (every thread of the block must reach it)");
  lane.state = State::AtBarrier;
  if (++block.atBarrier == block.live) {
    for (Lane &other : block.lanes)
      if (other.state == State::AtBarrier)
        other.state = State::Runnable;
    block.atBarrier = 0;
    block.reshuffle = true;
  }
  suspend(lane);
}

void loco::emu::warpCollective(const char *what, unsigned mask, LaneSlot slot,
                               CollectiveFn complete) {
  Lane &lane = currentLane(what);
  Block &block = *run.block;
  int laneId = lane.linear % 32, first = lane.linear / 32 * 32;
  Warp &warp = block.warps[lane.linear / 32];
  if (!(mask >> laneId & 1))
    kernelFault(
        (std::string(what) + ": the calling lane is not in its mask").c_str());
  if (warp.arrived == 0) {
    for (int l = 0; l < 32; ++l)
      if (mask >> l & 1) {
        int index = first + l;
        if (index >= static_cast<int>(block.lanes.size()))
          kernelFault((std::string(what) + ": the mask names lane " +
                       std::to_string(l) + ", which the block does not have")
                          .c_str());
        if (block.lanes[index].state == State::Done)
          kernelFault((std::string(what) + ": the mask names lane " +
                       std::to_string(l) + ", which has exited")
                          .c_str());
      }
    warp.what = what;
    warp.mask = mask;
    warp.complete = complete;
  } else if (warp.what != what || warp.mask != mask ||
             warp.complete != complete) {
    kernelFault((std::string("divergent warp: this lane called ") + what +
                 " while others wait at " + warp.what)
                    .c_str());
  }
  lane.slot = slot;
  lane.state = State::AtWarp;
  warp.arrived |= 1u << laneId;
  if (warp.arrived == mask) {
    LaneSlot *slots[32] = {};
    for (int l = 0; l < 32; ++l)
      if (mask >> l & 1)
        slots[l] = &block.lanes[first + l].slot;
    complete(slots);
    for (int l = 0; l < 32; ++l)
      if (mask >> l & 1)
        block.lanes[first + l].state = State::Runnable;
    warp = Warp();
  }
  suspend(lane);
}

loco::emu::Builtins &loco::emu::builtins() {
  static Builtins instance;
  return instance;
}

std::string loco::emu::currentKernelDescription() {
  if (!run.kernel || !run.lane || run.runner != std::this_thread::get_id())
    return "";
  return std::string("kernel ") + run.kernel + ", " + describeThread();
}

void loco::emu::kernelFault(const char *what) {
  deviceFault(std::string("kernel ") + (run.kernel ? run.kernel : "?") + ", " +
              describeThread() + ": " + what);
}
