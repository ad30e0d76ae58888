//===- ReduceShape.h - A reduction's shape, runs of dims merged -*- C++ -*-===//
//
// This file implements collapseReduce, which both backends' loco_reduce
// start from: adjacent dims with the same role (reduced or kept) merge, and
// size-1 dims drop out, so the common reductions become [outer reduced] x
// [kept] x [inner reduced] (bias gradients: [reduced, kept]; per-channel
// sums of NCHW tensors: [reduced, kept, reduced]). Header-only, host code.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_REDUCESHAPE_H
#define LOCO_RUNTIME_REDUCESHAPE_H

#include <cstdint>

namespace loco {

/// The largest rank the rank-generic kernels take.
constexpr int64_t kMaxRank = 16;

struct ReduceShape {
  /// Elements of the result, and elements summed into each.
  int64_t outCount = 1, reducedCount = 1;
  /// With `simple`: x is [outer, kept, inner], summed over outer and inner.
  int64_t outer = 1, kept = 1, inner = 1;
  bool simple = true;
};

/// The merged shape of a reduction of `shape` over the dims `reduce` marks
/// (rank at most kMaxRank).
inline ReduceShape collapseReduce(int64_t rank, const int64_t *shape,
                                  const int64_t *reduce) {
  ReduceShape r;
  int64_t sizes[kMaxRank], groups = 0;
  bool roles[kMaxRank];
  for (int64_t i = 0; i < rank; ++i) {
    (reduce[i] ? r.reducedCount : r.outCount) *= shape[i];
    if (shape[i] == 1)
      continue;
    if (groups > 0 && roles[groups - 1] == (reduce[i] != 0)) {
      sizes[groups - 1] *= shape[i];
      continue;
    }
    sizes[groups] = shape[i];
    roles[groups++] = reduce[i] != 0;
  }
  int64_t g = 0;
  if (g < groups && roles[g])
    r.outer = sizes[g++];
  if (g < groups && !roles[g])
    r.kept = sizes[g++];
  if (g < groups && roles[g])
    r.inner = sizes[g++];
  r.simple = g == groups;
  return r;
}

} // namespace loco

#endif // LOCO_RUNTIME_REDUCESHAPE_H
