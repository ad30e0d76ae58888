//===- Parallel.h - Deterministic parallel reductions -----------*- C++ -*-===//
//
// This file implements parallelSum: a sum over [0, n) split into one
// static chunk per OpenMP thread, the chunk sums added in thread order.
// Unlike `omp reduction`, whose combination order is unspecified, the result
// is the same on every run with the same thread count, which bit-for-bit
// resumable training needs.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_PARALLEL_H
#define LOCO_RUNTIME_CPU_PARALLEL_H

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace loco {

constexpr int kMaxSumThreads = 256;

template <typename Term> double parallelSum(int64_t n, Term term) {
  int threads = std::min(omp_get_max_threads(), kMaxSumThreads);
  double partial[kMaxSumThreads] = {};
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    int64_t chunk = (n + threads - 1) / threads;
    int64_t begin = std::min<int64_t>(n, t * chunk);
    int64_t end = std::min<int64_t>(n, begin + chunk);
    double sum = 0.0;
    for (int64_t i = begin; i < end; ++i)
      sum += term(i);
    partial[t] = sum;
  }
  double total = 0.0;
  for (int t = 0; t < threads; ++t)
    total += partial[t];
  return total;
}

} // namespace loco

#endif // LOCO_RUNTIME_CPU_PARALLEL_H
