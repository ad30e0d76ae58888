//===- Elementwise.cpp - Element-wise and attention pieces on the CPU -----===//
//
// This file implements the element-wise kernels, RoPE, softmax and dropout.
// RoPE computes its angles in float32 as rotary-embedding-torch does (the
// inverse frequency, the position product, then cos and sin), so that the
// rotation matches upstream to the last bits.
//
//===----------------------------------------------------------------------===//

#include "runtime/Philox.h"
#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"
#include "runtime/cpu/Silu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using loco::cpu::siluGradOf;
using loco::cpu::siluOf;

extern "C" {

#define LOCO_BINARY(NAME, EXPR)                                                \
  void NAME(loco_context *, const float *a, const float *b, float *out,        \
            int64_t n) {                                                       \
    _Pragma("omp parallel for simd schedule(static)") for (int64_t i = 0;      \
                                                           i < n; ++i)         \
        out[i] = EXPR;                                                         \
  }
LOCO_BINARY(loco_add, a[i] + b[i])
LOCO_BINARY(loco_sub, a[i] - b[i])
LOCO_BINARY(loco_mul, a[i] * b[i])
LOCO_BINARY(loco_div, a[i] / b[i])
#undef LOCO_BINARY

void loco_silu(loco_context *, const float *x, float *out, int64_t n) {
  loco::cpu::mapWithExpNegated<loco::F32>(
      x, out, n, [](int64_t, float v, float e) { return siluOf(v, e); });
}

void loco_swiglu(loco_context *, const float *x, float *out, int64_t rows,
                 int64_t H) {
  loco::cpu::forGateBlocks<loco::F32>(x, rows, H,
                                      [&](const float *a, const float *b,
                                          const float *e, int64_t r, int64_t j0,
                                          int64_t m) {
                                        float *y = out + r * H + j0;
#pragma omp simd
                                        for (int64_t j = 0; j < m; ++j)
                                          y[j] = a[j] * siluOf(b[j], e[j]);
                                      });
}

void loco_scale(loco_context *, const float *x, float *out, int64_t n,
                double factor) {
  float f = static_cast<float>(factor);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = x[i] * f;
}

void loco_copy(loco_context *, const float *x, float *out, int64_t n) {
  if (x != out)
    std::memmove(out, x, n * sizeof(float));
}

void loco_rope(loco_context *ctx, const float *x, float *out, int64_t outer,
               int64_t L, int64_t d, double theta, int64_t inverse) {
  int64_t half = d / 2;
  loco::Scratch scratch(ctx);
  float *cosTable = scratch.take<float>(L * half);
  float *sinTable = scratch.take<float>(L * half);
  for (int64_t i = 0; i < half; ++i) {
    float invFreq =
        1.0f / std::pow(static_cast<float>(theta),
                        static_cast<float>(2 * i) / static_cast<float>(d));
    for (int64_t p = 0; p < L; ++p) {
      float angle = static_cast<float>(p) * invFreq;
      cosTable[p * half + i] = std::cos(angle);
      sinTable[p * half + i] = inverse ? -std::sin(angle) : std::sin(angle);
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < L; ++p) {
      const float *xr = x + (o * L + p) * d;
      float *yr = out + (o * L + p) * d;
      for (int64_t i = 0; i < half; ++i) {
        float c = cosTable[p * half + i], s = sinTable[p * half + i];
        float x0 = xr[2 * i], x1 = xr[2 * i + 1];
        yr[2 * i] = x0 * c - x1 * s;
        yr[2 * i + 1] = x1 * c + x0 * s;
      }
    }
}

void loco_softmax(loco_context *, const float *x, float *out, int64_t outer,
                  int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const float *xr = x + o * n * inner + j;
      float *yr = out + o * n * inner + j;
      float maxValue = xr[0];
      for (int64_t i = 1; i < n; ++i)
        maxValue = std::max(maxValue, xr[i * inner]);
      float sum = 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        float e = std::exp(xr[i * inner] - maxValue);
        yr[i * inner] = e;
        sum += e;
      }
      float inv = 1.0f / sum;
      for (int64_t i = 0; i < n; ++i)
        yr[i * inner] *= inv;
    }
}

} // extern "C"

namespace {
using loco::F32;

/// Calls keep(i, kept) for element i of n with its inverted-dropout
/// decision, drawn with index `index_offset + i` from (seed, step, stream).
/// One Philox call serves four consecutive indices; with an offset that is
/// not a multiple of 4 the first and last blocks are partial.
template <typename Keep>
void forEachDraw(loco_context *ctx, int64_t n, double p, int64_t stream,
                 int64_t index_offset, Keep keep) {
  float threshold = static_cast<float>(p);
  uint64_t seed = ctx->seed, step = ctx->step;
  int64_t first = index_offset / 4, last = (index_offset + n + 3) / 4;
#pragma omp parallel for schedule(static)
  for (int64_t block = first; block < last; ++block) {
    loco::PhiloxOut draws =
        loco::philoxBlock(seed, step, static_cast<uint64_t>(stream),
                          static_cast<uint64_t>(block));
    int64_t begin = std::max(4 * block, index_offset),
            end = std::min(index_offset + n, 4 * block + 4);
    for (int64_t index = begin; index < end; ++index)
      keep(index - index_offset,
           loco::philoxToUniform(draws.v[index & 3]) >= threshold);
  }
}

/// Inverted dropout on storage T read and written through the policy H:
/// the f32 kernel and the bf16/f16 ones draw the same mask.
template <typename H, typename T>
void dropout(loco_context *ctx, const T *x, T *out, int64_t n, double p,
             int64_t stream, int64_t index_offset) {
  if (!ctx->training || p == 0.0) {
    if (x != out)
      std::memmove(out, x, n * sizeof(T));
    return;
  }
  float keepScale = static_cast<float>(1.0 / (1.0 - p));
  forEachDraw(ctx, n, p, stream, index_offset, [&](int64_t i, bool kept) {
    out[i] = H::store(kept ? H::load(x[i]) * keepScale : 0.0f);
  });
}

/// a * b, rounded on its own. GCC contracts a product feeding a sum into
/// one FMA (-ffp-contract=fast with x86-64-v3), which rounds once where the
/// unfused dropout and add round twice; the empty asm makes the product a
/// value in a register that the sum cannot be fused with.
inline float separateProduct(float a, float b) {
  float product = a * b;
  asm("" : "+x"(product));
  return product;
}

/// residual + dropout(x): the residual and the result stored through R,
/// x through X. The dropout rounds to X's type and the sum widens it, as
/// loco_dropout, a widening cast and loco_add would; out may be r (or x
/// when R and X store alike).
template <typename R, typename X, typename TR, typename TX>
void dropoutAdd(loco_context *ctx, const TR *r, const TX *x, TR *out, int64_t n,
                double p, int64_t stream, int64_t index_offset) {
  if (!ctx->training || p == 0.0) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      out[i] = R::store(R::load(r[i]) + X::load(x[i]));
    return;
  }
  float keepScale = static_cast<float>(1.0 / (1.0 - p));
  forEachDraw(ctx, n, p, stream, index_offset, [&](int64_t i, bool kept) {
    float dropped = X::load(
        X::store(kept ? separateProduct(X::load(x[i]), keepScale) : 0.0f));
    out[i] = R::store(R::load(r[i]) + dropped);
  });
}
} // namespace

extern "C" {

void loco_dropout(loco_context *ctx, const float *x, float *out, int64_t n,
                  double p, int64_t stream, int64_t index_offset) {
  dropout<F32>(ctx, x, out, n, p, stream, index_offset);
}

void loco_dropout_add(loco_context *ctx, const float *r, const float *x,
                      float *out, int64_t n, double p, int64_t stream,
                      int64_t index_offset) {
  dropoutAdd<F32, F32>(ctx, r, x, out, n, p, stream, index_offset);
}

#define LOCO_HALF_DROPOUT(S, H)                                                \
  void loco_dropout_##S(loco_context *ctx, const loco_half *x, loco_half *out, \
                        int64_t n, double p, int64_t stream,                   \
                        int64_t index_offset) {                                \
    dropout<H>(ctx, x, out, n, p, stream, index_offset);                       \
  }                                                                            \
  void loco_dropout_add_##S(loco_context *ctx, const loco_half *r,             \
                            const loco_half *x, loco_half *out, int64_t n,     \
                            double p, int64_t stream, int64_t index_offset) {  \
    dropoutAdd<H, H>(ctx, r, x, out, n, p, stream, index_offset);              \
  }                                                                            \
  void loco_dropout_add_f32_##S(                                               \
      loco_context *ctx, const float *r, const loco_half *x, float *out,       \
      int64_t n, double p, int64_t stream, int64_t index_offset) {             \
    dropoutAdd<F32, H>(ctx, r, x, out, n, p, stream, index_offset);            \
  }
LOCO_HALF_DROPOUT(bf16, loco::Bf16)
LOCO_HALF_DROPOUT(f16, loco::F16)
#undef LOCO_HALF_DROPOUT

} // extern "C"

extern "C" {

void loco_softmax_backward(loco_context *, const float *y, const float *g,
                           float *out, int64_t outer, int64_t n,
                           int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const float *yr = y + o * n * inner + j, *gr = g + o * n * inner + j;
      float *dr = out + o * n * inner + j;
      double dot = 0.0;
      for (int64_t i = 0; i < n; ++i)
        dot += static_cast<double>(yr[i * inner]) * gr[i * inner];
      float d = static_cast<float>(dot);
      for (int64_t i = 0; i < n; ++i)
        dr[i * inner] = yr[i * inner] * (gr[i * inner] - d);
    }
}

void loco_silu_backward(loco_context *, const float *x, const float *g,
                        float *out, int64_t n) {
  // out may alias g (or x): each element is read before it is written.
  loco::cpu::mapWithExpNegated<loco::F32>(
      x, out, n,
      [g](int64_t i, float v, float e) { return siluGradOf(v, e, g[i]); });
}

void loco_swiglu_backward(loco_context *, const float *x, const float *g,
                          float *out, int64_t rows, int64_t H) {
  // out may alias x: each lane reads its value and gate before it writes
  // the same two positions.
  loco::cpu::forGateBlocks<loco::F32>(
      x, rows, H,
      [&](const float *a, const float *b, const float *e, int64_t r, int64_t j0,
          int64_t m) {
        const float *gr = g + r * H + j0;
        float *da = out + r * 2 * H + j0, *db = da + H;
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) {
          float gateGrad = gr[j] * a[j]; // the product's cotangent for the SiLU
          da[j] = gr[j] * siluOf(b[j], e[j]);
          db[j] = siluGradOf(b[j], e[j], gateGrad);
        }
      });
}

void loco_fill(loco_context *, float *out, int64_t n, double value) {
  std::fill(out, out + n, static_cast<float>(value));
}

void loco_fill_loss_scaled(loco_context *ctx, float *out, int64_t n,
                           double value) {
  std::fill(out, out + n, static_cast<float>(value * ctx->lossScale));
}

} // extern "C"
