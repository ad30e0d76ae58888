//===- NoAllocationTest.cpp - A step allocates nothing beyond the arena ---===//
//
// The runtime's promise: after locorun allocates the arena (with its
// workspace region) and the first step has created the FFT plans, a
// training step, an optimizer step and an evaluation step allocate no
// memory at all. This test counts every malloc/calloc/realloc/aligned
// allocation in the process (by interposing them here, forwarding to
// glibc) while it runs those steps of the tiny config, and expects zero.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Gemm.h"
#include "runtime/session/Session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <malloc.h>

extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void note() {
  if (counting.load(std::memory_order_relaxed))
    allocations.fetch_add(1, std::memory_order_relaxed);
}
} // namespace

extern "C" {
void *malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void *calloc(size_t count, size_t n) {
  note();
  return __libc_calloc(count, n);
}
void *realloc(void *p, size_t n) {
  note();
  return __libc_realloc(p, n);
}
void *memalign(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
  note();
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : 12;
}
}

// The unconstrained step, and one with row chunks and recomputation (the
// same kernels, more calls; their scratch comes from the planned workspace).
class NoAllocation : public ::testing::TestWithParam<const char *> {};

TEST_P(NoAllocation, StepsAllocateNothing) {
  std::string so = ::testing::TempDir() + "/noalloc.so";
  std::string command = std::string(LOCO_TOOLS_DIR "/lococ ") +
                        LOCO_CONFIGS_DIR "/tiny.yaml --set model.dropout=0.1 " +
                        GetParam() + " -o " + so;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  loco::Session session(so, "cpu");
  session.initParameters(1);
  loco::TrainArtifact &art = session.artifact();
  std::vector<std::vector<float>> inputs;
  for (const loco::ManifestTensor &input : art.inputs())
    inputs.emplace_back(input.numElements(), 0.01f);
  session.setInputs(inputs);
  loco_context *ctx = session.context();
  char *arena = session.arenaBase();
  loco_context_set_optimizer(ctx, 1, 1e-3);
  auto steps = [&] {
    loco_context_set_training(ctx, 1);
    art.train().fn(ctx, arena);
    art.optimizer()(ctx, arena);
    loco_context_set_training(ctx, 0);
    art.eval().fn(ctx, arena);
  };
  steps(); // warm-up: FFT plans, thread pools, GEMM kernels
  int64_t fallbacks = loco::cpu::gemmFallbackCalls();
  counting = true;
  steps();
  steps();
  counting = false;
  EXPECT_EQ(loco_context_error(ctx), nullptr);
  EXPECT_EQ(allocations.load(), 0) << "allocations during two steps";
  // Every product of the step ran on a kernel generated for this CPU, none
  // on the fallback BLAS (unless LOCO_CPU_GEMM=openblas chose it).
  const char *choice = std::getenv("LOCO_CPU_GEMM");
  if (!choice || std::string(choice) != "openblas") {
    EXPECT_EQ(loco::cpu::gemmFallbackCalls(), fallbacks)
        << loco::cpu::describeGemm();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Plans, NoAllocation,
    ::testing::Values("", "--row-chunks 3 --checkpoint-every 2 "
                          "--extra-checkpoints 1 --rebuild-prologue"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      return std::string(info.index == 0 ? "Unconstrained" : "ChunkedRemat");
    });
