//===- Check.h - CUDA, cuBLAS and cuFFT status checks -----------*- C++ -*-===//
//
// This file defines LOCO_CHECK: every CUDA runtime, cuBLASLt and cuFFT call
// of the backend goes through it, and a failure becomes the context's error
// ("file:line: call: name (description)") instead of an abort, so that
// locorun reports it like any other runtime error.
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

template <typename Status>
bool check(loco_context *ctx, Status status, const char *call, const char *file,
           int line) {
  if (succeeded(status))
    return true;
  reportFailure(ctx, std::string(file) + ":" + std::to_string(line) + ": " +
                         call + " failed: " + statusName(status));
  return false;
}

} // namespace loco::cuda

/// Evaluates a CUDA/cuBLAS/cuFFT call; false (and the context's error set)
/// when it failed.
#define LOCO_CHECK(ctx, call)                                                  \
  ::loco::cuda::check((ctx), (call), #call, __FILE__, __LINE__)
/// Checks the launch of the kernel just enqueued.
#define LOCO_CHECK_LAUNCH(ctx) LOCO_CHECK((ctx), cudaGetLastError())

#endif // LOCO_RUNTIME_CUDA_CHECK_H
