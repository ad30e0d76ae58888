//===- Emulator.h - The emulation's internals, shared by its files -*- C++ -*-//
//
// This file declares what the emulation's own files share and the backend
// does not see: device allocations (Memory.cpp), running a grid
// (Scheduler.cpp), and stream order and capture (RuntimeApi.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_EMULATOR_H
#define LOCO_RUNTIME_CUDA_EMU_EMULATOR_H

#include "runtime/cuda/emu/Runtime.h"

#include <cstdint>
#include <functional>
#include <string>

namespace loco::emu {

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/// The emulated device's memory (an H100's 80 GiB): allocations beyond it
/// fail as cudaMalloc fails. Allocations are reserved, not committed, so a
/// dry run reserves a real arena without touching it.
constexpr uint64_t kDeviceBytes = uint64_t(80) << 30;

/// A new allocation of `bytes` (256-byte aligned, its rounded end against
/// an inaccessible guard page), or null when the device is full.
void *allocate(size_t bytes);
/// Frees an allocation; false when `pointer` is not the start of one.
bool release(void *pointer);
/// Whether `pointer` lies inside a live allocation.
bool isDevicePointer(const void *pointer);
/// Faults unless [pointer, pointer + bytes) lies inside one live
/// allocation: "call: what (N bytes at P) ...", saying how it does not (on
/// a GPU, an illegal address). Every copy and library operand is checked
/// so.
void requireDeviceRange(const char *call, const std::string &what,
                        const void *pointer, uint64_t bytes);
/// Bytes allocated now.
uint64_t bytesInUse();

/// Installs the fault handler, and this thread's alternate signal stack
/// (so that a fiber's stack overflow is reported too); idempotent.
void installFaultHandler();

/// Names what the emulation does right now (a copy, a library call), for
/// the message of a fault inside it; null when it runs no device work.
void setActivity(const char *what);

/// Stops the process with `message` (a device fault: CUDA would leave the
/// context unusable; the emulation says where it happened and stops).
[[noreturn]] void deviceFault(const std::string &message);

//===----------------------------------------------------------------------===//
// Execution
//===----------------------------------------------------------------------===//

/// Runs every block of a launch, one after another; each block's threads
/// run as fibers in a shuffled order (Scheduler.cpp).
void runGrid(const char *name, dim3 grid, dim3 block, size_t sharedBytes,
             const std::function<void()> &thread);

/// "kernel K, block (..), thread (..)" while a kernel's thread runs on this
/// thread; empty otherwise.
std::string currentKernelDescription();

/// Runs `work` now, or records it when `stream` is being captured. False
/// when the capture was invalidated by a forbidden call.
bool submit(cudaStream_t stream, std::function<void()> work);

/// Whether `stream` is being captured (its work is recorded, not run).
bool isCapturing(cudaStream_t stream);

/// A call that stream capture forbids, made by the capturing thread:
/// invalidates the capture and returns cudaErrorStreamCaptureUnsupported;
/// cudaSuccess when no capture is under way.
cudaError_t refuseDuringCapture();

} // namespace loco::emu

#endif // LOCO_RUNTIME_CUDA_EMU_EMULATOR_H
