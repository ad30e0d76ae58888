// cufft.h for the CUDA emulation target (docs/CUDA_EMULATION.md): the
// backend includes it where it includes CUDA's own.
#pragma once
#include "runtime/cuda/emu/Fft.h"
