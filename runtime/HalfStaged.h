//===- HalfStaged.h - bf16/f16 kernels by fp32 staging ----------*- C++ -*-===//
//
// This file implements the reduced-precision convolutions, their weight
// gradients and the GEMMs by staging, where no native kernel applies (the
// CPU's f16, and bf16 on CPUs without bf16 instructions; the 2-D
// convolutions everywhere): a block of rows is widened to fp32 in the arena's
// workspace, the backend's own fp32 kernel runs on it, and its results are
// rounded once into the bf16/f16 output. Rows are independent in all of
// them (weight gradients sum their blocks in fp32), so the results are the
// fp32 kernel's on the widened inputs, rounded; blocks are sized by
// runtime/abi/Workspace.h, which the compiler uses to plan the workspace.
//
// Backend-neutral: a backend supplies `Ops` (its widen/narrow of a storage
// type H, addInto, zero and Scratch) and defines the C entry points with
// LOCO_DEFINE_STAGED_HALF_CONV1D and _CONV2D, or calls the functions below
// from its own entry points as a fallback; the fp32 kernels named inside bind
// to that backend's own (each backend links with -Bsymbolic).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_HALFSTAGED_H
#define LOCO_RUNTIME_HALFSTAGED_H

#include "runtime/abi/Workspace.h"
#include "runtime/abi/api.h"

#include <algorithm>

namespace loco::staged {

namespace workspace = loco::workspace;

/// Calls `body(first, count)` for the blocks of `rows` rows that
/// workspace::stageRows gives for `rowFloats` floats a row.
template <typename Body>
void forEachBlock(int64_t rows, int64_t rowFloats, Body body) {
  int64_t block = workspace::stageRows(rows, rowFloats);
  for (int64_t first = 0; first < rows; first += block)
    body(first, std::min(block, rows - first));
}

using Conv1dFn = void (*)(loco_context *, const float *, const float *,
                          const float *, float *, int64_t, int64_t, int64_t,
                          int64_t, int64_t, int64_t);
using Conv1dGradFn = void (*)(loco_context *, const float *, const float *,
                              float *, int64_t, int64_t, int64_t, int64_t,
                              int64_t);
using Conv2dFn = void (*)(loco_context *, const float *, const float *,
                          const float *, float *, int64_t, int64_t, int64_t,
                          int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
using Conv2dGradFn = void (*)(loco_context *, const float *, const float *,
                              float *, int64_t, int64_t, int64_t, int64_t,
                              int64_t, int64_t, int64_t, int64_t, int64_t);

/// x [R, L, Ci] -> out [R, Lo, Co] (both weight layouts hold Co Ci K).
template <typename Ops, typename H>
void conv1d(Conv1dFn kernel, loco_context *ctx, const loco_half *x,
            const loco_half *w, const loco_half *b, loco_half *out, int64_t R,
            int64_t L, int64_t Ci, int64_t Co, int64_t K, int64_t stride,
            int64_t Lo) {
  typename Ops::Scratch scratch(ctx);
  int64_t weightCount = Co * Ci * K, rowFloats = L * Ci + Lo * Co;
  float *w32 = scratch.template take<float>(weightCount + Co),
        *b32 = w32 + weightCount;
  Ops::template widen<H>(ctx, w, w32, weightCount);
  Ops::template widen<H>(ctx, b, b32, Co);
  float *x32 = scratch.template take<float>(workspace::stageRows(R, rowFloats) *
                                            rowFloats);
  forEachBlock(R, rowFloats, [&](int64_t first, int64_t count) {
    float *o32 = x32 + count * L * Ci;
    Ops::template widen<H>(ctx, x + first * L * Ci, x32, count * L * Ci);
    kernel(ctx, x32, w32, b32, o32, count, L, Ci, Co, K, stride);
    Ops::template narrow<H>(ctx, o32, out + first * Lo * Co, count * Lo * Co);
  });
}

/// x [R, L, Ci], g [R, Lo, Co] -> out (Co Ci K elements), summed in fp32.
template <typename Ops, typename H>
void conv1dWeightGrad(Conv1dGradFn kernel, loco_context *ctx,
                      const loco_half *x, const loco_half *g, loco_half *out,
                      int64_t R, int64_t L, int64_t Ci, int64_t Co, int64_t K,
                      int64_t Lo) {
  typename Ops::Scratch scratch(ctx);
  int64_t weightCount = Co * Ci * K, rowFloats = L * Ci + Lo * Co;
  float *sum = scratch.template take<float>(2 * weightCount),
        *part = sum + weightCount;
  Ops::zero(ctx, sum, weightCount);
  float *x32 = scratch.template take<float>(workspace::stageRows(R, rowFloats) *
                                            rowFloats);
  forEachBlock(R, rowFloats, [&](int64_t first, int64_t count) {
    float *g32 = x32 + count * L * Ci;
    Ops::template widen<H>(ctx, x + first * L * Ci, x32, count * L * Ci);
    Ops::template widen<H>(ctx, g + first * Lo * Co, g32, count * Lo * Co);
    kernel(ctx, x32, g32, part, count, L, Ci, Co, K);
    Ops::addInto(ctx, sum, part, weightCount);
  });
  Ops::template narrow<H>(ctx, sum, out, weightCount);
}

/// x [B, Ci, H, W] -> out [B, Co, Ho, Wo], a block of batch items at a time.
template <typename Ops, typename H>
void conv2d(Conv2dFn kernel, loco_context *ctx, const loco_half *x,
            const loco_half *w, const loco_half *b, loco_half *out, int64_t B,
            int64_t Ci, int64_t Hin, int64_t W, int64_t Co, int64_t KH,
            int64_t KW, int64_t PH, int64_t PW, int64_t outPerItem) {
  typename Ops::Scratch scratch(ctx);
  int64_t weightCount = Co * Ci * KH * KW, inPerItem = Ci * Hin * W;
  int64_t rowFloats = inPerItem + outPerItem;
  float *w32 = scratch.template take<float>(weightCount + Co),
        *b32 = w32 + weightCount;
  Ops::template widen<H>(ctx, w, w32, weightCount);
  Ops::template widen<H>(ctx, b, b32, Co);
  float *x32 = scratch.template take<float>(workspace::stageRows(B, rowFloats) *
                                            rowFloats);
  forEachBlock(B, rowFloats, [&](int64_t first, int64_t count) {
    float *o32 = x32 + count * inPerItem;
    Ops::template widen<H>(ctx, x + first * inPerItem, x32, count * inPerItem);
    kernel(ctx, x32, w32, b32, o32, count, Ci, Hin, W, Co, KH, KW, PH, PW);
    Ops::template narrow<H>(ctx, o32, out + first * outPerItem,
                            count * outPerItem);
  });
}

template <typename Ops, typename H>
void conv2dWeightGrad(Conv2dGradFn kernel, loco_context *ctx,
                      const loco_half *x, const loco_half *g, loco_half *out,
                      int64_t B, int64_t Ci, int64_t Hin, int64_t W, int64_t Co,
                      int64_t KH, int64_t KW, int64_t PH, int64_t PW,
                      int64_t outPerItem) {
  typename Ops::Scratch scratch(ctx);
  int64_t weightCount = Co * Ci * KH * KW, inPerItem = Ci * Hin * W;
  int64_t rowFloats = inPerItem + outPerItem;
  float *sum = scratch.template take<float>(2 * weightCount),
        *part = sum + weightCount;
  Ops::zero(ctx, sum, weightCount);
  float *x32 = scratch.template take<float>(workspace::stageRows(B, rowFloats) *
                                            rowFloats);
  forEachBlock(B, rowFloats, [&](int64_t first, int64_t count) {
    float *g32 = x32 + count * inPerItem;
    Ops::template widen<H>(ctx, x + first * inPerItem, x32, count * inPerItem);
    Ops::template widen<H>(ctx, g + first * outPerItem, g32,
                           count * outPerItem);
    kernel(ctx, x32, g32, part, count, Ci, Hin, W, Co, KH, KW, PH, PW);
    Ops::addInto(ctx, sum, part, weightCount);
  });
  Ops::template narrow<H>(ctx, sum, out, weightCount);
}

template <typename Ops, typename H>
void stagedLinear(loco_context *ctx, const loco_half *x, const loco_half *w,
                  loco_half *out, int64_t M, int64_t K, int64_t N) {
  typename Ops::Scratch scratch(ctx);
  int64_t rowFloats = K + N;
  float *w32 = scratch.template take<float>(N * K);
  Ops::template widen<H>(ctx, w, w32, N * K);
  float *x32 = scratch.template take<float>(workspace::stageRows(M, rowFloats) *
                                            rowFloats);
  forEachBlock(M, rowFloats, [&](int64_t first, int64_t count) {
    float *o32 = x32 + count * K;
    Ops::template widen<H>(ctx, x + first * K, x32, count * K);
    ::loco_linear(ctx, x32, w32, o32, count, K, N);
    Ops::template narrow<H>(ctx, o32, out + first * N, count * N);
  });
}

template <typename Ops, typename H>
void stagedLinearWeightGrad(loco_context *ctx, const loco_half *x,
                            const loco_half *g, loco_half *out, int64_t M,
                            int64_t K, int64_t N) {
  typename Ops::Scratch scratch(ctx);
  int64_t rowFloats = K + N;
  float *sum = scratch.template take<float>(2 * N * K), *part = sum + N * K;
  Ops::zero(ctx, sum, N * K);
  float *x32 = scratch.template take<float>(workspace::stageRows(M, rowFloats) *
                                            rowFloats);
  forEachBlock(M, rowFloats, [&](int64_t first, int64_t count) {
    float *g32 = x32 + count * K;
    Ops::template widen<H>(ctx, x + first * K, x32, count * K);
    Ops::template widen<H>(ctx, g + first * N, g32, count * N);
    ::loco_linear_weight_grad(ctx, x32, g32, part, count, K, N);
    Ops::addInto(ctx, sum, part, N * K);
  });
  Ops::template narrow<H>(ctx, sum, out, N * K);
}

template <typename Ops, typename H>
void stagedBatchMatmul(loco_context *ctx, const loco_half *a,
                       const loco_half *b, loco_half *out, int64_t batch,
                       int64_t M, int64_t K, int64_t N, int64_t transposeA,
                       int64_t transposeB) {
  typename Ops::Scratch scratch(ctx);
  int64_t rowFloats = M * K + K * N + M * N;
  float *a32 = scratch.template take<float>(
      workspace::stageRows(batch, rowFloats) * rowFloats);
  forEachBlock(batch, rowFloats, [&](int64_t first, int64_t count) {
    float *b32 = a32 + count * M * K, *o32 = b32 + count * K * N;
    Ops::template widen<H>(ctx, a + first * M * K, a32, count * M * K);
    Ops::template widen<H>(ctx, b + first * K * N, b32, count * K * N);
    ::loco_batch_matmul(ctx, a32, b32, o32, count, M, K, N, transposeA,
                        transposeB);
    Ops::template narrow<H>(ctx, o32, out + first * M * N, count * M * N);
  });
}

} // namespace loco::staged

/// The staged C entry points of storage `S` (bf16, f16) on a backend: the
/// 1-D convolutions and their weight gradients.
#define LOCO_DEFINE_STAGED_HALF_CONV1D(S, Ops, H)                              \
  void loco_conv1d_##S(loco_context *ctx, const loco_half *x,                  \
                       const loco_half *w, const loco_half *b, loco_half *out, \
                       int64_t R, int64_t L, int64_t Ci, int64_t Co,           \
                       int64_t K, int64_t stride) {                            \
    loco::staged::conv1d<Ops, H>(loco_conv1d, ctx, x, w, b, out, R, L, Ci, Co, \
                                 K, stride, (L - K) / stride + 1);             \
  }                                                                            \
  void loco_conv_transpose1d_##S(                                              \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t R, int64_t L, int64_t Ci,    \
      int64_t Co, int64_t K, int64_t stride) {                                 \
    loco::staged::conv1d<Ops, H>(loco_conv_transpose1d, ctx, x, w, b, out, R,  \
                                 L, Ci, Co, K, stride, (L - 1) * stride + K);  \
  }                                                                            \
  void loco_conv1d_weight_grad_##S(loco_context *ctx, const loco_half *x,      \
                                   const loco_half *g, loco_half *out,         \
                                   int64_t R, int64_t L, int64_t Ci,           \
                                   int64_t Co, int64_t K) {                    \
    loco::staged::conv1dWeightGrad<Ops, H>(loco_conv1d_weight_grad, ctx, x, g, \
                                           out, R, L, Ci, Co, K, L - K + 1);   \
  }                                                                            \
  void loco_conv_transpose1d_weight_grad_##S(                                  \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t R, int64_t L, int64_t Ci, int64_t Co,            \
      int64_t K) {                                                             \
    loco::staged::conv1dWeightGrad<Ops, H>(loco_conv_transpose1d_weight_grad,  \
                                           ctx, x, g, out, R, L, Ci, Co, K,    \
                                           L + K - 1);                         \
  }

/// The 2-D convolutions and their weight gradients.
#define LOCO_DEFINE_STAGED_HALF_CONV2D(S, Ops, H)                              \
  void loco_conv2d_##S(                                                        \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t B, int64_t Ci, int64_t H_,   \
      int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW) { \
    loco::staged::conv2d<Ops, H>(                                              \
        loco_conv2d, ctx, x, w, b, out, B, Ci, H_, W, Co, KH, KW, PH, PW,      \
        Co * (H_ + 2 * PH - KH + 1) * (W + 2 * PW - KW + 1));                  \
  }                                                                            \
  void loco_conv_transpose2d_##S(                                              \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t B, int64_t Ci, int64_t H_,   \
      int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW) { \
    loco::staged::conv2d<Ops, H>(                                              \
        loco_conv_transpose2d, ctx, x, w, b, out, B, Ci, H_, W, Co, KH, KW,    \
        PH, PW, Co * (H_ - 2 * PH + KH - 1) * (W - 2 * PW + KW - 1));          \
  }                                                                            \
  void loco_conv2d_weight_grad_##S(                                            \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t B, int64_t Ci, int64_t H_, int64_t W,            \
      int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW) {            \
    loco::staged::conv2dWeightGrad<Ops, H>(                                    \
        loco_conv2d_weight_grad, ctx, x, g, out, B, Ci, H_, W, Co, KH, KW, PH, \
        PW, Co * (H_ + 2 * PH - KH + 1) * (W + 2 * PW - KW + 1));              \
  }                                                                            \
  void loco_conv_transpose2d_weight_grad_##S(                                  \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t B, int64_t Ci, int64_t H_, int64_t W,            \
      int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW) {            \
    loco::staged::conv2dWeightGrad<Ops, H>(                                    \
        loco_conv_transpose2d_weight_grad, ctx, x, g, out, B, Ci, H_, W, Co,   \
        KH, KW, PH, PW, Co * (H_ - 2 * PH + KH - 1) * (W - 2 * PW + KW - 1));  \
  }

#endif // LOCO_RUNTIME_HALFSTAGED_H
