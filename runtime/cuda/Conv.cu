//===- Conv.cu - Convolutions on CUDA -------------------------------------===//
//
// This file implements the convolutions and their weight gradients:
//  - conv1d / conv_transpose1d (the SwiGLU FFN, channels last) as K shifted
//    GEMMs with cuBLASLt, batched over rows: tap k multiplies the row's input
//    positions l * s + k (a strided view) into output positions l, or input
//    positions l into output positions l * s + k, accumulating (beta = 1)
//    onto the bias. The weight gradients reduce over every (row, position)
//    pair with a tiled kernel whose rows are the shifted windows, split into
//    parts whose partials add in order (no atomics).
//  - conv2d / conv_transpose2d (the encoder and decoder: few channels on one
//    side, 3x3 kernels) directly, one thread per output element; their
//    weight gradients are deterministic reductions over the batch and plane.
// Every kernel reads and writes fp32, bf16 or f16 storage (H: F32, Bf16,
// F16) and computes in fp32 or double; the 16-bit 1-D convolutions run
// their GEMMs on 16-bit operands with fp32 results, a block of rows at a
// time, each result rounded once (the bias and every tap summed first).
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/CudaLimits.h"
#include "runtime/abi/Workspace.h"
#include "runtime/cuda/Half.cuh"
#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

namespace {

/// Index of element (ci, co, k) in a PyTorch 1-D convolution weight.
__host__ __device__ inline int64_t weightIndex(bool transposed, int64_t ci,
                                               int64_t co, int64_t k,
                                               int64_t Ci, int64_t Co,
                                               int64_t K) {
  return (transposed ? ci * Co + co : co * Ci + ci) * K + k;
}

/// taps[k][ci][co] = weight(ci, co, k).
template <typename T>
void packTaps(loco_context *ctx, const T *w, T *taps, int64_t Ci, int64_t Co,
              int64_t K, bool transposed) {
  forEach(ctx, K * Ci * Co, [=] __device__(int64_t i) {
    int64_t co = i % Co, ci = i / Co % Ci, k = i / (Ci * Co);
    taps[i] = w[weightIndex(transposed, ci, co, k, Ci, Co, K)];
  });
}

template <typename H, typename T = typename H::Storage>
void fillBias(loco_context *ctx, const T *b, float *out, int64_t rows,
              int64_t Co) {
  forEach(ctx, rows * Co,
          [=] __device__(int64_t i) { out[i] = H::load(b[i % Co]); });
}

constexpr int kTile = 64, kDepth = 16, kTileThreads = 256;
static_assert(kTile == loco::cuda_limits::kConvGradTile,
              "the tile the compiler's limit check counts");

/// Partial tap gradients: part p of the pairs (r, l) adds, for tap
/// k = blockIdx.z, x[r, l + k xs, ci] g[r, l + k gs, co] into a 64 x 64
/// (ci, co) tile; fp32 over kWeightGradRows pairs, then into double. With
/// `weight` (one part: a weight larger than the partial area), each tile
/// writes its sums into the weight itself, rounded as the partial path
/// rounds them (0.0 + total, to float).
template <typename H, typename T = typename H::Storage>
__global__ void __launch_bounds__(kTileThreads)
    tapGradPartials(const T *x, int64_t xLen, int64_t xs, const T *g,
                    int64_t gLen, int64_t gs, int64_t n, int64_t R, int64_t Ci,
                    int64_t Co, int parts, double *partials, T *weight,
                    bool transposed) {
  __shared__ float xt[kDepth][kTile], gt[kDepth][kTile];
  int k = blockIdx.z, part = blockIdx.y % parts;
  int64_t ciTile = blockIdx.x / ((Co + kTile - 1) / kTile) * kTile;
  int64_t coTile = blockIdx.x % ((Co + kTile - 1) / kTile) * kTile;
  int64_t pairs = R * n, chunk = (pairs + parts - 1) / parts;
  int64_t begin = part * chunk, end = min(pairs, begin + chunk);
  int tx = threadIdx.x % 16, ty = threadIdx.x / 16; // 4 x 4 outputs each
  float acc[4][4] = {};
  double total[4][4] = {};
  int64_t sinceFlush = 0;
  for (int64_t p0 = begin; p0 < end; p0 += kDepth) {
    for (int e = threadIdx.x; e < kDepth * kTile; e += kTileThreads) {
      int d = e / kTile, c = e % kTile;
      int64_t p = p0 + d;
      float xv = 0.0f, gv = 0.0f;
      if (p < end) {
        int64_t r = p / n, l = p % n;
        if (ciTile + c < Ci)
          xv = H::load(x[(r * xLen + l + k * xs) * Ci + ciTile + c]);
        if (coTile + c < Co)
          gv = H::load(g[(r * gLen + l + k * gs) * Co + coTile + c]);
      }
      xt[d][c] = xv;
      gt[d][c] = gv;
    }
    __syncthreads();
    for (int d = 0; d < kDepth; ++d)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          acc[i][j] += xt[d][ty * 4 + i] * gt[d][tx * 4 + j];
    __syncthreads();
    sinceFlush += kDepth;
    if (sinceFlush >= loco::workspace::kWeightGradRows || p0 + kDepth >= end) {
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          total[i][j] += acc[i][j];
          acc[i][j] = 0.0f;
        }
      sinceFlush = 0;
    }
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      int64_t ci = ciTile + ty * 4 + i, co = coTile + tx * 4 + j;
      if (ci >= Ci || co >= Co)
        continue;
      if (weight)
        weight[weightIndex(transposed, ci, co, k, Ci, Co, gridDim.z)] =
            H::store(static_cast<float>(0.0 + total[i][j]));
      else
        partials[((int64_t(part) * gridDim.z + k) * Ci + ci) * Co + co] =
            total[i][j];
    }
}

/// weight(ci, co, k) = sum over (r, l) of x[r, l + k xs, ci] g[r, l + k gs,
/// co], the window shifting along x (conv1d) or g (its transpose).
template <typename H, typename T = typename H::Storage>
void shiftedTapGradients(loco_context *ctx, const T *x, int64_t xLen,
                         int64_t xs, const T *g, int64_t gLen, int64_t gs,
                         int64_t n, T *weight, int64_t R, int64_t Ci,
                         int64_t Co, int64_t K, bool transposed) {
  int64_t taps = K * Ci * Co;
  int64_t tiles = ((Ci + kTile - 1) / kTile) * ((Co + kTile - 1) / kTile);
  std::string why = loco::cuda_limits::conv1dWeightGradGrid(Ci, Co, K);
  if (!why.empty())
    return ctx->fail("a 1-D convolution weight gradient of " +
                     std::to_string(Ci) + " x " + std::to_string(Co) + " x " +
                     std::to_string(K) + ": " + why);
  // A weight larger than the partial area (xlarge's conv1d has 2,097,152
  // elements, the area 1,032,192) is one part: each tile sums all its
  // pairs and writes the weight directly, with the same rounding. Its
  // K x tiles blocks (512 for xlarge) still fill the GPU.
  int64_t parts =
      taps > kSumSlots
          ? 1
          : std::max<int64_t>(
                1, std::min<int64_t>({kSumSlots / taps,
                                      264 / std::max<int64_t>(1, tiles * K),
                                      (R * n + 4095) / 4096}));
  double *partials = ctx->partials;
  bool direct = taps > kSumSlots;
  dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(parts),
            static_cast<unsigned>(K));
  auto kernel = tapGradPartials<H>;
  LOCO_LAUNCH(kernel, grid, kTileThreads, 0, ctx->stream)(
      x, xLen, xs, g, gLen, gs, n, R, Ci, Co, static_cast<int>(parts), partials,
      direct ? weight : nullptr, transposed);
  LOCO_CHECK_LAUNCH(ctx, kernel);
  if (direct)
    return;
  forEach(ctx, taps, [=] __device__(int64_t i) {
    double sum = 0.0;
    for (int64_t p = 0; p < parts; ++p)
      sum += partials[p * taps + i];
    int64_t co = i % Co, ci = i / Co % Ci, k = i / (Ci * Co);
    weight[weightIndex(transposed, ci, co, k, Ci, Co, K)] =
        H::store(static_cast<float>(sum));
  });
}

/// The weight gradient of the 2-D convolutions: for each weight element
/// (co, ci, kh, kw) the sum over n and g's plane (a, b) of g[n, co, a, b]
/// x[n, ci, a + dh, b + dw] (x's coordinates inside x), where (dh, dw) =
/// sign (kh - PH, kw - PW).
template <typename S, typename T = typename S::Storage>
void correlate2d(loco_context *ctx, const T *x, const T *g, T *out, int64_t B,
                 int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t Ho,
                 int64_t Wo, int64_t KH, int64_t KW, int64_t PH, int64_t PW,
                 bool transposed) {
  int64_t plane = Ho * Wo;
  segmentedSum(
      ctx, Co * Ci * KH * KW, B * plane,
      [=] __device__(int64_t s, int64_t i) {
        // s enumerates the output layout: [Co, Ci, ..] or [Ci, Co, ..].
        int64_t kw = s % KW, kh = s / KW % KH, pair = s / (KW * KH);
        int64_t co = transposed ? pair % Co : pair / Ci;
        int64_t ci = transposed ? pair / Co : pair % Ci;
        int64_t dh = transposed ? PH - kh : kh - PH;
        int64_t dw = transposed ? PW - kw : kw - PW;
        int64_t n = i / plane, a = i % plane / Wo, b = i % Wo;
        int64_t ih = a + dh, iw = b + dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
          return 0.0;
        return static_cast<double>(
                   S::load(g[(n * Co + co) * plane + a * Wo + b])) *
               S::load(x[((n * Ci + ci) * H + ih) * W + iw]);
      },
      [=] __device__(int64_t s, double sum) {
        out[s] = S::store(static_cast<float>(sum));
      });
}

/// The 2-D convolution (w [Co, Ci, KH, KW]) or its transpose (w [Ci, Co,
/// KH, KW]), stride 1, one thread per output element: output (oh, ow) reads
/// input (oh + kh - PH, ow + kw - PW), or (oh - kh + PH, ow - kw + PW) for
/// the transpose.
template <typename S, typename T = typename S::Storage>
void direct2d(loco_context *ctx, const T *x, const T *w, const T *b, T *out,
              int64_t B, int64_t Ci, int64_t H, int64_t W, int64_t Co,
              int64_t KH, int64_t KW, int64_t PH, int64_t PW, bool transposed) {
  int64_t Ho = transposed ? H + KH - 1 - 2 * PH : H + 2 * PH - KH + 1;
  int64_t Wo = transposed ? W + KW - 1 - 2 * PW : W + 2 * PW - KW + 1;
  int64_t sign = transposed ? -1 : 1;
  forEach(ctx, B * Co * Ho * Wo, [=] __device__(int64_t i) {
    int64_t ow = i % Wo, oh = i / Wo % Ho, co = i / (Ho * Wo) % Co,
            n = i / (Co * Ho * Wo);
    float acc = S::load(b[co]);
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t kh = 0; kh < KH; ++kh) {
        int64_t ih = oh + sign * (kh - PH);
        if (ih < 0 || ih >= H)
          continue;
        for (int64_t kw = 0; kw < KW; ++kw) {
          int64_t iw = ow + sign * (kw - PW);
          if (iw < 0 || iw >= W)
            continue;
          int64_t pair = transposed ? ci * Co + co : co * Ci + ci;
          acc += S::load(w[(pair * KH + kh) * KW + kw]) *
                 S::load(x[((n * Ci + ci) * H + ih) * W + iw]);
        }
      }
    out[i] = S::store(acc);
  });
}

/// conv1d (x [R, L, Ci] -> out [R, Lo, Co]) or its transpose: the bias,
/// then one GEMM per tap accumulating onto it (beta = 1), batched over rows:
/// tap k multiplies input positions l * stride + k into output positions l,
/// or input positions l into output positions l * stride + k. On 16-bit
/// storage the taps are packed once, the GEMMs read x and the taps directly
/// and sum into fp32 a block of rows at a time (in the planned staging's
/// bytes), and each block is rounded once into out.
template <typename H, typename T = typename H::Storage>
void conv1d(loco_context *ctx, const T *x, const T *w, const T *b, T *out,
            int64_t R, int64_t L, int64_t Ci, int64_t Co, int64_t K,
            int64_t stride, bool transposed) {
  int64_t Lo = transposed ? (L - 1) * stride + K : (L - K) / stride + 1;
  constexpr bool f32 = H::kDtype == LOCO_DTYPE_F32;
  Scratch scratch(ctx);
  T *taps = scratch.take<T>(K * Ci * Co);
  packTaps(ctx, w, taps, Ci, Co, K, transposed);
  auto products = [&](const T *xs, float *sums, int64_t rows) {
    fillBias<H>(ctx, b, sums, rows * Lo, Co);
    for (int64_t k = 0; k < K; ++k) {
      GemmShape s =
          transposed
              ? GemmShape{L,  Co,      Ci,          false, false,
                          Ci, Co,      stride * Co, rows,  L * Ci,
                          0,  Lo * Co, ctx->math}
              : GemmShape{Lo, Co,   Ci,     false, false,   stride * Ci, Co,
                          Co, rows, L * Ci, 0,     Lo * Co, ctx->math};
      s.dtype = H::kDtype;
      s.f32Result = !f32;
      gemm(ctx, s, transposed ? xs : xs + k * Ci, taps + k * Ci * Co,
           transposed ? sums + k * Co : sums, 1.0f, 1.0f);
    }
  };
  if constexpr (f32) {
    products(x, out, R);
  } else {
    // As many rows as the planned workspace holds: at least the staged
    // form's block bytes (runtime/abi/Workspace.h, conv1dStaged, which the
    // plan makes room for), and whatever else of the workspace is free. A
    // row's sums depend on the block's row count only through the
    // algorithm cuBLASLt picks for that batch count (on a GPU): one plan
    // gives the same bits on every run and resume, another plan may round
    // differently.
    int64_t stagedRowFloats = L * Ci + Lo * Co;
    int64_t blockFloats = std::max<int64_t>(
        loco::workspace::stageRows(R, stagedRowFloats) * stagedRowFloats,
        (scratch.available() - loco::workspace::kAlign) /
            static_cast<int64_t>(sizeof(float)));
    int64_t block = std::max<int64_t>(
        1, std::min<int64_t>(R, blockFloats / std::max<int64_t>(1, Lo * Co)));
    float *sums = scratch.take<float>(block * Lo * Co);
    for (int64_t first = 0; first < R; first += block) {
      int64_t rows = std::min(block, R - first);
      products(x + first * L * Ci, sums, rows);
      narrow<H>(ctx, sums, out + first * Lo * Co, rows * Lo * Co);
    }
  }
}

} // namespace

extern "C" {

#define LOCO_CUDA_CONVOLUTIONS(S, H, T)                                        \
  void loco_conv2d##S(loco_context *ctx, const T *x, const T *w, const T *b,   \
                      T *out, int64_t B, int64_t Ci, int64_t H_, int64_t W,    \
                      int64_t Co, int64_t KH, int64_t KW, int64_t PH,          \
                      int64_t PW) {                                            \
    direct2d<H>(ctx, x, w, b, out, B, Ci, H_, W, Co, KH, KW, PH, PW, false);   \
  }                                                                            \
  void loco_conv_transpose2d##S(loco_context *ctx, const T *x, const T *w,     \
                                const T *b, T *out, int64_t B, int64_t Ci,     \
                                int64_t H_, int64_t W, int64_t Co, int64_t KH, \
                                int64_t KW, int64_t PH, int64_t PW) {          \
    direct2d<H>(ctx, x, w, b, out, B, Ci, H_, W, Co, KH, KW, PH, PW, true);    \
  }                                                                            \
  void loco_conv1d##S(loco_context *ctx, const T *x, const T *w, const T *b,   \
                      T *out, int64_t R, int64_t L, int64_t Ci, int64_t Co,    \
                      int64_t K, int64_t stride) {                             \
    conv1d<H>(ctx, x, w, b, out, R, L, Ci, Co, K, stride, false);              \
  }                                                                            \
  void loco_conv_transpose1d##S(loco_context *ctx, const T *x, const T *w,     \
                                const T *b, T *out, int64_t R, int64_t L,      \
                                int64_t Ci, int64_t Co, int64_t K,             \
                                int64_t stride) {                              \
    conv1d<H>(ctx, x, w, b, out, R, L, Ci, Co, K, stride, true);               \
  }                                                                            \
  void loco_conv2d_weight_grad##S(loco_context *ctx, const T *x, const T *g,   \
                                  T *out, int64_t B, int64_t Ci, int64_t H_,   \
                                  int64_t W, int64_t Co, int64_t KH,           \
                                  int64_t KW, int64_t PH, int64_t PW) {        \
    int64_t Ho = H_ + 2 * PH - KH + 1, Wo = W + 2 * PW - KW + 1;               \
    correlate2d<H>(ctx, x, g, out, B, Ci, H_, W, Co, Ho, Wo, KH, KW, PH, PW,   \
                   false);                                                     \
  }                                                                            \
  void loco_conv_transpose2d_weight_grad##S(                                   \
      loco_context *ctx, const T *x, const T *g, T *out, int64_t B,            \
      int64_t Ci, int64_t H_, int64_t W, int64_t Co, int64_t KH, int64_t KW,   \
      int64_t PH, int64_t PW) {                                                \
    int64_t Ho = H_ + KH - 1 - 2 * PH, Wo = W + KW - 1 - 2 * PW;               \
    correlate2d<H>(ctx, x, g, out, B, Ci, H_, W, Co, Ho, Wo, KH, KW, PH, PW,   \
                   true);                                                      \
  }                                                                            \
  /* dW_k = sum_r x[r, k : k + Lo]^T g[r]. */                                  \
  void loco_conv1d_weight_grad##S(loco_context *ctx, const T *x, const T *g,   \
                                  T *out, int64_t R, int64_t L, int64_t Ci,    \
                                  int64_t Co, int64_t K) {                     \
    int64_t Lo = L - K + 1;                                                    \
    shiftedTapGradients<H>(ctx, x, L, 1, g, Lo, 0, Lo, out, R, Ci, Co, K,      \
                           false);                                             \
  }                                                                            \
  /* dW_k = sum_r x[r]^T g[r, k : k + L]. */                                   \
  void loco_conv_transpose1d_weight_grad##S(                                   \
      loco_context *ctx, const T *x, const T *g, T *out, int64_t R, int64_t L, \
      int64_t Ci, int64_t Co, int64_t K) {                                     \
    int64_t Lo = L + K - 1;                                                    \
    shiftedTapGradients<H>(ctx, x, L, 0, g, Lo, 1, L, out, R, Ci, Co, K,       \
                           true);                                              \
  }
LOCO_CUDA_CONVOLUTIONS(, F32, float)
LOCO_CUDA_CONVOLUTIONS(_bf16, Bf16, loco_half)
LOCO_CUDA_CONVOLUTIONS(_f16, F16, loco_half)
#undef LOCO_CUDA_CONVOLUTIONS

} // extern "C"
