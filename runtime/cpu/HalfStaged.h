//===- HalfStaged.h - Staged bf16/f16 GEMMs on the CPU ----------*- C++ -*-===//
//
// This file declares the staged GEMMs of HalfStaged.cpp: blocks of rows
// widened to fp32 for OpenBLAS's sgemm, the path HalfGemm.cpp takes where
// oneDNN has no native kernel for the type on this CPU.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CPU_HALFSTAGED_H
#define LOCO_RUNTIME_CPU_HALFSTAGED_H

#include "runtime/api.h"

namespace loco {

template <typename H>
void stagedLinear(loco_context *ctx, const loco_half *x, const loco_half *w,
                  loco_half *out, int64_t M, int64_t K, int64_t N);
template <typename H>
void stagedLinearWeightGrad(loco_context *ctx, const loco_half *x,
                            const loco_half *g, loco_half *out, int64_t M,
                            int64_t K, int64_t N);
template <typename H>
void stagedBatchMatmul(loco_context *ctx, const loco_half *a,
                       const loco_half *b, loco_half *out, int64_t batch,
                       int64_t M, int64_t K, int64_t N, int64_t transposeA,
                       int64_t transposeB);

} // namespace loco

#endif // LOCO_RUNTIME_CPU_HALFSTAGED_H
