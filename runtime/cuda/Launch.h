//===- Launch.h - Kernel launches, on a GPU or emulated ---------*- C++ -*-===//
//
// This file defines LOCO_LAUNCH, the backend's one way to launch a kernel:
//   LOCO_LAUNCH(kernel, grid, block, sharedBytes, stream)(args...);
// is `kernel<<<grid, block, sharedBytes, stream>>>(args...)` under nvcc and,
// in the emulation target (LOCO_CUDA_EMULATION, docs/CUDA_EMULATION.md), a
// launch on the CPU's emulated device, named by the kernel's expression and
// its source line. LOCO_DYNAMIC_SHARED(type, name) declares the block's
// dynamic shared memory (`extern __shared__ type name[]`) in both.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_LAUNCH_H
#define LOCO_RUNTIME_CUDA_LAUNCH_H

#include <cuda_runtime.h>

#include <utility>

namespace loco::cuda {

template <typename... Params> class Launch {
public:
  Launch(const char *name, void (*kernel)(Params...), dim3 grid, dim3 block,
         size_t sharedBytes, cudaStream_t stream)
      : name(name), kernel(kernel), grid(grid), block(block),
        sharedBytes(sharedBytes), stream(stream) {}

  template <typename... Args> void operator()(Args &&...args) const {
#ifdef LOCO_CUDA_EMULATION
    ::loco::emu::launch(name, kernel, grid, block, sharedBytes, stream,
                        std::forward<Args>(args)...);
#else
    kernel<<<grid, block, sharedBytes, stream>>>(std::forward<Args>(args)...);
#endif
  }

private:
  const char *name;
  void (*kernel)(Params...);
  dim3 grid, block;
  size_t sharedBytes;
  cudaStream_t stream;
};

} // namespace loco::cuda

#define LOCO_LAUNCH_STRING(x) #x
#define LOCO_LAUNCH_LINE(x) LOCO_LAUNCH_STRING(x)
#define LOCO_LAUNCH(kernel, grid, block, sharedBytes, stream)                  \
  ::loco::cuda::Launch(#kernel " (" __FILE__                                   \
                               ":" LOCO_LAUNCH_LINE(__LINE__) ")",             \
                       kernel, grid, block, sharedBytes, stream)

#ifndef LOCO_CUDA_EMULATION
#define LOCO_DYNAMIC_SHARED(type, name)                                        \
  extern __shared__ __align__(128) type name[]
#endif

#endif // LOCO_RUNTIME_CUDA_LAUNCH_H
