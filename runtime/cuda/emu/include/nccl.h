// nccl.h for the CUDA emulation target (docs/CUDA_EMULATION.md): the NCCL
// transport includes it where it includes NCCL's own.
#pragma once
#include "runtime/cuda/emu/Nccl.h"
