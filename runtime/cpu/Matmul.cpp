//===- Matmul.cpp - Matrix products on the CPU ----------------------------===//
//
// This file implements linear layers and batched matrix products with BLAS
// (sgemm). Batched products with small matrices (attention over short rows)
// run one sgemm per batch item, spread over the OpenMP threads.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <cblas.h>

extern "C" {

void loco_linear(loco_context *, const float *x, const float *w, float *out,
                 int64_t M, int64_t K, int64_t N) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x, K, w,
              K, 0.0f, out, N);
}

void loco_batch_matmul(loco_context *, const float *a, const float *b,
                       float *out, int64_t batch, int64_t M, int64_t K,
                       int64_t N, int64_t transposeA, int64_t transposeB) {
  for (int64_t i = 0; i < batch; ++i)
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                a + i * M * K, transposeA ? M : K, b + i * K * N,
                transposeB ? K : N, 0.0f, out + i * M * N, N);
}

void loco_linear_weight_grad(loco_context *, const float *x, const float *g,
                             float *out, int64_t M, int64_t K, int64_t N) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, g, N, x,
              K, 0.0f, out, K);
}

} // extern "C"
