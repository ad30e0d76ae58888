//===- Runtime.h - CUDA's runtime API, emulated -----------------*- C++ -*-===//
//
// This file declares the part of the CUDA runtime API (cuda_runtime.h) the
// backend calls, for the emulation target, and loco::emu::launch, which the
// backend's launch helper (runtime/cuda/Launch.h) calls in place of
// `kernel<<<grid, block, shared, stream>>>(args...)`.
//
// Strict where CUDA is strict (RuntimeApi.cpp): sm_90's launch limits, the
// dynamic shared memory opt-in, cudaMemcpy2D's pitch limit, copies inside
// live allocations and in the direction their kind says, and the calls
// that stream capture forbids (they fail and invalidate the capture, as
// they do on a GPU). Work runs when it is enqueued (or, while a stream is
// captured, when the graph is launched): the emulation has one stream
// order and no asynchrony to race with.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_RUNTIME_H
#define LOCO_RUNTIME_CUDA_EMU_RUNTIME_H

#include "runtime/cuda/emu/Device.h"

#include <cstddef>
#include <functional>
#include <tuple>
#include <utility>

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidPitchValue = 12,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorInvalidDevice = 101,
  cudaErrorNoDevice = 100,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxPitch = 11,
};

constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;

namespace loco::emu {
struct Stream;
struct Event;
struct Graph;
} // namespace loco::emu
using cudaStream_t = loco::emu::Stream *;
using cudaEvent_t = loco::emu::Event *;
using cudaGraph_t = loco::emu::Graph *;
using cudaGraphExec_t = loco::emu::Graph *;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock, sharedMemPerBlockOptin;
  int maxThreadsPerBlock;
  int maxThreadsDim[3], maxGridSize[3];
  int major, minor;
  int multiProcessorCount;
  int warpSize;
  size_t memPitch;
};

const char *cudaGetErrorName(cudaError_t error);
const char *cudaGetErrorString(cudaError_t error);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device);
cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaMalloc(void **pointer, size_t bytes);
template <typename T> cudaError_t cudaMalloc(T **pointer, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void **>(pointer), bytes);
}
cudaError_t cudaFree(void *pointer);
cudaError_t cudaMallocAsync(void **pointer, size_t bytes, cudaStream_t stream);
template <typename T>
cudaError_t cudaMallocAsync(T **pointer, size_t bytes, cudaStream_t stream) {
  return cudaMallocAsync(reinterpret_cast<void **>(pointer), bytes, stream);
}
cudaError_t cudaFreeAsync(void *pointer, cudaStream_t stream);

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src,
                         size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src,
                              size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind,
                              cudaStream_t stream = nullptr);
cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes,
                            cudaStream_t stream = nullptr);

/// Page-locked host memory (the NCCL transport stages through it); host
/// memory to every copy, as on a GPU.
cudaError_t cudaMallocHost(void **pointer, size_t bytes);
cudaError_t cudaFreeHost(void *pointer);

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
/// cudaSuccess (work runs when it is enqueued), and illegal while capturing.
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream,
                                   cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);

cudaError_t cudaFuncSetAttribute(const void *kernel, cudaFuncAttribute attr,
                                 int value);
template <typename... P>
cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr,
                                 int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void *>(kernel), attr,
                              value);
}
cudaError_t cudaFuncGetName(const char **name, const void *kernel);

namespace loco::emu {

/// Whether kernel bodies, copies and library computations are skipped
/// (LOCO_CUDA_EMU_DRY_RUN=1): host code and every check still run.
bool dryRun();

/// Enqueues `body`, the blocks of one launch (each block's threads run by
/// the scheduler), after checking the launch against sm_90's limits; a
/// refused launch becomes the error cudaGetLastError returns, as on a GPU.
/// `name` (LOCO_LAUNCH's literal) is kept, not copied.
void enqueueLaunch(const void *kernel, const char *name, dim3 grid, dim3 block,
                   size_t sharedBytes, cudaStream_t stream,
                   std::function<void()> body);

/// `kernel<<<grid, block, shared, stream>>>(args...)`: the arguments are
/// converted to the kernel's parameter types and copied, as a launch
/// copies them, so that a captured graph replays with them.
template <typename... Params, typename... Args>
void launch(const char *name, void (*kernel)(Params...), dim3 grid, dim3 block,
            size_t sharedBytes, cudaStream_t stream, Args &&...args) {
  static_assert(sizeof...(Params) == sizeof...(Args),
                "a kernel launch passes every parameter");
  std::tuple<std::decay_t<Params>...> copied(std::forward<Args>(args)...);
  enqueueLaunch(reinterpret_cast<const void *>(kernel), name, grid, block,
                sharedBytes, stream,
                [kernel, copied]() { std::apply(kernel, copied); });
}

} // namespace loco::emu

#endif // LOCO_RUNTIME_CUDA_EMU_RUNTIME_H
