//===- Workspace.h - Scratch memory of the runtime kernels ------*- C++ -*-===//
//
// This file defines how much scratch memory each kernel that needs any asks
// for, as functions of its shape arguments. The compiler sizes the arena's
// fixed workspace region with the same functions (the maximum over the ops
// of a step), and the kernels carve their scratch out of that region, so a
// step allocates nothing. Header-only; no MLIR, no runtime dependency.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_ABI_WORKSPACE_H
#define LOCO_RUNTIME_ABI_WORKSPACE_H

#include <cstdint>
#include <string_view>

namespace loco::workspace {

/// Alignment of every scratch block (FFTW's SIMD alignment and more).
constexpr int64_t kAlign = 64;
/// Kernels with per-thread scratch run on at most this many threads.
constexpr int kMaxThreads = 64;
/// Tile size of the flash attention kernels.
constexpr int64_t kAttentionTile = 64;
/// Rows per fp32 block of a weight gradient's reduction (blocks add in
/// double).
constexpr int64_t kWeightGradRows = 256;

/// The CUDA backend's fixed device workspace, allocated once beside the
/// arena and counted in the plan for target cuda: the per-step scalars,
/// the partial sums of the deterministic two-pass reductions, cuBLASLt's
/// work area and cuFFT's (a transform whose plan needs more is refused
/// with its size).
constexpr int64_t kCudaStateBytes = 256;
constexpr int64_t kCudaPartialBytes = int64_t(8) << 20;
constexpr int64_t kCudaGemmBytes = int64_t(32) << 20;
constexpr int64_t kCudaFftBytes = int64_t(96) << 20;
constexpr int64_t kCudaFixedBytes =
    kCudaStateBytes + kCudaPartialBytes + kCudaGemmBytes + kCudaFftBytes;
/// The fixed device workspace a target's backend keeps beside the arena.
inline int64_t fixedDeviceBytes(std::string_view target) {
  return target == "cuda" ? kCudaFixedBytes : 0;
}

constexpr int64_t aligned(int64_t bytes) {
  return (bytes + kAlign - 1) / kAlign * kAlign;
}
constexpr int64_t floats(int64_t n) { return aligned(n * 4); }
constexpr int64_t doubles(int64_t n) { return aligned(n * 8); }

/// Batched real FFT buffers for `frames` transforms of size n_fft, plus the
/// window.
constexpr int64_t fft(int64_t frames, int64_t nFft) {
  return floats(frames * nFft) + floats(2 * frames * (nFft / 2 + 1)) +
         floats(nFft);
}
constexpr int64_t stft(int64_t N, int64_t nFft, int64_t hop) {
  return fft(1 + N / hop, nFft);
}
constexpr int64_t istft(int64_t T, int64_t nFft, int64_t hop) {
  return fft(T, nFft) + 2 * doubles(nFft + hop * (T - 1));
}
constexpr int64_t stftBackward(int64_t N, int64_t nFft, int64_t hop) {
  return fft(1 + N / hop, nFft) + doubles(N + nFft) + doubles(N);
}
constexpr int64_t istftBackward(int64_t T, int64_t nFft, int64_t hop) {
  return fft(T, nFft) + doubles(nFft + hop * (T - 1));
}
/// The four 1-D convolution kernels: the weight rearranged per tap.
constexpr int64_t conv1dTaps(int64_t Ci, int64_t Co, int64_t K) {
  return floats(K * Ci * Co);
}
/// Their weight gradients: the taps, accumulated in place from the
/// operands (one of them unfolded, no copy). x [R, L, Ci], g [R, Lo, Co].
constexpr int64_t conv1dWeightGrad(int64_t R, int64_t L, int64_t Ci, int64_t Lo,
                                   int64_t Co, int64_t K) {
  (void)R, (void)L, (void)Lo;
  return conv1dTaps(Ci, Co, K);
}
constexpr int64_t groupNormBackward(int64_t B, int64_t C) {
  return 2 * doubles(B * C);
}
constexpr int64_t rmsGroupNormBackward(int64_t C) {
  return doubles(kMaxThreads * C);
}
constexpr int64_t rope(int64_t L, int64_t d) { return 2 * floats(L * (d / 2)); }
constexpr int64_t reduce(int64_t outCount) { return doubles(outCount); }
/// A linear layer's weight [N, K], transposed for the GEMM.
constexpr int64_t linear(int64_t N, int64_t K) { return floats(N * K); }
/// A batched product's right operand transposed, one per thread (only with
/// transposeB).
constexpr int64_t batchMatmul(int64_t K, int64_t N, bool transposeB) {
  return transposeB ? floats(kMaxThreads * K * N) : 0;
}
constexpr int64_t linearWeightGrad(int64_t N, int64_t K) {
  return floats(N * K) + doubles(N * K);
}
constexpr int64_t siSdrBackward(int64_t N) { return doubles(N); }
/// Flash attention's floats per thread: a block of scores, the output
/// accumulators, a key tile transposed, and three rows of statistics.
constexpr int64_t flashAttentionThreadFloats(int64_t d, int64_t dv) {
  return kAttentionTile * (kAttentionTile + dv + d + 3);
}
constexpr int64_t flashAttention(int64_t d, int64_t dv) {
  return floats(kMaxThreads * flashAttentionThreadFloats(d, dv));
}
/// Its backward's: three blocks (scores, their gradients, one transposed),
/// a key and a value tile transposed, D for every query and a row of
/// dropout factors.
constexpr int64_t flashAttentionBackwardThreadFloats(int64_t Lq, int64_t d,
                                                     int64_t dv) {
  return kAttentionTile * (3 * kAttentionTile + d + dv + 1) + Lq;
}
constexpr int64_t flashAttentionBackward(int64_t Lq, int64_t d, int64_t dv) {
  return floats(kMaxThreads * flashAttentionBackwardThreadFloats(Lq, d, dv));
}

//===----------------------------------------------------------------------===//
// Reduced-precision kernels (bf16/f16 storage, fp32 math) on the CPU stage
// their operands in fp32 a block of rows at a time and call the fp32 kernel
// on each block, where no native kernel applies; the native ones (bf16 1-D
// convolutions, the attention) take their scratch within the same plan. A block
// holds at most kStageBytes of fp32 operands and results (and at least one
// row); `fixedFloats` are the fp32 copies held for the whole call (weights, a
// weight gradient's sum). The inner kernel's own scratch, for a block, comes
// after the staging. The CUDA backend reads bf16/f16 directly; its 1-D
// convolutions sum a block of rows in fp32 within conv1dStaged's block bytes
// before rounding it once.
//===----------------------------------------------------------------------===//

constexpr int64_t kStageBytes = int64_t(8) << 20;

/// Rows per staged block: as many rows of `rowFloats` as kStageBytes holds.
constexpr int64_t stageRows(int64_t rows, int64_t rowFloats) {
  int64_t fit = kStageBytes / (4 * (rowFloats > 0 ? rowFloats : 1));
  return fit < 1 ? 1 : (fit > rows ? (rows > 0 ? rows : 1) : fit);
}
/// The scratch of a staged call: fixed copies, one block, the inner kernel's.
constexpr int64_t staged(int64_t rows, int64_t rowFloats, int64_t fixedFloats,
                         int64_t inner) {
  return floats(fixedFloats) + floats(stageRows(rows, rowFloats) * rowFloats) +
         inner;
}

/// The staged 1-D convolutions: x [R, L, Ci] -> out [R, Lo, Co] with the
/// weight (`weightCount` elements) and the bias in fp32.
constexpr int64_t conv1dStaged(int64_t R, int64_t L, int64_t Ci, int64_t Lo,
                               int64_t Co, int64_t weightCount) {
  return staged(R, L * Ci + Lo * Co, weightCount + Co,
                conv1dTaps(Ci, Co, weightCount / (Ci * Co)));
}
/// Their weight gradients: a block's gradient and the running sum.
constexpr int64_t conv1dWeightGradStaged(int64_t R, int64_t L, int64_t Ci,
                                         int64_t Lo, int64_t Co,
                                         int64_t weightCount) {
  return staged(R, L * Ci + Lo * Co, 2 * weightCount,
                conv1dWeightGrad(R, L, Ci, Lo, Co, weightCount / (Ci * Co)));
}
/// The 2-D convolutions, a block of batch items: x [B, Ci, H, W] -> out
/// [B, Co, Ho, Wo].
constexpr int64_t conv2dStaged(int64_t B, int64_t inPerItem, int64_t outPerItem,
                               int64_t weightCount, int64_t Co) {
  return staged(B, inPerItem + outPerItem, weightCount + Co, 0);
}
constexpr int64_t conv2dWeightGradStaged(int64_t B, int64_t inPerItem,
                                         int64_t outPerItem,
                                         int64_t weightCount) {
  return staged(B, inPerItem + outPerItem, 2 * weightCount, 0);
}
/// linear x [M, K] w [N, K] when no bf16 GEMM library path applies.
constexpr int64_t linearStaged(int64_t M, int64_t K, int64_t N) {
  return staged(M, K + N, N * K, linear(N, K));
}
constexpr int64_t linearWeightGradStaged(int64_t M, int64_t K, int64_t N) {
  return staged(M, K + N, 2 * N * K, linearWeightGrad(N, K));
}
constexpr int64_t batchMatmulStaged(int64_t batch, int64_t M, int64_t K,
                                    int64_t N, bool transposeB) {
  return staged(batch, M * K + K * N + M * N, 0, batchMatmul(K, N, transposeB));
}
/// Attention over `batch` rows of [Lq, d] queries and [Lk, d], [Lk, dv]
/// keys and values (the log-sum-exp is fp32 already). The CPU's 16-bit
/// attention widens one row (an entry) per thread rather than a block, on
/// at most as many threads as the block below has rows, so it runs within
/// this plan.
constexpr int64_t flashAttentionStaged(int64_t batch, int64_t Lq, int64_t Lk,
                                       int64_t d, int64_t dv) {
  return staged(batch, Lq * d + Lk * d + Lk * dv + Lq * dv, 0,
                flashAttention(d, dv));
}
/// Its backward stages q, k, v, out, dout, dq, dk and dv.
constexpr int64_t flashAttentionBackwardStaged(int64_t batch, int64_t Lq,
                                               int64_t Lk, int64_t d,
                                               int64_t dv) {
  return staged(batch, 2 * (Lq * d + Lk * d + Lk * dv) + 2 * Lq * dv, 0,
                flashAttentionBackward(Lq, d, dv));
}

} // namespace loco::workspace

#endif // LOCO_RUNTIME_ABI_WORKSPACE_H
