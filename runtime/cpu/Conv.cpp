//===- Conv.cpp - Convolutions on the CPU ---------------------------------===//
//
// This file implements the convolutions without im2col copies:
//  - conv2d / conv_transpose2d (the encoder and decoder, few channels on one
//    side) as per-(sample, output channel) accumulations of shifted rows,
//    vectorised along the width;
//  - conv1d (the SwiGLU FFN, channels last) as one GEMM per block of a
//    row's output positions, reducing over the K taps, each tap's input a
//    strided view of the row (no copy);
//  - conv_transpose1d as K shifted GEMMs per row: tap k multiplies input
//    positions l into output positions l*s + k, accumulating.
//  The only scratch is the weight rearranged per tap.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/ConvTaps.h"
#include "runtime/cpu/Gemm.h"

#include <algorithm>

using loco::Scratch;

namespace {
/// The output block a 1-D convolution accumulates its taps into.
constexpr int64_t kConvOutBlockBytes = 256 << 10;
} // namespace

extern "C" {

void loco_conv2d(loco_context *, const float *x, const float *w, const float *b,
                 float *out, int64_t B, int64_t Ci, int64_t H, int64_t W,
                 int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW) {
  int64_t Ho = H + 2 * PH - KH + 1, Wo = W + 2 * PW - KW + 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t co = 0; co < Co; ++co) {
      float *o = out + (n * Co + co) * Ho * Wo;
      std::fill(o, o + Ho * Wo, b[co]);
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            float wv = w[((co * Ci + ci) * KH + kh) * KW + kw];
            int64_t ow0 = std::max<int64_t>(0, PW - kw);
            int64_t ow1 = std::min<int64_t>(Wo, W + PW - kw);
            for (int64_t oh = 0; oh < Ho; ++oh) {
              int64_t ih = oh + kh - PH;
              if (ih < 0 || ih >= H)
                continue;
              const float *xr = x + ((n * Ci + ci) * H + ih) * W + kw - PW;
              float *orow = o + oh * Wo;
              for (int64_t ow = ow0; ow < ow1; ++ow)
                orow[ow] += wv * xr[ow];
            }
          }
    }
  }
}

void loco_conv_transpose2d(loco_context *, const float *x, const float *w,
                           const float *b, float *out, int64_t B, int64_t Ci,
                           int64_t H, int64_t W, int64_t Co, int64_t KH,
                           int64_t KW, int64_t PH, int64_t PW) {
  int64_t Ho = H + KH - 1 - 2 * PH, Wo = W + KW - 1 - 2 * PW;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t co = 0; co < Co; ++co) {
      float *o = out + (n * Co + co) * Ho * Wo;
      std::fill(o, o + Ho * Wo, b[co]);
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            float wv = w[((ci * Co + co) * KH + kh) * KW + kw];
            // Output (oh, ow) reads input (oh - kh + PH, ow - kw + PW).
            int64_t ow0 = std::max<int64_t>(0, kw - PW);
            int64_t ow1 = std::min<int64_t>(Wo, W + kw - PW);
            for (int64_t oh = 0; oh < Ho; ++oh) {
              int64_t ih = oh - kh + PH;
              if (ih < 0 || ih >= H)
                continue;
              const float *xr = x + ((n * Ci + ci) * H + ih) * W - kw + PW;
              float *orow = o + oh * Wo;
              for (int64_t ow = ow0; ow < ow1; ++ow)
                orow[ow] += wv * xr[ow];
            }
          }
    }
  }
}

void loco_conv1d(loco_context *ctx, const float *x, const float *w,
                 const float *b, float *out, int64_t R, int64_t L, int64_t Ci,
                 int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - K) / stride + 1;
  // out[r, l] = b + sum_k x[r, l * stride + k] W_k is one batch-reducing
  // GEMM over the taps: tap k's operands are the rows of x from position k
  // on, stride * Ci apart (a strided view, no copy), and W_k, Ci * Co floats
  // after W_{k-1}; the sum over the taps stays in registers. The bias and
  // the product go to a block of output positions small enough (<= 256 KiB)
  // to stay in cache between them.
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  loco::packTaps(w, taps, Ci, Co, K, /*transposed=*/false);
  int64_t block =
      std::max<int64_t>(16, (kConvOutBlockBytes / 4 / Co) / 16 * 16);
  block = std::min(block, Lo);
  int64_t blocks = (Lo + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (int64_t rb = 0; rb < R * blocks; ++rb) {
    int64_t r = rb / blocks, l0 = rb % blocks * block;
    int64_t rows = std::min(block, Lo - l0);
    float *o = out + (r * Lo + l0) * Co;
    for (int64_t p = 0; p < rows; ++p)
      std::copy(b, b + Co, o + p * Co);
    loco::cpu::gemm({rows, Co, Ci, false, stride * Ci, Co, Co, K, Ci, Ci * Co},
                    x + (r * L + l0 * stride) * Ci, taps, o,
                    /*accumulate=*/true);
  }
}

void loco_conv_transpose1d(loco_context *ctx, const float *x, const float *w,
                           const float *b, float *out, int64_t R, int64_t L,
                           int64_t Ci, int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - 1) * stride + K;
  Scratch scratch(ctx);
  float *taps = scratch.take<float>(K * Ci * Co);
  loco::packTaps(w, taps, Ci, Co, K, /*transposed=*/true);
  // out[r, l * stride + k] += x[r, l] W_k: rows of out strided by `stride`,
  // each filled with the bias just before its taps (while in cache).
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t p = 0; p < Lo; ++p)
      std::copy(b, b + Co, out + (r * Lo + p) * Co);
    for (int64_t k = 0; k < K; ++k)
      loco::cpu::gemm({L, Co, Ci, false, Ci, Co, stride * Co}, x + r * L * Ci,
                      taps + k * Ci * Co, out + (r * Lo + k) * Co,
                      /*accumulate=*/true);
  }
}

} // extern "C"
