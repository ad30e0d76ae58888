//===- ConvBackward.cpp - Convolution weight gradients on the CPU ---------===//
//
// This file implements the weight gradients of the four convolutions. The
// 1-D ones are one GEMM per row and kernel tap over a shifted view of one
// operand (no copy), blocks of the wider channel side (and, with more
// threads than blocks, the taps) shared out among the threads. Input
// gradients need no kernel of their own: they are the transposed
// convolution with the same weight.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/ConvTaps.h"
#include "runtime/cpu/Gemm.h"

#include <omp.h>

#include <algorithm>

namespace {
/// sum over n, a, b of g[n, co, a, b] * x[n, ci, a + da, b + db] for one
/// (co, ci) pair, where (a, b) range over g's plane and x's coordinates must
/// fall inside x.
double correlate(const float *x, const float *g, int64_t B, int64_t Ci,
                 int64_t H, int64_t W, int64_t Co, int64_t Ho, int64_t Wo,
                 int64_t co, int64_t ci, int64_t dh, int64_t dw) {
  double acc = 0.0;
  int64_t b0 = std::max<int64_t>(0, -dw), b1 = std::min<int64_t>(Wo, W - dw);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t a = 0; a < Ho; ++a) {
      int64_t ih = a + dh;
      if (ih < 0 || ih >= H)
        continue;
      const float *xr = x + ((n * Ci + ci) * H + ih) * W + dw;
      const float *gr = g + ((n * Co + co) * Ho + a) * Wo;
      float row = 0.0f;
      for (int64_t b = b0; b < b1; ++b)
        row += gr[b] * xr[b];
      acc += row;
    }
  return acc;
}

/// The weight gradient of a stride-1 channels-last 1-D convolution, tap by
/// tap: taps[k] [Ci, Co] = sum over rows r and positions t of x[r, t]^T
/// g[r, t] with one of the two shifted by k along its row. For each row r
/// and tap k it is one GEMM of depth `depth` (the unshifted operand's
/// positions) accumulating into taps[k], the shifted operand a view of row r
/// from position k on (no copy). The tasks are blocks of the wider of Ci and
/// Co (16 channels or more each), one per thread, each running all taps row
/// by row so that a row's operands stay in cache across its K taps; with
/// more threads than blocks, each block's taps are separate tasks too. Each
/// result element is summed by one task in row order: no partial sums.
void tapGradients(const float *x, int64_t xRow, const float *g, int64_t gRow,
                  bool shiftX, float *taps, int64_t R, int64_t depth,
                  int64_t Ci, int64_t Co, int64_t K) {
  bool splitCi = Ci > Co;
  int64_t wide = splitCi ? Ci : Co;
  int64_t threads = omp_get_max_threads();
  int64_t blocks = std::max<int64_t>(1, std::min((wide + 15) / 16, threads));
  int64_t width = (wide + blocks - 1) / blocks;
  width = std::min(wide, (width + 15) / 16 * 16); // whole vectors per block
  blocks = (wide + width - 1) / width;
  int64_t tapGroups = blocks < threads ? K : 1;
#pragma omp parallel for schedule(dynamic)
  for (int64_t task = 0; task < blocks * tapGroups; ++task) {
    int64_t b0 = task / tapGroups * width, b1 = std::min(wide, b0 + width);
    int64_t k0 = tapGroups == 1 ? 0 : task % tapGroups;
    int64_t k1 = tapGroups == 1 ? K : k0 + 1;
    int64_t xOffset = splitCi ? b0 : 0, gOffset = splitCi ? 0 : b0;
    int64_t M = splitCi ? b1 - b0 : Ci, N = splitCi ? Co : b1 - b0;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = k0; k < k1; ++k)
        loco::cpu::gemm({M, N, depth, /*transA=*/true, Ci, Co, Co},
                        x + r * xRow + (shiftX ? k * Ci : 0) + xOffset,
                        g + r * gRow + (shiftX ? 0 : k * Co) + gOffset,
                        taps + k * Ci * Co + (splitCi ? b0 * Co : b0),
                        /*accumulate=*/r > 0);
  }
}
} // namespace

using loco::Scratch;

extern "C" {

void loco_conv2d_weight_grad(loco_context *, const float *x, const float *g,
                             float *out, int64_t B, int64_t Ci, int64_t H,
                             int64_t W, int64_t Co, int64_t KH, int64_t KW,
                             int64_t PH, int64_t PW) {
  int64_t Ho = H + 2 * PH - KH + 1, Wo = W + 2 * PW - KW + 1;
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t co = 0; co < Co; ++co)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
          out[((co * Ci + ci) * KH + kh) * KW + kw] =
              static_cast<float>(correlate(x, g, B, Ci, H, W, Co, Ho, Wo, co,
                                           ci, kh - PH, kw - PW));
}

void loco_conv_transpose2d_weight_grad(loco_context *, const float *x,
                                       const float *g, float *out, int64_t B,
                                       int64_t Ci, int64_t H, int64_t W,
                                       int64_t Co, int64_t KH, int64_t KW,
                                       int64_t PH, int64_t PW) {
  int64_t Ho = H + KH - 1 - 2 * PH, Wo = W + KW - 1 - 2 * PW;
  // dW[ci, co, kh, kw] = sum x[n, ci, ih, iw] g[n, co, ih + kh - PH, ...]
  // = sum over g's plane (a, b) of g[a, b] x[a - kh + PH, b - kw + PW].
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t ci = 0; ci < Ci; ++ci)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
          out[((ci * Co + co) * KH + kh) * KW + kw] =
              static_cast<float>(correlate(x, g, B, Ci, H, W, Co, Ho, Wo, co,
                                           ci, PH - kh, PW - kw));
}

void loco_conv1d_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t R, int64_t L, int64_t Ci,
                             int64_t Co, int64_t K) {
  int64_t Lo = L - K + 1;
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  // dW_k = sum_r x[r, k : k + Lo]^T g[r].
  tapGradients(x, L * Ci, g, Lo * Co, /*shiftX=*/true, taps, R, Lo, Ci, Co, K);
  loco::unpackTaps(taps, out, Ci, Co, K, /*transposed=*/false);
}

void loco_conv_transpose1d_weight_grad(loco_context *ctx, const float *x,
                                       const float *g, float *out, int64_t R,
                                       int64_t L, int64_t Ci, int64_t Co,
                                       int64_t K) {
  int64_t Lo = L + K - 1;
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  // dW_k = sum_r x[r]^T g[r, k : k + L].
  tapGradients(x, L * Ci, g, Lo * Co, /*shiftX=*/false, taps, R, L, Ci, Co, K);
  loco::unpackTaps(taps, out, Ci, Co, K, /*transposed=*/true);
}

} // extern "C"
