//===- Matmul.cu - Matrix products on CUDA --------------------------------===//
//
// This file implements linear layers, batched products and the linear
// weight gradient with cuBLASLt (tensor cores at the config's precision:
// TF32, BF16 or FP16 inputs with fp32 accumulation; exact fp32 otherwise). The
// weight gradient reduces over up to millions of rows: it runs as at most 16
// GEMMs over contiguous row blocks of at least kWeightGradRows rows, the block
// results added in double, which keeps the fp32 reduction chains short, as the
// CPU backend does.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

extern "C" {

void loco_linear(loco_context *ctx, const float *x, const float *w, float *out,
                 int64_t M, int64_t K, int64_t N) {
  GemmShape s{M, N, K, false, true, K, K, N, 1, 0, 0, 0, ctx->math};
  gemm(ctx, s, x, w, out, 1.0f, 0.0f);
}

void loco_batch_matmul(loco_context *ctx, const float *a, const float *b,
                       float *out, int64_t batch, int64_t M, int64_t K,
                       int64_t N, int64_t transposeA, int64_t transposeB) {
  GemmShape s{M,
              N,
              K,
              transposeA != 0,
              transposeB != 0,
              transposeA ? M : K,
              transposeB ? K : N,
              N,
              batch,
              M * K,
              K * N,
              M * N,
              ctx->math};
  gemm(ctx, s, a, b, out, 1.0f, 0.0f);
}

void loco_linear_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t M, int64_t K, int64_t N) {
  if (M == 0) {
    // No rows: the gradient is zero (the CPU backend's result too).
    LOCO_CHECK_ENQUEUE(
        ctx, cudaMemsetAsync(out, 0, N * K * sizeof(float), ctx->stream));
    return;
  }
  constexpr int64_t kRows = loco::workspace::kWeightGradRows;
  int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(16, M / kRows));
  int64_t rowsPerBlock = (M + blocks - 1) / blocks;
  Scratch scratch(ctx);
  float *partial = scratch.take<float>(N * K);
  double *sum = scratch.take<double>(N * K);
  for (int64_t blk = 0; blk < blocks; ++blk) {
    int64_t m0 = blk * rowsPerBlock, rows = std::min(rowsPerBlock, M - m0);
    if (rows <= 0)
      break;
    // partial [N, K] = g[m0 : m0 + rows]^T x[m0 : m0 + rows].
    GemmShape s{N, K, rows, true, false, N, K, K, 1, 0, 0, 0, ctx->math};
    gemm(ctx, s, g + m0 * N, x + m0 * K, partial, 1.0f, 0.0f);
    bool first = blk == 0;
    forEach(ctx, N * K, [=] __device__(int64_t i) {
      sum[i] = (first ? 0.0 : sum[i]) + partial[i];
    });
  }
  forEach(ctx, N * K,
          [=] __device__(int64_t i) { out[i] = static_cast<float>(sum[i]); });
}

} // extern "C"
