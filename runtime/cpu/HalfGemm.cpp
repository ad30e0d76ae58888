//===- HalfGemm.cpp - bf16/f16 matrix products on the CPU -----------------===//
//
// This file implements the reduced-precision linear, linear weight gradient
// and batched product. bf16 runs on oneDNN's matmul (bf16 x bf16 with fp32
// accumulation, rounded once to bf16) where the CPU has native bf16
// (AVX512-BF16 or AMX, which oneDNN picks at run time). We chose oneDNN
// over libxsmm because its matmul takes arbitrary strides (the transposed
// operands here need no copy), batches, and its primitive cache makes the
// repeated shapes of a row-chunked step cheap; it is also the library
// PyTorch's CPU backend uses, so the comparison is like for like. Elsewhere
// (no bf16 instructions, or f16, which oneDNN 2.6 has no CPU matmul for)
// the staged path widens blocks of rows to fp32 for OpenBLAS's sgemm.
// LOCO_CPU_HALF_GEMM=staged forces the staged path (the kernel tests
// compare the two).
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"
#include "runtime/cpu/HalfStaging.h"

#include <oneapi/dnnl/dnnl.hpp>

namespace {

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

/// The oneDNN engine and stream of the process (CPU, OpenMP threads).
struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

Dnnl &dnnlState() {
  static Dnnl state;
  return state;
}

/// Whether bf16 products run natively: oneDNN sees AVX512-BF16 or AMX, and
/// LOCO_CPU_HALF_GEMM does not say "staged".
bool nativeBf16() {
  static const bool hasBf16 = [] {
    auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;
  }();
  return hasBf16 && !loco::halfStagingForced();
}

/// dst = src x weights on bf16 operands described by dims and strides.
void matmulBf16(loco_context *ctx, const dims &srcDims, const dims &srcStrides,
                const void *src, const dims &weightDims,
                const dims &weightStrides, const void *weights,
                const dims &dstDims, void *dst) {
  try {
    Dnnl &state = dnnlState();
    dnnl::memory::desc srcMd(srcDims, dt::bf16, srcStrides);
    dnnl::memory::desc weightMd(weightDims, dt::bf16, weightStrides);
    dnnl::memory::desc dstMd(dstDims, dt::bf16,
                             dstDims.size() == 2
                                 ? dnnl::memory::format_tag::ab
                                 : dnnl::memory::format_tag::abc);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(srcMd, weightMd, dstMd),
                                    state.engine);
    dnnl::memory srcMem(srcMd, state.engine, const_cast<void *>(src));
    dnnl::memory weightMem(weightMd, state.engine, const_cast<void *>(weights));
    dnnl::memory dstMem(dstMd, state.engine, dst);
    dnnl::matmul(pd).execute(state.stream, {{DNNL_ARG_SRC, srcMem},
                                            {DNNL_ARG_WEIGHTS, weightMem},
                                            {DNNL_ARG_DST, dstMem}});
    state.stream.wait();
  } catch (const dnnl::error &e) {
    ctx->fail(std::string("oneDNN bf16 matmul: ") + e.what());
  }
}

} // namespace

extern "C" {

void loco_linear_bf16(loco_context *ctx, const loco_half *x, const loco_half *w,
                      loco_half *out, int64_t M, int64_t K, int64_t N) {
  if (M == 0 || N == 0)
    return;
  if (!nativeBf16() || K == 0)
    return loco::staged::stagedLinear<loco::CpuStaging, loco::Bf16>(
        ctx, x, w, out, M, K, N);
  // out [M, N] = x [M, K] w^T, w^T read from w [N, K] through strides.
  matmulBf16(ctx, {M, K}, {K, 1}, x, {K, N}, {1, K}, w, {M, N}, out);
}

void loco_linear_weight_grad_bf16(loco_context *ctx, const loco_half *x,
                                  const loco_half *g, loco_half *out, int64_t M,
                                  int64_t K, int64_t N) {
  if (N == 0 || K == 0)
    return;
  if (!nativeBf16() || M == 0)
    return loco::staged::stagedLinearWeightGrad<loco::CpuStaging, loco::Bf16>(
        ctx, x, g, out, M, K, N);
  // out [N, K] = g^T x: g^T read from g [M, N] through strides.
  matmulBf16(ctx, {N, M}, {1, N}, g, {M, K}, {K, 1}, x, {N, K}, out);
}

void loco_batch_matmul_bf16(loco_context *ctx, const loco_half *a,
                            const loco_half *b, loco_half *out, int64_t batch,
                            int64_t M, int64_t K, int64_t N,
                            int64_t transpose_a, int64_t transpose_b) {
  if (batch == 0 || M == 0 || N == 0)
    return;
  if (!nativeBf16() || K == 0)
    return loco::staged::stagedBatchMatmul<loco::CpuStaging, loco::Bf16>(
        ctx, a, b, out, batch, M, K, N, transpose_a, transpose_b);
  dims aStrides = transpose_a ? dims{K * M, 1, M} : dims{M * K, K, 1};
  dims bStrides = transpose_b ? dims{N * K, 1, K} : dims{K * N, N, 1};
  matmulBf16(ctx, {batch, M, K}, aStrides, a, {batch, K, N}, bStrides, b,
             {batch, M, N}, out);
}

void loco_linear_f16(loco_context *ctx, const loco_half *x, const loco_half *w,
                     loco_half *out, int64_t M, int64_t K, int64_t N) {
  loco::staged::stagedLinear<loco::CpuStaging, loco::F16>(ctx, x, w, out, M, K,
                                                          N);
}

void loco_linear_weight_grad_f16(loco_context *ctx, const loco_half *x,
                                 const loco_half *g, loco_half *out, int64_t M,
                                 int64_t K, int64_t N) {
  loco::staged::stagedLinearWeightGrad<loco::CpuStaging, loco::F16>(
      ctx, x, g, out, M, K, N);
}

void loco_batch_matmul_f16(loco_context *ctx, const loco_half *a,
                           const loco_half *b, loco_half *out, int64_t batch,
                           int64_t M, int64_t K, int64_t N, int64_t transpose_a,
                           int64_t transpose_b) {
  loco::staged::stagedBatchMatmul<loco::CpuStaging, loco::F16>(
      ctx, a, b, out, batch, M, K, N, transpose_a, transpose_b);
}

} // extern "C"
