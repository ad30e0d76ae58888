//===- CudaEmulationTest.cpp - The CUDA emulation's own checks ------------===//
//
// The emulation layer (runtime/cuda/emu, docs/CUDA_EMULATION.md) against
// what CUDA specifies, with kernels written here and launched as the
// backend launches its own (LOCO_LAUNCH): a missing barrier shows as a
// wrong result, sm_90's launch limits and the shared memory opt-in refuse,
// shuffles and wmma compute what CUDA defines (against naive loops),
// capture records and replays and refuses what CUDA refuses, cuBLASLt and
// cuFFT check their arguments and compute against naive sums, and the
// faults CUDA leaves undefined (a divergent warp collective, a barrier a
// thread never reaches, an access past an allocation) stop the process
// with a message naming the kernel. NCCL has one rank, and a non-blocking
// communicator's collective is not there before it settles.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Launch.h"

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <mma.h>
#include <nccl.h>

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <vector>

namespace {

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

/// out[i] = the next thread's value, staged in shared memory, with or
/// without the barrier between the write and the read.
__global__ void rotate(int *out, bool barrier) {
  LOCO_DYNAMIC_SHARED(int, staged);
  int i = threadIdx.x;
  staged[i] = i;
  if (barrier)
    __syncthreads();
  out[i] = staged[(i + 1) % blockDim.x];
}

/// A warp's sum by a butterfly of __shfl_xor_sync, and a prefix pattern by
/// __shfl_down_sync.
__global__ void warpSums(const float *x, float *butterfly, float *down) {
  int i = threadIdx.x;
  float v = x[i];
  for (int mask = 16; mask > 0; mask /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, mask);
  butterfly[i] = v;
  down[i] = __shfl_down_sync(0xffffffffu, x[i], 3);
}

__global__ void addOne(float *x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i] += 1.0f;
}

__global__ void divergentShuffle(float *x) {
  float v = x[threadIdx.x];
  v = threadIdx.x < 16 ? __shfl_xor_sync(0xffffffffu, v, 1)
                       : __shfl_down_sync(0xffffffffu, v, 1);
  x[threadIdx.x] = v;
}

__global__ void earlyExit(float *x) {
  if (threadIdx.x == 5)
    return;
  __syncthreads();
  x[threadIdx.x] = 1.0f;
}

/// Writes just past an allocation of n floats (n = 1000: 4000 bytes, the
/// allocation rounded to 4096, so from element 1024 on).
__global__ void writePastEnd(float *x, int n) { x[n + 24 + threadIdx.x] = 1; }

/// C = A B for one 16 x 16 x 16 tile of bf16 on tensor cores.
__global__ void tileProduct(const __nv_bfloat16 *a, const __nv_bfloat16 *b,
                            float *c) {
  using namespace nvcuda;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
  wmma::fill_fragment(fc, 0.5f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(fc, fa, fb, fc);
  wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}

template <typename T> T *deviceCopy(const std::vector<T> &host) {
  T *dev = nullptr;
  EXPECT_EQ(cudaMalloc(&dev, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dev, host.data(), host.size() * sizeof(T),
                       cudaMemcpyHostToDevice),
            cudaSuccess);
  return dev;
}

template <typename T> std::vector<T> hostCopy(const T *dev, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpy(host.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost),
            cudaSuccess);
  return host;
}

//===----------------------------------------------------------------------===//
// Execution model
//===----------------------------------------------------------------------===//

TEST(CudaEmulation, AMissingBarrierShowsAsAWrongResult) {
  const int n = 256;
  int *out = nullptr;
  ASSERT_EQ(cudaMalloc(&out, n * sizeof(int)), cudaSuccess);
  int wrong[2] = {0, 0};
  for (int barrier : {0, 1}) {
    LOCO_LAUNCH(rotate, 1, n, n * sizeof(int), nullptr)(out, barrier != 0);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    std::vector<int> got = hostCopy(out, n);
    for (int i = 0; i < n; ++i)
      wrong[barrier] += got[i] != (i + 1) % n;
  }
  // Threads run in a shuffled order: without the barrier, about half read
  // a neighbour that has not written yet (shared memory starts as 0xff
  // bytes, -1 here); with it, none.
  EXPECT_GT(wrong[0], n / 8);
  EXPECT_EQ(wrong[1], 0);
  cudaFree(out);
}

TEST(CudaEmulation, ShufflesComputeWhatCudaDefines) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i)
    x[i] = static_cast<float>(i * i % 17);
  float *dx = deviceCopy(x), *butterfly = deviceCopy(x), *down = deviceCopy(x);
  LOCO_LAUNCH(warpSums, 1, 64, 0, nullptr)(dx, butterfly, down);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::vector<float> b = hostCopy(butterfly, 64), d = hostCopy(down, 64);
  for (int i = 0; i < 64; ++i) {
    float sum = 0;
    for (int l = i / 32 * 32; l < i / 32 * 32 + 32; ++l)
      sum += x[l];
    EXPECT_EQ(b[i], sum) << i;
    // A source lane beyond the warp: the lane's own value.
    EXPECT_EQ(d[i], i % 32 + 3 < 32 ? x[i + 3] : x[i]) << i;
  }
}

TEST(CudaEmulation, WmmaRoundsAndAccumulatesAsTensorCores) {
  std::vector<__nv_bfloat16> a(256), b(256);
  std::vector<float> fa(256), fb(256);
  for (int i = 0; i < 256; ++i) {
    fa[i] = std::sin(0.37f * i);
    fb[i] = std::cos(0.11f * i);
    a[i] = __float2bfloat16_rn(fa[i]);
    b[i] = __float2bfloat16_rn(fb[i]);
  }
  __nv_bfloat16 *da = deviceCopy(a), *db = deviceCopy(b);
  float *dc = nullptr;
  ASSERT_EQ(cudaMalloc(&dc, 256 * sizeof(float)), cudaSuccess);
  LOCO_LAUNCH(tileProduct, 1, 32, 0, nullptr)(da, db, dc);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::vector<float> c = hostCopy(dc, 256);
  // B is column-major: B(k, n) at b[n * 16 + k]. The bf16 products are
  // exact in fp32; the sums of 16 differ from double by rounding only.
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      double sum = 0.5;
      for (int k = 0; k < 16; ++k)
        sum += double(__bfloat162float(a[m * 16 + k])) *
               __bfloat162float(b[n * 16 + k]);
      EXPECT_NEAR(c[m * 16 + n], sum, 1e-5) << m << "," << n;
    }
}

TEST(CudaEmulation, HalfConversionsRoundToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values: to the even one, 1.
  EXPECT_EQ(__bfloat162float(__float2bfloat16_rn(1.0f + 0x1p-8f)), 1.0f);
  EXPECT_EQ(__bfloat162float(__float2bfloat16_rn(1.0f + 0x1.8p-7f)),
            1.0f + 0x1p-6f);
  EXPECT_TRUE(std::isnan(__bfloat162float(__float2bfloat16_rn(NAN))));
  // f16 keeps subnormals (2^-24 is the smallest).
  EXPECT_EQ(__half2float(__float2half_rn(0x1p-24f)), 0x1p-24f);
  EXPECT_EQ(__half2float(__float2half_rn(1.0f + 0x1p-11f)), 1.0f);
  EXPECT_EQ(nvcuda::wmma::__float_to_tf32(1.0f + 0x1p-11f), 1.0f + 0x1p-10f);
}

//===----------------------------------------------------------------------===//
// Launch limits and the runtime API
//===----------------------------------------------------------------------===//

TEST(CudaEmulation, LaunchesOutsideSm90sLimitsAreRefused) {
  float *x = nullptr;
  ASSERT_EQ(cudaMalloc(&x, 4096 * sizeof(float)), cudaSuccess);
  cudaGetLastError();
  LOCO_LAUNCH(addOne, 1, 1025, 0, nullptr)(x, 4096);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  LOCO_LAUNCH(addOne, dim3(1, 65536), 32, 0, nullptr)(x, 4096);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  // Dynamic shared memory above 48 KiB needs the opt-in; 227 KiB is the cap.
  LOCO_LAUNCH(rotate, 1, 32, 64 << 10, nullptr)(reinterpret_cast<int *>(x),
                                                true);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaFuncSetAttribute(
                rotate, cudaFuncAttributeMaxDynamicSharedMemorySize, 228 << 10),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  ASSERT_EQ(cudaFuncSetAttribute(
                rotate, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10),
            cudaSuccess);
  int line = __LINE__ + 1;
  LOCO_LAUNCH(rotate, 1, 32, 64 << 10, nullptr)(reinterpret_cast<int *>(x),
                                                true);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  // The kernel's name is its expression and source line.
  const char *name = nullptr;
  ASSERT_EQ(cudaFuncGetName(&name, reinterpret_cast<const void *>(rotate)),
            cudaSuccess);
  EXPECT_EQ(std::string(name), "rotate (tests/unit/CudaEmulationTest.cpp:" +
                                   std::to_string(line) + ")");
  cudaFree(x);
}

TEST(CudaEmulation, CopiesKeepTheirPitchLimitAndDirection) {
  float *x = nullptr;
  ASSERT_EQ(cudaMalloc(&x, 1 << 20), cudaSuccess);
  std::vector<float> host(16);
  // Pitches above 2^31 - 1 bytes are refused, whatever the allocation.
  EXPECT_EQ(cudaMemcpy2DAsync(x, size_t(1) << 31, x, 64, 64, 2,
                              cudaMemcpyDeviceToDevice, nullptr),
            cudaErrorInvalidPitchValue);
  // A host pointer where the kind says device, and the reverse.
  EXPECT_EQ(cudaMemcpy(x, host.data(), 64, cudaMemcpyDeviceToDevice),
            cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaMemcpy(host.data(), x, 64, cudaMemcpyHostToDevice),
            cudaErrorInvalidMemcpyDirection);
  cudaGetLastError();
  cudaFree(x);
}

TEST(CudaEmulation, CaptureRecordsReplaysAndRefusesWhatCudaRefuses) {
  std::vector<float> host(100, 0.0f);
  float *x = deviceCopy(host);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
            cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
            cudaSuccess);
  LOCO_LAUNCH(addOne, 1, 128, 0, stream)(x, 100);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  // Capture records: nothing ran.
  EXPECT_EQ(hostCopy(x, 100)[7], 0.0f);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  cudaGraphDestroy(graph);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  EXPECT_EQ(hostCopy(x, 100)[99], 3.0f);
  cudaGraphExecDestroy(exec);

  // cudaMalloc, a copy from host memory and a synchronisation break a
  // capture, which then ends invalidated.
  for (int call = 0; call < 3; ++call) {
    ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
              cudaSuccess);
    void *p = nullptr;
    cudaError_t status = call == 0 ? cudaMalloc(&p, 16)
                         : call == 1
                             ? cudaMemcpyAsync(x, host.data(), 16,
                                               cudaMemcpyHostToDevice, stream)
                             : cudaStreamSynchronize(stream);
    EXPECT_EQ(status, cudaErrorStreamCaptureUnsupported) << call;
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph),
              cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
  }
  cudaGetLastError();
  cudaStreamDestroy(stream);
  cudaFree(x);
}

//===----------------------------------------------------------------------===//
// cuBLASLt and cuFFT
//===----------------------------------------------------------------------===//

TEST(CudaEmulation, CublasLtChecksAndMultiplies) {
  // Column-major D (3 x 2) = 2 A (3 x 4) B (4 x 2) + 0.5 C.
  std::vector<float> a(12), b(8), c(6);
  for (int i = 0; i < 12; ++i)
    a[i] = 0.25f * i - 1;
  for (int i = 0; i < 8; ++i)
    b[i] = 0.5f * i + 0.125f;
  for (int i = 0; i < 6; ++i)
    c[i] = float(i);
  float *da = deviceCopy(a), *db = deviceCopy(b), *dc = deviceCopy(c);
  cublasLtHandle_t lt;
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t la, lb, lc;
  ASSERT_EQ(cublasLtCreate(&lt), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 3, 4, 3),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 4, 2, 4),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 3, 2, 3),
            CUBLAS_STATUS_SUCCESS);
  // An attribute of the wrong size is refused, saying why.
  int64_t wide = 2;
  cublasStatus_t status = cublasLtMatrixLayoutSetAttribute(
      la, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &wide, sizeof(wide));
  EXPECT_EQ(status, CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_NE(std::string(cublasLtGetStatusString(status)).find("BATCH_COUNT"),
            std::string::npos);
  cublasLtMatmulAlgo_t algo{};
  cublasLtMatmulHeuristicResult_t result{};
  cublasLtMatmulPreference_t pref;
  int found = 0;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1,
                                           &result, &found),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(found, 1);
  algo = result.algo;
  float alpha = 2, beta = 0.5f;
  ASSERT_EQ(cublasLtMatmul(lt, op, &alpha, da, la, db, lb, &beta, dc, lc, dc,
                           lc, &algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  std::vector<float> d = hostCopy(dc, 6);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      double sum = 0;
      for (int k = 0; k < 4; ++k)
        sum += double(a[k * 3 + i]) * b[j * 4 + k];
      EXPECT_NEAR(d[j * 3 + i], 2 * sum + 0.5 * c[j * 3 + i], 1e-5);
    }
  // The heuristic was promised 256-byte alignment: an operand 4 bytes in
  // is refused.
  EXPECT_EQ(cublasLtMatmul(lt, op, &alpha, da + 1, la, db, lb, &beta, dc, lc,
                           dc, lc, &algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  // Types, as cuBLASLt's table for CUBLAS_COMPUTE_32F has them: bf16 A and
  // B with an fp32 C and D is a problem (the CUDA convolutions' fp32 sums);
  // a bf16 C with fp32 A and B is not.
  cublasLtMatrixLayout_t la16, lb16, lc16;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&la16, CUDA_R_16BF, 3, 4, 3),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lb16, CUDA_R_16BF, 4, 2, 4),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lc16, CUDA_R_16BF, 3, 2, 3),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, op, la16, lb16, lc, lc, pref, 1,
                                           &result, &found),
            CUBLAS_STATUS_SUCCESS);
  status = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc16, lc16, pref, 1,
                                          &result, &found);
  EXPECT_EQ(status, CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(cublasLtGetStatusString(status)).find("fp32"),
            std::string::npos);
  for (auto *l : {la16, lb16, lc16})
    cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulPreferenceDestroy(pref);
  for (auto *l : {la, lb, lc})
    cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(op);
  cublasLtDestroy(lt);
}

TEST(CudaEmulation, CufftTransformsAndOverwritesTheC2RInput) {
  const int n = 12, bins = n / 2 + 1, batch = 2;
  std::vector<float> x(n * batch);
  for (int i = 0; i < n * batch; ++i)
    x[i] = std::sin(0.7f * i) + 0.1f * i;
  float *dx = deviceCopy(x), *back = deviceCopy(x);
  cufftComplex *spectrum = nullptr;
  ASSERT_EQ(cudaMalloc(&spectrum, bins * batch * sizeof(cufftComplex)),
            cudaSuccess);
  cufftHandle forward, inverse;
  int size = n;
  size_t work = 0;
  ASSERT_EQ(cufftCreate(&forward), CUFFT_SUCCESS);
  ASSERT_EQ(cufftMakePlanMany(forward, 1, &size, nullptr, 1, 0, nullptr, 1, 0,
                              CUFFT_R2C, batch, &work),
            CUFFT_SUCCESS);
  ASSERT_EQ(cufftExecR2C(forward, dx, spectrum), CUFFT_SUCCESS);
  std::vector<cufftComplex> s = hostCopy(spectrum, bins * batch);
  for (int b = 0; b < batch; ++b)
    for (int k = 0; k < bins; ++k) {
      std::complex<double> sum = 0;
      for (int t = 0; t < n; ++t)
        sum += double(x[b * n + t]) * std::polar(1.0, -2 * M_PI * k * t / n);
      EXPECT_NEAR(s[b * bins + k].x, sum.real(), 1e-4);
      EXPECT_NEAR(s[b * bins + k].y, sum.imag(), 1e-4);
    }
  // The imaginary parts of DC and Nyquist are not read; the input is
  // overwritten.
  s[0].y = 123.0f;
  s[bins - 1].y = -7.0f;
  ASSERT_EQ(cudaMemcpy(spectrum, s.data(), s.size() * sizeof(cufftComplex),
                       cudaMemcpyHostToDevice),
            cudaSuccess);
  ASSERT_EQ(cufftCreate(&inverse), CUFFT_SUCCESS);
  ASSERT_EQ(cufftMakePlanMany(inverse, 1, &size, nullptr, 1, 0, nullptr, 1, 0,
                              CUFFT_C2R, batch, &work),
            CUFFT_SUCCESS);
  // Without automatic allocation a plan needs its work area first.
  ASSERT_EQ(cufftSetAutoAllocation(inverse, 0), CUFFT_SUCCESS);
  EXPECT_EQ(cufftExecC2R(inverse, spectrum, back), CUFFT_INVALID_VALUE);
  void *area = nullptr;
  ASSERT_EQ(cudaMalloc(&area, work), cudaSuccess);
  ASSERT_EQ(cufftSetWorkArea(inverse, area), CUFFT_SUCCESS);
  ASSERT_EQ(cufftExecC2R(inverse, spectrum, back), CUFFT_SUCCESS);
  std::vector<float> y = hostCopy(back, n * batch);
  for (int i = 0; i < n * batch; ++i)
    EXPECT_NEAR(y[i] / n, x[i], 1e-4) << i;
  EXPECT_TRUE(std::isnan(hostCopy(spectrum, 1)[0].x));
  cufftDestroy(forward);
  cufftDestroy(inverse);
}

//===----------------------------------------------------------------------===//
// Faults: the process stops, naming the kernel
//===----------------------------------------------------------------------===//

TEST(CudaEmulation, NcclHasOneRankAndSettlesNonBlockingWorkWhenPolled) {
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  // One rank only, and an id that ncclGetUniqueId made.
  EXPECT_EQ(ncclCommInitRankConfig(&comm, 2, id, 0, &config), ncclInvalidUsage);
  EXPECT_NE(std::string(ncclGetLastError(nullptr)).find("one rank"),
            std::string::npos);
  ncclUniqueId zero{};
  EXPECT_EQ(ncclCommInitRankConfig(&comm, 1, zero, 0, &config),
            ncclInvalidArgument);
  // Initialisation settles on the second poll; a collective before that is
  // refused.
  ASSERT_EQ(ncclCommInitRankConfig(&comm, 1, id, 0, &config), ncclInProgress);
  ncclResult_t state = ncclSuccess;
  float *x = nullptr, *y = nullptr;
  ASSERT_EQ(cudaMalloc(&x, 64 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&y, 64 * sizeof(float)), cudaSuccess);
  EXPECT_EQ(ncclAllReduce(x, x, 64, ncclFloat, ncclSum, comm, nullptr),
            ncclInvalidUsage);
  ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  EXPECT_EQ(state, ncclInProgress);
  ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  EXPECT_EQ(state, ncclSuccess);

  std::vector<float> values(64), back(64);
  for (int i = 0; i < 64; ++i)
    values[i] = 0.5f * i - 3.0f;
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
            cudaSuccess);
  ASSERT_EQ(
      cudaMemcpy(x, values.data(), 64 * sizeof(float), cudaMemcpyHostToDevice),
      cudaSuccess);
  // In place, averaged over the one rank: in progress, and a copy ordered
  // before the collective settles finds no result (NaN), not the values.
  ASSERT_EQ(ncclAllReduce(x, x, 64, ncclFloat, ncclAvg, comm, stream),
            ncclInProgress);
  // The next call waits for this one to settle (NCCL's non-blocking rule).
  EXPECT_EQ(ncclAllReduce(y, y, 64, ncclFloat, ncclSum, comm, stream),
            ncclInvalidUsage);
  ASSERT_EQ(cudaMemcpyAsync(back.data(), x, 64 * sizeof(float),
                            cudaMemcpyDeviceToHost, stream),
            cudaSuccess);
  for (float v : back)
    EXPECT_TRUE(std::isnan(v));
  do
    ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  while (state == ncclInProgress);
  ASSERT_EQ(state, ncclSuccess);
  ASSERT_EQ(cudaMemcpyAsync(back.data(), x, 64 * sizeof(float),
                            cudaMemcpyDeviceToHost, stream),
            cudaSuccess);
  EXPECT_EQ(back, values);
  // Out of place, float64 sums; both buffers must be device memory.
  ASSERT_EQ(ncclAllReduce(x, y, 32, ncclFloat64, ncclSum, comm, stream),
            ncclInProgress);
  do
    ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  while (state == ncclInProgress);
  ASSERT_EQ(
      cudaMemcpy(back.data(), y, 64 * sizeof(float), cudaMemcpyDeviceToHost),
      cudaSuccess);
  EXPECT_EQ(back, values);
  // Finalized (polled), then destroyed; a finalized communicator refuses
  // collectives.
  ASSERT_EQ(ncclCommFinalize(comm), ncclInProgress);
  do
    ASSERT_EQ(ncclCommGetAsyncError(comm, &state), ncclSuccess);
  while (state == ncclInProgress);
  EXPECT_EQ(ncclAllReduce(x, x, 64, ncclFloat, ncclSum, comm, stream),
            ncclInvalidUsage);
  EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  EXPECT_EQ(ncclCommGetAsyncError(comm, &state), ncclInvalidArgument);
  cudaStreamDestroy(stream);
  cudaFree(x);
  cudaFree(y);
}

TEST(CudaEmulationDeathTest, ADivergentWarpCollectiveIsAFault) {
  float *x = deviceCopy(std::vector<float>(32, 1.0f));
  EXPECT_DEATH(
      {
        LOCO_LAUNCH(divergentShuffle, 1, 32, 0, nullptr)(x);
        cudaDeviceSynchronize();
      },
      "kernel divergentShuffle .*: divergent warp");
}

TEST(CudaEmulationDeathTest, AThreadThatSkipsABarrierIsAFault) {
  float *x = deviceCopy(std::vector<float>(64, 0.0f));
  // Either order is a fault: the thread exits first, or others wait first
  // (earlier launches move the thread order on).
  for (int earlier = 0; earlier < 4; ++earlier)
    EXPECT_DEATH(
        {
          for (int i = 0; i < earlier; ++i)
            LOCO_LAUNCH(addOne, 1, 64, 0, nullptr)(x, 64);
          LOCO_LAUNCH(earlyExit, 1, 64, 0, nullptr)(x);
        },
        "kernel earlyExit .*: (a thread exited while .* wait at "
        "__syncthreads|__syncthreads reached after another thread of the "
        "block exited)");
}

TEST(CudaEmulationDeathTest, AnAccessPastAnAllocationNamesTheKernel) {
  float *x = deviceCopy(std::vector<float>(1000, 0.0f));
  EXPECT_DEATH(LOCO_LAUNCH(writePastEnd, 1, 64, 0, nullptr)(x, 1000),
               "illegal address .* in kernel writePastEnd .*block \\(0, 0, "
               "0\\), thread .*: 0x[0-9a-f]+ is [0-9]+ bytes past the end of "
               "an allocation of 4000 bytes");
}

} // namespace
