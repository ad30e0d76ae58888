//===- Context.h - The CPU backend's context --------------------*- C++ -*-===//
//
// This file declares the CPU backend's loco_context: error state, RNG key,
// and the FFTW plans, which are created once per transform size and reused.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_CONTEXT_H
#define LOCO_RUNTIME_CPU_CONTEXT_H

#include "runtime/abi/Workspace.h"
#include "runtime/abi/api.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct loco_context {
  std::string error;
  std::string description;
  uint64_t seed = 0, step = 0;
  int64_t rngReplica = 0; ///< loco_context_set_rng_replica
  /// loco_context_profile: on, and the marks' steady-clock seconds.
  bool profiling = false;
  std::vector<double> marks;
  bool training = true;
  int64_t optimizerStep = 1;
  double lr = 0.0;
  /// Dynamic loss scaling (loco_context_set_loss_scale).
  double lossScale = 1.0;

  /// Batched real FFT plans keyed by (n_fft, frames, inverse).
  std::mutex planMutex;
  std::map<std::tuple<int64_t, int64_t, bool>, void *> plans;

  /// The fixed workspace region of the arena (null: kernels fall back to
  /// the heap, as unit tests calling kernels directly do).
  char *workspace = nullptr;
  int64_t workspaceBytes = 0;
  /// Bytes of the workspace that live Scratch objects hold: a staged
  /// reduced-precision kernel calls an fp32 kernel, whose scratch follows
  /// the staging buffers.
  int64_t workspaceUsed = 0;

  /// Records the first error; later ones are dropped.
  void fail(const std::string &message) {
    if (error.empty())
      error = message;
  }
};

namespace loco {
/// The scratch of one kernel call: blocks carved in order from the context's
/// workspace (sized by the compiler with runtime/abi/Workspace.h), or from the
/// heap when no workspace is set. Released when the call returns. Scratches
/// nest (a kernel that calls another): each starts where the enclosing one
/// has got to. Not for use from inside a parallel region.
class Scratch {
public:
  explicit Scratch(loco_context *ctx)
      : ctx(ctx), start(ctx->workspaceUsed), used(ctx->workspaceUsed) {}
  ~Scratch() {
    ctx->workspaceUsed = start;
    for (void *block : heap)
      std::free(block);
  }
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  template <typename T> T *take(int64_t count) {
    int64_t bytes = workspace::aligned(std::max<int64_t>(count, 1) * sizeof(T));
    if (ctx->workspace && used + bytes <= ctx->workspaceBytes) {
      T *block = reinterpret_cast<T *>(ctx->workspace + used);
      used += bytes;
      ctx->workspaceUsed = used;
      return block;
    }
    if (ctx->workspace)
      ctx->fail("kernel scratch exceeds the planned workspace of " +
                std::to_string(ctx->workspaceBytes) + " bytes");
    heap.push_back(std::aligned_alloc(workspace::kAlign, bytes));
    return static_cast<T *>(heap.back());
  }

  /// Bytes that later takes can still have from the planned workspace (no
  /// limit on the heap, without one).
  int64_t available() const {
    return ctx->workspace ? std::max<int64_t>(0, ctx->workspaceBytes - used)
                          : std::numeric_limits<int64_t>::max();
  }

private:
  loco_context *ctx;
  int64_t start, used;
  std::vector<void *> heap;
};

/// Threads for kernels with per-thread scratch.
inline int scratchThreads() {
  return std::min(omp_get_max_threads(), workspace::kMaxThreads);
}
} // namespace loco

#endif // LOCO_RUNTIME_CPU_CONTEXT_H
