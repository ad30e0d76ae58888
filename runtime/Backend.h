//===- Backend.h - A runtime backend loaded at run time ---------*- C++ -*-===//
//
// This file declares Backend: one backend shared library (libloco_cpu.so,
// libloco_cuda.so) opened with dlopen, with every function of the C ABI
// (api.h) resolved from it. locorun opens the backend its --device names
// with RTLD_GLOBAL, so that a train.so opened afterwards binds its loco_*
// references to it; the conformance tests open two backends side by side
// with RTLD_LOCAL and call each through its own table.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_BACKEND_H
#define LOCO_RUNTIME_BACKEND_H

#include "runtime/abi/api.h"

#include <memory>
#include <string>
#include <vector>

// clang-format off
/// The reduced-precision kernels (api.h, "Reduced precision").
#define LOCO_HALF_ABI_FUNCTIONS(X) \
  X(loco_cast_f32_bf16) \
  X(loco_cast_bf16_f32) \
  X(loco_conv2d_bf16) \
  X(loco_conv_transpose2d_bf16) \
  X(loco_conv1d_bf16) \
  X(loco_conv_transpose1d_bf16) \
  X(loco_linear_bf16) \
  X(loco_batch_matmul_bf16) \
  X(loco_dropout_bf16) \
  X(loco_dropout_add_bf16) \
  X(loco_dropout_add_f32_bf16) \
  X(loco_add_bf16) \
  X(loco_sub_bf16) \
  X(loco_mul_bf16) \
  X(loco_div_bf16) \
  X(loco_silu_bf16) \
  X(loco_swiglu_bf16) \
  X(loco_scale_bf16) \
  X(loco_copy_bf16) \
  X(loco_transpose_bf16) \
  X(loco_slice_bf16) \
  X(loco_pad_bf16) \
  X(loco_reduce_bf16) \
  X(loco_broadcast_bf16) \
  X(loco_fill_bf16) \
  X(loco_silu_backward_bf16) \
  X(loco_swiglu_backward_bf16) \
  X(loco_conv2d_weight_grad_bf16) \
  X(loco_conv_transpose2d_weight_grad_bf16) \
  X(loco_conv1d_weight_grad_bf16) \
  X(loco_conv_transpose1d_weight_grad_bf16) \
  X(loco_linear_weight_grad_bf16) \
  X(loco_flash_attention_bf16) \
  X(loco_flash_attention_backward_bf16) \
  X(loco_cast_f32_f16) \
  X(loco_cast_f16_f32) \
  X(loco_conv2d_f16) \
  X(loco_conv_transpose2d_f16) \
  X(loco_conv1d_f16) \
  X(loco_conv_transpose1d_f16) \
  X(loco_linear_f16) \
  X(loco_batch_matmul_f16) \
  X(loco_dropout_f16) \
  X(loco_dropout_add_f16) \
  X(loco_dropout_add_f32_f16) \
  X(loco_add_f16) \
  X(loco_sub_f16) \
  X(loco_mul_f16) \
  X(loco_div_f16) \
  X(loco_silu_f16) \
  X(loco_swiglu_f16) \
  X(loco_scale_f16) \
  X(loco_copy_f16) \
  X(loco_transpose_f16) \
  X(loco_slice_f16) \
  X(loco_pad_f16) \
  X(loco_reduce_f16) \
  X(loco_broadcast_f16) \
  X(loco_fill_f16) \
  X(loco_silu_backward_f16) \
  X(loco_swiglu_backward_f16) \
  X(loco_conv2d_weight_grad_f16) \
  X(loco_conv_transpose2d_weight_grad_f16) \
  X(loco_conv1d_weight_grad_f16) \
  X(loco_conv_transpose1d_weight_grad_f16) \
  X(loco_linear_weight_grad_f16) \
  X(loco_flash_attention_f16) \
  X(loco_flash_attention_backward_f16)

/// Every function of the ABI, for X-macros.
#define LOCO_ABI_FUNCTIONS(X) \
  LOCO_HALF_ABI_FUNCTIONS(X) \
  X(loco_context_create) \
  X(loco_context_destroy) \
  X(loco_context_error) \
  X(loco_context_clear_error) \
  X(loco_context_set_rng) \
  X(loco_context_set_rng_replica) \
  X(loco_context_rng_replica) \
  X(loco_context_profile) \
  X(loco_context_profile_mark) \
  X(loco_context_profile_read) \
  X(loco_context_set_training) \
  X(loco_context_set_optimizer) \
  X(loco_context_set_loss_scale) \
  X(loco_context_describe) \
  X(loco_arena_alloc) \
  X(loco_context_set_workspace) \
  X(loco_arena_free) \
  X(loco_copy_to_device) \
  X(loco_copy_to_host) \
  X(loco_synchronize) \
  X(loco_run_step) \
  X(loco_context_set_matmul_precision) \
  X(loco_context_device_memory) \
  X(loco_device_count) \
  X(loco_stft) \
  X(loco_istft) \
  X(loco_conv2d) \
  X(loco_conv_transpose2d) \
  X(loco_conv1d) \
  X(loco_conv_transpose1d) \
  X(loco_group_norm) \
  X(loco_rms_group_norm) \
  X(loco_linear) \
  X(loco_batch_matmul) \
  X(loco_rope) \
  X(loco_softmax) \
  X(loco_dropout) \
  X(loco_dropout_add) \
  X(loco_add) \
  X(loco_sub) \
  X(loco_mul) \
  X(loco_div) \
  X(loco_silu) \
  X(loco_swiglu) \
  X(loco_scale) \
  X(loco_copy) \
  X(loco_transpose) \
  X(loco_slice) \
  X(loco_pad) \
  X(loco_reduce) \
  X(loco_si_sdr) \
  X(loco_l1_loss) \
  X(loco_mse_loss) \
  X(loco_spectral_l1) \
  X(loco_stft_backward) \
  X(loco_istft_backward) \
  X(loco_conv2d_weight_grad) \
  X(loco_conv_transpose2d_weight_grad) \
  X(loco_conv1d_weight_grad) \
  X(loco_conv_transpose1d_weight_grad) \
  X(loco_linear_weight_grad) \
  X(loco_group_norm_backward) \
  X(loco_rms_group_norm_backward) \
  X(loco_softmax_backward) \
  X(loco_silu_backward) \
  X(loco_swiglu_backward) \
  X(loco_broadcast) \
  X(loco_si_sdr_backward) \
  X(loco_l1_loss_backward) \
  X(loco_mse_loss_backward) \
  X(loco_spectral_l1_backward) \
  X(loco_fill) \
  X(loco_fill_loss_scaled) \
  X(loco_flash_attention) \
  X(loco_flash_attention_backward) \
  X(loco_grad_norm_begin) \
  X(loco_grad_norm_accumulate) \
  X(loco_grad_norm_finish) \
  X(loco_adamw_check) \
  X(loco_adamw)
// clang-format on

namespace loco {

struct Backend {
#define LOCO_BACKEND_MEMBER(name) decltype(&::name) name = nullptr;
  LOCO_ABI_FUNCTIONS(LOCO_BACKEND_MEMBER)
#undef LOCO_BACKEND_MEMBER

  /// "cpu" or "cuda".
  std::string kind;
  /// The file it was loaded from.
  std::string path;

  ~Backend();
  Backend(const Backend &) = delete;
  Backend &operator=(const Backend &) = delete;

  /// Opens libloco_<kind>.so: from $LOCO_BACKEND_DIR, else the lib/
  /// directory beside the running executable's bin/ (the build tree and an
  /// install), else the executable's own directory, else the library path.
  /// `global` makes its symbols visible to libraries opened later (what
  /// train.so needs). Null, with `error` set, when the library is missing or
  /// lacks a function of this ABI.
  static std::unique_ptr<Backend> open(const std::string &kind, bool global,
                                       std::string &error);

  /// The backend kind of a device string: "cpu" -> cpu, "cuda", "cuda:N" ->
  /// cuda, "cuda-emu", "cuda-emu:N" -> cuda_emu (libloco_cuda_emu.so, the
  /// CUDA backend emulated on the CPU); empty for anything else.
  static std::string kindOfDevice(const std::string &device);

  /// Where lococ's shared library `file` (a backend, a locorun plugin) is
  /// looked for, in order, before the dynamic linker's own search:
  /// $LOCO_BACKEND_DIR, the lib/ directory beside the running executable's
  /// bin/, the executable's own directory.
  static std::vector<std::string> libraryCandidates(const std::string &file);

private:
  Backend() = default;
  void *handle = nullptr;
};

} // namespace loco

#endif // LOCO_RUNTIME_BACKEND_H
