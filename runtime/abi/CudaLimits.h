//===- CudaLimits.h - Fixed limits of the CUDA kernels ----------*- C++ -*-===//
//
// This file defines every fixed limit of a CUDA backend kernel that a shape
// can exceed (a slot count of the fixed workspace, a grid dimension, threads
// per block, a head dim the attention tiles take), as one check per limit
// over the kernel's own arguments. The kernels refuse a call with the
// check's reason; the compiler runs the same checks over every runtime call
// of a step compiled for target cuda (loco-check-target-limits), so that
// `lococ --target cuda` refuses a plan the runtime would refuse, naming the
// config keys that set the shape. Header-only, beside Workspace.h, which
// sizes the area the slot counts divide.
//
// Limits not listed here, and why none can be hit by a shape:
//   - every element-wise kernel loops over its elements with a grid stride
//     (forEach), so its grid is at most a fixed number of blocks;
//   - a slice whose pitch would exceed cudaMemcpy2DAsync's runs as a 1-D
//     copy or a kernel (Movement.cu);
//   - a 1-D convolution weight gradient larger than the partial-sum area is
//     computed as one part, writing the weight directly (Conv.cu);
//   - cuFFT's work area (workspace::kCudaFftBytes) is known only to cuFFT's
//     planner, so it is checked when a plan is made, with the size needed.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_ABI_CUDALIMITS_H
#define LOCO_RUNTIME_ABI_CUDALIMITS_H

#include "runtime/abi/Workspace.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loco::cuda_limits {

/// Doubles in the fixed workspace's partial-sum area.
constexpr int64_t kPartialCount = workspace::kCudaPartialBytes / 8;
/// Doubles at its end kept for statistics that span several reductions
/// (means, inverse deviations, per-signal dot products).
constexpr int64_t kStatSlots = 16384;
/// The partial sums of the two-pass reductions: the rest.
constexpr int64_t kSumSlots = kPartialCount - kStatSlots;
/// CUDA's grid dimensions: x, and y or z.
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxGridYZ = 65535;
/// CUDA's threads per block.
constexpr int64_t kMaxBlockThreads = 1024;
/// The widest head (query/key or value) the flash attention tiles hold.
constexpr int64_t kMaxHeadDim = 64;
/// Query rows (forward, and the backward's dq) or key rows (the backward's
/// dk, dv) per flash attention block.
constexpr int64_t kAttentionRows = 64;
/// The 1-D convolution weight gradient's tile of (ci, co) pairs per block.
constexpr int64_t kConvGradTile = 64;
/// Dimensions of the movement kernels' index arithmetic.
constexpr int64_t kMaxRank = 16;

/// Each check returns "" when the kernel takes the shape, else the reason.
inline std::string exceeds(int64_t value, const char *what, int64_t limit,
                           const char *whose) {
  if (value <= limit)
    return "";
  return std::to_string(value) + " " + what + " exceed " + whose + " " +
         std::to_string(limit);
}

/// loco_group_norm keeps a mean and an inverse deviation per (sample,
/// group) in the statistic slots; its backward four values.
inline std::string groupNormStatistics(int64_t B, int64_t groups,
                                       bool backward) {
  return exceeds((backward ? 4 : 2) * B * groups, "statistics", kStatSlots,
                 "the fixed workspace's statistic slots,");
}
/// loco_rms_group_norm_backward's gamma gradient: one thread per channel.
inline std::string rmsGroupNormChannels(int64_t C) {
  return exceeds(C, "channels", kMaxBlockThreads,
                 "the gamma gradient's threads per block,");
}
/// loco_si_sdr and its backward keep eight values per signal.
inline std::string siSdrSignals(int64_t B) {
  return exceeds(8 * B, "statistics (8 per signal)", kStatSlots,
                 "the fixed workspace's statistic slots,");
}
/// The 1-D convolution weight gradients: a block per (tile of pairs, part,
/// tap), the taps on the grid's z.
inline std::string conv1dWeightGradGrid(int64_t Ci, int64_t Co, int64_t K) {
  int64_t tiles = ((Ci + kConvGradTile - 1) / kConvGradTile) *
                  ((Co + kConvGradTile - 1) / kConvGradTile);
  std::string why = exceeds(K, "taps", kMaxGridYZ, "the grid's z limit,");
  return why.empty()
             ? exceeds(tiles, "weight tiles", kMaxGridX, "the grid's x limit,")
             : why;
}
/// The flash attention kernels: the head dims, and a block per tile of
/// `rows` (Lq forward; the longer of Lq and Lk backward).
inline std::string attentionShape(int64_t batch, int64_t rows, int64_t d,
                                  int64_t dv) {
  int64_t widest = d > dv ? d : dv;
  if (widest < 1 || widest > kMaxHeadDim)
    return "head dims " + std::to_string(d) + "/" + std::to_string(dv) +
           " are outside the attention tiles' 1.." +
           std::to_string(kMaxHeadDim);
  return exceeds(batch * ((rows + kAttentionRows - 1) / kAttentionRows),
                 "row tiles", kMaxGridX, "the grid's x limit,");
}
/// The movement kernels (transpose, pad, reduce, broadcast).
inline std::string movementRank(int64_t rank) {
  if (rank >= 1 && rank <= kMaxRank)
    return "";
  return "rank " + std::to_string(rank) + " is outside 1.." +
         std::to_string(kMaxRank);
}
/// A reduction with more segments than partial sums runs one block per
/// segment. (loco_reduce's row counts every kept element as a segment; the
/// kernel takes that path only for a reduction whose dims collapse to
/// [outer reduced, kept, inner reduced], so the check may refuse, above
/// 2^31 - 1 kept elements, a call the kernel would run element-wise.)
inline std::string reductionSegments(int64_t segments) {
  if (segments <= kSumSlots)
    return "";
  return exceeds(segments, "segments", kMaxGridX, "the grid's x limit,");
}

/// One scalar argument of a runtime call, as the lowering passes it: an
/// integer, a double (`real`) or a constant array.
struct CallScalar {
  int64_t integer = 0;
  double real = 0.0;
  std::vector<int64_t> array;
};
using CallScalars = std::vector<CallScalar>;

/// A fixed limit of a kernel (every dtype of it): what is fixed, the config
/// keys that set the shape, and its check over the call's scalars in
/// runtime/abi/api.h's order. A row reads only scalars the call has.
struct KernelLimit {
  const char *function;
  const char *limit;
  const char *keys;
  size_t scalars;
  std::string (*check)(const CallScalars &);
};

namespace detail {
inline int64_t keptCount(const CallScalars &s) {
  // loco_reduce: rank, shape, mask of reduced dims, mean.
  int64_t kept = 1;
  for (size_t i = 0; i < s[1].array.size() && i < s[2].array.size(); ++i)
    if (!s[2].array[i])
      kept *= s[1].array[i];
  return kept;
}
} // namespace detail

/// The table: one row per limit and kernel.
inline const std::vector<KernelLimit> &kernelLimits() {
  static const std::vector<KernelLimit> rows = {
      {"loco_group_norm", "2 statistics per (sample, group)",
       "the micro-batch: training.batch_size or --micro-batch, "
       "--batch-segments when separating",
       4,
       [](const CallScalars &s) {
         return groupNormStatistics(s[0].integer, s[3].integer, false);
       }},
      {"loco_group_norm_backward", "4 statistics per (sample, group)",
       "the micro-batch: training.batch_size or --micro-batch", 4,
       [](const CallScalars &s) {
         return groupNormStatistics(s[0].integer, s[3].integer, true);
       }},
      {"loco_rms_group_norm_backward", "one thread per channel",
       "model.emb_dim", 2,
       [](const CallScalars &s) { return rmsGroupNormChannels(s[1].integer); }},
      {"loco_si_sdr", "8 statistics per signal",
       "the micro-batch: training.batch_size or --micro-batch", 1,
       [](const CallScalars &s) { return siSdrSignals(s[0].integer); }},
      {"loco_si_sdr_backward", "8 statistics per signal",
       "the micro-batch: training.batch_size or --micro-batch", 1,
       [](const CallScalars &s) { return siSdrSignals(s[0].integer); }},
      {"loco_conv1d_weight_grad", "taps on the grid's z, tiles on x",
       "model.conv1d_kernel, model.emb_dim, model.ffn_hidden_dim", 5,
       [](const CallScalars &s) {
         return conv1dWeightGradGrid(s[2].integer, s[3].integer, s[4].integer);
       }},
      {"loco_conv_transpose1d_weight_grad", "taps on the grid's z, tiles on x",
       "model.conv1d_kernel, model.emb_dim, model.ffn_hidden_dim", 5,
       [](const CallScalars &s) {
         return conv1dWeightGradGrid(s[2].integer, s[3].integer, s[4].integer);
       }},
      {"loco_flash_attention", "head dim at most 64; row tiles on the grid",
       "model.attention_dim / model.n_heads; lococ --fuse-attention=false "
       "runs attention unfused",
       5,
       [](const CallScalars &s) {
         return attentionShape(s[0].integer, s[1].integer, s[3].integer,
                               s[4].integer);
       }},
      {"loco_flash_attention_backward",
       "head dim at most 64; query and key row tiles on the grid",
       "model.attention_dim / model.n_heads; lococ --fuse-attention=false "
       "runs attention unfused",
       5,
       [](const CallScalars &s) {
         return attentionShape(s[0].integer,
                               std::max(s[1].integer, s[2].integer),
                               s[3].integer, s[4].integer);
       }},
      {"loco_transpose", "rank at most 16", "the model's layout", 1,
       [](const CallScalars &s) { return movementRank(s[0].integer); }},
      {"loco_pad", "rank at most 16", "the model's layout", 1,
       [](const CallScalars &s) { return movementRank(s[0].integer); }},
      {"loco_broadcast", "rank at most 16", "the model's layout", 1,
       [](const CallScalars &s) { return movementRank(s[0].integer); }},
      {"loco_reduce", "rank at most 16", "the model's layout", 1,
       [](const CallScalars &s) { return movementRank(s[0].integer); }},
      {"loco_reduce", "one block per segment beyond the partial sums",
       "the micro-batch, dataset.segment_length", 3,
       [](const CallScalars &s) {
         return reductionSegments(detail::keptCount(s));
       }},
  };
  return rows;
}

/// The checks of `function` (a kernel's name without its dtype suffix)
/// over its scalars: the rows that fail, as "reason (set by keys)". A call
/// with fewer scalars than a row reads is reported as such, never read
/// past.
inline std::vector<std::string> checkCall(std::string_view function,
                                          const CallScalars &scalars) {
  std::vector<std::string> failures;
  for (const KernelLimit &row : kernelLimits()) {
    if (function != row.function)
      continue;
    if (scalars.size() < row.scalars) {
      failures.push_back("takes " + std::to_string(row.scalars) +
                         " scalars for its limit check, the call passes " +
                         std::to_string(scalars.size()));
      continue;
    }
    std::string why = row.check(scalars);
    if (!why.empty())
      failures.push_back(why + " (set by " + row.keys + ")");
  }
  return failures;
}

} // namespace loco::cuda_limits

#endif // LOCO_RUNTIME_ABI_CUDALIMITS_H
