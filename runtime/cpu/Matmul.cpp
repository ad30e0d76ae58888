//===- Matmul.cpp - Matrix products on the CPU ----------------------------===//
//
// This file implements linear layers and batched matrix products with BLAS
// (sgemm), single-threaded inside OpenMP loops: row blocks of a linear
// layer, output-row blocks of its weight gradient, batch entries of a
// batched product.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <cblas.h>
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

void loco_linear(loco_context *, const float *x, const float *w, float *out,
                 int64_t M, int64_t K, int64_t N) {
  // Row blocks of x, one single-threaded GEMM each.
#pragma omp parallel
  {
    auto [begin, end] = part(M, omp_get_thread_num(), omp_get_num_threads());
    if (end > begin)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, end - begin, N, K,
                  1.0f, x + begin * K, K, w, K, 0.0f, out + begin * N, N);
  }
}

void loco_batch_matmul(loco_context *, const float *a, const float *b,
                       float *out, int64_t batch, int64_t M, int64_t K,
                       int64_t N, int64_t transposeA, int64_t transposeB) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < batch; ++i)
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                a + i * M * K, transposeA ? M : K, b + i * K * N,
                transposeB ? K : N, 0.0f, out + i * M * N, N);
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
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, end - begin, K,
                    rows, 1.0f, g + m0 * N + begin, N, x + m0 * K, K, 0.0f,
                    partial + first, K);
        for (int64_t i = first; i < last; ++i)
          sum[i] += partial[i];
      }
      for (int64_t i = first; i < last; ++i)
        out[i] = static_cast<float>(sum[i]);
    }
  }
}

} // extern "C"
