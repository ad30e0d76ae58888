//===- Attention.cpp - Fused attention on the CPU -------------------------===//
//
// This file implements loco_flash_attention and its backward in the manner
// of FlashAttention-2: scores are computed one (query tile x key tile)
// block at a time with an online softmax, and the backward recomputes the
// probabilities of each block from the saved log-sum-exp. Batch entries
// (rows x heads) run in parallel; their outputs are disjoint.
//
// Working set per thread: one kTile x kTile block of scores (16 KiB), plus
// kTile x (d + dv) accumulators and per-row statistics, whatever L is; no
// Lq x Lk buffer is ever allocated.
//
//===----------------------------------------------------------------------===//

#include "runtime/Philox.h"
#include "runtime/cpu/Context.h"

#include <algorithm>
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
      out[c] = loco::philoxToUniform(draws.v[index & 3]) >= p ? keepScale : 0.0f;
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

/// scores[r][c] = scale * q[i0 + r] . k[j0 + c].
void scoreBlock(const float *q, const float *k, int64_t i0, int64_t rows,
                int64_t j0, int64_t cols, int64_t d, float scale,
                float *scores) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *qi = q + (i0 + r) * d;
    for (int64_t c = 0; c < cols; ++c) {
      const float *kj = k + (j0 + c) * d;
      float dot = 0.0f;
      for (int64_t x = 0; x < d; ++x)
        dot += qi[x] * kj[x];
      scores[r * kTile + c] = dot * scale;
    }
  }
}
} // namespace

extern "C" {

void loco_flash_attention(loco_context *ctx, const float *q, const float *k,
                          const float *v, float *out, float *lse,
                          int64_t batch, int64_t Lq, int64_t Lk, int64_t d,
                          int64_t dv, double scale, double p, int64_t stream,
                          int64_t index_offset) {
  DropoutMask mask = makeMask(ctx, p, stream, Lq, Lk, index_offset);
  float s = static_cast<float>(scale);
  int threads = loco::scratchThreads();
  loco::Scratch scratch(ctx);
  float *base = scratch.take<float>(threads * (kTile * kTile + kTile * dv + 3 * kTile));
#pragma omp parallel num_threads(threads)
  {
    float *scores = base + omp_get_thread_num() * (kTile * kTile + kTile * dv + 3 * kTile);
    float *acc = scores + kTile * kTile, *m = acc + kTile * dv, *l = m + kTile;
    float *keep = l + kTile;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b) {
      const float *qb = q + b * Lq * d, *kb = k + b * Lk * d, *vb = v + b * Lk * dv;
      for (int64_t i0 = 0; i0 < Lq; i0 += kTile) {
        int64_t rows = std::min(kTile, Lq - i0);
        std::fill(m, m + kTile, -std::numeric_limits<float>::infinity());
        std::fill(l, l + kTile, 0.0f);
        std::fill(acc, acc + kTile * dv, 0.0f);
        for (int64_t j0 = 0; j0 < Lk; j0 += kTile) {
          int64_t cols = std::min(kTile, Lk - j0);
          scoreBlock(qb, kb, i0, rows, j0, cols, d, s, scores);
          for (int64_t r = 0; r < rows; ++r) {
            float *row = scores + r * kTile;
            float blockMax = *std::max_element(row, row + cols);
            float mNew = std::max(m[r], blockMax);
            float correction = std::exp(m[r] - mNew);
            float *a = acc + r * dv;
            for (int64_t x = 0; x < dv; ++x)
              a[x] *= correction;
            float sum = 0.0f;
            mask.row(b, i0 + r, j0, cols, keep);
            for (int64_t c = 0; c < cols; ++c) {
              float e = std::exp(row[c] - mNew);
              sum += e;
              float weight = e * keep[c];
              if (weight == 0.0f)
                continue;
              const float *vj = vb + (j0 + c) * dv;
              for (int64_t x = 0; x < dv; ++x)
                a[x] += weight * vj[x];
            }
            l[r] = l[r] * correction + sum;
            m[r] = mNew;
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          float *o = out + (b * Lq + i0 + r) * dv;
          float inv = 1.0f / l[r];
          for (int64_t x = 0; x < dv; ++x)
            o[x] = acc[r * dv + x] * inv;
          lse[b * Lq + i0 + r] = m[r] + std::log(l[r]);
        }
      }
    }
  }
}

void loco_flash_attention_backward(loco_context *ctx, const float *q,
                                   const float *k, const float *v,
                                   const float *out, const float *lse,
                                   const float *dout, float *dq, float *dk,
                                   float *dvalue, int64_t batch, int64_t Lq,
                                   int64_t Lk, int64_t d, int64_t dv,
                                   double scale, double p, int64_t stream,
                                   int64_t index_offset) {
  DropoutMask mask = makeMask(ctx, p, stream, Lq, Lk, index_offset);
  float s = static_cast<float>(scale);
  int threads = loco::scratchThreads();
  loco::Scratch scratch(ctx);
  float *base = scratch.take<float>(threads * (kTile * kTile + Lq + kTile));
#pragma omp parallel num_threads(threads)
  {
    float *scores = base + omp_get_thread_num() * (kTile * kTile + Lq + kTile);
    float *delta = scores + kTile * kTile, *keepRow = delta + Lq;
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b) {
      const float *qb = q + b * Lq * d, *kb = k + b * Lk * d, *vb = v + b * Lk * dv;
      const float *ob = out + b * Lq * dv, *gb = dout + b * Lq * dv;
      const float *lb = lse + b * Lq;
      float *dqb = dq + b * Lq * d, *dkb = dk + b * Lk * d, *dvb = dvalue + b * Lk * dv;
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
        for (int64_t i0 = 0; i0 < Lq; i0 += kTile) {
          int64_t rows = std::min(kTile, Lq - i0);
          scoreBlock(qb, kb, i0, rows, j0, cols, d, s, scores);
          for (int64_t r = 0; r < rows; ++r) {
            int64_t i = i0 + r;
            const float *gi = gb + i * dv, *qi = qb + i * d;
            float *dqi = dqb + i * d;
            mask.row(b, i, j0, cols, keepRow);
            for (int64_t c = 0; c < cols; ++c) {
              int64_t j = j0 + c;
              float prob = std::exp(scores[r * kTile + c] - lb[i]);
              float keep = keepRow[c];
              const float *vj = vb + j * dv;
              float *dvj = dvb + j * dv;
              // dV_j += P~_ij dO_i; dP~_ij = dO_i . v_j.
              float dropped = prob * keep, dProb = 0.0f;
              for (int64_t x = 0; x < dv; ++x) {
                dvj[x] += dropped * gi[x];
                dProb += gi[x] * vj[x];
              }
              float dScore = prob * (dProb * keep - delta[i]) * s;
              const float *kj = kb + j * d;
              float *dkj = dkb + j * d;
              for (int64_t x = 0; x < d; ++x) {
                dqi[x] += dScore * kj[x];
                dkj[x] += dScore * qi[x];
              }
            }
          }
        }
      }
    }
  }
}

} // extern "C"
