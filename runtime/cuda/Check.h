//===- Check.h - CUDA, cuBLAS and cuFFT status checks -----------*- C++ -*-===//
//
// This file defines LOCO_CHECK: every CUDA runtime, cuBLASLt and cuFFT call
// of the backend goes through it, and a failure becomes the context's error
// ("file:line: call: name (description)") instead of an abort, so that
// locorun reports it like any other runtime error.
//
// Kernel launches are checked with checkLaunch at a LaunchSite: the file,
// line and function of the ABI kernel that enqueued them (helpers such as
// forEach take the site of their caller as a default argument). Kernel
// faults are asynchronous and surface at the next synchronisation; with
// LOCO_CUDA_SYNC=1 the context synchronises after every launch, so the error
// names the kernel that faulted and where it was launched.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_CHECK_H
#define LOCO_RUNTIME_CUDA_CHECK_H

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <string>

struct loco_context;

namespace loco::cuda {

/// The name of a status, for the message.
std::string statusName(cudaError_t status);
std::string statusName(cublasStatus_t status);
std::string statusName(cufftResult status);

inline bool succeeded(cudaError_t status) { return status == cudaSuccess; }
inline bool succeeded(cublasStatus_t status) {
  return status == CUBLAS_STATUS_SUCCESS;
}
inline bool succeeded(cufftResult status) { return status == CUFFT_SUCCESS; }

/// Records a failed call on the context (or, without one, nowhere: the
/// caller reports it).
void reportFailure(loco_context *ctx, const std::string &message);

/// Where a kernel or library call was enqueued: a default argument
/// `LaunchSite site = LaunchSite::here()` records its caller's position.
struct LaunchSite {
  const char *file;
  int line;
  const char *function;
  static constexpr LaunchSite
  here(const char *file = __builtin_FILE(), int line = __builtin_LINE(),
       const char *function = __builtin_FUNCTION()) {
    return {file, line, function};
  }
};

template <typename Status>
bool check(loco_context *ctx, Status status, const char *call, const char *file,
           int line) {
  if (succeeded(status))
    return true;
  reportFailure(ctx, std::string(file) + ":" + std::to_string(line) + ": " +
                         call + " failed: " + statusName(status));
  return false;
}

/// In the synchronous debug mode (LOCO_CUDA_SYNC=1), waits for the work
/// just enqueued at `site`: `kernel` (a __global__ function, named by its
/// demangled name) or else the library call `call`. False, and the
/// context's error naming both, when it faulted; true otherwise. Every
/// enqueued kernel, library call, copy and memset passes here, so this is
/// also where the context counts them (loco_context::enqueued).
bool synchronizeAfter(loco_context *ctx, const void *kernel, const char *call,
                      LaunchSite site);

/// Checks the launch of `kernel` just enqueued at `site` (a failure names
/// the kernel and the site).
bool checkLaunch(loco_context *ctx, const void *kernel, LaunchSite site);

/// Checks a library call that enqueues work (a cuBLASLt product, a cuFFT
/// transform), which returned `status`.
template <typename Status>
bool checkLaunch(loco_context *ctx, Status status, const char *call,
                 LaunchSite site) {
  return check(ctx, status, call, site.file, site.line) &&
         synchronizeAfter(ctx, nullptr, call, site);
}

} // namespace loco::cuda

/// Evaluates a CUDA/cuBLAS/cuFFT call; false (and the context's error set)
/// when it failed.
#define LOCO_CHECK(ctx, call)                                                  \
  ::loco::cuda::check((ctx), (call), #call, __FILE__, __LINE__)
/// Evaluates a CUDA call that enqueues work on the stream (an async copy or
/// memset): as LOCO_CHECK, and under LOCO_CUDA_SYNC=1 waits for it, so that
/// a fault in it is blamed on it and not on the next kernel.
#define LOCO_CHECK_ENQUEUE(ctx, call)                                          \
  (LOCO_CHECK(ctx, call) &&                                                    \
   ::loco::cuda::synchronizeAfter((ctx), nullptr, #call,                       \
                                  ::loco::cuda::LaunchSite::here()))
/// Checks the launch of `kernel` (a __global__ function) just enqueued here.
#define LOCO_CHECK_LAUNCH(ctx, kernel)                                         \
  ::loco::cuda::checkLaunch((ctx), reinterpret_cast<const void *>(kernel),     \
                            ::loco::cuda::LaunchSite::here())

#endif // LOCO_RUNTIME_CUDA_CHECK_H
