//===- Reduce.cuh - Deterministic two-pass reductions -----------*- C++ -*-===//
//
// This file implements segmentedSum: for each of `segments` segments, the
// double-precision sum of term(segment, i) over i in [0, count). Pass one
// splits every segment into up to `parts` contiguous ranges, one block each,
// and writes one partial per (segment, part) to the fixed workspace; pass two
// adds each segment's partials in order and hands the sum to finish(segment,
// sum). A segment of one part (short segments, or more segments than the
// workspace has partial sums) is summed and finished by one block directly,
// with the same result. Segments of at most kSerialCount terms are summed
// in order by one thread each: a block per segment would leave all but a
// few of its 256 threads idle (a sum over the sources of a stereo batch
// keeps 1.3 M segments of 3 or 4 terms). columnSum sums the rows of a
// row-major matrix with a warp over 32 adjacent columns. No atomics: the result
// is the same on every run, which bit-for-bit resumable training needs.
// Reductions whose statistics feed a later pass keep them in the last
// kStatSlots doubles of the partial area.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_REDUCE_CUH
#define LOCO_RUNTIME_CUDA_REDUCE_CUH

#include "runtime/abi/CudaLimits.h"
#include "runtime/cuda/Context.h"

namespace loco::cuda {

/// Doubles at the end of the partial area kept for statistics that span
/// several reductions (means, inverse deviations, per-segment dot products).
/// (runtime/abi/CudaLimits.h, which the compiler checks plans against.)
using cuda_limits::kStatSlots;
using cuda_limits::kSumSlots;
constexpr int kReduceThreads = 256;
/// The longest segment summed by one thread.
constexpr int64_t kSerialCount = 32;

inline double *statSlots(loco_context *ctx) {
  return ctx->partials + kSumSlots;
}

/// The sum of `value` over the block (valid in thread 0).
__device__ inline double blockSum(double value) {
  __shared__ double warpSums[kReduceThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0)
    warpSums[warp] = value;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0)
    for (int w = 0; w < kReduceThreads / 32; ++w)
      total += warpSums[w];
  __syncthreads();
  return total;
}

template <typename Term>
__global__ void __launch_bounds__(kReduceThreads)
    reducePartials(Term term, int64_t count, int parts, double *partials) {
  int64_t segment = blockIdx.x / parts;
  int part = blockIdx.x % parts;
  int64_t chunk = (count + parts - 1) / parts;
  int64_t begin = part * chunk, end = min(count, begin + chunk);
  double sum = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
    sum += term(segment, i);
  sum = blockSum(sum);
  if (threadIdx.x == 0)
    partials[blockIdx.x] = sum;
}

template <typename Finish>
__global__ void __launch_bounds__(kThreads)
    reduceFinish(Finish finish, int64_t segments, int parts,
                 const double *partials) {
  int64_t segment = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (segment >= segments)
    return;
  double sum = 0.0;
  for (int p = 0; p < parts; ++p)
    sum += partials[segment * parts + p];
  finish(segment, sum);
}

/// One block per segment, finished in place: reducePartials and
/// reduceFinish with one part (0.0 + the part's sum is the part's sum).
template <typename Term, typename Finish>
__global__ void __launch_bounds__(kReduceThreads)
    reduceDirect(Term term, Finish finish, int64_t count) {
  int64_t segment = blockIdx.x;
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    sum += term(segment, i);
  sum = blockSum(sum);
  if (threadIdx.x == 0)
    finish(segment, sum);
}

/// Runs f(i) for i in [0, n) with one thread per i.
template <typename F>
__global__ void __launch_bounds__(kThreads) forEachKernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    f(i);
}

template <typename F>
void forEach(loco_context *ctx, int64_t n, F f,
             LaunchSite site = LaunchSite::here()) {
  if (n <= 0)
    return;
  LOCO_LAUNCH(forEachKernel<F>, blocksFor(n), kThreads, 0, ctx->stream)(n, f);
  checkLaunch(ctx, reinterpret_cast<const void *>(forEachKernel<F>), site);
}

/// Threads of a column-sum block: 32 adjacent segments (a warp's lanes)
/// by kColumnRows row phases.
constexpr int kColumnRows = 8;

/// Column sums of a part of the rows: lane x of the block sums segment
/// blockIdx.x * 32 + x over the rows of part blockIdx.y with stride
/// kColumnRows from threadIdx.y; the row phases are then added in order.
/// A warp reads 32 adjacent elements of one row (coalesced), where a block
/// per segment would read one element per row.
template <typename Term, typename Finish>
__global__ void __launch_bounds__(32 * kColumnRows)
    columnPartials(Term term, Finish finish, int64_t segments, int64_t count,
                   int parts, double *partials) {
  __shared__ double phases[kColumnRows][32];
  int64_t segment = blockIdx.x * int64_t(32) + threadIdx.x;
  int part = blockIdx.y;
  int64_t chunk = (count + parts - 1) / parts;
  int64_t begin = part * chunk, end = min(count, begin + chunk);
  double sum = 0.0;
  if (segment < segments)
    for (int64_t i = begin + threadIdx.y; i < end; i += kColumnRows)
      sum += term(segment, i);
  phases[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || segment >= segments)
    return;
  double total = 0.0;
  for (int y = 0; y < kColumnRows; ++y)
    total += phases[y][threadIdx.x];
  if (parts == 1)
    finish(segment, total);
  else
    partials[segment * parts + part] = total;
}

/// finish(s, sum over i < count of term(s, i)) for every segment s, where
/// term(s, i) and term(s + 1, i) are adjacent in memory (a sum over the
/// rows of a row-major matrix: bias gradients). Deterministic, as
/// segmentedSum.
template <typename Term, typename Finish>
void columnSum(loco_context *ctx, int64_t segments, int64_t count, Term term,
               Finish finish, LaunchSite site = LaunchSite::here()) {
  if (segments <= 0)
    return;
  // Parts of at least 2048 rows, as many as the partial sums and grid.y
  // hold.
  int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>({(count + 2047) / 2048, 1024, kSumSlots / segments,
                            cuda_limits::kMaxGridYZ}));
  dim3 grid(static_cast<unsigned>((segments + 31) / 32),
            static_cast<unsigned>(parts));
  auto partial = columnPartials<Term, Finish>;
  LOCO_LAUNCH(partial, grid, dim3(32, kColumnRows), 0, ctx->stream)(
      term, finish, segments, count, static_cast<int>(parts), ctx->partials);
  if (!checkLaunch(ctx, reinterpret_cast<const void *>(partial), site) ||
      parts == 1)
    return;
  auto total = reduceFinish<Finish>;
  LOCO_LAUNCH(total, blocksFor(segments), kThreads, 0, ctx->stream)(
      finish, segments, static_cast<int>(parts), ctx->partials);
  checkLaunch(ctx, reinterpret_cast<const void *>(total), site);
}

/// finish(s, sum over i < count of term(s, i)) for every segment s.
template <typename Term, typename Finish>
void segmentedSum(loco_context *ctx, int64_t segments, int64_t count, Term term,
                  Finish finish, LaunchSite site = LaunchSite::here()) {
  if (segments <= 0)
    return;
  if (count <= kSerialCount) {
    forEach(
        ctx, segments,
        [=] __device__(int64_t segment) {
          double sum = 0.0;
          for (int64_t i = 0; i < count; ++i)
            sum += term(segment, i);
          finish(segment, sum);
        },
        site);
    return;
  }
  int64_t wanted = std::max<int64_t>(1, (count + 16383) / 16384);
  // More segments than partial sums: one part each (no partials needed).
  int64_t parts = segments > kSumSlots
                      ? 1
                      : std::min<int64_t>({wanted, 1024, kSumSlots / segments});
  if (parts == 1) {
    if (!ctx->withinLimit(cuda_limits::reductionSegments(segments),
                          site.function))
      return;
    auto kernel = reduceDirect<Term, Finish>;
    LOCO_LAUNCH(kernel, static_cast<unsigned>(segments), kReduceThreads, 0,
                ctx->stream)(term, finish, count);
    checkLaunch(ctx, reinterpret_cast<const void *>(kernel), site);
    return;
  }
  int64_t blocks = segments * parts; // <= kSumSlots
  auto partial = reducePartials<Term>;
  LOCO_LAUNCH(partial, static_cast<unsigned>(blocks), kReduceThreads, 0,
              ctx->stream)(term, count, static_cast<int>(parts), ctx->partials);
  if (!checkLaunch(ctx, reinterpret_cast<const void *>(partial), site))
    return;
  auto total = reduceFinish<Finish>;
  LOCO_LAUNCH(total, blocksFor(segments), kThreads, 0, ctx->stream)(
      finish, segments, static_cast<int>(parts), ctx->partials);
  checkLaunch(ctx, reinterpret_cast<const void *>(total), site);
}

} // namespace loco::cuda

#endif // LOCO_RUNTIME_CUDA_REDUCE_CUH
