//===- Wmma.h - nvcuda::wmma, emulated --------------------------*- C++ -*-===//
//
// This file defines the warp matrix operations (mma.h) for the shapes and
// precisions the kernels use: m16n16k8 with TF32 inputs and m16n16k16 with
// BF16 or FP16 inputs, fp32 accumulators. A fragment holds its tile's
// elements spread over the warp (lane l the l-th 1/32 of the row-major
// tile: CUDA leaves the mapping unspecified, so code may only touch x[]
// element-wise). load, store and mma are warp collectives: every lane must
// call them with the same arguments. The product rounds as tensor cores do
// where that is specified: TF32 inputs keep the top 10 mantissa bits
// (truncated, as the hardware reads an unrounded float), 16-bit inputs are
// exact, products are exact in fp32 and are summed in fp32 in k order (the
// hardware's summation order is not specified; docs/CUDA_EMULATION.md).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_WMMA_H
#define LOCO_RUNTIME_CUDA_EMU_WMMA_H

#include "runtime/cuda/emu/Device.h"
#include "runtime/cuda/emu/Half.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
} // namespace precision

namespace detail {
template <typename Use, int M, int N, int K> struct Tile;
template <int M, int N, int K> struct Tile<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K> struct Tile<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K> struct Tile<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};
template <typename T> struct Storage {
  using type = T;
};
template <> struct Storage<precision::tf32> {
  using type = float;
};
} // namespace detail

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static_assert((M == 16 && N == 16 && (K == 8 || K == 16)),
                "the emulation has the m16n16k8 and m16n16k16 shapes");
  using element_type = typename detail::Storage<T>::type;
  static constexpr int rows = detail::Tile<Use, M, N, K>::rows;
  static constexpr int cols = detail::Tile<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols / 32;
  element_type x[num_elements];
};

/// Round to TF32, nearest with ties away from zero (cvt.rna.tf32.f32).
inline float __float_to_tf32(float f) {
  if (!std::isfinite(f))
    return f;
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

namespace detail {
/// What every lane passes to a load or store: it must be the same.
struct Access {
  const void *pointer;
  unsigned ldm;
  bool colMajor;
  bool operator==(const Access &o) const {
    return pointer == o.pointer && ldm == o.ldm && colMajor == o.colMajor;
  }
};

/// The access lane 0 passed, after checking that every lane passed it and
/// that it is one CUDA allows: a 256-bit aligned pointer, and a leading
/// dimension of a multiple of 16 bytes (`elementBytes` each).
inline Access agreedAccess(::loco::emu::LaneSlot *const *slots,
                           const char *what, size_t elementBytes) {
  const Access *first = nullptr;
  for (int lane = 0; lane < 32; ++lane) {
    if (!slots[lane])
      ::loco::emu::kernelFault("a wmma operation needs the whole warp");
    auto *access = static_cast<const Access *>(slots[lane]->in);
    if (first && !(*access == *first))
      ::loco::emu::kernelFault(what);
    first = first ? first : access;
  }
  if (reinterpret_cast<uintptr_t>(first->pointer) % 32 != 0)
    ::loco::emu::kernelFault("a wmma load or store pointer that is not "
                             "256-bit aligned");
  if (first->ldm * elementBytes % 16 != 0)
    ::loco::emu::kernelFault("a wmma leading dimension that is not a "
                             "multiple of 16 bytes");
  return *first;
}

template <typename Frag, typename E>
void load(::loco::emu::LaneSlot *const *slots) {
  Access a = agreedAccess(slots,
                          "lanes of a warp passed different pointers "
                          "or strides to wmma::load_matrix_sync",
                          sizeof(E));
  auto *src = static_cast<const E *>(a.pointer);
  for (int lane = 0; lane < 32; ++lane) {
    auto *frag = static_cast<Frag *>(slots[lane]->out);
    for (int e = 0; e < Frag::num_elements; ++e) {
      int index = lane * Frag::num_elements + e;
      int r = index / Frag::cols, c = index % Frag::cols;
      frag->x[e] = src[a.colMajor ? c * a.ldm + r : r * a.ldm + c];
    }
  }
}

template <typename Frag> void store(::loco::emu::LaneSlot *const *slots) {
  Access a = agreedAccess(slots,
                          "lanes of a warp passed different pointers "
                          "or strides to wmma::store_matrix_sync",
                          sizeof(float));
  auto *dst = static_cast<float *>(const_cast<void *>(a.pointer));
  for (int lane = 0; lane < 32; ++lane) {
    auto *frag = static_cast<const Frag *>(slots[lane]->out);
    for (int e = 0; e < Frag::num_elements; ++e) {
      int index = lane * Frag::num_elements + e;
      int r = index / Frag::cols, c = index % Frag::cols;
      dst[a.colMajor ? c * a.ldm + r : r * a.ldm + c] = frag->x[e];
    }
  }
}

/// A tensor core's view of an input element.
inline float operand(float f, bool tf32) {
  if (!tf32 || !std::isfinite(f))
    return f;
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u &= 0xffffe000u;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

template <typename FA, typename FB, typename FC> struct MmaOperands {
  const FA *a;
  const FB *b;
  const FC *c;
};

template <typename FD, typename FA, typename FB, typename FC, bool kTf32>
void mma(::loco::emu::LaneSlot *const *slots) {
  constexpr int M = FA::rows, K = FA::cols, N = FB::cols;
  float A[M * K], B[K * N], C[M * N];
  for (int lane = 0; lane < 32; ++lane) {
    if (!slots[lane])
      ::loco::emu::kernelFault("wmma::mma_sync needs the whole warp");
    auto *ops = static_cast<const MmaOperands<FA, FB, FC> *>(slots[lane]->in);
    for (int e = 0; e < FA::num_elements; ++e)
      A[lane * FA::num_elements + e] =
          operand(::loco::emu::widen(ops->a->x[e]), kTf32);
    for (int e = 0; e < FB::num_elements; ++e)
      B[lane * FB::num_elements + e] =
          operand(::loco::emu::widen(ops->b->x[e]), kTf32);
    for (int e = 0; e < FC::num_elements; ++e)
      C[lane * FC::num_elements + e] = ops->c->x[e];
  }
  float D[M * N];
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float sum = C[m * N + n];
      for (int k = 0; k < K; ++k)
        sum += A[m * K + k] * B[k * N + n];
      D[m * N + n] = sum;
    }
  for (int lane = 0; lane < 32; ++lane) {
    auto *d = static_cast<FD *>(slots[lane]->out);
    for (int e = 0; e < FD::num_elements; ++e)
      d->x[e] = D[lane * FD::num_elements + e];
  }
}
} // namespace detail

template <typename Use, int M, int N, int K, typename T, typename L, typename E>
void load_matrix_sync(fragment<Use, M, N, K, T, L> &frag, const E *pointer,
                      unsigned ldm) {
  using Frag = fragment<Use, M, N, K, T, L>;
  detail::Access access{pointer, ldm, std::is_same_v<L, col_major>};
  ::loco::emu::warpCollective("wmma::load_matrix_sync", 0xffffffffu,
                              {&access, &frag, 0}, &detail::load<Frag, E>);
}

template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float> &frag,
                      const float *pointer, unsigned ldm, layout_t layout) {
  using Frag = fragment<accumulator, M, N, K, float>;
  detail::Access access{pointer, ldm, layout == mem_col_major};
  ::loco::emu::warpCollective("wmma::load_matrix_sync", 0xffffffffu,
                              {&access, &frag, 0}, &detail::load<Frag, float>);
}

template <int M, int N, int K>
void store_matrix_sync(float *pointer,
                       const fragment<accumulator, M, N, K, float> &frag,
                       unsigned ldm, layout_t layout) {
  using Frag = fragment<accumulator, M, N, K, float>;
  detail::Access access{pointer, ldm, layout == mem_col_major};
  ::loco::emu::warpCollective("wmma::store_matrix_sync", 0xffffffffu,
                              {&access, const_cast<Frag *>(&frag), 0},
                              &detail::store<Frag>);
}

template <typename Use, int M, int N, int K, typename T, typename L>
void fill_fragment(fragment<Use, M, N, K, T, L> &frag,
                   typename fragment<Use, M, N, K, T, L>::element_type value) {
  for (auto &element : frag.x)
    element = value;
}

template <int M, int N, int K, typename T, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float> &d,
              const fragment<matrix_a, M, N, K, T, LA> &a,
              const fragment<matrix_b, M, N, K, T, LB> &b,
              const fragment<accumulator, M, N, K, float> &c) {
  using FA = fragment<matrix_a, M, N, K, T, LA>;
  using FB = fragment<matrix_b, M, N, K, T, LB>;
  using FC = fragment<accumulator, M, N, K, float>;
  detail::MmaOperands<FA, FB, FC> operands{&a, &b, &c};
  ::loco::emu::warpCollective(
      "wmma::mma_sync", 0xffffffffu, {&operands, &d, 0},
      &detail::mma<FC, FA, FB, FC, std::is_same_v<T, precision::tf32>>);
}

} // namespace nvcuda::wmma

#endif // LOCO_RUNTIME_CUDA_EMU_WMMA_H
