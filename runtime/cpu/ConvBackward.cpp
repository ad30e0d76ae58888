//===- ConvBackward.cpp - Convolution weight gradients on the CPU ---------===//
//
// This file implements the weight gradients of the four convolutions. The
// 1-D ones accumulate one GEMM per row and kernel tap, like the forward
// kernels. Input gradients need no kernel of their own: they are the
// transposed convolution with the same weight.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/ConvTaps.h"

#include <cblas.h>

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

/// The weight gradient of a stride-1 channels-last 1-D convolution, per tap:
/// taps[k] = sum_r x[r, k xs : k xs + n]^T g[r, k gs : k gs + n], where the
/// window shifts along x (conv1d: xs = 1, gs = 0) or along g (its transpose:
/// xs = 0, gs = 1); x rows hold xLen positions of Ci channels, g rows gLen
/// of Co. Each thread owns blocks of (tap, input channels) and sums over
/// every row in order, one GEMM per row.
void shiftedTapGradients(const float *x, int64_t xLen, int64_t xs,
                         const float *g, int64_t gLen, int64_t gs, int64_t n,
                         float *taps, int64_t R, int64_t Ci, int64_t Co,
                         int64_t K) {
  int64_t blocks = std::min<int64_t>(Ci, 16);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t k = 0; k < K; ++k)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      int64_t c0 = blk * Ci / blocks, c1 = (blk + 1) * Ci / blocks;
      for (int64_t r = 0; r < R; ++r)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, Co, n,
                    1.0f, x + (r * xLen + k * xs) * Ci + c0, Ci,
                    g + (r * gLen + k * gs) * Co, Co, r == 0 ? 0.0f : 1.0f,
                    taps + (k * Ci + c0) * Co, Co);
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
          out[((co * Ci + ci) * KH + kh) * KW + kw] = static_cast<float>(
              correlate(x, g, B, Ci, H, W, Co, Ho, Wo, co, ci, kh - PH, kw - PW));
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
          out[((ci * Co + co) * KH + kh) * KW + kw] = static_cast<float>(
              correlate(x, g, B, Ci, H, W, Co, Ho, Wo, co, ci, PH - kh, PW - kw));
}

void loco_conv1d_weight_grad(loco_context *ctx, const float *x,
                             const float *g, float *out, int64_t R, int64_t L,
                             int64_t Ci, int64_t Co, int64_t K) {
  int64_t Lo = L - K + 1;
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  // dW_k = sum_r x[r, k : k + Lo]^T g[r].
  shiftedTapGradients(x, L, 1, g, Lo, 0, Lo, taps, R, Ci, Co, K);
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
  shiftedTapGradients(x, L, 0, g, Lo, 1, L, taps, R, Ci, Co, K);
  loco::unpackTaps(taps, out, Ci, Co, K, /*transposed=*/true);
}

} // extern "C"
