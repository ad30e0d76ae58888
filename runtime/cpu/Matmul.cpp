//===- Matmul.cpp - Matrix products on the CPU ----------------------------===//
//
// This file implements linear layers and batched matrix products with the
// backend's GEMM (Gemm.h), single-threaded inside OpenMP loops: row blocks
// of a linear layer, output-row blocks of its weight gradient, batch entries
// of a batched product. A transposed right operand (a linear layer's weight,
// a batched product's transposeB) is packed once into scratch.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Gemm.h"

#include <omp.h>

#include <algorithm>
#include <utility>

extern "C" {

/// [begin, end) of part `t` of `n` split into `parts` near-equal pieces.
static std::pair<int64_t, int64_t> part(int64_t n, int t, int parts) {
  int64_t chunk = (n + parts - 1) / parts;
  int64_t begin = std::min<int64_t>(n, t * chunk);
  return {begin, std::min<int64_t>(n, begin + chunk)};
}

void loco_linear(loco_context *ctx, const float *x, const float *w, float *out,
                 int64_t M, int64_t K, int64_t N) {
  loco::Scratch scratch(ctx);
  float *wT = scratch.take<float>(K * N);
  loco::cpu::packTransposed(w, N, K, K, wT);
  // Row blocks of x, one single-threaded GEMM each.
#pragma omp parallel
  {
    auto [begin, end] = part(M, omp_get_thread_num(), omp_get_num_threads());
    if (end > begin)
      loco::cpu::gemm({end - begin, N, K, false, K, N, N}, x + begin * K, wT,
                      out + begin * N, /*accumulate=*/false);
  }
}

void loco_batch_matmul(loco_context *ctx, const float *a, const float *b,
                       float *out, int64_t batch, int64_t M, int64_t K,
                       int64_t N, int64_t transposeA, int64_t transposeB) {
  loco::Scratch scratch(ctx);
  int threads = loco::scratchThreads();
  float *packed = transposeB ? scratch.take<float>(threads * K * N) : nullptr;
  loco::cpu::GemmShape shape{M, N, K, transposeA != 0, transposeA ? M : K,
                             N, N};
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < batch; ++i) {
    const float *bi = b + i * K * N;
    if (transposeB) {
      float *mine = packed + omp_get_thread_num() * K * N;
      loco::cpu::packTransposed(bi, N, K, K, mine);
      bi = mine;
    }
    loco::cpu::gemm(shape, a + i * M * K, bi, out + i * M * N,
                    /*accumulate=*/false);
  }
}

void loco_linear_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t M, int64_t K, int64_t N) {
  // Each thread owns a block of output rows and the whole reduction over M,
  // taken kWeightGradRows rows at a time: an fp32 GEMM per block, the blocks
  // summed in double. A weight gradient sums up to millions of rows whose
  // terms largely cancel; one long fp32 GEMM reduction loses ~1e-6 of the
  // result, and with blocks of rows fixed by the data the sum barely
  // depends on how the rows were split (row chunks, micro-batches).
  constexpr int64_t kRows = loco::workspace::kWeightGradRows;
  loco::Scratch scratch(ctx);
  float *partial = scratch.take<float>(N * K);
  double *sum = scratch.take<double>(N * K);
#pragma omp parallel
  {
    auto [begin, end] = part(N, omp_get_thread_num(), omp_get_num_threads());
    if (end > begin) {
      int64_t first = begin * K, last = end * K;
      std::fill(sum + first, sum + last, 0.0);
      for (int64_t m0 = 0; m0 < M; m0 += kRows) {
        int64_t rows = std::min(kRows, M - m0);
        loco::cpu::gemm({end - begin, K, rows, /*transA=*/true, N, K, K},
                        g + m0 * N + begin, x + m0 * K, partial + first,
                        /*accumulate=*/false);
        for (int64_t i = first; i < last; ++i)
          sum[i] += partial[i];
      }
      for (int64_t i = first; i < last; ++i)
        out[i] = static_cast<float>(sum[i]);
    }
  }
}

} // extern "C"
