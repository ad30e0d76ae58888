//===- Conv.cpp - Convolutions on the CPU ---------------------------------===//
//
// This file implements the convolutions without im2col copies:
//  - conv2d / conv_transpose2d (the encoder and decoder, few channels on one
//    side) as per-(sample, output channel) accumulations of shifted rows,
//    vectorised along the width;
//  - conv1d / conv_transpose1d (the SwiGLU FFN, channels last) with stride 1
//    as K shifted GEMMs over all rows at once: with the rows flattened to
//    [R * L, C], output position p gathers input position p + k through
//    weight slice k, and positions that would straddle two rows are either
//    dropped (conv) or read zeros (transposed conv, rows padded to the output
//    length). Other strides fall back to direct loops.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

extern "C" {

void loco_conv2d(loco_context *, const float *x, const float *w,
                 const float *b, float *out, int64_t B, int64_t Ci, int64_t H,
                 int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH,
                 int64_t PW) {
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

void loco_conv1d(loco_context *, const float *x, const float *w,
                 const float *b, float *out, int64_t R, int64_t L, int64_t Ci,
                 int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - K) / stride + 1;
  if (stride != 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t l = 0; l < Lo; ++l)
        for (int64_t co = 0; co < Co; ++co) {
          float acc = b[co];
          for (int64_t k = 0; k < K; ++k)
            for (int64_t ci = 0; ci < Ci; ++ci)
              acc += x[(r * L + l * stride + k) * Ci + ci] *
                     w[(co * Ci + ci) * K + k];
          out[(r * Lo + l) * Co + co] = acc;
        }
    return;
  }
  // Weight slice k as a [Ci, Co] matrix.
  std::vector<float> slices(K * Ci * Co);
  for (int64_t co = 0; co < Co; ++co)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t k = 0; k < K; ++k)
        slices[(k * Ci + ci) * Co + co] = w[(co * Ci + ci) * K + k];
  // y[p] = b + sum_k x[p + k] W_k over all flattened positions p.
  std::vector<float> y(R * L * Co);
  for (int64_t p = 0; p < R * L; ++p)
    std::copy(b, b + Co, y.data() + p * Co);
  for (int64_t k = 0; k < K; ++k)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R * L - k, Co, Ci,
                1.0f, x + k * Ci, Ci, slices.data() + k * Ci * Co, Co, 1.0f,
                y.data(), Co);
  // Keep the positions whose window lies inside their own row.
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; ++r)
    std::copy(y.data() + r * L * Co, y.data() + (r * L + Lo) * Co,
              out + r * Lo * Co);
}

void loco_conv_transpose1d(loco_context *, const float *x, const float *w,
                           const float *b, float *out, int64_t R, int64_t L,
                           int64_t Ci, int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - 1) * stride + K;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < R * Lo; ++p)
    std::copy(b, b + Co, out + p * Co);
  if (stride != 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t l = 0; l < L; ++l)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t ci = 0; ci < Ci; ++ci) {
            float xv = x[(r * L + l) * Ci + ci];
            float *o = out + (r * Lo + l * stride + k) * Co;
            const float *wr = w + ci * Co * K + k;
            for (int64_t co = 0; co < Co; ++co)
              o[co] += xv * wr[co * K];
          }
    return;
  }
  std::vector<float> slices(K * Ci * Co);
  for (int64_t ci = 0; ci < Ci; ++ci)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t k = 0; k < K; ++k)
        slices[(k * Ci + ci) * Co + co] = w[(ci * Co + co) * K + k];
  // Rows padded with zeros to the output length, so that out[p + k] +=
  // xp[p] W_k never carries one row into the next.
  std::vector<float> xp(R * Lo * Ci, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; ++r)
    std::copy(x + r * L * Ci, x + (r + 1) * L * Ci, xp.data() + r * Lo * Ci);
  for (int64_t k = 0; k < K; ++k)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R * Lo - k, Co, Ci,
                1.0f, xp.data(), Ci, slices.data() + k * Ci * Co, Co, 1.0f,
                out + k * Co, Co);
}

} // extern "C"
