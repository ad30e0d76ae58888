//===- Attention.cu - Fused attention on CUDA -----------------------------===//
//
// This file implements loco_flash_attention and its backward in the manner
// of FlashAttention-2, for the small head dims of TF-Locoformer (d and dv up
// to 64, any L):
//  - forward: one block per (batch entry, 64 query rows), placed on grid.x
//    (batch = rows x heads reaches B * F * heads > 65535, which grid.y or
//    grid.z cannot hold); key tiles of 64 stream through shared memory with
//    an online softmax; the log-sum-exp is saved.
//  - backward: one kernel per key tile accumulates dK and dV over every
//    query tile, another per query tile accumulates dQ over every key tile;
//    both recompute the probabilities from the log-sum-exp and regenerate
//    the dropout mask from Philox (the same draws as the forward and the CPU
//    backend), so nothing L x L is stored and no atomics are needed.
// The tile products run on tensor cores at the context's matmul precision
// (wmma: TF32 m16n16k8, or BF16 / FP16 m16n16k16 from rounded copies of the
// operands), accumulating in fp32, and as fp32 FMAs at LOCO_MATMUL_FP32
// (golden parity).
//
//===----------------------------------------------------------------------===//

#include "runtime/Philox.h"
#include "runtime/abi/CudaLimits.h"
#include "runtime/cuda/Half.cuh"
#include "runtime/cuda/Reduce.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <type_traits>

using namespace loco::cuda;

namespace {

constexpr int kRows = 64; // query rows per tile
constexpr int kCols = 64; // keys per tile
constexpr int kThreadsPerBlock = 128;
static_assert(kRows == loco::cuda_limits::kAttentionRows &&
                  kCols == loco::cuda_limits::kAttentionRows,
              "the row tiles the compiler's limit check counts");
static_assert(loco::cuda_limits::kMaxHeadDim <= kCols,
              "the 16-bit stage tiles hold kCols + 8 columns of a head");
constexpr int kLdS = kCols + 4; // score tile leading dimension

/// The dropout of the probabilities (b, i, j): each is kept (times
/// 1 / (1 - p)) where the uniform Philox draws for its index is at least p.
struct Dropout {
  const StepState *state;
  uint64_t stream, offset;
  float p, keepScale;
  int64_t Lq, Lk;
  bool enabled; // p > 0 and a stream; training is read on the device
};

/// The factors of consecutive elements of a row, (b, i, j), (b, i, j + 1),
/// ...: a Philox block's four outputs serve four consecutive indices
/// (Philox.h), so a run of n elements draws about n / 4 + 1 blocks instead
/// of n. The draws are philoxUniform's, the CPU's.
struct DropoutRun {
  const Dropout &dropout;
  uint64_t block = ~uint64_t(0);
  loco::PhiloxOut draws{};
  __device__ explicit DropoutRun(const Dropout &dropout) : dropout(dropout) {}
  __device__ float factor(int64_t b, int64_t i, int64_t j) {
    if (!dropout.enabled || !dropout.state->training)
      return 1.0f;
    uint64_t index = (static_cast<uint64_t>(b) * dropout.Lq + i) * dropout.Lk +
                     j + dropout.offset;
    if (index >> 2 != block) {
      block = index >> 2;
      draws = loco::philoxBlock(dropout.state->seed, dropout.state->step,
                                dropout.stream, block);
    }
    // A select rather than draws.v[index & 3]: a run-time index would put
    // the block in local memory.
    uint32_t bits = index & 2 ? (index & 1 ? draws.v[3] : draws.v[2])
                              : (index & 1 ? draws.v[1] : draws.v[0]);
    return loco::philoxToUniform(bits) >= dropout.p ? dropout.keepScale : 0.0f;
  }
};

/// Shared memory for the 16-bit copies of two tile operands (64 rows of up
/// to loco::cuda_limits::kMaxHeadDim + 8 or kCols + 8 elements each).
constexpr int kStageElements = 64 * (kCols + 8);
constexpr int kStageFloats = 2 * kStageElements / 2;

/// C (+)= op(A) op(B) for tiles in shared memory: M x K times K x N, M and N
/// multiples of 16, K of 16. transA: A is stored K x M; transB: B is N x K.
/// kMath (LOCO_MATMUL_*) picks fp32 FMAs or tensor cores (wmma) with TF32,
/// BF16 or FP16 inputs and fp32 accumulation; the 16-bit kinds first copy
/// both operands, rounded, into `stage`.
template <int kMath>
__device__ void tileGemm(const float *A, int lda, bool transA, const float *B,
                         int ldb, bool transB, float *C, int ldc, int M, int N,
                         int K, bool accumulate, void *stage);

/// The stage's floats at the start of a kernel's shared memory (none for
/// the fp32 and TF32 paths).
template <int kMath> __host__ __device__ constexpr int stageFloats() {
  return kMath == LOCO_MATMUL_BF16 || kMath == LOCO_MATMUL_FP16 ? kStageFloats
                                                                : 0;
}

/// The wmma tiles of C, each warp taking every (warps)-th 16 x 16 tile;
/// `load` converts fragment elements where the input type needs it.
template <typename In, int kK, typename LayoutA, typename LayoutB,
          typename Precision>
__device__ void wmmaTiles(const In *A, int lda, bool transA, const In *B,
                          int ldb, bool transB, float *C, int ldc, int M, int N,
                          int K, bool accumulate) {
  using namespace nvcuda;
  int warp = threadIdx.x / 32, warps = blockDim.x / 32;
  int tilesN = N / 16;
  for (int t = warp; t < (M / 16) * tilesN; t += warps) {
    int m0 = t / tilesN * 16, n0 = t % tilesN * 16;
    wmma::fragment<wmma::accumulator, 16, 16, kK, float> c;
    if (accumulate)
      wmma::load_matrix_sync(c, C + m0 * ldc + n0, ldc, wmma::mem_row_major);
    else
      wmma::fill_fragment(c, 0.0f);
    for (int k0 = 0; k0 < K; k0 += kK) {
      wmma::fragment<wmma::matrix_a, 16, 16, kK, Precision, LayoutA> a;
      wmma::fragment<wmma::matrix_b, 16, 16, kK, Precision, LayoutB> b;
      wmma::load_matrix_sync(a, transA ? A + k0 * lda + m0 : A + m0 * lda + k0,
                             lda);
      wmma::load_matrix_sync(b, transB ? B + n0 * ldb + k0 : B + k0 * ldb + n0,
                             ldb);
      if constexpr (std::is_same_v<Precision, wmma::precision::tf32>) {
        for (int i = 0; i < a.num_elements; ++i)
          a.x[i] = wmma::__float_to_tf32(a.x[i]);
        for (int i = 0; i < b.num_elements; ++i)
          b.x[i] = wmma::__float_to_tf32(b.x[i]);
      }
      wmma::mma_sync(c, a, b, c);
    }
    wmma::store_matrix_sync(C + m0 * ldc + n0, c, ldc, wmma::mem_row_major);
  }
}

template <typename In, int kK, typename Precision>
__device__ void wmmaGemm(const In *A, int lda, bool transA, const In *B,
                         int ldb, bool transB, float *C, int ldc, int M, int N,
                         int K, bool accumulate) {
  using nvcuda::wmma::col_major;
  using nvcuda::wmma::row_major;
  if (!transA && !transB)
    wmmaTiles<In, kK, row_major, row_major, Precision>(
        A, lda, false, B, ldb, false, C, ldc, M, N, K, accumulate);
  else if (!transA && transB)
    wmmaTiles<In, kK, row_major, col_major, Precision>(
        A, lda, false, B, ldb, true, C, ldc, M, N, K, accumulate);
  else if (transA && !transB)
    wmmaTiles<In, kK, col_major, row_major, Precision>(
        A, lda, true, B, ldb, false, C, ldc, M, N, K, accumulate);
  else
    wmmaTiles<In, kK, col_major, col_major, Precision>(
        A, lda, true, B, ldb, true, C, ldc, M, N, K, accumulate);
}

template <typename T> __device__ T roundTo(float x);
template <> __device__ __nv_bfloat16 roundTo(float x) {
  return __float2bfloat16(x);
}
template <> __device__ __half roundTo(float x) { return __float2half(x); }

/// The 16-bit path: operands rounded into `stage` (leading dims padded to
/// multiples of 8 elements, as wmma needs), then m16n16k16 products.
template <typename T>
__device__ void halfTileGemm(const float *A, int lda, bool transA,
                             const float *B, int ldb, bool transB, float *C,
                             int ldc, int M, int N, int K, bool accumulate,
                             void *stage) {
  T *sa = static_cast<T *>(stage), *sb = sa + kStageElements;
  int ldsa = (lda + 7) / 8 * 8, ldsb = (ldb + 7) / 8 * 8;
  int aRows = transA ? K : M, aCols = transA ? M : K;
  int bRows = transB ? N : K, bCols = transB ? K : N;
  for (int idx = threadIdx.x; idx < aRows * aCols; idx += blockDim.x)
    sa[idx / aCols * ldsa + idx % aCols] =
        roundTo<T>(A[idx / aCols * lda + idx % aCols]);
  for (int idx = threadIdx.x; idx < bRows * bCols; idx += blockDim.x)
    sb[idx / bCols * ldsb + idx % bCols] =
        roundTo<T>(B[idx / bCols * ldb + idx % bCols]);
  __syncthreads();
  wmmaGemm<T, 16, T>(sa, ldsa, transA, sb, ldsb, transB, C, ldc, M, N, K,
                     accumulate);
  __syncthreads(); // the stage is reused by the next product
}

template <int kMath>
__device__ void tileGemm(const float *A, int lda, bool transA, const float *B,
                         int ldb, bool transB, float *C, int ldc, int M, int N,
                         int K, bool accumulate, void *stage) {
  if constexpr (kMath == LOCO_MATMUL_TF32) {
    wmmaGemm<float, 8, nvcuda::wmma::precision::tf32>(
        A, lda, transA, B, ldb, transB, C, ldc, M, N, K, accumulate);
  } else if constexpr (kMath == LOCO_MATMUL_BF16) {
    halfTileGemm<__nv_bfloat16>(A, lda, transA, B, ldb, transB, C, ldc, M, N, K,
                                accumulate, stage);
  } else if constexpr (kMath == LOCO_MATMUL_FP16) {
    halfTileGemm<__half>(A, lda, transA, B, ldb, transB, C, ldc, M, N, K,
                         accumulate, stage);
  } else {
    for (int idx = threadIdx.x; idx < M * N; idx += blockDim.x) {
      int m = idx / N, n = idx % N;
      float sum = 0.0f;
      for (int k = 0; k < K; ++k)
        sum += (transA ? A[k * lda + m] : A[m * lda + k]) *
               (transB ? B[n * ldb + k] : B[k * ldb + n]);
      C[m * ldc + n] = accumulate ? C[m * ldc + n] + sum : sum;
    }
  }
}

/// Loads rows [r0, r0 + 64) of a [rows, width] matrix of storage H into a
/// 64 x ld fp32 tile, zero beyond the matrix (rows) and beyond width (up to
/// the padded dim).
template <typename H>
__device__ void loadTile(float *tile, int ld, const typename H::Storage *src,
                         int64_t r0, int64_t rows, int64_t width, int padded) {
  for (int idx = threadIdx.x; idx < 64 * padded; idx += blockDim.x) {
    int r = idx / padded, x = idx % padded;
    tile[r * ld + x] = (r0 + r < rows && x < width)
                           ? H::load(src[(r0 + r) * width + x])
                           : 0.0f;
  }
}

__device__ void zeroTile(float *tile, int ld, int padded) {
  for (int idx = threadIdx.x; idx < 64 * padded; idx += blockDim.x)
    tile[idx / padded * ld + idx % padded] = 0.0f;
}

template <int kMath, typename H, typename T = typename H::Storage>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flashForward(const T *q, const T *k, const T *v, T *out, float *lse,
                 int64_t Lq, int64_t Lk, int d, int dv, int D, float scale,
                 Dropout dropout) {
  LOCO_DYNAMIC_SHARED(float, smem);
  int ld = D + 4;
  void *stage = smem;
  float *Qs = smem + stageFloats<kMath>(), *Ks = Qs + 64 * ld,
        *Vs = Ks + 64 * ld, *S = Vs + 64 * ld;
  float *O = S + 64 * kLdS, *corr = O + 64 * ld;
  int64_t qTiles = (Lq + kRows - 1) / kRows;
  int64_t b = blockIdx.x / qTiles, i0 = blockIdx.x % qTiles * kRows;
  loadTile<H>(Qs, ld, q + b * Lq * d, i0, Lq, d, D);
  zeroTile(O, ld, D);
  // Two threads per row; each pair keeps the row's running max and sum.
  int row = threadIdx.x / 2, half = threadIdx.x % 2;
  float mRow = -INFINITY, lRow = 0.0f;
  for (int64_t j0 = 0; j0 < Lk; j0 += kCols) {
    loadTile<H>(Ks, ld, k + b * Lk * d, j0, Lk, d, D);
    loadTile<H>(Vs, ld, v + b * Lk * dv, j0, Lk, dv, D);
    __syncthreads();
    tileGemm<kMath>(Qs, ld, false, Ks, ld, true, S, kLdS, kRows, kCols, D,
                    false, stage);
    __syncthreads();
    float *sRow = S + row * kLdS + half * 32;
    float blockMax = -INFINITY;
    for (int c = 0; c < 32; ++c) {
      bool valid = j0 + half * 32 + c < Lk;
      float s = valid ? sRow[c] * scale : -INFINITY;
      sRow[c] = s;
      blockMax = fmaxf(blockMax, s);
    }
    blockMax = fmaxf(blockMax, __shfl_xor_sync(0xffffffffu, blockMax, 1));
    float mNew = fmaxf(mRow, blockMax);
    float correction = expf(mRow - mNew), sum = 0.0f;
    DropoutRun run(dropout);
    for (int c = 0; c < 32; ++c) {
      float e = expf(sRow[c] - mNew);
      sum += e;
      sRow[c] = e * run.factor(b, i0 + row, j0 + half * 32 + c);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    lRow = lRow * correction + sum;
    mRow = mNew;
    if (half == 0)
      corr[row] = correction;
    __syncthreads();
    for (int idx = threadIdx.x; idx < 64 * D; idx += blockDim.x)
      O[idx / D * ld + idx % D] *= corr[idx / D];
    __syncthreads();
    tileGemm<kMath>(S, kLdS, false, Vs, ld, false, O, ld, kRows, D, kCols, true,
                    stage);
    __syncthreads();
  }
  int64_t i = i0 + row;
  if (i < Lq) {
    float inv = 1.0f / lRow;
    for (int x = half; x < dv; x += 2)
      out[(b * Lq + i) * dv + x] = H::store(O[row * ld + x] * inv);
    if (half == 0)
      lse[b * Lq + i] = mRow + logf(lRow);
  }
}

/// D_i = dO_i . O_i for the 64 rows of a query tile (threads 0..63).
template <typename H, typename T = typename H::Storage>
__device__ void rowDeltas(float *delta, float *lseTile, const T *out,
                          const T *dout, const float *lse, int64_t b,
                          int64_t i0, int64_t Lq, int dv) {
  int r = threadIdx.x;
  if (r < 64) {
    int64_t i = i0 + r;
    float sum = 0.0f;
    if (i < Lq)
      for (int x = 0; x < dv; ++x)
        sum += H::load(dout[(b * Lq + i) * dv + x]) *
               H::load(out[(b * Lq + i) * dv + x]);
    delta[r] = sum;
    lseTile[r] = i < Lq ? lse[b * Lq + i] : INFINITY;
  }
}

/// From S = Q K^T and dP~ = dO V^T of a (query tile, key tile) pair: S
/// becomes the dropped probabilities P~ and dS the score gradient.
__device__ void scoreGradients(float *S, float *dS, const float *lseTile,
                               const float *delta, int64_t b, int64_t i0,
                               int64_t j0, int64_t Lq, int64_t Lk, float scale,
                               const Dropout &dropout) {
  // Each thread takes four adjacent columns of a row at a time, so that
  // their dropout draws share Philox blocks, as one 16-byte access (a row
  // of kLdS floats is a multiple of 16 bytes): a warp's accesses are then
  // free of bank conflicts.
  static_assert(kLdS % 4 == 0, "16-byte rows of the score tiles");
  for (int idx = threadIdx.x; idx < 64 * 16; idx += blockDim.x) {
    int r = idx / 16, c0 = idx % 16 * 4;
    float4 *sAt = reinterpret_cast<float4 *>(S + r * kLdS + c0);
    float4 *dsAt = reinterpret_cast<float4 *>(dS + r * kLdS + c0);
    float4 s4 = *sAt, d4 = *dsAt;
    float s[4] = {s4.x, s4.y, s4.z, s4.w}, ds[4] = {d4.x, d4.y, d4.z, d4.w};
    DropoutRun run(dropout);
    for (int e = 0; e < 4; ++e) {
      bool valid = i0 + r < Lq && j0 + c0 + e < Lk;
      float prob = valid ? expf(s[e] * scale - lseTile[r]) : 0.0f;
      float keep = valid ? run.factor(b, i0 + r, j0 + c0 + e) : 0.0f;
      s[e] = prob * keep;
      ds[e] = prob * (ds[e] * keep - delta[r]) * scale;
    }
    *sAt = make_float4(s[0], s[1], s[2], s[3]);
    *dsAt = make_float4(ds[0], ds[1], ds[2], ds[3]);
  }
}

/// The score tiles of a (query tile, key tile) pair from the Q, dO, K and V
/// tiles: S = Q K^T, dP~ = dO V^T, then (scoreGradients) S becomes P~ and dS
/// the score gradient. Ends synchronised.
template <int kMath>
__device__ void pairGradients(const float *Qs, const float *dOs,
                              const float *Ks, const float *Vs, int ld, int D,
                              float *S, float *dS, const float *lseTile,
                              const float *delta, int64_t b, int64_t i0,
                              int64_t j0, int64_t Lq, int64_t Lk, float scale,
                              const Dropout &dropout, void *stage) {
  tileGemm<kMath>(Qs, ld, false, Ks, ld, true, S, kLdS, kRows, kCols, D, false,
                  stage);
  tileGemm<kMath>(dOs, ld, false, Vs, ld, true, dS, kLdS, kRows, kCols, D,
                  false, stage);
  __syncthreads();
  scoreGradients(S, dS, lseTile, delta, b, i0, j0, Lq, Lk, scale, dropout);
  __syncthreads();
}

template <int kMath, typename H, typename T = typename H::Storage>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flashBackwardKV(const T *q, const T *k, const T *v, const T *out,
                    const float *lse, const T *dout, T *dk, T *dvalue,
                    int64_t Lq, int64_t Lk, int d, int dv, int D, float scale,
                    Dropout dropout) {
  LOCO_DYNAMIC_SHARED(float, smem);
  int ld = D + 4;
  void *stage = smem;
  float *Ks = smem + stageFloats<kMath>(), *Vs = Ks + 64 * ld,
        *dK = Vs + 64 * ld, *dV = dK + 64 * ld;
  float *Qs = dV + 64 * ld, *dOs = Qs + 64 * ld, *S = dOs + 64 * ld;
  float *dS = S + 64 * kLdS, *lseTile = dS + 64 * kLdS, *delta = lseTile + 64;
  int64_t kTiles = (Lk + kCols - 1) / kCols;
  int64_t b = blockIdx.x / kTiles, j0 = blockIdx.x % kTiles * kCols;
  loadTile<H>(Ks, ld, k + b * Lk * d, j0, Lk, d, D);
  loadTile<H>(Vs, ld, v + b * Lk * dv, j0, Lk, dv, D);
  zeroTile(dK, ld, D);
  zeroTile(dV, ld, D);
  for (int64_t i0 = 0; i0 < Lq; i0 += kRows) {
    loadTile<H>(Qs, ld, q + b * Lq * d, i0, Lq, d, D);
    loadTile<H>(dOs, ld, dout + b * Lq * dv, i0, Lq, dv, D);
    rowDeltas<H>(delta, lseTile, out, dout, lse, b, i0, Lq, dv);
    __syncthreads();
    pairGradients<kMath>(Qs, dOs, Ks, Vs, ld, D, S, dS, lseTile, delta, b, i0,
                         j0, Lq, Lk, scale, dropout, stage);
    // dV += P~^T dO, dK += dS^T Q (keys x dim, summed over the query tile).
    tileGemm<kMath>(S, kLdS, true, dOs, ld, false, dV, ld, kCols, D, kRows,
                    true, stage);
    tileGemm<kMath>(dS, kLdS, true, Qs, ld, false, dK, ld, kCols, D, kRows,
                    true, stage);
    __syncthreads();
  }
  for (int idx = threadIdx.x; idx < 64 * D; idx += blockDim.x) {
    int r = idx / D, x = idx % D;
    if (j0 + r >= Lk)
      continue;
    if (x < d)
      dk[(b * Lk + j0 + r) * d + x] = H::store(dK[r * ld + x]);
    if (x < dv)
      dvalue[(b * Lk + j0 + r) * dv + x] = H::store(dV[r * ld + x]);
  }
}

template <int kMath, typename H, typename T = typename H::Storage>
__global__ void __launch_bounds__(kThreadsPerBlock)
    flashBackwardQ(const T *q, const T *k, const T *v, const T *out,
                   const float *lse, const T *dout, T *dq, int64_t Lq,
                   int64_t Lk, int d, int dv, int D, float scale,
                   Dropout dropout) {
  LOCO_DYNAMIC_SHARED(float, smem);
  int ld = D + 4;
  void *stage = smem;
  float *Qs = smem + stageFloats<kMath>(), *dOs = Qs + 64 * ld,
        *Ks = dOs + 64 * ld, *Vs = Ks + 64 * ld;
  float *dQ = Vs + 64 * ld, *S = dQ + 64 * ld, *dS = S + 64 * kLdS;
  float *lseTile = dS + 64 * kLdS, *delta = lseTile + 64;
  int64_t qTiles = (Lq + kRows - 1) / kRows;
  int64_t b = blockIdx.x / qTiles, i0 = blockIdx.x % qTiles * kRows;
  loadTile<H>(Qs, ld, q + b * Lq * d, i0, Lq, d, D);
  loadTile<H>(dOs, ld, dout + b * Lq * dv, i0, Lq, dv, D);
  zeroTile(dQ, ld, D);
  rowDeltas<H>(delta, lseTile, out, dout, lse, b, i0, Lq, dv);
  for (int64_t j0 = 0; j0 < Lk; j0 += kCols) {
    loadTile<H>(Ks, ld, k + b * Lk * d, j0, Lk, d, D);
    loadTile<H>(Vs, ld, v + b * Lk * dv, j0, Lk, dv, D);
    __syncthreads();
    pairGradients<kMath>(Qs, dOs, Ks, Vs, ld, D, S, dS, lseTile, delta, b, i0,
                         j0, Lq, Lk, scale, dropout, stage);
    tileGemm<kMath>(dS, kLdS, false, Ks, ld, false, dQ, ld, kRows, D, kCols,
                    true, stage);
    __syncthreads();
  }
  for (int idx = threadIdx.x; idx < 64 * D; idx += blockDim.x) {
    int r = idx / D, x = idx % D;
    if (i0 + r < Lq && x < d)
      dq[(b * Lq + i0 + r) * d + x] = H::store(dQ[r * ld + x]);
  }
}

/// The padded head dim (a multiple of 16 covering d and dv), or 0 when the
/// kernels do not take the shape (loco::cuda_limits::attentionShape).
int paddedDim(loco_context *ctx, int64_t batch, int64_t Lq, int64_t d,
              int64_t dv, const char *kernel) {
  if (!ctx->withinLimit(loco::cuda_limits::attentionShape(batch, Lq, d, dv),
                        kernel))
    return 0;
  return static_cast<int>((std::max(d, dv) + 15) / 16 * 16);
}

Dropout makeDropout(loco_context *ctx, double p, int64_t stream, int64_t Lq,
                    int64_t Lk, int64_t offset) {
  return {ctx->state,
          static_cast<uint64_t>(stream < 0 ? 0 : stream),
          static_cast<uint64_t>(offset),
          static_cast<float>(p),
          static_cast<float>(1.0 / (1.0 - p)),
          Lq,
          Lk,
          p > 0.0 && stream >= 0};
}

/// Launches `kernel` with `floats` of dynamic shared memory on `blocks`.
template <typename Kernel, typename... Args>
void launch(loco_context *ctx, Kernel kernel, int64_t blocks, int64_t floats,
            Args... args) {
  if (blocks <= 0)
    return;
  size_t bytes = floats * sizeof(float);
  if (!LOCO_CHECK(ctx, cudaFuncSetAttribute(
                           kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(bytes))))
    return;
  LOCO_LAUNCH(kernel, static_cast<unsigned>(blocks), kThreadsPerBlock, bytes,
              ctx->stream)(args...);
  LOCO_CHECK_LAUNCH(ctx, kernel);
}

/// The dynamic shared memory (floats) of the forward kernel and of each
/// backward kernel at the padded head dim D.
template <int kMath> constexpr int64_t forwardFloats(int D) {
  return stageFloats<kMath>() + 4 * 64 * (D + 4) + 64 * kLdS + 64;
}
template <int kMath> constexpr int64_t backwardFloats(int D) {
  return stageFloats<kMath>() + 6 * 64 * (D + 4) + 2 * 64 * kLdS + 128;
}

/// sm_90's opt-in shared memory per block; the kernels have no static
/// shared memory beside it (scripts/ptxas_limits.py fails the build if
/// they get some).
constexpr int64_t kOptinSharedBytes = 227 * 1024;
template <int kMath> constexpr bool fitsSharedMemory() {
  constexpr int D = static_cast<int>(loco::cuda_limits::kMaxHeadDim);
  return forwardFloats<kMath>(D) * int64_t(sizeof(float)) <=
             kOptinSharedBytes &&
         backwardFloats<kMath>(D) * int64_t(sizeof(float)) <= kOptinSharedBytes;
}
static_assert(fitsSharedMemory<LOCO_MATMUL_FP32>() &&
                  fitsSharedMemory<LOCO_MATMUL_TF32>() &&
                  fitsSharedMemory<LOCO_MATMUL_BF16>() &&
                  fitsSharedMemory<LOCO_MATMUL_FP16>(),
              "at the largest head dim the compiler lets through "
              "(cuda_limits::kMaxHeadDim), an attention kernel needs more "
              "shared memory than sm_90's 227 KiB");

/// The kernels of one precision on storage H (fp32, or bf16/f16 read and
/// written directly: tiles are widened as they are loaded and results
/// rounded once as they are stored, so the 16-bit entry points compute what
/// the fp32 kernels compute on widened copies, without the copies).
template <int kMath, typename H> struct Kernels {
  using T = typename H::Storage;
  static void forward(loco_context *ctx, int64_t blocks, int D, const T *q,
                      const T *k, const T *v, T *out, float *lse, int64_t Lq,
                      int64_t Lk, int d, int dv, float scale, Dropout dropout) {
    launch(ctx, flashForward<kMath, H>, blocks, forwardFloats<kMath>(D), q, k,
           v, out, lse, Lq, Lk, d, dv, D, scale, dropout);
  }
  static void backward(loco_context *ctx, int64_t batch, int D, const T *q,
                       const T *k, const T *v, const T *out, const float *lse,
                       const T *dout, T *dq, T *dk, T *dvalue, int64_t Lq,
                       int64_t Lk, int d, int dv, float scale,
                       Dropout dropout) {
    int64_t floats = backwardFloats<kMath>(D);
    launch(ctx, flashBackwardKV<kMath, H>, batch * ((Lk + kCols - 1) / kCols),
           floats, q, k, v, out, lse, dout, dk, dvalue, Lq, Lk, d, dv, D, scale,
           dropout);
    launch(ctx, flashBackwardQ<kMath, H>, batch * ((Lq + kRows - 1) / kRows),
           floats, q, k, v, out, lse, dout, dq, Lq, Lk, d, dv, D, scale,
           dropout);
  }
};

/// Calls F<kMath>::run(args...) for the context's matmul precision.
template <template <int> class F, typename... Args>
void withPrecision(loco_context *ctx, Args... args) {
  switch (ctx->math) {
  case LOCO_MATMUL_TF32:
    return F<LOCO_MATMUL_TF32>::run(ctx, args...);
  case LOCO_MATMUL_BF16:
    return F<LOCO_MATMUL_BF16>::run(ctx, args...);
  case LOCO_MATMUL_FP16:
    return F<LOCO_MATMUL_FP16>::run(ctx, args...);
  default:
    return F<LOCO_MATMUL_FP32>::run(ctx, args...);
  }
}
template <typename H> struct On {
  template <int kMath> struct Forward {
    template <typename... Args>
    static void run(loco_context *ctx, Args... args) {
      Kernels<kMath, H>::forward(ctx, args...);
    }
  };
  template <int kMath> struct Backward {
    template <typename... Args>
    static void run(loco_context *ctx, Args... args) {
      Kernels<kMath, H>::backward(ctx, args...);
    }
  };
};

template <typename H, typename T = typename H::Storage>
void attention(loco_context *ctx, const T *q, const T *k, const T *v, T *out,
               float *lse, int64_t batch, int64_t Lq, int64_t Lk, int64_t d,
               int64_t dv, double scale, double p, int64_t stream,
               int64_t indexOffset, const char *name) {
  int D = paddedDim(ctx, batch, Lq, d, dv, name);
  if (!D || Lk == 0)
    return;
  Dropout dropout = makeDropout(ctx, p, stream, Lq, Lk, indexOffset);
  int64_t blocks = batch * ((Lq + kRows - 1) / kRows);
  withPrecision<On<H>::template Forward>(
      ctx, blocks, D, q, k, v, out, lse, Lq, Lk, static_cast<int>(d),
      static_cast<int>(dv), static_cast<float>(scale), dropout);
}

template <typename H, typename T = typename H::Storage>
void attentionBackward(loco_context *ctx, const T *q, const T *k, const T *v,
                       const T *out, const float *lse, const T *dout, T *dq,
                       T *dk, T *dvalue, int64_t batch, int64_t Lq, int64_t Lk,
                       int64_t d, int64_t dv, double scale, double p,
                       int64_t stream, int64_t indexOffset, const char *name) {
  int D = paddedDim(ctx, batch, std::max(Lq, Lk), d, dv, name);
  if (!D)
    return;
  Dropout dropout = makeDropout(ctx, p, stream, Lq, Lk, indexOffset);
  withPrecision<On<H>::template Backward>(
      ctx, batch, D, q, k, v, out, lse, dout, dq, dk, dvalue, Lq, Lk,
      static_cast<int>(d), static_cast<int>(dv), static_cast<float>(scale),
      dropout);
}

} // namespace

extern "C" {

void loco_flash_attention(loco_context *ctx, const float *q, const float *k,
                          const float *v, float *out, float *lse, int64_t batch,
                          int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
                          double scale, double p, int64_t stream,
                          int64_t indexOffset) {
  attention<F32>(ctx, q, k, v, out, lse, batch, Lq, Lk, d, dv, scale, p, stream,
                 indexOffset, "loco_flash_attention");
}

void loco_flash_attention_backward(
    loco_context *ctx, const float *q, const float *k, const float *v,
    const float *out, const float *lse, const float *dout, float *dq, float *dk,
    float *dvalue, int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
    double scale, double p, int64_t stream, int64_t indexOffset) {
  attentionBackward<F32>(ctx, q, k, v, out, lse, dout, dq, dk, dvalue, batch,
                         Lq, Lk, d, dv, scale, p, stream, indexOffset,
                         "loco_flash_attention_backward");
}

#define LOCO_CUDA_HALF_ATTENTION(S, H)                                         \
  void loco_flash_attention_##S(                                               \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, loco_half *out, float *lse, int64_t batch,           \
      int64_t Lq, int64_t Lk, int64_t d, int64_t dv, double scale, double p,   \
      int64_t stream, int64_t indexOffset) {                                   \
    attention<H>(ctx, q, k, v, out, lse, batch, Lq, Lk, d, dv, scale, p,       \
                 stream, indexOffset, "loco_flash_attention_" #S);             \
  }                                                                            \
  void loco_flash_attention_backward_##S(                                      \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, const loco_half *out, const float *lse,              \
      const loco_half *dout, loco_half *dq, loco_half *dk, loco_half *dvalue,  \
      int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,            \
      double scale, double p, int64_t stream, int64_t indexOffset) {           \
    attentionBackward<H>(ctx, q, k, v, out, lse, dout, dq, dk, dvalue, batch,  \
                         Lq, Lk, d, dv, scale, p, stream, indexOffset,         \
                         "loco_flash_attention_backward_" #S);                 \
  }
LOCO_CUDA_HALF_ATTENTION(bf16, Bf16)
LOCO_CUDA_HALF_ATTENTION(f16, F16)
#undef LOCO_CUDA_HALF_ATTENTION

} // extern "C"
