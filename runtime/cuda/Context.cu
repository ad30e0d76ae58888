//===- Context.cu - The CUDA backend's context, memory and graphs ---------===//
//
// This file implements context creation on "cuda" / "cuda:N", errors, the
// device-resident step scalars, the arena (one cudaMalloc) and the fixed
// workspace (another), copies, kernel scratch, the cuBLASLt GEMM all matrix
// products share, and step execution as captured CUDA graphs.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Context.h"

#include <cxxabi.h>

#include <cmath>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace loco::cuda;
namespace ws = loco::workspace;

//===----------------------------------------------------------------------===//
// Status names and failures
//===----------------------------------------------------------------------===//

std::string loco::cuda::statusName(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" +
         cudaGetErrorString(status) + ")";
}

std::string loco::cuda::statusName(cublasStatus_t status) {
  return std::string(cublasLtGetStatusName(status)) + " (" +
         cublasLtGetStatusString(status) + ")";
}

std::string loco::cuda::statusName(cufftResult status) {
  switch (status) {
  case CUFFT_INVALID_PLAN:
    return "CUFFT_INVALID_PLAN";
  case CUFFT_ALLOC_FAILED:
    return "CUFFT_ALLOC_FAILED";
  case CUFFT_INVALID_VALUE:
    return "CUFFT_INVALID_VALUE";
  case CUFFT_INTERNAL_ERROR:
    return "CUFFT_INTERNAL_ERROR";
  case CUFFT_EXEC_FAILED:
    return "CUFFT_EXEC_FAILED";
  case CUFFT_SETUP_FAILED:
    return "CUFFT_SETUP_FAILED";
  case CUFFT_INVALID_SIZE:
    return "CUFFT_INVALID_SIZE";
  case CUFFT_NOT_SUPPORTED:
    return "CUFFT_NOT_SUPPORTED";
  default:
    return "cufftResult " + std::to_string(static_cast<int>(status));
  }
}

void loco::cuda::reportFailure(loco_context *ctx, const std::string &message) {
  if (ctx)
    ctx->fail(message);
}

namespace {
/// "file:line (function)" of a launch site.
std::string describe(const LaunchSite &site) {
  return std::string(site.file) + ":" + std::to_string(site.line) + " (" +
         site.function + ")";
}

/// The demangled name of a __global__ function.
std::string kernelName(const void *kernel) {
  const char *mangled = nullptr;
  if (!kernel || cudaFuncGetName(&mangled, kernel) != cudaSuccess || !mangled) {
    cudaGetLastError();
    return "a kernel";
  }
  int status = 0;
  char *demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  // Extended lambdas make long template arguments; the head names it.
  if (name.size() > 240)
    name = name.substr(0, 240) + "...";
  return name;
}
} // namespace

bool loco::cuda::checkLaunch(loco_context *ctx, const void *kernel,
                             LaunchSite site) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    reportFailure(ctx, describe(site) + ": launching " + kernelName(kernel) +
                           " failed: " + statusName(status));
    return false;
  }
  return synchronizeAfter(ctx, kernel, nullptr, site);
}

bool loco::cuda::synchronizeAfter(loco_context *ctx, const void *kernel,
                                  const char *call, LaunchSite site) {
  if (ctx)
    ++ctx->enqueued;
  if (!ctx || !ctx->syncEachLaunch)
    return true;
  cudaError_t status = cudaStreamSynchronize(ctx->stream);
  if (status == cudaSuccess)
    return true;
  reportFailure(ctx, describe(site) + ": " +
                         (kernel ? kernelName(kernel) : std::string(call)) +
                         " faulted (LOCO_CUDA_SYNC=1): " + statusName(status));
  return false;
}

void loco_context::sampleMemory() {
  size_t freeBytes = 0, totalBytes = 0;
  if (cudaMemGetInfo(&freeBytes, &totalBytes) != cudaSuccess)
    return;
  int64_t used = static_cast<int64_t>(totalBytes - freeBytes) - baselineUsed;
  peakUsed = std::max(peakUsed, used);
}

//===----------------------------------------------------------------------===//
// Scratch and GEMM
//===----------------------------------------------------------------------===//

Scratch::~Scratch() {
  ctx->workspaceUsed = start;
  for (void *block : pool)
    cudaFreeAsync(block, ctx->stream);
}

void *Scratch::takeBytes(int64_t bytes) {
  bytes = ws::aligned(std::max<int64_t>(bytes, 1));
  if (ctx->workspace) {
    if (used + bytes <= ctx->workspaceBytes) {
      void *block = ctx->workspace + used;
      used += bytes;
      ctx->workspaceUsed = used;
      return block;
    }
    ctx->fail("kernel scratch exceeds the planned workspace of " +
              std::to_string(ctx->workspaceBytes) + " bytes");
  }
  void *block = nullptr;
  if (!LOCO_CHECK(ctx, cudaMallocAsync(&block, bytes, ctx->stream)))
    return nullptr;
  pool.push_back(block);
  return block;
}

GemmPlan::~GemmPlan() {
  for (cublasLtMatrixLayout_t l : {a, b, c})
    if (l)
      cublasLtMatrixLayoutDestroy(l);
  if (op)
    cublasLtMatmulDescDestroy(op);
}

namespace {
/// The descriptor, layouts and algorithm of one GEMM shape, or null (the
/// context says why).
std::unique_ptr<GemmPlan> makeGemmPlan(loco_context *ctx, const GemmShape &s) {
  auto plan = std::make_unique<GemmPlan>();
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap
  // the operands and read each row-major matrix as its column-major
  // transpose (same buffer, same leading dimension).
  // bf16/f16 storage: those operands on tensor cores, fp32 accumulation.
  cublasComputeType_t compute =
      s.dtype != LOCO_DTYPE_F32    ? CUBLAS_COMPUTE_32F
      : s.math == LOCO_MATMUL_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
      : s.math == LOCO_MATMUL_BF16 ? CUBLAS_COMPUTE_32F_FAST_16BF
      : s.math == LOCO_MATMUL_FP16 ? CUBLAS_COMPUTE_32F_FAST_16F
                                   : CUBLAS_COMPUTE_32F;
  cudaDataType_t element = s.dtype == LOCO_DTYPE_BF16  ? CUDA_R_16BF
                           : s.dtype == LOCO_DTYPE_F16 ? CUDA_R_16F
                                                       : CUDA_R_32F;
  cublasOperation_t opFirst = s.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opSecond = s.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  bool ok = LOCO_CHECK(ctx, cublasLtMatmulDescCreate(&plan->op, compute,
                                                     CUDA_R_32F)) &&
            LOCO_CHECK(ctx, cublasLtMatmulDescSetAttribute(
                                plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &opFirst,
                                sizeof(opFirst))) &&
            LOCO_CHECK(ctx, cublasLtMatmulDescSetAttribute(
                                plan->op, CUBLASLT_MATMUL_DESC_TRANSB,
                                &opSecond, sizeof(opSecond)));
  // Stored (column-major) shapes: the first operand is B^T as stored:
  // op N -> [N, K] with ld ldb, op T -> [K, N].
  auto layout = [&](cublasLtMatrixLayout_t &l, uint64_t rows, uint64_t cols,
                    int64_t ld, int64_t stride, cudaDataType_t type) {
    if (!ok)
      return;
    ok = LOCO_CHECK(ctx, cublasLtMatrixLayoutCreate(&l, type, rows, cols, ld));
    int32_t count = static_cast<int32_t>(s.batch);
    if (ok && s.batch > 1)
      ok = LOCO_CHECK(ctx, cublasLtMatrixLayoutSetAttribute(
                               l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                               sizeof(count))) &&
           LOCO_CHECK(ctx, cublasLtMatrixLayoutSetAttribute(
                               l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                               &stride, sizeof(stride)));
  };
  layout(plan->a, s.transB ? s.K : s.N, s.transB ? s.N : s.K, s.ldb, s.strideB,
         element);
  layout(plan->b, s.transA ? s.M : s.K, s.transA ? s.K : s.M, s.lda, s.strideA,
         element);
  layout(plan->c, s.N, s.M, s.ldc, s.strideC,
         s.f32Result ? CUDA_R_32F : element);
  if (!ok)
    return nullptr;

  cublasLtMatmulPreference_t pref = nullptr;
  uint64_t limit = ws::kCudaGemmBytes;
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  ok = LOCO_CHECK(ctx, cublasLtMatmulPreferenceCreate(&pref)) &&
       LOCO_CHECK(ctx, cublasLtMatmulPreferenceSetAttribute(
                           pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                           &limit, sizeof(limit)));
  // cuBLASLt's A is our B (the operands are swapped above).
  uint32_t alignLtA = s.alignB, alignLtB = s.alignA, alignLtC = s.alignC;
  for (auto [attribute, value] :
       {std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignLtA},
        std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignLtB},
        std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignLtC},
        std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignLtC}})
    ok = ok && LOCO_CHECK(ctx, cublasLtMatmulPreferenceSetAttribute(
                                   pref, attribute, value, sizeof(*value)));
  ok = ok && LOCO_CHECK(ctx, cublasLtMatmulAlgoGetHeuristic(
                                 ctx->lt, plan->op, plan->a, plan->b, plan->c,
                                 plan->c, pref, 1, &result, &found));
  if (pref)
    cublasLtMatmulPreferenceDestroy(pref);
  if (ok && found == 0) {
    ctx->fail("cuBLASLt has no algorithm for a " + std::to_string(s.M) + "x" +
              std::to_string(s.N) + "x" + std::to_string(s.K) + " product");
    ok = false;
  }
  if (!ok)
    return nullptr;
  plan->algo = result.algo;
  return plan;
}
} // namespace

void loco::cuda::gemm(loco_context *ctx, GemmShape s, const void *A,
                      const void *B, void *C, float alpha, float beta,
                      LaunchSite site) {
  if (s.M == 0 || s.N == 0 || s.batch == 0)
    return;
  // Offsets into the arena (row chunks, convolution taps) need not be
  // 16-byte aligned; tell the heuristic what each operand guarantees.
  auto alignment = [&](const void *p, int64_t stride, bool f32) {
    uint64_t bits = reinterpret_cast<uint64_t>(p) | 256;
    if (s.batch > 1 && stride != 0)
      bits |= static_cast<uint64_t>(stride) *
              (f32 ? sizeof(float) : sizeof(loco_half));
    return static_cast<int>(bits & (~bits + 1));
  };
  bool f32 = s.dtype == LOCO_DTYPE_F32;
  s.alignA = alignment(A, s.strideA, f32);
  s.alignB = alignment(B, s.strideB, f32);
  s.alignC = alignment(C, s.strideC, f32 || s.f32Result);
  // Descriptors, layouts and the algorithm are made once per shape.
  std::unique_ptr<GemmPlan> &plan = ctx->gemms[s];
  if (!plan && !(plan = makeGemmPlan(ctx, s)))
    return;
  checkLaunch(ctx,
              cublasLtMatmul(ctx->lt, plan->op, &alpha, B, plan->a, A, plan->b,
                             &beta, C, plan->c, C, plan->c, &plan->algo,
                             ctx->gemmWork, ws::kCudaGemmBytes, ctx->stream),
              "cublasLtMatmul", site);
}

//===----------------------------------------------------------------------===//
// The C ABI: context, memory, synchronisation
//===----------------------------------------------------------------------===//

namespace {
void writeError(char *error, int64_t size, const std::string &message) {
  if (error && size > 0)
    std::snprintf(error, size, "%s", message.c_str());
}

/// Copies the host mirror of the step scalars to the device (stream order:
/// kernels enqueued before see the old values, after the new ones).
void uploadState(loco_context *ctx) {
  LOCO_CHECK(ctx, cudaMemcpyAsync(ctx->state, &ctx->host, sizeof(ctx->host),
                                  cudaMemcpyHostToDevice, ctx->stream));
  // A pageable source is staged before the call returns, but wait anyway:
  // the mirror may change again right away.
  LOCO_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
}

/// Captures `step` into `graph.exec` (the second call: every plan and
/// algorithm exists by now, so the step enqueues only kernels, library
/// launches and device copies). When capture or instantiation fails, clears
/// that error, turns graphs off for the context and warns once; the caller
/// then runs the step eagerly.
bool captureStep(loco_context *ctx, loco_step_fn step, void *arena,
                 StepGraph &graph) {
  cudaGraph_t captured = nullptr;
  cudaError_t status =
      cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal);
  if (status == cudaSuccess) {
    ctx->capturing = true;
    step(ctx, arena);
    ctx->capturing = false;
    status = cudaStreamEndCapture(ctx->stream, &captured);
  }
  if (status == cudaSuccess && ctx->error.empty() && captured)
    status = cudaGraphInstantiate(&graph.exec, captured, 0);
  if (captured)
    cudaGraphDestroy(captured);
  if (status == cudaSuccess && ctx->error.empty() && graph.exec) {
    ++ctx->graphsCaptured;
    return true;
  }

  // Capture errors are not sticky: clear the runtime's, then the context's
  // (recorded by the calls that failed while capturing).
  cudaGetLastError();
  std::string why = !ctx->error.empty() ? ctx->error
                    : status != cudaSuccess
                        ? statusName(status)
                        : std::string("the capture recorded no graph");
  ctx->error.clear();
  if (graph.exec)
    cudaGraphExecDestroy(graph.exec);
  graph.exec = nullptr;
  ctx->graphsEnabled = false;
  ctx->graphsFailed = true;
  if (!ctx->warnedGraphs) {
    ctx->warnedGraphs = true;
    std::fprintf(stderr,
                 "loco_cuda: warning: capturing a step as a CUDA graph failed "
                 "(%s); running every step eagerly from now on\n",
                 why.c_str());
  }
  return false;
}
} // namespace

extern "C" {

int loco_device_count(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess)
    return 0;
  return count;
}

loco_context *loco_context_create(const char *device, char *error,
                                  int64_t errorSize) {
  std::string name = device ? device : "";
  std::string kind = kDeviceName, prefix = kind + ":";
  int index = 0;
  if (name.rfind(prefix, 0) == 0) {
    char *end = nullptr;
    const char *digits = name.c_str() + prefix.size();
    long value = std::strtol(digits, &end, 10);
    if (end == digits || *end || value < 0) {
      writeError(error, errorSize,
                 "bad device '" + name + "': expected " + kind + " or " + kind +
                     ":N");
      return nullptr;
    }
    index = static_cast<int>(value);
  } else if (name != kind) {
    writeError(error, errorSize,
               "the " + kind + " backend cannot run on device '" + name +
                   "' (expected " + kind + " or " + kind + ":N)");
    return nullptr;
  }
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    writeError(error, errorSize,
               "no CUDA device is available for '" + name + "'" +
                   (status != cudaSuccess ? ": " + statusName(status) : ""));
    return nullptr;
  }
  if (index >= count) {
    writeError(error, errorSize,
               "device '" + name + "' does not exist: " +
                   std::to_string(count) + " CUDA device(s) present");
    return nullptr;
  }

  auto *ctx = new loco_context();
  ctx->device = index;
  auto failed = [&]() {
    writeError(error, errorSize, ctx->error);
    loco_context_destroy(ctx);
    return nullptr;
  };
  if (!LOCO_CHECK(ctx, cudaSetDevice(index)) ||
      !LOCO_CHECK(ctx, cudaFree(nullptr)))
    return failed();
  // The baseline: what the device holds before this context allocates.
  size_t freeBytes = 0, totalBytes = 0;
  if (!LOCO_CHECK(ctx, cudaMemGetInfo(&freeBytes, &totalBytes)))
    return failed();
  ctx->baselineUsed = static_cast<int64_t>(totalBytes - freeBytes);
  if (!LOCO_CHECK(ctx, cudaStreamCreateWithFlags(&ctx->stream,
                                                 cudaStreamNonBlocking)) ||
      !LOCO_CHECK(ctx, cublasLtCreate(&ctx->lt)) ||
      !LOCO_CHECK(ctx, cudaMalloc(&ctx->fixed, ws::kCudaFixedBytes)))
    return failed();
  ctx->state = reinterpret_cast<StepState *>(ctx->fixed);
  ctx->partials = reinterpret_cast<double *>(ctx->fixed + ws::kCudaStateBytes);
  ctx->gemmWork = ctx->fixed + ws::kCudaStateBytes + ws::kCudaPartialBytes;
  ctx->fftWork = static_cast<char *>(ctx->gemmWork) + ws::kCudaGemmBytes;
  ctx->host.training = 1;
  ctx->host.optimizerStep = 1;
  ctx->host.lossScale = 1.0;
  uploadState(ctx);
  if (const char *value = std::getenv("LOCO_CUDA_GRAPHS"))
    ctx->graphsEnabled = std::strcmp(value, "0") != 0;
  // Debugging a fault: wait after every launch (no graphs: a capture
  // cannot synchronise).
  if (const char *value = std::getenv("LOCO_CUDA_SYNC"))
    if (std::strcmp(value, "0") != 0 && *value)
      ctx->syncEachLaunch = true;
  if (ctx->syncEachLaunch)
    ctx->graphsEnabled = false;
  cudaDeviceProp prop{};
  if (!LOCO_CHECK(ctx, cudaGetDeviceProperties(&prop, index)))
    return failed();
  ctx->description =
      kind + ":" + std::to_string(index) + " (" + prop.name + ", sm_" +
      std::to_string(prop.major) + std::to_string(prop.minor) +
      ", cuBLASLt, cuFFT" + (ctx->graphsEnabled ? ", CUDA graphs" : "") +
      (ctx->syncEachLaunch ? ", synchronous (LOCO_CUDA_SYNC)" : "") + ")";
  if (!ctx->error.empty())
    return failed();
  ctx->sampleMemory();
  return ctx;
}

void loco_context_destroy(loco_context *ctx) {
  if (!ctx)
    return;
  if (ctx->stream)
    cudaStreamSynchronize(ctx->stream);
  for (cudaEvent_t event : ctx->profileEvents)
    cudaEventDestroy(event);
  for (auto &entry : ctx->graphs)
    if (entry.second.exec)
      cudaGraphExecDestroy(entry.second.exec);
  for (auto &entry : ctx->plans)
    cufftDestroy(entry.second);
  ctx->gemms.clear();
  if (ctx->lt)
    cublasLtDestroy(ctx->lt);
  if (ctx->fixed)
    cudaFree(ctx->fixed);
  if (ctx->stream)
    cudaStreamDestroy(ctx->stream);
  delete ctx;
}

const char *loco_context_error(loco_context *ctx) {
  return ctx->error.empty() ? nullptr : ctx->error.c_str();
}

void loco_context_clear_error(loco_context *ctx) { ctx->error.clear(); }

void loco_context_set_rng(loco_context *ctx, uint64_t seed, uint64_t step) {
  ctx->host.seed = seed;
  ctx->host.step = step;
  uploadState(ctx);
}

void loco_context_set_training(loco_context *ctx, int training) {
  ctx->host.training = training != 0;
  uploadState(ctx);
}

void loco_context_set_rng_replica(loco_context *ctx, int64_t replica) {
  if (replica < 0)
    return ctx->fail("rng replica must be non-negative, got " +
                     std::to_string(replica));
  ctx->rngReplica = replica;
}

int64_t loco_context_rng_replica(loco_context *ctx) { return ctx->rngReplica; }

void loco_context_profile(loco_context *ctx, int enabled) {
  ctx->profiling = enabled != 0;
  ctx->profileUsed = 0;
}

void loco_context_profile_mark(loco_context *ctx) {
  if (!ctx->profiling)
    return;
  if (ctx->profileUsed == ctx->profileEvents.size()) {
    cudaEvent_t event = nullptr;
    if (!LOCO_CHECK(ctx, cudaEventCreate(&event)))
      return;
    ctx->profileEvents.push_back(event);
  }
  LOCO_CHECK(ctx, cudaEventRecord(ctx->profileEvents[ctx->profileUsed++],
                                  ctx->stream));
}

int64_t loco_context_profile_read(loco_context *ctx, double *seconds,
                                  int64_t capacity) {
  int64_t count = static_cast<int64_t>(ctx->profileUsed);
  if (count > 0 &&
      LOCO_CHECK(ctx, cudaEventSynchronize(ctx->profileEvents[count - 1])))
    for (int64_t i = 0; i < count && i < capacity; ++i) {
      float ms = 0.0f;
      LOCO_CHECK(ctx, cudaEventElapsedTime(&ms, ctx->profileEvents[0],
                                           ctx->profileEvents[i]));
      seconds[i] = ms * 1e-3;
    }
  ctx->profileUsed = 0;
  return count;
}

void loco_context_set_optimizer(loco_context *ctx, int64_t step, double lr) {
  ctx->host.optimizerStep = step;
  ctx->host.lr = lr;
  uploadState(ctx);
}

void loco_context_set_loss_scale(loco_context *ctx, double scale) {
  if (!(scale > 0.0) || !std::isfinite(scale))
    return ctx->fail("loss scale must be finite and positive, got " +
                     std::to_string(scale));
  ctx->host.lossScale = scale;
  uploadState(ctx);
}

void loco_context_set_matmul_precision(loco_context *ctx, int precision) {
  if (precision < LOCO_MATMUL_FP32 || precision > LOCO_MATMUL_FP16)
    return ctx->fail("unknown matmul precision " + std::to_string(precision));
  ctx->math = precision;
}

const char *loco_context_describe(loco_context *ctx) {
  ctx->describedNow = ctx->description;
  if (ctx->graphsFailed)
    ctx->describedNow += "; CUDA graphs off after a failed capture";
  if (ctx->graphsCaptured || ctx->graphLaunches)
    ctx->describedNow +=
        "; " + std::to_string(ctx->graphsCaptured) + " graph(s) captured, " +
        std::to_string(ctx->graphLaunches) + " graph launch(es)";
  if (ctx->enqueued)
    ctx->describedNow += "; " + std::to_string(ctx->enqueued) +
                         " kernels, library calls and copies enqueued by the "
                         "host";
  return ctx->describedNow.c_str();
}

void *loco_arena_alloc(loco_context *ctx, int64_t bytes) {
  void *arena = nullptr;
  size_t rounded = (static_cast<size_t>(bytes) + 255) / 256 * 256;
  if (cudaMalloc(&arena, rounded ? rounded : 256) != cudaSuccess) {
    cudaGetLastError();
    size_t freeBytes = 0, totalBytes = 0;
    cudaMemGetInfo(&freeBytes, &totalBytes);
    ctx->fail("cannot allocate an arena of " + std::to_string(bytes) +
              " bytes on " + kDeviceName + ":" + std::to_string(ctx->device) +
              " (" + std::to_string(freeBytes) + " bytes free)");
    return nullptr;
  }
  ctx->sampleMemory();
  return arena;
}

void loco_arena_free(loco_context *ctx, void *arena) {
  if (arena) {
    cudaStreamSynchronize(ctx->stream);
    cudaFree(arena);
  }
}

void loco_context_set_workspace(loco_context *ctx, void *workspace,
                                int64_t bytes) {
  ctx->workspace = static_cast<char *>(workspace);
  ctx->workspaceBytes = bytes;
}

void loco_copy_to_device(loco_context *ctx, void *dst, const void *src,
                         int64_t bytes) {
  LOCO_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice,
                                  ctx->stream));
  LOCO_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
}

void loco_copy_to_host(loco_context *ctx, void *dst, const void *src,
                       int64_t bytes) {
  LOCO_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost,
                                  ctx->stream));
  LOCO_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
}

void loco_synchronize(loco_context *ctx) {
  LOCO_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
  ctx->sampleMemory();
}

int64_t loco_context_device_memory(loco_context *ctx, int64_t *peak) {
  ctx->sampleMemory();
  size_t freeBytes = 0, totalBytes = 0;
  int64_t now = 0;
  if (cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess)
    now = static_cast<int64_t>(totalBytes - freeBytes) - ctx->baselineUsed;
  if (peak)
    *peak = ctx->peakUsed;
  return now;
}

void loco_run_step(loco_context *ctx, loco_step_fn step, void *arena) {
  StepGraph &graph =
      ctx->graphs[{reinterpret_cast<void *>(step), ctx->rngReplica}];
  ++graph.calls;
  // Profiling marks each kernel call from the host: no graphs then.
  if (!ctx->graphsEnabled || ctx->profiling || graph.calls == 1 ||
      !ctx->error.empty()) {
    step(ctx, arena);
    return;
  }
  if (!graph.exec && !captureStep(ctx, step, arena, graph)) {
    // Nothing ran: capture only records. Run this step eagerly, and every
    // later one (graphs are off for the context now).
    step(ctx, arena);
    return;
  }
  if (LOCO_CHECK(ctx, cudaGraphLaunch(graph.exec, ctx->stream)))
    ++ctx->graphLaunches;
}

} // extern "C"
