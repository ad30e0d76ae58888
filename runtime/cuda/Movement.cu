//===- Movement.cu - Transpose, slice, pad and reductions on CUDA ---------===//
//
// This file implements the rank-generic data-movement kernels, broadcasts
// and reductions. Shapes arrive as host arrays in train.so's constant data;
// they travel to the kernels by value (a fixed-size Dims), so a captured
// graph holds them.
//
//===----------------------------------------------------------------------===//

#include "runtime/ReduceShape.h"
#include "runtime/abi/CudaLimits.h"
#include "runtime/cuda/Half.cuh"
#include "runtime/cuda/Reduce.cuh"

using namespace loco::cuda;

namespace {
using loco::kMaxRank;
static_assert(kMaxRank == loco::cuda_limits::kMaxRank,
              "the rank the compiler's limit check allows");
struct Dims {
  int64_t v[kMaxRank];
};

Dims dimsOf(const int64_t *values, int64_t rank) {
  Dims dims{};
  for (int64_t i = 0; i < rank; ++i)
    dims.v[i] = values[i];
  return dims;
}

/// Row-major strides of `shape`, zero along the dims `skip` marks (a
/// broadcast's repeated dims); null skips none.
Dims stridesOf(const int64_t *shape, int64_t rank, const int64_t *skip) {
  Dims strides{};
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (skip && skip[i])
      continue;
    strides.v[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/// The offset in a buffer with `strides` of element `index` of a row-major
/// tensor of `shape`.
__device__ inline int64_t offsetOf(int64_t index, const Dims &shape,
                                   const Dims &strides, int64_t rank) {
  int64_t offset = 0;
  for (int64_t i = rank - 1; i >= 0; --i) {
    offset += index % shape.v[i] * strides.v[i];
    index /= shape.v[i];
  }
  return offset;
}

int64_t product(const Dims &shape, int64_t rank) {
  int64_t n = 1;
  for (int64_t i = 0; i < rank; ++i)
    n *= shape.v[i];
  return n;
}

bool rankFits(loco_context *ctx, int64_t rank, const char *kernel) {
  return ctx->withinLimit(loco::cuda_limits::movementRank(rank), kernel);
}

// The kernels move elements of any type T (float, or the 16-bit patterns of
// bf16 and f16); the reduction reads and writes through a policy H.

template <typename T>
void transpose(loco_context *ctx, const T *x, T *out, int64_t rank,
               const int64_t *shape, const int64_t *perm) {
  if (!rankFits(ctx, rank, "loco_transpose"))
    return;
  // Output coordinates map to input offsets through the permuted strides.
  Dims outShape{}, srcStrides{}, inStrides = stridesOf(shape, rank, nullptr);
  for (int64_t i = 0; i < rank; ++i) {
    outShape.v[i] = shape[perm[i]];
    srcStrides.v[i] = inStrides.v[perm[i]];
  }
  forEach(ctx, product(outShape, rank), [=] __device__(int64_t idx) {
    out[idx] = x[offsetOf(idx, outShape, srcStrides, rank)];
  });
}

/// cudaMemcpy2D's pitches and width are limited by cudaDevAttrMaxPitch,
/// 2^31 - 1 bytes on every current GPU (a row chunk of xlarge's residual
/// stream is a 10.8 GB tensor, its rows far wider).
constexpr int64_t kMaxPitchBytes = 2147483647;

template <typename T>
void slice(loco_context *ctx, const T *x, T *out, int64_t outer, int64_t dim,
           int64_t inner, int64_t start, int64_t size) {
  int64_t rowElements = size * inner, total = outer * rowElements;
  if (total == 0)
    return;
  const T *first = x + start * inner;
  // One contiguous block: a plain copy, of any size.
  if (outer == 1 || size == dim) {
    LOCO_CHECK_ENQUEUE(ctx,
                       cudaMemcpyAsync(out, first, total * sizeof(T),
                                       cudaMemcpyDeviceToDevice, ctx->stream));
    return;
  }
  // Rows of a pitch the copy engine takes: one 2-D copy.
  if (dim * inner * static_cast<int64_t>(sizeof(T)) <= kMaxPitchBytes) {
    LOCO_CHECK_ENQUEUE(
        ctx, cudaMemcpy2DAsync(out, rowElements * sizeof(T), first,
                               dim * inner * sizeof(T), rowElements * sizeof(T),
                               outer, cudaMemcpyDeviceToDevice, ctx->stream));
    return;
  }
  // Wider rows: element by element.
  int64_t pitch = dim * inner;
  forEach(ctx, total, [=] __device__(int64_t i) {
    out[i] = first[i / rowElements * pitch + i % rowElements];
  });
}

template <typename T>
void pad(loco_context *ctx, const T *x, T *out, int64_t rank,
         const int64_t *shape, const int64_t *low, const int64_t *high) {
  if (!rankFits(ctx, rank, "loco_pad"))
    return;
  Dims outShape{};
  for (int64_t i = 0; i < rank; ++i)
    outShape.v[i] = shape[i] + low[i] + high[i];
  Dims outStrides = stridesOf(outShape.v, rank, nullptr);
  int64_t total = product(outShape, rank);
  LOCO_CHECK_ENQUEUE(ctx,
                     cudaMemsetAsync(out, 0, total * sizeof(T), ctx->stream));
  // Input element idx lands at its coordinates shifted by `low`.
  Dims in = dimsOf(shape, rank);
  int64_t origin = 0;
  for (int64_t i = 0; i < rank; ++i)
    origin += low[i] * outStrides.v[i];
  forEach(ctx, product(in, rank), [=] __device__(int64_t idx) {
    out[origin + offsetOf(idx, in, outStrides, rank)] = x[idx];
  });
}

template <typename T, typename H>
void reduceSum(loco_context *ctx, const T *x, T *out, int64_t rank,
               const int64_t *shape, const int64_t *reduce, int64_t mean) {
  if (!rankFits(ctx, rank, "loco_reduce"))
    return;
  loco::ReduceShape merged = loco::collapseReduce(rank, shape, reduce);
  int64_t outCount = merged.outCount, reducedCount = merged.reducedCount;
  int64_t outer = merged.outer, kept = merged.kept, inner = merged.inner;
  double divisor = mean ? static_cast<double>(reducedCount) : 1.0;
  if (merged.simple && inner == 1 && kept >= 32 && outer > kSerialCount) {
    // [reduced, kept] (bias gradients): column sums, a warp over 32 adjacent
    // kept elements of each row.
    columnSum(
        ctx, kept, outer,
        [=] __device__(int64_t k, int64_t o) {
          return static_cast<double>(H::load(x[o * kept + k]));
        },
        [=] __device__(int64_t k, double sum) {
          out[k] = H::store(static_cast<float>(sum / divisor));
        });
    return;
  }
  if (merged.simple) {
    // [outer reduced] x [kept] x [inner reduced]: one segment per kept index.
    segmentedSum(
        ctx, kept, outer * inner,
        [=] __device__(int64_t k, int64_t i) {
          int64_t o = i / inner, r = i % inner;
          return static_cast<double>(H::load(x[(o * kept + k) * inner + r]));
        },
        [=] __device__(int64_t k, double sum) {
          out[k] = H::store(static_cast<float>(sum / divisor));
        });
    return;
  }
  // Anything else: each output element walks its reduced index space.
  Dims dims = dimsOf(shape, rank), mask = dimsOf(reduce, rank);
  forEach(ctx, outCount, [=] __device__(int64_t k) {
    // The kept coordinates of output k, then every reduced combination.
    int64_t coord[kMaxRank];
    int64_t rest = k;
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (mask.v[i]) {
        coord[i] = 0;
        continue;
      }
      coord[i] = rest % dims.v[i];
      rest /= dims.v[i];
    }
    double sum = 0.0;
    for (int64_t r = 0; r < reducedCount; ++r) {
      int64_t left = r;
      for (int64_t i = rank - 1; i >= 0; --i)
        if (mask.v[i]) {
          coord[i] = left % dims.v[i];
          left /= dims.v[i];
        }
      int64_t offset = 0;
      for (int64_t i = 0; i < rank; ++i)
        offset = offset * dims.v[i] + coord[i];
      sum += H::load(x[offset]);
    }
    out[k] = H::store(static_cast<float>(sum / divisor));
  });
}

template <typename T>
void broadcast(loco_context *ctx, const T *x, T *out, int64_t rank,
               const int64_t *shape, const int64_t *mask) {
  if (!rankFits(ctx, rank, "loco_broadcast"))
    return;
  // Strides of the input over the kept dims (zero along broadcast dims).
  Dims inStrides = stridesOf(shape, rank, mask), dims = dimsOf(shape, rank);
  forEach(ctx, product(dims, rank), [=] __device__(int64_t idx) {
    out[idx] = x[offsetOf(idx, dims, inStrides, rank)];
  });
}

} // namespace

extern "C" {

void loco_transpose(loco_context *ctx, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *perm) {
  transpose(ctx, x, out, rank, shape, perm);
}
void loco_slice(loco_context *ctx, const float *x, float *out, int64_t outer,
                int64_t dim, int64_t inner, int64_t start, int64_t size) {
  slice(ctx, x, out, outer, dim, inner, start, size);
}
void loco_pad(loco_context *ctx, const float *x, float *out, int64_t rank,
              const int64_t *shape, const int64_t *low, const int64_t *high) {
  pad(ctx, x, out, rank, shape, low, high);
}
void loco_reduce(loco_context *ctx, const float *x, float *out, int64_t rank,
                 const int64_t *shape, const int64_t *reduce, int64_t mean) {
  reduceSum<float, F32>(ctx, x, out, rank, shape, reduce, mean);
}
void loco_broadcast(loco_context *ctx, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *mask) {
  broadcast(ctx, x, out, rank, shape, mask);
}

#define LOCO_CUDA_HALF_MOVEMENT(S, H)                                          \
  void loco_transpose_##S(loco_context *ctx, const loco_half *x,               \
                          loco_half *out, int64_t rank, const int64_t *shape,  \
                          const int64_t *perm) {                               \
    transpose(ctx, x, out, rank, shape, perm);                                 \
  }                                                                            \
  void loco_slice_##S(loco_context *ctx, const loco_half *x, loco_half *out,   \
                      int64_t outer, int64_t dim, int64_t inner,               \
                      int64_t start, int64_t size) {                           \
    slice(ctx, x, out, outer, dim, inner, start, size);                        \
  }                                                                            \
  void loco_pad_##S(loco_context *ctx, const loco_half *x, loco_half *out,     \
                    int64_t rank, const int64_t *shape, const int64_t *low,    \
                    const int64_t *high) {                                     \
    pad(ctx, x, out, rank, shape, low, high);                                  \
  }                                                                            \
  void loco_reduce_##S(loco_context *ctx, const loco_half *x, loco_half *out,  \
                       int64_t rank, const int64_t *shape,                     \
                       const int64_t *reduce, int64_t mean) {                  \
    reduceSum<loco_half, H>(ctx, x, out, rank, shape, reduce, mean);           \
  }                                                                            \
  void loco_broadcast_##S(loco_context *ctx, const loco_half *x,               \
                          loco_half *out, int64_t rank, const int64_t *shape,  \
                          const int64_t *mask) {                               \
    broadcast(ctx, x, out, rank, shape, mask);                                 \
  }
LOCO_CUDA_HALF_MOVEMENT(bf16, loco::cuda::Bf16)
LOCO_CUDA_HALF_MOVEMENT(f16, loco::cuda::F16)
#undef LOCO_CUDA_HALF_MOVEMENT

} // extern "C"
