//===- Attention.cpp - Fused attention on the CPU -------------------------===//
//
// This file implements loco_flash_attention and its backward in the manner
// of FlashAttention-2: scores are computed one (query tile x key tile)
// block at a time with an online softmax, and the backward recomputes the
// probabilities of each block from the saved log-sum-exp. Batch entries
// (rows x heads) run in parallel; their outputs are disjoint.
//
// Every product of a tile (q k^T, p v; in the backward do v^T, p^T do,
// ds k, ds^T q) is one libxsmm kernel (SmallGemm.h), generated once per
// shape for the CPU's vector units, and the exponentials are SLEEF's
// (VectorMath.h). A key tile is transposed once (k scaled by the softmax
// scale, and v), and the backward writes the dropped probabilities and the
// score gradients transposed as it makes them, so that every product reads
// its operands in place.
//
// Working set per thread: a few kTile x kTile blocks (16 KiB each), the
// transposed key tile, and per-row statistics, whatever L is; no Lq x Lk
// buffer is ever allocated (Workspace.h sizes it).
//
// The bf16/f16 kernels run the same code on one entry at a time: a thread
// widens its entry's operands into its own fp32 buffers (L x d values each,
// which stay in its cache), computes the entry and rounds its results once.
// They read and write 16-bit storage only, with no fp32 copy of a block of
// rows in memory, and their results are the fp32 kernel's on the widened
// inputs, bit for bit.
//
//===----------------------------------------------------------------------===//

#include "runtime/Philox.h"
#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"
#include "runtime/cpu/SmallGemm.h"
#include "runtime/cpu/VectorMath.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace {
constexpr int64_t kTile = loco::workspace::kAttentionTile;

/// The dropout factors of probabilities (b, i, j): 0 or 1 / (1 - p). A
/// Philox call yields four consecutive elements; `row` fills one row's
/// factors for keys [j0, j0 + cols) with a call per four.
struct DropoutMask {
  uint64_t seed, step, stream;
  float p, keepScale;
  bool active;
  int64_t Lq, Lk;
  uint64_t offset;
  void row(int64_t b, int64_t i, int64_t j0, int64_t cols, float *out) const {
    if (!active) {
      std::fill(out, out + cols, 1.0f);
      return;
    }
    uint64_t first = (static_cast<uint64_t>(b) * Lq + i) * Lk + j0 + offset;
    uint64_t block = first >> 2;
    loco::PhiloxOut draws = loco::philoxBlock(seed, step, stream, block);
    for (int64_t c = 0; c < cols; ++c) {
      uint64_t index = first + c;
      if ((index >> 2) != block) {
        block = index >> 2;
        draws = loco::philoxBlock(seed, step, stream, block);
      }
      out[c] =
          loco::philoxToUniform(draws.v[index & 3]) >= p ? keepScale : 0.0f;
    }
  }
};

DropoutMask makeMask(loco_context *ctx, double p, int64_t stream, int64_t Lq,
                     int64_t Lk, int64_t offset) {
  bool active = ctx->training && p > 0.0 && stream >= 0;
  return {ctx->seed,
          ctx->step,
          static_cast<uint64_t>(stream < 0 ? 0 : stream),
          static_cast<float>(p),
          static_cast<float>(1.0 / (1.0 - p)),
          active,
          Lq,
          Lk,
          static_cast<uint64_t>(offset)};
}

/// One product at each tile shape a call meets, [row edge][column edge]:
/// full tiles and, where L is not a multiple of the tile, the edge tiles.
using EdgeProducts = std::array<std::array<loco::cpu::SmallGemm, 2>, 2>;

/// The tile products of one call, made once before its parallel region.
/// Tiles are row-major; in libxsmm's column-major terms a row-major
/// [rows, cols] tile with leading dimension ld is a [cols, rows] matrix.
struct TileProducts {
  TileProducts(int64_t Lq, int64_t Lk, int64_t d, int64_t dv)
      : d(d), dv(dv), lastRows(Lq - (Lq - 1) / kTile * kTile),
        lastCols(Lk - (Lk - 1) / kTile * kTile) {}

  using Product = loco::cpu::SmallGemm (TileProducts::*)(int64_t,
                                                         int64_t) const;
  /// `product` at the full and edge tile shapes.
  EdgeProducts byEdge(Product product) const {
    auto at = [&](int64_t rows, int64_t cols) {
      return (this->*product)(rows, cols);
    };
    return {{{at(kTile, kTile), at(kTile, lastCols)},
             {at(lastRows, kTile), at(lastRows, lastCols)}}};
  }

  int64_t d, dv;
  /// The rows and columns of the last query and key tiles.
  int64_t lastRows, lastCols;

  /// scores [rows, cols] = q_i [rows, d] . kt [d, cols] (kt: k^T, scaled).
  loco::cpu::SmallGemm score(int64_t rows, int64_t cols) const {
    return {int(cols), int(rows),  int(d), int(kTile),
            int(d),    int(kTile), false};
  }
  /// acc [rows, dv] += p [rows, cols] . v_j [cols, dv].
  loco::cpu::SmallGemm value(int64_t rows, int64_t cols) const {
    return {int(dv), int(rows), int(cols), int(dv), int(kTile), int(dv), true};
  }
  /// dp [rows, cols] = do_i [rows, dv] . vt [dv, cols].
  loco::cpu::SmallGemm probGrad(int64_t rows, int64_t cols) const {
    return {int(cols), int(rows),  int(dv), int(kTile),
            int(dv),   int(kTile), false};
  }
  /// dv_j [cols, dv] += pt [cols, rows] . do_i [rows, dv].
  loco::cpu::SmallGemm valueGrad(int64_t rows, int64_t cols) const {
    return {int(dv), int(cols), int(rows), int(dv), int(kTile), int(dv), true};
  }
  /// dq_i [rows, d] += ds [rows, cols] . k_j [cols, d].
  loco::cpu::SmallGemm queryGrad(int64_t rows, int64_t cols) const {
    return {int(d), int(rows), int(cols), int(d), int(kTile), int(d), true};
  }
  /// dk_j [cols, d] += dst [cols, rows] . q_i [rows, d].
  loco::cpu::SmallGemm keyGrad(int64_t rows, int64_t cols) const {
    return {int(d), int(cols), int(rows), int(d), int(kTile), int(d), true};
  }
};

/// out [width, cols] (leading dimension kTile) = factor * in rows [cols,
/// width] (leading dimension width): a tile of keys or values transposed.
void transposeTile(const float *in, int64_t cols, int64_t width, float factor,
                   float *out) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t x = 0; x < width; ++x)
      out[x * kTile + c] = in[c * width + x] * factor;
}
/// The largest of x[0, n), eight lanes at a time (max is exact: the same
/// value as a scalar scan).
float rowMax(const float *x, int64_t n) {
  __m256 lanes = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    lanes = _mm256_max_ps(lanes, _mm256_loadu_ps(x + i));
  alignas(32) float lane[8];
  _mm256_store_ps(lane, lanes);
  float best = lane[0];
  for (int j = 1; j < 8; ++j)
    best = std::max(best, lane[j]);
  for (; i < n; ++i)
    best = std::max(best, x[i]);
  return best;
}

/// out [cols, rows] = in [rows, cols], both with leading dimension kTile:
/// 8 x 8 blocks transposed in registers, the edges element by element.
void transposeBlock(const float *in, int64_t rows, int64_t cols, float *out) {
  int64_t fullRows = rows / 8 * 8, fullCols = cols / 8 * 8;
  for (int64_t r0 = 0; r0 < fullRows; r0 += 8)
    for (int64_t c0 = 0; c0 < fullCols; c0 += 8) {
      __m256 v[8], t[8];
      for (int i = 0; i < 8; ++i)
        v[i] = _mm256_loadu_ps(in + (r0 + i) * kTile + c0);
      for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
      }
      for (int i = 0; i < 8; i += 4) {
        v[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        v[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        v[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        v[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
      }
      for (int i = 0; i < 4; ++i) {
        t[i] = _mm256_permute2f128_ps(v[i], v[i + 4], 0x20);
        t[i + 4] = _mm256_permute2f128_ps(v[i], v[i + 4], 0x31);
      }
      for (int i = 0; i < 8; ++i)
        _mm256_storeu_ps(out + (c0 + i) * kTile + r0, t[i]);
    }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = r < fullRows ? fullCols : 0; c < cols; ++c)
      out[c * kTile + r] = in[r * kTile + c];
}

/// What every batch entry of a call shares: the dropout mask, the scale,
/// the shapes and the tile shapes of its products.
struct CallShape {
  CallShape(loco_context *ctx, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
            double scale, double p, int64_t stream, int64_t indexOffset)
      : mask(makeMask(ctx, p, stream, Lq, Lk, indexOffset)),
        s(static_cast<float>(scale)), Lq(Lq), Lk(Lk), d(d), dv(dv),
        products(Lq, Lk, d, dv) {}

  DropoutMask mask;
  float s;
  int64_t Lq, Lk, d, dv;
  TileProducts products;
};

/// A forward call: `entry` computes one entry (a row's head: [Lq, d]
/// queries, [Lk, d] keys, [Lk, dv] values) on fp32 operands, with `buffers`
/// (flashAttentionThreadFloats) of the calling thread.
struct ForwardCall : CallShape {
  ForwardCall(loco_context *ctx, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
              double scale, double p, int64_t stream, int64_t indexOffset)
      : CallShape(ctx, Lq, Lk, d, dv, scale, p, stream, indexOffset),
        score(products.byEdge(&TileProducts::score)),
        value(products.byEdge(&TileProducts::value)) {}

  void entry(int64_t b, const float *qb, const float *kb, const float *vb,
             float *ob, float *lseb, float *buffers) const {
    float *scores = buffers, *acc = scores + kTile * kTile,
          *kt = acc + kTile * dv;
    float *m = kt + kTile * d, *l = m + kTile, *keep = l + kTile;
    for (int64_t i0 = 0; i0 < Lq; i0 += kTile) {
      int64_t rows = std::min(kTile, Lq - i0);
      bool rowEdge = rows < kTile;
      std::fill(m, m + kTile, -std::numeric_limits<float>::infinity());
      std::fill(l, l + kTile, 0.0f);
      std::fill(acc, acc + kTile * dv, 0.0f);
      for (int64_t j0 = 0; j0 < Lk; j0 += kTile) {
        int64_t cols = std::min(kTile, Lk - j0);
        bool colEdge = cols < kTile;
        transposeTile(kb + j0 * d, cols, d, s, kt);
        score[rowEdge][colEdge](kt, qb + i0 * d, scores);
        for (int64_t r = 0; r < rows; ++r) {
          float *row = scores + r * kTile;
          float blockMax = rowMax(row, cols);
          float mNew = std::max(m[r], blockMax);
          float correction = std::exp(m[r] - mNew);
          float *a = acc + r * dv;
          for (int64_t x = 0; x < dv; ++x)
            a[x] *= correction;
          // Row r's weights: exp(s - m) (their sum is the softmax's
          // denominator), times the dropout factor.
          float sum = loco::cpu::expShifted(row, cols, mNew);
          if (mask.active) {
            mask.row(b, i0 + r, j0, cols, keep);
            for (int64_t c = 0; c < cols; ++c)
              row[c] *= keep[c];
          }
          l[r] = l[r] * correction + sum;
          m[r] = mNew;
        }
        value[rowEdge][colEdge](vb + j0 * dv, scores, acc);
      }
      for (int64_t r = 0; r < rows; ++r) {
        float *o = ob + (i0 + r) * dv;
        float inv = 1.0f / l[r];
        for (int64_t x = 0; x < dv; ++x)
          o[x] = acc[r * dv + x] * inv;
        lseb[i0 + r] = m[r] + std::log(l[r]);
      }
    }
  }

  EdgeProducts score, value;
};

/// The backward's counterpart: `entry` writes dq, dk and dv of one entry
/// (zeroing them first), with `buffers`
/// (flashAttentionBackwardThreadFloats).
struct BackwardCall : CallShape {
  BackwardCall(loco_context *ctx, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
               double scale, double p, int64_t stream, int64_t indexOffset)
      : CallShape(ctx, Lq, Lk, d, dv, scale, p, stream, indexOffset),
        score(products.byEdge(&TileProducts::score)),
        probGrad(products.byEdge(&TileProducts::probGrad)),
        valueGrad(products.byEdge(&TileProducts::valueGrad)),
        queryGrad(products.byEdge(&TileProducts::queryGrad)),
        keyGrad(products.byEdge(&TileProducts::keyGrad)) {}

  void entry(int64_t b, const float *qb, const float *kb, const float *vb,
             const float *ob, const float *gb, const float *lb, float *dqb,
             float *dkb, float *dvb, float *buffers) const {
    // The scores (then probabilities), the probability gradients (then
    // score gradients), a transposed block (the dropped probabilities for
    // dV, then the score gradients for dK), k and v of a key tile
    // transposed, D, and a row of dropout factors.
    float *scores = buffers, *dprob = scores + kTile * kTile,
          *pt = dprob + kTile * kTile;
    float *kt = pt + kTile * kTile;
    float *vt = kt + kTile * d, *delta = vt + kTile * dv;
    float *keepRow = delta + Lq;
    std::fill(dqb, dqb + Lq * d, 0.0f);
    std::fill(dkb, dkb + Lk * d, 0.0f);
    std::fill(dvb, dvb + Lk * dv, 0.0f);
    // D_i = dO_i . O_i = sum_j P_ij dP_ij, even with dropout.
    for (int64_t i = 0; i < Lq; ++i) {
      float sum = 0.0f;
      for (int64_t x = 0; x < dv; ++x)
        sum += gb[i * dv + x] * ob[i * dv + x];
      delta[i] = sum;
    }
    for (int64_t j0 = 0; j0 < Lk; j0 += kTile) {
      int64_t cols = std::min(kTile, Lk - j0);
      bool colEdge = cols < kTile;
      transposeTile(kb + j0 * d, cols, d, s, kt);
      transposeTile(vb + j0 * dv, cols, dv, 1.0f, vt);
      for (int64_t i0 = 0; i0 < Lq; i0 += kTile) {
        int64_t rows = std::min(kTile, Lq - i0);
        bool rowEdge = rows < kTile;
        score[rowEdge][colEdge](kt, qb + i0 * d, scores);
        probGrad[rowEdge][colEdge](vt, gb + i0 * dv, dprob);
        for (int64_t r = 0; r < rows; ++r) {
          int64_t i = i0 + r;
          float *prob = scores + r * kTile, *dp = dprob + r * kTile;
          loco::cpu::expShifted(prob, cols, lb[i]);
          // dS = P (dP~ keep - D) scale goes to dQ as it is and to dK
          // transposed; P~ = P keep (in place of P) to dV, transposed.
          float di = delta[i];
          if (mask.active) {
            mask.row(b, i, j0, cols, keepRow);
            for (int64_t c = 0; c < cols; ++c) {
              float keep = keepRow[c], pc = prob[c];
              dp[c] = pc * (dp[c] * keep - di) * s;
              prob[c] = pc * keep;
            }
          } else {
            for (int64_t c = 0; c < cols; ++c)
              dp[c] = prob[c] * (dp[c] - di) * s;
          }
        }
        transposeBlock(scores, rows, cols, pt);
        valueGrad[rowEdge][colEdge](gb + i0 * dv, pt, dvb + j0 * dv);
        transposeBlock(dprob, rows, cols, pt);
        queryGrad[rowEdge][colEdge](kb + j0 * d, dprob, dqb + i0 * d);
        keyGrad[rowEdge][colEdge](qb + i0 * d, pt, dkb + j0 * d);
      }
    }
  }

  EdgeProducts score, probGrad, valueGrad, queryGrad, keyGrad;
};

/// Threads of a 16-bit call: each holds one entry's operands and results in
/// fp32 beside the fp32 kernel's buffers, within the workspace that
/// Workspace.h's flashAttention*Staged plan (at least one entry, and the
/// fp32 kernel's buffers for every thread).
int halfThreads(int64_t batch, int64_t entryFloats) {
  return static_cast<int>(std::min<int64_t>(
      loco::scratchThreads(), loco::workspace::stageRows(batch, entryFloats)));
}

/// Forward attention on bf16/f16 storage: each thread widens one entry's q,
/// k and v into its own fp32 buffers (a few hundred KiB, which stay in its
/// cache), runs the fp32 entry on them and rounds the output once. The
/// results are the fp32 kernel's on the widened inputs, bit for bit.
template <typename H>
void flashAttentionHalf(loco_context *ctx, const loco_half *q,
                        const loco_half *k, const loco_half *v, loco_half *out,
                        float *lse, int64_t batch, int64_t Lq, int64_t Lk,
                        int64_t d, int64_t dv, double scale, double p,
                        int64_t stream, int64_t indexOffset) {
  ForwardCall call(ctx, Lq, Lk, d, dv, scale, p, stream, indexOffset);
  int64_t entryFloats = Lq * d + Lk * d + Lk * dv + Lq * dv;
  int threads = halfThreads(batch, entryFloats);
  loco::Scratch scratch(ctx);
  int64_t perThread = loco::workspace::flashAttentionThreadFloats(d, dv);
  float *base = scratch.take<float>(threads * perThread);
  float *entries = scratch.take<float>(threads * entryFloats);
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    float *q32 = entries + t * entryFloats, *k32 = q32 + Lq * d,
          *v32 = k32 + Lk * d, *o32 = v32 + Lk * dv;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b) {
      loco::widenOnThread<H>(q + b * Lq * d, q32, Lq * d);
      loco::widenOnThread<H>(k + b * Lk * d, k32, Lk * d);
      loco::widenOnThread<H>(v + b * Lk * dv, v32, Lk * dv);
      call.entry(b, q32, k32, v32, o32, lse + b * Lq, base + t * perThread);
      loco::narrowOnThread<H>(o32, out + b * Lq * dv, Lq * dv);
    }
  }
}

template <typename H>
void flashAttentionBackwardHalf(loco_context *ctx, const loco_half *q,
                                const loco_half *k, const loco_half *v,
                                const loco_half *out, const float *lse,
                                const loco_half *dout, loco_half *dq,
                                loco_half *dk, loco_half *dvalue, int64_t batch,
                                int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
                                double scale, double p, int64_t stream,
                                int64_t indexOffset) {
  BackwardCall call(ctx, Lq, Lk, d, dv, scale, p, stream, indexOffset);
  int64_t entryFloats = 2 * (Lq * d + Lk * d + Lk * dv) + 2 * Lq * dv;
  int threads = halfThreads(batch, entryFloats);
  loco::Scratch scratch(ctx);
  int64_t perThread =
      loco::workspace::flashAttentionBackwardThreadFloats(Lq, d, dv);
  float *base = scratch.take<float>(threads * perThread);
  float *entries = scratch.take<float>(threads * entryFloats);
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    float *q32 = entries + t * entryFloats, *k32 = q32 + Lq * d,
          *v32 = k32 + Lk * d, *o32 = v32 + Lk * dv, *g32 = o32 + Lq * dv;
    float *dq32 = g32 + Lq * dv, *dk32 = dq32 + Lq * d, *dv32 = dk32 + Lk * d;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b) {
      loco::widenOnThread<H>(q + b * Lq * d, q32, Lq * d);
      loco::widenOnThread<H>(k + b * Lk * d, k32, Lk * d);
      loco::widenOnThread<H>(v + b * Lk * dv, v32, Lk * dv);
      loco::widenOnThread<H>(out + b * Lq * dv, o32, Lq * dv);
      loco::widenOnThread<H>(dout + b * Lq * dv, g32, Lq * dv);
      call.entry(b, q32, k32, v32, o32, g32, lse + b * Lq, dq32, dk32, dv32,
                 base + t * perThread);
      loco::narrowOnThread<H>(dq32, dq + b * Lq * d, Lq * d);
      loco::narrowOnThread<H>(dk32, dk + b * Lk * d, Lk * d);
      loco::narrowOnThread<H>(dv32, dvalue + b * Lk * dv, Lk * dv);
    }
  }
}
} // namespace

extern "C" {

void loco_flash_attention(loco_context *ctx, const float *q, const float *k,
                          const float *v, float *out, float *lse, int64_t batch,
                          int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
                          double scale, double p, int64_t stream,
                          int64_t index_offset) {
  ForwardCall call(ctx, Lq, Lk, d, dv, scale, p, stream, index_offset);
  int threads = loco::scratchThreads();
  loco::Scratch scratch(ctx);
  int64_t perThread = loco::workspace::flashAttentionThreadFloats(d, dv);
  float *base = scratch.take<float>(threads * perThread);
#pragma omp parallel num_threads(threads)
  {
    float *buffers = base + omp_get_thread_num() * perThread;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b)
      call.entry(b, q + b * Lq * d, k + b * Lk * d, v + b * Lk * dv,
                 out + b * Lq * dv, lse + b * Lq, buffers);
  }
}

void loco_flash_attention_backward(
    loco_context *ctx, const float *q, const float *k, const float *v,
    const float *out, const float *lse, const float *dout, float *dq, float *dk,
    float *dvalue, int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
    double scale, double p, int64_t stream, int64_t index_offset) {
  BackwardCall call(ctx, Lq, Lk, d, dv, scale, p, stream, index_offset);
  int threads = loco::scratchThreads();
  loco::Scratch scratch(ctx);
  int64_t perThread =
      loco::workspace::flashAttentionBackwardThreadFloats(Lq, d, dv);
  float *base = scratch.take<float>(threads * perThread);
#pragma omp parallel num_threads(threads)
  {
    float *buffers = base + omp_get_thread_num() * perThread;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b)
      call.entry(b, q + b * Lq * d, k + b * Lk * d, v + b * Lk * dv,
                 out + b * Lq * dv, dout + b * Lq * dv, lse + b * Lq,
                 dq + b * Lq * d, dk + b * Lk * d, dvalue + b * Lk * dv,
                 buffers);
  }
}

#define LOCO_DEFINE_HALF_ATTENTION(S, H)                                       \
  void loco_flash_attention_##S(                                               \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, loco_half *out, float *lse, int64_t batch,           \
      int64_t Lq, int64_t Lk, int64_t d, int64_t dv, double scale, double p,   \
      int64_t stream, int64_t index_offset) {                                  \
    flashAttentionHalf<H>(ctx, q, k, v, out, lse, batch, Lq, Lk, d, dv, scale, \
                          p, stream, index_offset);                            \
  }                                                                            \
  void loco_flash_attention_backward_##S(                                      \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, const loco_half *out, const float *lse,              \
      const loco_half *dout, loco_half *dq, loco_half *dk, loco_half *dvalue,  \
      int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,            \
      double scale, double p, int64_t stream, int64_t index_offset) {          \
    flashAttentionBackwardHalf<H>(ctx, q, k, v, out, lse, dout, dq, dk,        \
                                  dvalue, batch, Lq, Lk, d, dv, scale, p,      \
                                  stream, index_offset);                       \
  }
LOCO_DEFINE_HALF_ATTENTION(bf16, loco::Bf16)
LOCO_DEFINE_HALF_ATTENTION(f16, loco::F16)
#undef LOCO_DEFINE_HALF_ATTENTION

} // extern "C"
