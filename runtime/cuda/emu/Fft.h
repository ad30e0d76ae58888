//===- Fft.h - cuFFT's batched real transforms, emulated --------*- C++ -*-===//
//
// This file declares the part of cuFFT (cufft.h) the backend calls: plans
// made with cufftMakePlanMany for rank-1 R2C and C2R transforms, caller
// work areas, streams, and the two executions. Fft.cpp computes them with
// FFTW and does what cuFFT documents doing: a C2R transform reads the
// spectrum as Hermitian (the imaginary parts of the DC and Nyquist bins are
// ignored) and overwrites its input; a plan without automatic allocation
// needs its work area set before it runs; plans cannot be made while a
// stream is captured.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_FFT_H
#define LOCO_RUNTIME_CUDA_EMU_FFT_H

#include "runtime/cuda/emu/Runtime.h"

enum cufftResult {
  CUFFT_SUCCESS = 0,
  CUFFT_INVALID_PLAN = 1,
  CUFFT_ALLOC_FAILED = 2,
  CUFFT_INVALID_TYPE = 3,
  CUFFT_INVALID_VALUE = 4,
  CUFFT_INTERNAL_ERROR = 5,
  CUFFT_EXEC_FAILED = 6,
  CUFFT_SETUP_FAILED = 7,
  CUFFT_INVALID_SIZE = 8,
  CUFFT_NOT_SUPPORTED = 16,
};

enum cufftType { CUFFT_R2C = 0x2a, CUFFT_C2R = 0x2c };

using cufftHandle = int;
using cufftReal = float;
struct cufftComplex {
  float x, y;
};
/// cuComplex.h's constructor (cufft.h includes it).
inline cufftComplex make_cuFloatComplex(float x, float y) { return {x, y}; }

cufftResult cufftCreate(cufftHandle *plan);
cufftResult cufftDestroy(cufftHandle plan);
cufftResult cufftSetAutoAllocation(cufftHandle plan, int autoAllocate);
cufftResult cufftMakePlanMany(cufftHandle plan, int rank, int *n, int *inembed,
                              int istride, int idist, int *onembed, int ostride,
                              int odist, cufftType type, int batch,
                              size_t *workSize);
cufftResult cufftSetWorkArea(cufftHandle plan, void *workArea);
cufftResult cufftSetStream(cufftHandle plan, cudaStream_t stream);
cufftResult cufftExecR2C(cufftHandle plan, cufftReal *in, cufftComplex *out);
cufftResult cufftExecC2R(cufftHandle plan, cufftComplex *in, cufftReal *out);

#endif // LOCO_RUNTIME_CUDA_EMU_FFT_H
