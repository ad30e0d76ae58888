//===- RuntimeApi.cpp - The CUDA runtime API on the emulated device -------===//
//
// This file implements the runtime API of Runtime.h: errors, the device and
// its properties (an H100's sm_90 limits), memory, copies, streams, events,
// stream capture and graphs, function attributes and launches.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Emulator.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

using namespace loco::emu;

namespace loco::emu {

struct Stream {
  bool capturing = false, invalidated = false;
  std::vector<std::function<void()>> captured;
  /// Memory cudaMallocAsync gave out during the capture: the graph's.
  std::shared_ptr<std::vector<void *>> graphMemory;
};

struct Event {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
};

/// Frees a graph's memory when `memory` is its last owner.
void releaseGraphMemory(std::shared_ptr<std::vector<void *>> &memory);

/// A captured graph, or its instantiation (the same work, shared memory).
struct Graph {
  std::vector<std::function<void()>> work;
  std::shared_ptr<std::vector<void *>> memory;
  ~Graph() { releaseGraphMemory(memory); }
};

} // namespace loco::emu

namespace {

// sm_90 (an H100), as cudaGetDeviceProperties reports it.
constexpr int kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr uint64_t kMaxGrid[3] = {2147483647, 65535, 65535};
constexpr size_t kDefaultSharedBytes = 48 << 10;
constexpr size_t kOptinSharedBytes = 227 << 10;
constexpr size_t kMaxPitch = 2147483647;

thread_local cudaError_t lastError = cudaSuccess;
/// The stream this thread is capturing (cudaStreamCaptureModeThreadLocal:
/// forbidden calls are this thread's).
thread_local Stream *capturingStream = nullptr;

/// Page-locked host memory given out (cudaMallocHost).
std::mutex hostMemoryMutex;
std::set<void *> hostMemory;

std::mutex kernelsMutex;
struct KernelInfo {
  const char *name = nullptr; ///< LOCO_LAUNCH's literal
  size_t maxDynamicShared = kDefaultSharedBytes;
};
std::map<const void *, KernelInfo> kernels;

/// Graph-owned memory (cudaMallocAsync during capture): the list of the
/// graph that owns each pointer, so that a free outside the graph takes it
/// off the list instead of leaving the graph to free it again.
std::mutex graphMemoryMutex;
std::map<void *, std::shared_ptr<std::vector<void *>>> graphOwner;

/// A failed call: the error cudaGetLastError returns and, as on a GPU, the
/// end of this thread's capture (it ends invalidated).
cudaError_t fail(cudaError_t error) {
  lastError = error;
  if (capturingStream)
    capturingStream->invalidated = true;
  return error;
}

/// The kind a cudaMemcpyDefault copy has, and a check that an explicit
/// kind matches the pointers (page-locked memory is host memory).
cudaError_t resolveKind(cudaMemcpyKind &kind, const void *dst,
                        const void *src) {
  bool dstDevice = isDevicePointer(dst), srcDevice = isDevicePointer(src);
  if (kind == cudaMemcpyDefault)
    kind = srcDevice
               ? (dstDevice ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
               : (dstDevice ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
  bool wantDst =
      kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  bool wantSrc =
      kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (wantDst != dstDevice || wantSrc != srcDevice)
    return cudaErrorInvalidMemcpyDirection;
  return cudaSuccess;
}

/// A 2-D copy of `height` rows of `width` bytes (a plain copy is one row).
cudaError_t copy2D(const char *call, void *dst, size_t dpitch, const void *src,
                   size_t spitch, size_t width, size_t height,
                   cudaMemcpyKind kind, cudaStream_t stream, bool async,
                   bool twoD) {
  // A 2-D copy's pitches are checked whatever its height.
  if (twoD && (width > dpitch || width > spitch || dpitch > kMaxPitch ||
               spitch > kMaxPitch))
    return fail(cudaErrorInvalidPitchValue);
  if (width == 0 || height == 0)
    return cudaSuccess;
  if (cudaError_t error = resolveKind(kind, dst, src))
    return fail(error);
  // Synchronous copies and copies from or to (pageable) host memory are
  // not captured: they break a capture, as on a GPU.
  if (!async || kind != cudaMemcpyDeviceToDevice)
    if (cudaError_t error = refuseDuringCapture())
      return fail(error);
  uint64_t dstSpan = (height - 1) * uint64_t(dpitch) + width;
  uint64_t srcSpan = (height - 1) * uint64_t(spitch) + width;
  if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice)
    requireDeviceRange(call, "the destination", dst, dstSpan);
  if (kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice)
    requireDeviceRange(call, "the source", src, srcSpan);
  auto work = [=]() {
    // A dry run copies nothing; what the host reads back is zeros.
    if (dryRun()) {
      if (kind == cudaMemcpyDeviceToHost)
        for (size_t row = 0; row < height; ++row)
          std::memset(static_cast<char *>(dst) + row * dpitch, 0, width);
      return;
    }
    setActivity(call);
    for (size_t row = 0; row < height; ++row)
      std::memmove(static_cast<char *>(dst) + row * dpitch,
                   static_cast<const char *>(src) + row * spitch, width);
    setActivity(nullptr);
  };
  if (!submit(stream, work))
    return fail(cudaErrorStreamCaptureInvalidated);
  return cudaSuccess;
}

} // namespace

//===----------------------------------------------------------------------===//
// Emulation internals
//===----------------------------------------------------------------------===//

void loco::emu::releaseGraphMemory(
    std::shared_ptr<std::vector<void *>> &memory) {
  if (!memory)
    return;
  std::lock_guard<std::mutex> lock(graphMemoryMutex);
  // The graph and its instantiation share the list; the map holds one more
  // reference per pointer, so the last graph sees count 1 + pointers.
  if (memory.use_count() != 1 + static_cast<long>(memory->size()))
    return;
  for (void *pointer : *memory) {
    graphOwner.erase(pointer);
    release(pointer);
  }
  memory->clear();
}

bool loco::emu::dryRun() {
  static const bool value = [] {
    const char *v = std::getenv("LOCO_CUDA_EMU_DRY_RUN");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return value;
}

bool loco::emu::submit(cudaStream_t stream, std::function<void()> work) {
  if (stream && stream->capturing) {
    if (stream->invalidated)
      return false;
    stream->captured.push_back(std::move(work));
    return true;
  }
  work();
  return true;
}

bool loco::emu::isCapturing(cudaStream_t stream) {
  return stream && stream->capturing;
}

cudaError_t loco::emu::refuseDuringCapture() {
  if (!capturingStream)
    return cudaSuccess;
  capturingStream->invalidated = true;
  return cudaErrorStreamCaptureUnsupported;
}

void loco::emu::enqueueLaunch(const void *kernel, const char *name, dim3 grid,
                              dim3 block, size_t sharedBytes,
                              cudaStream_t stream, std::function<void()> body) {
  size_t allowed;
  {
    std::lock_guard<std::mutex> lock(kernelsMutex);
    KernelInfo &info = kernels[kernel];
    info.name = name;
    allowed = info.maxDynamicShared;
  }
  uint64_t threads = uint64_t(block.x) * block.y * block.z;
  bool ok = threads >= 1 && threads <= kMaxThreadsPerBlock &&
            block.x <= kMaxBlockDim[0] && block.y <= kMaxBlockDim[1] &&
            block.z <= kMaxBlockDim[2] && grid.x >= 1 && grid.y >= 1 &&
            grid.z >= 1 && grid.x <= kMaxGrid[0] && grid.y <= kMaxGrid[1] &&
            grid.z <= kMaxGrid[2];
  // Above 48 KiB only after cudaFuncSetAttribute, and never above 227 KiB.
  ok = ok && sharedBytes <= allowed && sharedBytes <= kOptinSharedBytes;
  if (!ok) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  if (!submit(stream, [=]() {
        if (!dryRun())
          runGrid(name, grid, block, sharedBytes, body);
      }))
    fail(cudaErrorStreamCaptureInvalidated);
}

//===----------------------------------------------------------------------===//
// Errors and the device
//===----------------------------------------------------------------------===//

const char *cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define LOCO_EMU_ERROR(name, text)                                             \
  case name:                                                                   \
    return #name;
#include "runtime/cuda/emu/Errors.def"
  }
  return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t error) {
  switch (error) {
#define LOCO_EMU_ERROR(name, text)                                             \
  case name:                                                                   \
    return text;
#include "runtime/cuda/emu/Errors.def"
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  cudaError_t error = lastError;
  lastError = cudaSuccess;
  return error;
}

cudaError_t cudaGetDeviceCount(int *count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
  if (device != 0)
    return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof(prop->name),
                "lococ CUDA emulation%s (sm_90 limits, on the CPU)",
                dryRun() ? ", dry run" : "");
  prop->totalGlobalMem = kDeviceBytes;
  prop->sharedMemPerBlock = kDefaultSharedBytes;
  prop->sharedMemPerBlockOptin = kOptinSharedBytes;
  prop->maxThreadsPerBlock = kMaxThreadsPerBlock;
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = static_cast<int>(kMaxBlockDim[i]);
    prop->maxGridSize[i] = static_cast<int>(kMaxGrid[i]);
  }
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->warpSize = 32;
  prop->memPitch = kMaxPitch;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr,
                                   int device) {
  if (device != 0)
    return fail(cudaErrorInvalidDevice);
  if (attr != cudaDevAttrMaxPitch)
    return fail(cudaErrorInvalidValue);
  *value = static_cast<int>(kMaxPitch);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *freeBytes, size_t *totalBytes) {
  *totalBytes = kDeviceBytes;
  *freeBytes = kDeviceBytes - bytesInUse();
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  return cudaSuccess;
}

//===----------------------------------------------------------------------===//
// Memory and copies
//===----------------------------------------------------------------------===//

cudaError_t cudaMalloc(void **pointer, size_t bytes) {
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  *pointer = allocate(bytes);
  return *pointer ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void *pointer) {
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  if (!pointer)
    return cudaSuccess;
  return release(pointer) ? cudaSuccess : fail(cudaErrorInvalidDevicePointer);
}

cudaError_t cudaMallocAsync(void **pointer, size_t bytes, cudaStream_t stream) {
  *pointer = allocate(bytes);
  if (!*pointer)
    return fail(cudaErrorMemoryAllocation);
  // During capture the allocation becomes the graph's, at a fixed address
  // (as a graph's memory nodes have).
  if (stream && stream->capturing) {
    stream->graphMemory->push_back(*pointer);
    std::lock_guard<std::mutex> lock(graphMemoryMutex);
    graphOwner[*pointer] = stream->graphMemory;
  }
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void *pointer, cudaStream_t stream) {
  if (!pointer)
    return cudaSuccess;
  if (stream && stream->capturing) {
    // The graph frees its own memory when it is destroyed.
    for (void *owned : *stream->graphMemory)
      if (owned == pointer)
        return cudaSuccess;
    return fail(cudaErrorInvalidValue);
  }
  {
    std::lock_guard<std::mutex> lock(graphMemoryMutex);
    auto owner = graphOwner.find(pointer);
    if (owner != graphOwner.end()) {
      auto &list = *owner->second;
      list.erase(std::remove(list.begin(), list.end(), pointer), list.end());
      graphOwner.erase(owner);
    }
  }
  return release(pointer) ? cudaSuccess : fail(cudaErrorInvalidDevicePointer);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind kind) {
  return copy2D("cudaMemcpy", dst, bytes, src, bytes, bytes, 1, kind, nullptr,
                false, false);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream) {
  return copy2D("cudaMemcpyAsync", dst, bytes, src, bytes, bytes, 1, kind,
                stream, true, false);
}

cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src,
                         size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind) {
  return copy2D("cudaMemcpy2D", dst, dpitch, src, spitch, width, height, kind,
                nullptr, false, true);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src,
                              size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
  return copy2D("cudaMemcpy2DAsync", dst, dpitch, src, spitch, width, height,
                kind, stream, true, true);
}

cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes,
                            cudaStream_t stream) {
  if (bytes == 0)
    return cudaSuccess;
  requireDeviceRange("cudaMemsetAsync", "the destination", dst, bytes);
  if (!submit(stream, [=]() {
        if (!dryRun())
          std::memset(dst, value, bytes);
      }))
    return fail(cudaErrorStreamCaptureInvalidated);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void **pointer, size_t bytes) {
  *pointer = nullptr;
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  std::lock_guard<std::mutex> lock(hostMemoryMutex);
  void *memory = std::aligned_alloc(4096, (std::max<size_t>(bytes, 1) + 4095) /
                                              4096 * 4096);
  if (!memory)
    return fail(cudaErrorMemoryAllocation);
  hostMemory.insert(memory);
  *pointer = memory;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void *pointer) {
  if (!pointer)
    return cudaSuccess;
  std::lock_guard<std::mutex> lock(hostMemoryMutex);
  if (!hostMemory.erase(pointer))
    return fail(cudaErrorInvalidValue);
  std::free(pointer);
  return cudaSuccess;
}

//===----------------------------------------------------------------------===//
// Streams, capture and graphs
//===----------------------------------------------------------------------===//

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned) {
  *stream = new Stream();
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream)
    return fail(cudaErrorInvalidResourceHandle);
  if (capturingStream == stream)
    capturingStream = nullptr;
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) {
  // Work ran when it was enqueued; waiting is legal except while capturing.
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t) {
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!stream || stream->capturing || capturingStream)
    return fail(cudaErrorInvalidValue);
  stream->capturing = true;
  stream->invalidated = false;
  stream->captured.clear();
  stream->graphMemory = std::make_shared<std::vector<void *>>();
  capturingStream = stream;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  if (!stream || !stream->capturing)
    return fail(cudaErrorStreamCaptureUnmatched);
  if (capturingStream != stream)
    return fail(cudaErrorStreamCaptureWrongThread);
  capturingStream = nullptr;
  stream->capturing = false;
  *graph = nullptr;
  auto memory = std::move(stream->graphMemory);
  if (stream->invalidated) {
    stream->captured.clear();
    {
      std::lock_guard<std::mutex> lock(graphMemoryMutex);
      for (void *pointer : *memory) {
        graphOwner.erase(pointer);
        release(pointer);
      }
    }
    return fail(cudaErrorStreamCaptureInvalidated);
  }
  *graph = new Graph{std::move(stream->captured), std::move(memory)};
  stream->captured.clear();
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long) {
  if (!graph)
    return fail(cudaErrorInvalidValue);
  *exec = new Graph{graph->work, graph->memory};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec)
    return fail(cudaErrorInvalidValue);
  for (const auto &work : exec->work)
    if (!submit(stream, work))
      return fail(cudaErrorStreamCaptureInvalidated);
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

//===----------------------------------------------------------------------===//
// Events
//===----------------------------------------------------------------------===//

cudaError_t cudaEventCreate(cudaEvent_t *event) {
  *event = new Event();
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event)
    return fail(cudaErrorInvalidResourceHandle);
  if (!submit(stream, [event]() {
        event->at = std::chrono::steady_clock::now();
        event->recorded = true;
      }))
    return fail(cudaErrorStreamCaptureInvalidated);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (cudaError_t error = refuseDuringCapture())
    return fail(error);
  return event ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start,
                                 cudaEvent_t end) {
  if (!start || !end)
    return fail(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return cudaSuccess;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

cudaError_t cudaFuncSetAttribute(const void *kernel, cudaFuncAttribute attr,
                                 int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      static_cast<size_t>(value) > kOptinSharedBytes)
    return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(kernelsMutex);
  kernels[kernel].maxDynamicShared = static_cast<size_t>(value);
  return cudaSuccess;
}

cudaError_t cudaFuncGetName(const char **name, const void *kernel) {
  std::lock_guard<std::mutex> lock(kernelsMutex);
  auto it = kernels.find(kernel);
  if (it == kernels.end() || !it->second.name)
    return fail(cudaErrorInvalidValue);
  *name = it->second.name;
  return cudaSuccess;
}
