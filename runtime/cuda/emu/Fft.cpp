//===- Fft.cpp - cuFFT's batched real transforms through FFTW -------------===//
//
// This file implements Fft.h for rank-1 transforms in cufftMakePlanMany's
// advanced layout (element x of transform b at b * dist + x * stride; with
// null embeds, the basic layout of contiguous transforms). Each execution
// plans nothing: the FFTW plan (FFTW_ESTIMATE | FFTW_UNALIGNED, made with
// the cuFFT plan) runs on copies of the transforms in FFTW's layout.
//
// The work area reported is not cuFFT's (it depends on cuFFT's choice of
// algorithm): the emulation reports one complex value per output element,
// so that the backend's check against its fixed workspace runs, and checks
// that an execution has a device work area of that size.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Fft.h"
#include "runtime/cuda/emu/Emulator.h"

#include <fftw3.h>

#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

using namespace loco::emu;

namespace {

struct Plan {
  bool made = false, autoAllocate = true;
  cufftType type = CUFFT_R2C;
  int n = 0, batch = 0;
  int istride = 1, idist = 0, ostride = 1, odist = 0;
  size_t workBytes = 0;
  void *workArea = nullptr;
  cudaStream_t stream = nullptr;
  fftwf_plan fftw = nullptr;
};

std::mutex mutex;
std::map<cufftHandle, Plan> plans;
cufftHandle nextHandle = 1;

Plan *find(cufftHandle handle) {
  auto it = plans.find(handle);
  return it == plans.end() ? nullptr : &it->second;
}

/// Sets what `set` sets on plan `handle`; CUFFT_INVALID_PLAN when there is
/// no such plan.
template <typename Set> cufftResult updatePlan(cufftHandle handle, Set set) {
  std::lock_guard<std::mutex> lock(mutex);
  Plan *plan = find(handle);
  if (!plan)
    return CUFFT_INVALID_PLAN;
  set(*plan);
  return CUFFT_SUCCESS;
}

/// The bytes from element 0 to past element (batch - 1) * dist + (count -
/// 1) * stride, where b * dist + x * stride is element x of transform b.
uint64_t spanBytes(int batch, int dist, int count, int stride,
                   size_t elementBytes) {
  uint64_t last = uint64_t(batch - 1) * dist + uint64_t(count - 1) * stride;
  return (last + 1) * elementBytes;
}

cufftResult execute(cufftHandle handle, void *in, void *out, bool inverse) {
  const char *call = inverse ? "cufftExecC2R" : "cufftExecR2C";
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(mutex);
    Plan *found = find(handle);
    if (!found || !found->made)
      return CUFFT_INVALID_PLAN;
    plan = *found;
  }
  if ((plan.type == CUFFT_C2R) != inverse)
    return CUFFT_INVALID_TYPE;
  if (!plan.autoAllocate) {
    if (!plan.workArea)
      return CUFFT_INVALID_VALUE; // no work area was set
    requireDeviceRange(call, "the work area", plan.workArea, plan.workBytes);
  }
  int bins = plan.n / 2 + 1;
  int inCount = inverse ? bins : plan.n, outCount = inverse ? plan.n : bins;
  size_t inBytes = inverse ? sizeof(cufftComplex) : sizeof(float);
  size_t outBytes = inverse ? sizeof(float) : sizeof(cufftComplex);
  requireDeviceRange(
      call, "the input", in,
      spanBytes(plan.batch, plan.idist, inCount, plan.istride, inBytes));
  requireDeviceRange(
      call, "the output", out,
      spanBytes(plan.batch, plan.odist, outCount, plan.ostride, outBytes));
  bool ok = submit(plan.stream, [=]() {
    if (dryRun())
      return;
    setActivity(call);
    int n = plan.n;
    std::vector<float> real(n);
    std::vector<fftwf_complex> spectrum(bins);
    for (int b = 0; b < plan.batch; ++b) {
      if (inverse) {
        auto *src = static_cast<cufftComplex *>(in) + int64_t(b) * plan.idist;
        for (int x = 0; x < bins; ++x) {
          spectrum[x][0] = src[int64_t(x) * plan.istride].x;
          spectrum[x][1] = src[int64_t(x) * plan.istride].y;
        }
        // A Hermitian spectrum's DC and Nyquist bins are real: their
        // imaginary parts are not read.
        spectrum[0][1] = 0.0f;
        if (n % 2 == 0)
          spectrum[n / 2][1] = 0.0f;
        fftwf_execute_dft_c2r(plan.fftw, spectrum.data(), real.data());
        auto *dst = static_cast<float *>(out) + int64_t(b) * plan.odist;
        for (int x = 0; x < n; ++x)
          dst[int64_t(x) * plan.ostride] = real[x];
      } else {
        auto *src = static_cast<float *>(in) + int64_t(b) * plan.idist;
        for (int x = 0; x < n; ++x)
          real[x] = src[int64_t(x) * plan.istride];
        fftwf_execute_dft_r2c(plan.fftw, real.data(), spectrum.data());
        auto *dst = static_cast<cufftComplex *>(out) + int64_t(b) * plan.odist;
        for (int x = 0; x < bins; ++x)
          dst[int64_t(x) * plan.ostride] = {spectrum[x][0], spectrum[x][1]};
      }
    }
    // cuFFT's out-of-place C2R overwrites its input: a caller that reads
    // the spectrum afterwards reads garbage here too (not in place: the
    // input is the output).
    if (inverse && in != out)
      for (int b = 0; b < plan.batch; ++b)
        for (int x = 0; x < bins; ++x)
          static_cast<cufftComplex *>(
              in)[int64_t(b) * plan.idist + int64_t(x) * plan.istride] = {
              std::numeric_limits<float>::quiet_NaN(),
              std::numeric_limits<float>::quiet_NaN()};
    setActivity(nullptr);
  });
  return ok ? CUFFT_SUCCESS : CUFFT_EXEC_FAILED;
}

} // namespace

cufftResult cufftCreate(cufftHandle *plan) {
  std::lock_guard<std::mutex> lock(mutex);
  *plan = nextHandle++;
  plans[*plan] = Plan();
  return CUFFT_SUCCESS;
}

cufftResult cufftDestroy(cufftHandle handle) {
  std::lock_guard<std::mutex> lock(mutex);
  Plan *plan = find(handle);
  if (!plan)
    return CUFFT_INVALID_PLAN;
  if (plan->fftw)
    fftwf_destroy_plan(plan->fftw);
  plans.erase(handle);
  return CUFFT_SUCCESS;
}

cufftResult cufftSetAutoAllocation(cufftHandle handle, int autoAllocate) {
  return updatePlan(handle,
                    [&](Plan &plan) { plan.autoAllocate = autoAllocate != 0; });
}

cufftResult cufftMakePlanMany(cufftHandle handle, int rank, int *n,
                              int *inembed, int istride, int idist,
                              int *onembed, int ostride, int odist,
                              cufftType type, int batch, size_t *workSize) {
  // Plans are made before capture: cuFFT's planning allocates and
  // synchronises.
  if (refuseDuringCapture() != cudaSuccess)
    return CUFFT_SETUP_FAILED;
  std::lock_guard<std::mutex> lock(mutex);
  Plan *plan = find(handle);
  if (!plan)
    return CUFFT_INVALID_PLAN;
  if (rank != 1)
    return CUFFT_NOT_SUPPORTED; // the backend's transforms are 1-D
  if (type != CUFFT_R2C && type != CUFFT_C2R)
    return CUFFT_INVALID_TYPE;
  if (!n || n[0] < 1 || batch < 1)
    return CUFFT_INVALID_SIZE;
  int size = n[0], bins = size / 2 + 1;
  int inLength = type == CUFFT_R2C ? size : bins;
  int outLength = type == CUFFT_R2C ? bins : size;
  // Null embeds: the basic layout, strides and distances ignored.
  if (!inembed || !onembed) {
    istride = ostride = 1;
    idist = inLength;
    odist = outLength;
  } else if (istride < 1 || ostride < 1 || idist < 1 || odist < 1) {
    // (For rank 1 the embeds' first extent is not read: the distances
    // carry it.)
    return CUFFT_INVALID_VALUE;
  }
  std::vector<float> real(size);
  std::vector<fftwf_complex> spectrum(bins);
  unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
  fftwf_plan fftw =
      type == CUFFT_R2C
          ? fftwf_plan_dft_r2c_1d(size, real.data(), spectrum.data(), flags)
          : fftwf_plan_dft_c2r_1d(size, spectrum.data(), real.data(), flags);
  if (!fftw)
    return CUFFT_SETUP_FAILED;
  if (plan->fftw)
    fftwf_destroy_plan(plan->fftw);
  plan->fftw = fftw;
  plan->made = true;
  plan->type = type;
  plan->n = size;
  plan->batch = batch;
  plan->istride = istride;
  plan->idist = idist;
  plan->ostride = ostride;
  plan->odist = odist;
  plan->workBytes = size_t(batch) * outLength * sizeof(cufftComplex);
  if (workSize)
    *workSize = plan->workBytes;
  return CUFFT_SUCCESS;
}

cufftResult cufftSetWorkArea(cufftHandle handle, void *workArea) {
  return updatePlan(handle, [&](Plan &plan) { plan.workArea = workArea; });
}

cufftResult cufftSetStream(cufftHandle handle, cudaStream_t stream) {
  return updatePlan(handle, [&](Plan &plan) { plan.stream = stream; });
}

cufftResult cufftExecR2C(cufftHandle plan, cufftReal *in, cufftComplex *out) {
  return execute(plan, in, out, false);
}

cufftResult cufftExecC2R(cufftHandle plan, cufftComplex *in, cufftReal *out) {
  return execute(plan, in, out, true);
}
