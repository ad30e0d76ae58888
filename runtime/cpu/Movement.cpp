//===- Movement.cpp - Transpose, slice, pad and reductions on the CPU -----===//
//
// This file implements the rank-generic data-movement kernels and the
// reductions. Shapes arrive as constant int64 arrays from train.so.
//
//===----------------------------------------------------------------------===//

#include "runtime/ReduceShape.h"
#include "runtime/cpu/Context.h"
#include "runtime/cpu/Half.h"
#include "runtime/cpu/Parallel.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace {
/// Shapes of up to kMaxRank dims live in fixed arrays: no allocation.
using loco::kMaxRank;
using Dims = std::array<int64_t, kMaxRank>;

Dims stridesOf(const int64_t *shape, int64_t rank) {
  Dims strides{};
  strides[rank - 1] = 1;
  for (int64_t i = rank - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}
int64_t product(const int64_t *shape, int64_t rank) {
  int64_t n = 1;
  for (int64_t i = 0; i < rank; ++i)
    n *= shape[i];
  return n;
}

/// The source offset of the output coordinates that `index` enumerates
/// (row-major) over output dims [0, last]: each times its source stride.
int64_t sourceOffset(int64_t index, int64_t last, const Dims &outShape,
                     const Dims &srcStrides) {
  int64_t src = 0;
  for (int64_t i = last; i >= 0; --i) {
    src += (index % outShape[i]) * srcStrides[i];
    index /= outShape[i];
  }
  return src;
}

// The kernels move elements of any type T (float, or the 16-bit patterns of
// bf16 and f16); the reductions load through `Load`.

template <typename T>
void transpose(const T *x, T *out, int64_t rank, const int64_t *shape,
               const int64_t *perm) {
  Dims inStrides = stridesOf(shape, rank), outShape{}, srcStrides{};
  for (int64_t i = 0; i < rank; ++i) {
    outShape[i] = shape[perm[i]];
    srcStrides[i] = inStrides[perm[i]];
  }
  int64_t inner = outShape[rank - 1], innerStride = srcStrides[rank - 1];
  int64_t rows = product(outShape.data(), rank) / inner;
  if (innerStride == 1 && rank >= 2) {
    // Contiguous source rows (the attention's head split and merge, the
    // path switches: rows of d or C elements): the leading coordinates are
    // decomposed once per run of outShape[rank - 2] rows, not per row.
    int64_t run = outShape[rank - 2], runStride = srcStrides[rank - 2];
    int64_t runs = rows / run;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < runs; ++r) {
      int64_t src = sourceOffset(r, rank - 3, outShape, srcStrides);
      T *dst = out + r * run * inner;
      for (int64_t j = 0; j < run; ++j)
        std::memcpy(dst + j * inner, x + src + j * runStride,
                    inner * sizeof(T));
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t src = sourceOffset(row, rank - 2, outShape, srcStrides);
    T *dst = out + row * inner;
    for (int64_t j = 0; j < inner; ++j)
      dst[j] = x[src + j * innerStride];
  }
}

template <typename T>
void slice(const T *x, T *out, int64_t outer, int64_t dim, int64_t inner,
           int64_t start, int64_t size) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out + o * size * inner, x + (o * dim + start) * inner,
                size * inner * sizeof(T));
}

template <typename T>
void pad(const T *x, T *out, int64_t rank, const int64_t *shape,
         const int64_t *low, const int64_t *high) {
  Dims outShape{};
  for (int64_t i = 0; i < rank; ++i)
    outShape[i] = shape[i] + low[i] + high[i];
  // One pass over the output: each of its rows (along the last dim) is
  // either all padding or an input row between zeros.
  int64_t inner = shape[rank - 1], outInner = outShape[rank - 1];
  int64_t lowInner = low[rank - 1], highInner = high[rank - 1];
  int64_t outRows = product(outShape.data(), rank) / outInner;
  Dims inStrides = stridesOf(shape, rank);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < outRows; ++row) {
    int64_t rest = row, src = 0;
    bool inside = true;
    for (int64_t i = rank - 2; i >= 0; --i) {
      int64_t coord = rest % outShape[i] - low[i];
      rest /= outShape[i];
      inside = inside && coord >= 0 && coord < shape[i];
      src += coord * inStrides[i];
    }
    T *dst = out + row * outInner;
    if (!inside) {
      std::memset(dst, 0, outInner * sizeof(T));
      continue;
    }
    std::memset(dst, 0, lowInner * sizeof(T));
    std::memcpy(dst + lowInner, x + src, inner * sizeof(T));
    std::memset(dst + lowInner + inner, 0, highInner * sizeof(T));
  }
}

/// Sums in double whatever the storage; `load(x, i)` reads element i as
/// float and `store(v)` rounds a float to the output's storage.
template <typename T, typename Load, typename Store>
void reduce(loco_context *ctx, const T *x, T *out, int64_t rank,
            const int64_t *shape, const int64_t *reduce, int64_t mean,
            Load load, Store store) {
  loco::ReduceShape merged = loco::collapseReduce(rank, shape, reduce);
  int64_t outCount = merged.outCount, reducedCount = merged.reducedCount;
  int64_t outer = merged.outer, kept = merged.kept, inner = merged.inner;
  bool simple = merged.simple;
  loco::Scratch scratch(ctx);
  double *acc = scratch.take<double>(outCount);
  std::fill(acc, acc + outCount, 0.0);
  if (simple && kept == 1 && inner == 1) {
    // A full reduction: parallel chunks summed in order.
    acc[0] =
        loco::parallelSum(outer, [&](int64_t i) { return double(load(x, i)); });
  } else if (simple) {
    // acc[k] = sum over (o, r) of x[(o * kept + k) * inner + r], each
    // thread owning a range of k: deterministic. The threads walk x in
    // memory order (each its slice of every outer row), not one k at a time
    // down the rows, which would stream all of x once per k; each acc[k]
    // still adds its terms in (o, r) order.
#pragma omp parallel
    {
      int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t k0 = kept * t / threads, k1 = kept * (t + 1) / threads;
      if (inner == 1) {
        // Column sums (a bias gradient): the same terms in the same order,
        // a vector of k at a time.
        for (int64_t o = 0; o < outer; ++o) {
          int64_t row = o * kept;
#pragma omp simd
          for (int64_t k = k0; k < k1; ++k)
            acc[k] += load(x, row + k);
        }
      } else {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t k = k0; k < k1; ++k) {
            int64_t row = (o * kept + k) * inner;
            double sum = acc[k];
            for (int64_t r = 0; r < inner; ++r)
              sum += load(x, row + r);
            acc[k] = sum;
          }
      }
    }
  } else {
    // Output strides over the kept dims (zero for reduced ones).
    Dims outStrides{};
    int64_t stride = 1;
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (reduce[i])
        continue;
      outStrides[i] = stride;
      stride *= shape[i];
    }
    int64_t total = product(shape, rank);
    for (int64_t idx = 0; idx < total; ++idx) {
      int64_t rest = idx, dst = 0;
      for (int64_t i = rank - 1; i >= 0; --i) {
        dst += (rest % shape[i]) * outStrides[i];
        rest /= shape[i];
      }
      acc[dst] += load(x, idx);
    }
  }
  for (int64_t i = 0; i < outCount; ++i)
    out[i] = store(static_cast<float>(mean ? acc[i] / reducedCount : acc[i]));
}

template <typename T>
void broadcast(const T *x, T *out, int64_t rank, const int64_t *shape,
               const int64_t *mask) {
  // Strides of the input over the kept dims (zero along broadcast dims).
  Dims inStrides{};
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (mask[i])
      continue;
    inStrides[i] = stride;
    stride *= shape[i];
  }
  int64_t total = product(shape, rank);
#pragma omp parallel for schedule(static)
  for (int64_t idx = 0; idx < total; ++idx) {
    int64_t rest = idx, src = 0;
    for (int64_t i = rank - 1; i >= 0; --i) {
      src += (rest % shape[i]) * inStrides[i];
      rest /= shape[i];
    }
    out[idx] = x[src];
  }
}

} // namespace

extern "C" {

void loco_transpose(loco_context *, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *perm) {
  transpose(x, out, rank, shape, perm);
}
void loco_slice(loco_context *, const float *x, float *out, int64_t outer,
                int64_t dim, int64_t inner, int64_t start, int64_t size) {
  slice(x, out, outer, dim, inner, start, size);
}
void loco_pad(loco_context *, const float *x, float *out, int64_t rank,
              const int64_t *shape, const int64_t *low, const int64_t *high) {
  pad(x, out, rank, shape, low, high);
}
void loco_reduce(loco_context *ctx, const float *x, float *out, int64_t rank,
                 const int64_t *shape, const int64_t *reduce, int64_t mean) {
  ::reduce(
      ctx, x, out, rank, shape, reduce, mean,
      [](const float *p, int64_t i) { return p[i]; },
      [](float v) { return v; });
}
void loco_broadcast(loco_context *, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *mask) {
  broadcast(x, out, rank, shape, mask);
}

#define LOCO_HALF_MOVEMENT(S, H)                                               \
  void loco_transpose_##S(loco_context *, const loco_half *x, loco_half *out,  \
                          int64_t rank, const int64_t *shape,                  \
                          const int64_t *perm) {                               \
    transpose(x, out, rank, shape, perm);                                      \
  }                                                                            \
  void loco_slice_##S(loco_context *, const loco_half *x, loco_half *out,      \
                      int64_t outer, int64_t dim, int64_t inner,               \
                      int64_t start, int64_t size) {                           \
    slice(x, out, outer, dim, inner, start, size);                             \
  }                                                                            \
  void loco_pad_##S(loco_context *, const loco_half *x, loco_half *out,        \
                    int64_t rank, const int64_t *shape, const int64_t *low,    \
                    const int64_t *high) {                                     \
    pad(x, out, rank, shape, low, high);                                       \
  }                                                                            \
  void loco_reduce_##S(loco_context *ctx, const loco_half *x, loco_half *out,  \
                       int64_t rank, const int64_t *shape,                     \
                       const int64_t *reduce, int64_t mean) {                  \
    ::reduce(                                                                  \
        ctx, x, out, rank, shape, reduce, mean,                                \
        [](const loco_half *p, int64_t i) { return H::load(p[i]); },           \
        [](float v) { return H::store(v); });                                  \
  }                                                                            \
  void loco_broadcast_##S(loco_context *, const loco_half *x, loco_half *out,  \
                          int64_t rank, const int64_t *shape,                  \
                          const int64_t *mask) {                               \
    broadcast(x, out, rank, shape, mask);                                      \
  }
LOCO_HALF_MOVEMENT(bf16, loco::Bf16)
LOCO_HALF_MOVEMENT(f16, loco::F16)
#undef LOCO_HALF_MOVEMENT

} // extern "C"
