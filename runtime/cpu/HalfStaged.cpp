//===- HalfStaged.cpp - bf16/f16 convolutions and attention on the CPU ----===//
//
// This file defines the CPU's staged reduced-precision kernels
// (runtime/HalfStaged.h): the convolutions, their weight gradients and the
// fused attention widen blocks of rows to fp32 for the fp32 kernels.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/HalfStaging.h"

extern "C" {
LOCO_DEFINE_STAGED_HALF_KERNELS(bf16, loco::CpuStaging, loco::Bf16)
LOCO_DEFINE_STAGED_HALF_KERNELS(f16, loco::CpuStaging, loco::F16)
} // extern "C"
