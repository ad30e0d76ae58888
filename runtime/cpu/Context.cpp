//===- Context.cpp - The CPU backend's context and memory -----------------===//
//
// This file implements context creation, errors, the RNG key, and the arena
// allocation of the CPU backend (host memory, 256-byte aligned).
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"
#include "runtime/cpu/Gemm.h"

#include <cblas.h>
#include <fftw3.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

extern "C" {

loco_context *loco_context_create(const char *device, char *error,
                                  int64_t errorSize) {
  if (std::strcmp(device, "cpu") != 0) {
    if (error && errorSize > 0)
      std::snprintf(error, errorSize,
                    "the cpu backend cannot run on device '%s'", device);
    return nullptr;
  }
  // GEMMs run single-threaded inside the backend's own OpenMP loops: no
  // oversubscription, and OpenBLAS's threaded driver (which allocates job
  // descriptors on every call) stays out of the step where it is the
  // fallback.
  openblas_set_num_threads(1);
  auto *ctx = new loco_context();
  ctx->description = "cpu (GEMM: " + loco::cpu::describeGemm() + "; FFTW3; " +
                     std::to_string(omp_get_max_threads()) + " threads)";
  return ctx;
}

void loco_context_destroy(loco_context *ctx) {
  if (!ctx)
    return;
  for (auto &entry : ctx->plans)
    fftwf_destroy_plan(static_cast<fftwf_plan>(entry.second));
  delete ctx;
}

const char *loco_context_error(loco_context *ctx) {
  return ctx->error.empty() ? nullptr : ctx->error.c_str();
}

void loco_context_clear_error(loco_context *ctx) { ctx->error.clear(); }

void loco_context_set_rng(loco_context *ctx, uint64_t seed, uint64_t step) {
  ctx->seed = seed;
  ctx->step = step;
}

void loco_context_set_rng_replica(loco_context *ctx, int64_t replica) {
  if (replica < 0)
    return ctx->fail("rng replica must be non-negative, got " +
                     std::to_string(replica));
  ctx->rngReplica = replica;
}

int64_t loco_context_rng_replica(loco_context *ctx) { return ctx->rngReplica; }

void loco_context_profile(loco_context *ctx, int enabled) {
  ctx->profiling = enabled != 0;
  ctx->marks.clear();
}

void loco_context_profile_mark(loco_context *ctx) {
  // Kernels are synchronous here: the mark is now.
  if (ctx->profiling)
    ctx->marks.push_back(
        std::chrono::duration<double>(
            std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

int64_t loco_context_profile_read(loco_context *ctx, double *seconds,
                                  int64_t capacity) {
  int64_t count = static_cast<int64_t>(ctx->marks.size());
  for (int64_t i = 0; i < count && i < capacity; ++i)
    seconds[i] = ctx->marks[i] - ctx->marks[0];
  ctx->marks.clear();
  return count;
}

void loco_context_set_training(loco_context *ctx, int training) {
  ctx->training = training != 0;
}

void loco_context_set_optimizer(loco_context *ctx, int64_t step, double lr) {
  ctx->optimizerStep = step;
  ctx->lr = lr;
}

void loco_context_set_loss_scale(loco_context *ctx, double scale) {
  if (!(scale > 0.0) || !std::isfinite(scale))
    return ctx->fail("loss scale must be finite and positive, got " +
                     std::to_string(scale));
  ctx->lossScale = scale;
}

const char *loco_context_describe(loco_context *ctx) {
  return ctx->description.c_str();
}

void *loco_arena_alloc(loco_context *ctx, int64_t bytes) {
  size_t rounded = (static_cast<size_t>(bytes) + 255) / 256 * 256;
  void *arena = std::aligned_alloc(256, rounded ? rounded : 256);
  if (!arena)
    ctx->fail("cannot allocate an arena of " + std::to_string(bytes) +
              " bytes");
  return arena;
}

void loco_arena_free(loco_context *, void *arena) { std::free(arena); }

void loco_context_set_workspace(loco_context *ctx, void *workspace,
                                int64_t bytes) {
  ctx->workspace = static_cast<char *>(workspace);
  ctx->workspaceBytes = bytes;
}

void loco_copy_to_device(loco_context *, void *dst, const void *src,
                         int64_t bytes) {
  std::memcpy(dst, src, bytes);
}

void loco_copy_to_host(loco_context *, void *dst, const void *src,
                       int64_t bytes) {
  std::memcpy(dst, src, bytes);
}

void loco_synchronize(loco_context *) {}

void loco_run_step(loco_context *ctx, loco_step_fn step, void *arena) {
  step(ctx, arena);
}

void loco_context_set_matmul_precision(loco_context *, int) {}

int64_t loco_context_device_memory(loco_context *, int64_t *peak) {
  if (peak)
    *peak = 0;
  return 0;
}

int loco_device_count(void) { return 1; }

} // extern "C"
