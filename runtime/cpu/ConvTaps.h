//===- ConvTaps.h - 1-D convolution weights per kernel tap ------*- C++ -*-===//
//
// This file implements the rearrangement the 1-D convolution kernels share:
// a PyTorch weight ([Co, Ci, K] for a convolution, [Ci, Co, K] for a
// transposed one) as K matrices [Ci, Co], one per kernel tap, and back.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_CONVTAPS_H
#define LOCO_RUNTIME_CPU_CONVTAPS_H

#include <cstdint>

namespace loco {

/// Index of element (ci, co, k) in a PyTorch 1-D convolution weight.
inline int64_t weightIndex(bool transposed, int64_t ci, int64_t co, int64_t k,
                           int64_t Ci, int64_t Co, int64_t K) {
  return (transposed ? ci * Co + co : co * Ci + ci) * K + k;
}

/// taps[k][ci][co] = weight(ci, co, k).
inline void packTaps(const float *weight, float *taps, int64_t Ci, int64_t Co,
                     int64_t K, bool transposed) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t co = 0; co < Co; ++co)
        taps[(k * Ci + ci) * Co + co] =
            weight[weightIndex(transposed, ci, co, k, Ci, Co, K)];
}

/// weight(ci, co, k) = taps[k][ci][co].
inline void unpackTaps(const float *taps, float *weight, int64_t Ci, int64_t Co,
                       int64_t K, bool transposed) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t co = 0; co < Co; ++co)
        weight[weightIndex(transposed, ci, co, k, Ci, Co, K)] =
            taps[(k * Ci + ci) * Co + co];
}

} // namespace loco

#endif // LOCO_RUNTIME_CPU_CONVTAPS_H
