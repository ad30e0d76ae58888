//===- ConvBackward.cpp - Convolution weight gradients on the CPU ---------===//
//
// This file implements the weight gradients of the four convolutions. The
// 1-D ones are one large GEMM per kernel tap and block of rows, the taps
// (and column blocks of them) shared out among the threads. Input
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

/// The weight gradient of a stride-1 channels-last 1-D convolution, per tap:
/// taps[k] (Ci x Co) = sum over rows r and positions t of x[r, t]^T g[r, t]
/// with one of the two shifted by k along its row: the "shifting" operand
/// (x for conv1d, g for its transpose), whose rows hold shiftLen positions,
/// and the "fixed" one, whose rows hold fixedLen <= shiftLen. Copying a
/// block of the fixed operand's rows to rows of shiftLen positions, the
/// last shiftLen - fixedLen of them zero, makes row r's window at tap k
/// start exactly r * shiftLen + k into the shifting operand's flat buffer:
/// the block's windows are one contiguous matrix, and each tap is one GEMM
/// of depth blockRows * shiftLen - (K - 1) (the positions left off the end
/// are padding). No copy of the shifting operand is made; the block comes
/// out of `scratch` (Workspace.h's conv1dWeightGrad sizes it). Returns
/// whether the taps came out transposed ([K][Co][Ci]).
bool flatTapGradients(loco::Scratch &scratch, const float *shifting,
                      int64_t shiftLen, bool shiftingIsX, const float *fixed,
                      int64_t fixedLen, float *taps, int64_t R, int64_t Ci,
                      int64_t Co, int64_t K) {
  int64_t fixedCh = shiftingIsX ? Co : Ci, shiftCh = shiftingIsX ? Ci : Co;
  // Each tap is the product A^T B of two [depth, *] operands; OpenBLAS runs
  // these long, thin products fastest with the narrower operand as A (the
  // result's rows), so a tap is [Co, Ci] when Co < Ci.
  bool coMajor = Co < Ci;
  int64_t M = coMajor ? Co : Ci, N = coMajor ? Ci : Co;
  int64_t blockRows = loco::workspace::conv1dPadRows(R, shiftLen * fixedCh);
  float *pad = scratch.take<float>(blockRows * shiftLen * fixedCh);
  for (int64_t r0 = 0; r0 < R; r0 += blockRows) {
    int64_t rows = std::min(blockRows, R - r0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float *in = fixed + (r0 + r) * fixedLen * fixedCh;
      float *row = pad + r * shiftLen * fixedCh;
      std::copy(in, in + fixedLen * fixedCh, row);
      std::fill(row + fixedLen * fixedCh, row + shiftLen * fixedCh, 0.0f);
    }
    int64_t depth = rows * shiftLen - (K - 1);
    // BLAS is single-threaded in this backend: the threads share out the
    // taps and, when there are fewer taps than threads, column blocks of
    // them. Each block is one GEMM over the whole depth, so no partial sums
    // are kept and every thread count sums alike.
    int64_t threads = omp_get_max_threads();
    int64_t splits = std::max<int64_t>(1, (threads + K - 1) / K);
    int64_t step = (N + splits - 1) / splits;
    step = std::min(N, (step + 15) / 16 * 16); // whole vectors per block
    int64_t blocks = (N + step - 1) / step;
#pragma omp parallel for schedule(dynamic)
    for (int64_t task = 0; task < K * blocks; ++task) {
      int64_t k = task / blocks, n0 = task % blocks * step;
      int64_t n1 = std::min(N, n0 + step);
      const float *window = shifting + (r0 * shiftLen + k) * shiftCh;
      const float *x = shiftingIsX ? window : pad; // [depth, Ci]
      const float *g = shiftingIsX ? pad : window; // [depth, Co]
      const float *a = coMajor ? g : x, *b = coMajor ? x : g;
      loco::cpu::gemm({M, n1 - n0, depth, /*transA=*/true, M, N, N}, a,
                      b + n0, taps + k * M * N + n0,
                      /*accumulate=*/r0 != 0);
    }
  }
  return coMajor;
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
  // dW_k = sum_r x[r, k : k + Lo]^T g[r]: g's rows padded to L positions.
  bool coMajor = flatTapGradients(scratch, x, L, /*shiftingIsX=*/true, g, Lo,
                                  taps, R, Ci, Co, K);
  loco::unpackTaps(taps, out, Ci, Co, K, /*transposed=*/false, coMajor);
}

void loco_conv_transpose1d_weight_grad(loco_context *ctx, const float *x,
                                       const float *g, float *out, int64_t R,
                                       int64_t L, int64_t Ci, int64_t Co,
                                       int64_t K) {
  int64_t Lo = L + K - 1;
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  // dW_k = sum_r x[r]^T g[r, k : k + L]: x's rows padded to Lo positions.
  bool coMajor = flatTapGradients(scratch, g, Lo, /*shiftingIsX=*/false, x, L,
                                  taps, R, Ci, Co, K);
  loco::unpackTaps(taps, out, Ci, Co, K, /*transposed=*/true, coMajor);
}

} // extern "C"
