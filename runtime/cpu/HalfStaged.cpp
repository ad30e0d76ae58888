//===- HalfStaged.cpp - bf16/f16 convolutions and attention on the CPU ----===//
//
// This file defines the CPU's staged reduced-precision kernels
// (runtime/HalfStaged.h): the 2-D convolutions and the f16 1-D ones, with
// their weight gradients, widen blocks of rows to fp32 for the fp32
// kernels. bf16's 1-D convolutions are HalfConv.cpp's; the attention of both
// types is Attention.cpp's.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/HalfStaging.h"

extern "C" {
LOCO_DEFINE_STAGED_HALF_CONV2D(bf16, loco::CpuStaging, loco::Bf16)
LOCO_DEFINE_STAGED_HALF_CONV1D(f16, loco::CpuStaging, loco::F16)
LOCO_DEFINE_STAGED_HALF_CONV2D(f16, loco::CpuStaging, loco::F16)
} // extern "C"
