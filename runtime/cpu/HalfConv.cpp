//===- HalfConv.cpp - bf16 1-D convolutions on the CPU --------------------===//
//
// This file implements the bf16 1-D convolutions (the SwiGLU FFN's) and
// their weight gradients on the bf16 dot-product instruction of
// AVX512-BF16 (vdpbf16ps; Debian's libxsmm 1.17 generates no AMX code, so
// Sapphire Rapids runs it too): libxsmm's bf16 kernels take bf16 operands,
// accumulate in fp32 and leave fp32 sums, which are rounded once into the
// bf16 result. They follow the fp32 kernels (Conv.cpp, ConvBackward.cpp),
// with what bf16's products ask for:
//  - a product's left operand in libxsmm's terms (the weight tap, or the
//    positions of the unshifted operand of a weight gradient) is in VNNI
//    pairs: two consecutive elements of the reduced dimension side by side.
//    The taps are packed once per call, a weight gradient's operand once
//    per row;
//  - the fp32 sums live in a per-thread block (a block of output positions,
//    a transposed convolution's whole row) rather than in the output;
//  - a weight gradient transposes the shifted operand of a row once, so
//    that every tap's product reads it from a column offset.
// Each result element is summed by one thread, in row order, by a kernel
// whose shape depends on the operands' shapes only (blocks of positions
// and of weight-gradient columns are fixed; the thread count and the
// planned workspace choose how many blocks run at once, never their
// size): libxsmm's kernels order a sum by their shape, so the results do
// not depend on the thread count or the plan. The products round like any
// fp32 sum in another order than the staged path's, and, as the
// instruction does, treat bf16 subnormal inputs and fp32 subnormal sums as
// zero; a weight gradient sums its R x T products in one fp32 chain (about
// 2^-24 sqrt(n) relative, far below the bf16 rounding of the result). The
// kernel tests hold them to a double reference. Where the CPU has no bf16
// instruction (libxsmm targets below Cooper Lake), the channels reduced
// over are odd, the workspace the plan holds has no room for one thread's
// block, or LOCO_CPU_HALF_GEMM=staged asks for it, the staged path
// (runtime/HalfStaged.h) runs instead.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/ConvTaps.h"
#include "runtime/cpu/HalfStaging.h"

#include <libxsmm.h>
#include <omp.h>

#include <algorithm>
#include <initializer_list>

using loco::Bf16;
using loco::Scratch;

namespace {

/// Output positions a thread sums before rounding them: 256 KiB of fp32.
constexpr int64_t kOutBlockBytes = 256 << 10;
/// Columns of a weight gradient's task (of the unshifted operand's
/// channels): musdb18_small's 384 and 192 make 12 and 6 tasks.
constexpr int64_t kGradColumns = 32;

bool nativeBf16Products() {
  static const bool hasBf16 =
      libxsmm_get_target_archid() >= LIBXSMM_X86_AVX512_CPX;
  return hasBf16 && !loco::halfStagingForced();
}

/// C (m x n, fp32, column-major) += sum over `count` pairs of A_t (m x k,
/// bf16 in VNNI pairs of k) B_t (k x n, bf16), with strides in elements.
/// With `overwrite`, C = the sum.
struct Bf16Product {
  Bf16Product(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
              int64_t ldc, int64_t strideA, int64_t strideB,
              bool overwrite = false) {
    int ilda = int(lda), ildb = int(ldb), ildc = int(ldc);
    int flags = LIBXSMM_GEMM_FLAG_VNNI_A;
    float alpha = 1.0f, beta = overwrite ? 0.0f : 1.0f;
    kernel = libxsmm_bsmmdispatch_reducebatch_strd(
        int(m), int(n), int(k), int(strideA * 2), int(strideB * 2), &ilda,
        &ildb, &ildc, &alpha, &beta, &flags, nullptr);
  }
  explicit operator bool() const { return kernel != nullptr; }
  void operator()(const loco_half *a, const loco_half *b, float *c,
                  unsigned long long count) const {
    kernel(reinterpret_cast<const libxsmm_bfloat16 *>(a),
           reinterpret_cast<const libxsmm_bfloat16 *>(b), c, &count);
  }
  libxsmm_bsmmfunction_reducebatch_strd kernel;
};

/// Whether libxsmm's 32-bit sizes hold every dimension and byte stride.
bool fitsInt(std::initializer_list<int64_t> values) {
  for (int64_t v : values)
    if (v < 0 || v > 0x7fffffff / 2)
      return false;
  return true;
}

/// Where element (i, j) of a [rows, width] matrix goes in its VNNI form
/// [rows/2][width][2]: rows i and i + 1 (i even) side by side.
constexpr int64_t vnniIndex(int64_t i, int64_t j, int64_t width) {
  return (i & ~int64_t(1)) * width + 2 * j + (i & 1);
}

/// taps[k] = the weight's tap k as [Ci/2][Co][2]: the VNNI form of the
/// [Ci, Co] matrix of Conv.cpp's taps.
void packTapsVnni(const loco_half *weight, loco_half *taps, int64_t Ci,
                  int64_t Co, int64_t K, bool transposed) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t co = 0; co < Co; ++co)
        taps[k * Ci * Co + vnniIndex(ci, co, Co)] =
            weight[loco::weightIndex(transposed, ci, co, k, Ci, Co, K)];
}

/// Threads whose per-thread scratch of `perThread` bytes (plus alignment)
/// fits in what the plan leaves; 0 when not even one does.
int threadsFitting(const Scratch &scratch, int64_t perThread) {
  int64_t fit = scratch.available() /
                (loco::workspace::aligned(perThread) + loco::workspace::kAlign);
  return static_cast<int>(std::min<int64_t>(fit, omp_get_max_threads()));
}

/// conv1d: out [R, Lo, Co] = b + sum_k x[r, l * stride + k] W_k, a block of
/// output positions per task as one batch-reducing product over the taps
/// (each tap's rows a strided view of x, as in Conv.cpp).
bool conv1d(loco_context *ctx, const loco_half *x, const loco_half *w,
            const loco_half *b, loco_half *out, int64_t R, int64_t L,
            int64_t Ci, int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - K) / stride + 1;
  if (Ci % 2 || !fitsInt({Co, Ci, stride * Ci, K * Ci * Co}))
    return false;
  Scratch scratch(ctx);
  loco_half *taps = scratch.take<loco_half>(K * Ci * Co);
  float *bias = scratch.take<float>(Co);
  int64_t block =
      std::min<int64_t>(Lo, std::max<int64_t>(16, kOutBlockBytes / 4 / Co));
  int64_t blocks = (Lo + block - 1) / block;
  // As many threads as the plan has room for a block each (the block's
  // size stays: it orders the sums).
  int threads = static_cast<int>(
      std::min<int64_t>(threadsFitting(scratch, 4 * block * Co), R * blocks));
  if (threads < 1)
    return false;
  Bf16Product full(Co, block, Ci, Co, stride * Ci, Co, Ci * Co, Ci,
                   /*overwrite=*/true);
  Bf16Product tail(Co, Lo % block ? Lo % block : block, Ci, Co, stride * Ci, Co,
                   Ci * Co, Ci, /*overwrite=*/true);
  if (!full || !tail)
    return false;
  packTapsVnni(w, taps, Ci, Co, K, /*transposed=*/false);
  loco::widen<Bf16>(b, bias, Co);
  float *sums = scratch.take<float>(threads * block * Co);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t rb = 0; rb < R * blocks; ++rb) {
    int64_t r = rb / blocks, l0 = rb % blocks * block;
    int64_t rows = std::min(block, Lo - l0);
    float *acc = sums + omp_get_thread_num() * block * Co;
    (rows == block ? full : tail)(taps, x + (r * L + l0 * stride) * Ci, acc, K);
    // The bias joins as the sums are rounded (one pass over the block).
    loco_half *o = out + (r * Lo + l0) * Co;
    for (int64_t p = 0; p < rows; ++p)
#pragma omp simd
      for (int64_t c = 0; c < Co; ++c)
        o[p * Co + c] = Bf16::store(acc[p * Co + c] + bias[c]);
  }
  return true;
}

/// conv_transpose1d: out[r, l * stride + k] += x[r, l] W_k, a row per task
/// summed in the thread's fp32 row (Lo x Co) before it is rounded.
bool convTranspose1d(loco_context *ctx, const loco_half *x, const loco_half *w,
                     const loco_half *b, loco_half *out, int64_t R, int64_t L,
                     int64_t Ci, int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - 1) * stride + K;
  if (Ci % 2 || !fitsInt({Co, Ci, L, stride * Co, K * Ci * Co}))
    return false;
  Scratch scratch(ctx);
  loco_half *taps = scratch.take<loco_half>(K * Ci * Co);
  float *bias = scratch.take<float>(Co);
  int threads = std::min<int64_t>(threadsFitting(scratch, 4 * Lo * Co), R);
  Bf16Product product(Co, L, Ci, Co, Ci, stride * Co, 0, 0);
  if (threads < 1 || !product)
    return false;
  packTapsVnni(w, taps, Ci, Co, K, /*transposed=*/true);
  loco::widen<Bf16>(b, bias, Co);
  float *sums = scratch.take<float>(threads * Lo * Co);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < R; ++r) {
    float *acc = sums + omp_get_thread_num() * Lo * Co;
    for (int64_t p = 0; p < Lo; ++p)
      std::copy(bias, bias + Co, acc + p * Co);
    for (int64_t k = 0; k < K; ++k)
      product(taps + k * Ci * Co, x + r * L * Ci, acc + k * Co, 1);
    loco::narrowOnThread<Bf16>(acc, out + r * Lo * Co, Lo * Co);
  }
  return true;
}

/// The weight gradient of a stride-1 1-D convolution, tap by tap:
/// sums[k] [Q, P] = sum over rows r and positions t of S[r, t + k]^T U[r, t]
/// for the unshifted operand U [R, T, P] and the shifted one S [R, T + K -
/// 1, Q]. In libxsmm's column-major terms sums[k] is P x Q, the product of
/// U_r^T (P x T, T in VNNI pairs: the row packed once) and S_r shifted (T x
/// Q: S_r transposed once, tap k from column k on; a block of rows is
/// transposed together, for every task). Tasks are blocks of P, each
/// running all rows and taps (so that a row's packed operands serve K
/// products); each element is summed by one task in row order.
bool tapGradients(loco_context *ctx, const loco_half *U, int64_t T, int64_t P,
                  const loco_half *S, int64_t Q, int64_t R, int64_t K,
                  float *sums) {
  // Tp positions in pairs; S_r transposed into rows of Lt >= Ls + 1 (the
  // last pair's second position may read one past Ls), even: libxsmm's
  // bf16 kernels read B's pairs with a stride of ldb / 2 words.
  int64_t Ls = T + K - 1, Tp = (T + 1) / 2 * 2, Lt = (Ls + 2) / 2 * 2;
  if (!fitsInt({P, Q, Tp, Lt, Q * Lt}))
    return false;
  Scratch scratch(ctx);
  // Tasks of kGradColumns columns of P (fixed: the kernel's width orders
  // its sums), as many at once as threads and the plan allow.
  int64_t width = std::min(P, kGradColumns);
  int64_t tasks = (P + width - 1) / width;
  int threads = static_cast<int>(
      std::min<int64_t>(threadsFitting(scratch, 2 * Tp * width), tasks));
  if (threads < 1)
    return false;
  Bf16Product full(width, Q, Tp, width, Lt, P, 0, 0);
  Bf16Product tail(P - (tasks - 1) * width, Q, Tp, P - (tasks - 1) * width, Lt,
                   P, 0, 0);
  if (!full || !tail)
    return false;
  loco_half *packs = scratch.take<loco_half>(threads * Tp * width);
  // The shifted operand of a block of rows, transposed once for every task
  // (as many rows as the plan holds; the block's size changes no sum).
  int64_t rowHalves = Q * Lt;
  int64_t rows = std::min<int64_t>(
      R, (scratch.available() - loco::workspace::kAlign) / (2 * rowHalves));
  if (rows < 1)
    return false;
  loco_half *shifted = scratch.take<loco_half>(rows * rowHalves);
  std::fill(sums, sums + K * Q * P, 0.0f);
  for (int64_t r0 = 0; r0 < R; r0 += rows) {
    int64_t count = std::min(rows, R - r0);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t rq = 0; rq < count * Q; ++rq) {
      int64_t r = rq / Q, q = rq % Q;
      const loco_half *s = S + (r0 + r) * Ls * Q + q;
      loco_half *row = shifted + r * rowHalves + q * Lt;
      for (int64_t l = 0; l < Ls; ++l)
        row[l] = s[l * Q];
      std::fill(row + Ls, row + Lt, loco_half(0));
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      int64_t p0 = task * width, pw = std::min(width, P - p0);
      loco_half *pairs = packs + omp_get_thread_num() * Tp * width;
      for (int64_t r = 0; r < count; ++r) {
        // U_r's columns [p0, p0 + pw) in VNNI pairs of positions (an odd
        // last position pairs with zero).
        const loco_half *u = U + (r0 + r) * T * P + p0;
        for (int64_t t = 0; t < Tp; ++t)
          for (int64_t p = 0; p < pw; ++p)
            pairs[vnniIndex(t, p, pw)] = t < T ? u[t * P + p] : loco_half(0);
        for (int64_t k = 0; k < K; ++k)
          (pw == width ? full : tail)(pairs, shifted + r * rowHalves + k,
                                      sums + k * Q * P + p0, 1);
      }
    }
  }
  return true;
}

/// Rounds tap sums [K][Q][P] into a weight: (p, q) is (co, ci) when
/// `pIsCo`, (ci, co) otherwise.
void storeWeight(const float *sums, loco_half *weight, int64_t P, int64_t Q,
                 int64_t K, bool pIsCo, bool transposed, int64_t Ci,
                 int64_t Co) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t q = 0; q < Q; ++q)
      for (int64_t p = 0; p < P; ++p) {
        int64_t ci = pIsCo ? q : p, co = pIsCo ? p : q;
        weight[loco::weightIndex(transposed, ci, co, k, Ci, Co, K)] =
            Bf16::store(sums[(k * Q + q) * P + p]);
      }
}

bool conv1dWeightGrad(loco_context *ctx, const loco_half *x, const loco_half *g,
                      loco_half *out, int64_t R, int64_t L, int64_t Ci,
                      int64_t Co, int64_t K, bool transposed) {
  Scratch scratch(ctx);
  float *sums = scratch.take<float>(K * Ci * Co);
  // conv1d: g [R, L - K + 1, Co] unshifted, x shifted; conv_transpose1d:
  // x unshifted, g [R, L + K - 1, Co] shifted.
  bool done = transposed
                  ? tapGradients(ctx, x, L, Ci, g, Co, R, K, sums)
                  : tapGradients(ctx, g, L - K + 1, Co, x, Ci, R, K, sums);
  if (done)
    storeWeight(sums, out, transposed ? Ci : Co, transposed ? Co : Ci, K,
                /*pIsCo=*/!transposed, transposed, Ci, Co);
  return done;
}

} // namespace

extern "C" {

void loco_conv1d_bf16(loco_context *ctx, const loco_half *x, const loco_half *w,
                      const loco_half *b, loco_half *out, int64_t R, int64_t L,
                      int64_t Ci, int64_t Co, int64_t K, int64_t stride) {
  int64_t Lo = (L - K) / stride + 1;
  if (R == 0 || Lo <= 0 || Co == 0)
    return;
  if (nativeBf16Products() &&
      conv1d(ctx, x, w, b, out, R, L, Ci, Co, K, stride))
    return;
  loco::staged::conv1d<loco::CpuStaging, Bf16>(loco_conv1d, ctx, x, w, b, out,
                                               R, L, Ci, Co, K, stride, Lo);
}

void loco_conv_transpose1d_bf16(loco_context *ctx, const loco_half *x,
                                const loco_half *w, const loco_half *b,
                                loco_half *out, int64_t R, int64_t L,
                                int64_t Ci, int64_t Co, int64_t K,
                                int64_t stride) {
  if (R == 0 || Co == 0)
    return;
  if (nativeBf16Products() && L > 0 &&
      convTranspose1d(ctx, x, w, b, out, R, L, Ci, Co, K, stride))
    return;
  loco::staged::conv1d<loco::CpuStaging, Bf16>(loco_conv_transpose1d, ctx, x, w,
                                               b, out, R, L, Ci, Co, K, stride,
                                               (L - 1) * stride + K);
}

void loco_conv1d_weight_grad_bf16(loco_context *ctx, const loco_half *x,
                                  const loco_half *g, loco_half *out, int64_t R,
                                  int64_t L, int64_t Ci, int64_t Co,
                                  int64_t K) {
  if (nativeBf16Products() && R > 0 && L >= K &&
      conv1dWeightGrad(ctx, x, g, out, R, L, Ci, Co, K, /*transposed=*/false))
    return;
  loco::staged::conv1dWeightGrad<loco::CpuStaging, Bf16>(
      loco_conv1d_weight_grad, ctx, x, g, out, R, L, Ci, Co, K, L - K + 1);
}

void loco_conv_transpose1d_weight_grad_bf16(loco_context *ctx,
                                            const loco_half *x,
                                            const loco_half *g, loco_half *out,
                                            int64_t R, int64_t L, int64_t Ci,
                                            int64_t Co, int64_t K) {
  if (nativeBf16Products() && R > 0 && L > 0 &&
      conv1dWeightGrad(ctx, x, g, out, R, L, Ci, Co, K, /*transposed=*/true))
    return;
  loco::staged::conv1dWeightGrad<loco::CpuStaging, Bf16>(
      loco_conv_transpose1d_weight_grad, ctx, x, g, out, R, L, Ci, Co, K,
      L + K - 1);
}

} // extern "C"
