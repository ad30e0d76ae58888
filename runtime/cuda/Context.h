//===- Context.h - The CUDA backend's context -------------------*- C++ -*-===//
//
// This file declares the CUDA backend's loco_context: the device and its
// stream, the cuBLASLt handle, the cuFFT plans (created once per transform
// size, on first use, before any graph capture), the captured step graphs,
// and the fixed device workspace every library call and reduction draws
// from. Per-step scalars (RNG key, training flag, optimizer step and
// learning rate) live in device memory, so that a captured graph replays
// with the values of the step it runs in.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_CONTEXT_H
#define LOCO_RUNTIME_CUDA_CONTEXT_H

#include "runtime/abi/CudaLimits.h"
#include "runtime/abi/Workspace.h"
#include "runtime/abi/api.h"
#include "runtime/cuda/Check.h"
#include "runtime/cuda/Launch.h"

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace loco::cuda {

/// The device name the backend answers to: "cuda" / "cuda:N", or in the
/// emulation target (docs/CUDA_EMULATION.md) "cuda-emu" / "cuda-emu:N".
#ifdef LOCO_CUDA_EMULATION
constexpr const char *kDeviceName = "cuda-emu";
#else
constexpr const char *kDeviceName = "cuda";
#endif

/// The per-step scalars kernels read on the device.
struct StepState {
  unsigned long long seed, step;
  long long optimizerStep;
  double lr;
  int training;
  /// Dynamic loss scaling (loco_context_set_loss_scale); 1 by default.
  double lossScale;
};

/// A cuBLASLt matmul, row-major terms: C[batch][M, N] = alpha op(A) op(B) +
/// beta C, with leading dims and batch strides in elements.
struct GemmShape {
  int64_t M, N, K;
  bool transA, transB;
  int64_t lda, ldb, ldc;
  int64_t batch, strideA, strideB, strideC;
  int math; ///< LOCO_MATMUL_*
  /// The element type of A, B and C (LOCO_DTYPE_*): bf16/f16 operands and
  /// result with fp32 accumulation, or f32 at `math`'s input precision.
  int dtype = LOCO_DTYPE_F32;
  /// C's element type when it differs from A's and B's: fp32 results of
  /// bf16/f16 operands (accumulated in fp32, rounded once later).
  bool f32Result = false;
  /// The byte alignment the operands guarantee (pointers and batch
  /// strides), which the algorithm choice must respect; set by gemm().
  int alignA = 0, alignB = 0, alignC = 0;
  auto key() const {
    return std::make_tuple(M, N, K, transA, transB, lda, ldb, ldc, batch,
                           strideA, strideB, strideC, math, dtype, f32Result,
                           alignA, alignB, alignC);
  }
  bool operator<(const GemmShape &o) const { return key() < o.key(); }
};

/// What one GEMM shape runs with: its cuBLASLt descriptor, the (swapped)
/// operand layouts and the algorithm the heuristic chose.
struct GemmPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~GemmPlan();
};

/// A captured step: run eagerly once (plans and heuristics are made then),
/// captured on the second call, replayed from the third. A capture that
/// fails turns graphs off for the whole context.
struct StepGraph {
  int64_t calls = 0;
  cudaGraphExec_t exec = nullptr;
};

} // namespace loco::cuda

struct loco_context {
  std::string error, description;
  /// Graph activity, reported by loco_context_describe after the static
  /// description (so that a test or a log proves replay rather than an
  /// eager fallback with the same results): graphs captured, launches of
  /// captured graphs, and whether a failed capture turned graphs off.
  int64_t graphsCaptured = 0, graphLaunches = 0;
  /// Kernels, library calls, copies and memsets the host code enqueued
  /// (a graph's replays enqueue none).
  int64_t enqueued = 0;
  bool graphsFailed = false;
  std::string describedNow;
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  int math = LOCO_MATMUL_FP32; ///< the precision of matrix products

  /// Host mirror of the step scalars and their device copy.
  loco::cuda::StepState host{};
  int64_t rngReplica = 0; ///< loco_context_set_rng_replica
  /// loco_context_profile: on (steps run eagerly), and the events recorded
  /// since the last read (`profileEvents[0, profileUsed)`), reused.
  bool profiling = false;
  std::vector<cudaEvent_t> profileEvents;
  size_t profileUsed = 0;
  loco::cuda::StepState *state = nullptr;

  /// The fixed workspace (loco::workspace::kCudaFixedBytes, one cudaMalloc):
  /// step state, reduction partials, cuBLASLt's and cuFFT's work areas.
  char *fixed = nullptr;
  double *partials = nullptr;
  void *gemmWork = nullptr;
  void *fftWork = nullptr;

  /// The arena's workspace region (kernel scratch, sized by the compiler).
  char *workspace = nullptr;
  int64_t workspaceBytes = 0;
  /// Bytes of it that live Scratch objects hold (a staged bf16 kernel's
  /// fp32 kernel takes its scratch after the staging buffers).
  int64_t workspaceUsed = 0;

  std::map<std::tuple<int64_t, int64_t, bool>, cufftHandle> plans;
  std::map<loco::cuda::GemmShape, std::unique_ptr<loco::cuda::GemmPlan>> gemms;
  /// One graph per step function and RNG replica: a captured step has the
  /// replica's index offsets baked into its launches, and micro-batches
  /// set one per micro-step (loco_context_set_rng_replica).
  std::map<std::pair<void *, int64_t>, loco::cuda::StepGraph> graphs;
  bool graphsEnabled = true;
  bool capturing = false;
  bool warnedGraphs = false; ///< the fallback to eager steps was reported
  /// LOCO_CUDA_SYNC=1: synchronise after every kernel and library call, so
  /// that a fault names its kernel (graphs are then off).
  bool syncEachLaunch = false;

  /// Device memory in use (cudaMemGetInfo) before the context allocated
  /// anything, and the most seen since.
  int64_t baselineUsed = 0, peakUsed = 0;

  /// Records the first error; later ones are dropped.
  void fail(const std::string &message) {
    if (error.empty())
      error = message;
  }
  /// Whether a limit check of runtime/abi/CudaLimits.h passed (`why` is
  /// empty); if not, fails as "kernel: why".
  bool withinLimit(const std::string &why, const char *kernel) {
    if (why.empty())
      return true;
    fail(std::string(kernel) + ": " + why);
    return false;
  }
  /// Samples device memory in use (after allocations and plan creation).
  void sampleMemory();
};

namespace loco::cuda {

/// The kernel scratch of one call, carved in order from the arena's
/// workspace; without one (kernels called directly, as the conformance
/// tests do) from the stream-ordered pool, released when the call returns.
/// Scratches nest: each starts where the enclosing one has got to.
class Scratch {
public:
  explicit Scratch(loco_context *ctx)
      : ctx(ctx), start(ctx->workspaceUsed), used(ctx->workspaceUsed) {}
  ~Scratch();
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  template <typename T> T *take(int64_t count) {
    return static_cast<T *>(takeBytes(count * sizeof(T)));
  }
  /// Bytes of the planned workspace not yet taken (the plan sizes it for
  /// the op that needs most, so others may use the rest); 0 without one.
  int64_t available() const {
    return ctx->workspace ? ctx->workspaceBytes - used : 0;
  }

private:
  void *takeBytes(int64_t bytes);
  loco_context *ctx;
  int64_t start, used;
  std::vector<void *> pool;
};

/// Threads per block of the element-wise kernels, and a grid for n items.
constexpr int kThreads = 256;
inline unsigned blocksFor(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>(blocks, 1 << 20)));
}

/// Row-major GEMM through cuBLASLt (tensor cores at shape.math's input
/// precision, fp32 accumulation; exact fp32 for LOCO_MATMUL_FP32); `C` keeps
/// beta times its value.
void gemm(loco_context *ctx, GemmShape shape, const void *A, const void *B,
          void *C, float alpha, float beta,
          LaunchSite site = LaunchSite::here());

/// The number of partial sums the fixed workspace holds.
constexpr int64_t kPartialCount = cuda_limits::kPartialCount;

} // namespace loco::cuda

#endif // LOCO_RUNTIME_CUDA_CONTEXT_H
