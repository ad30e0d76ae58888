//===- CpuHalfTest.cpp - bf16/f16 CPU kernels against references ----------===//
//
// The reduced-precision kernels of the CPU backend against independent
// references:
//  - the conversions against oneDNN's f32 -> bf16 reorder and GCC's
//    soft-float _Float16 (libgcc), bit for bit, on random values, ties,
//    subnormals, infinities and NaNs;
//  - the GEMMs (oneDNN's native bf16 path and the staged sgemm path)
//    against a double loop over the widened inputs: the fp32 accumulation
//    and one rounding to bf16 (2^-8 relative) allow 2^-7 of the result's
//    largest magnitude;
//  - the staged kernels against the f32 kernel on the widened inputs,
//    rounded: bit for bit where rows are independent (convolutions,
//    attention), and within one rounding where blocks are summed (weight
//    gradients), with shapes that take several staging blocks;
//  - the native bf16 1-D convolutions (bf16 products, fp32 sums) and the
//    staged ones against a double loop over the widened inputs, as the
//    GEMMs; the native ones also independent of threads and workspace;
//  - reductions against a double sum, dropout against the f32 mask.
//
//===----------------------------------------------------------------------===//

#include "runtime/abi/Workspace.h"
#include "runtime/cpu/Half.h"
#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace loco::test;
using Half = std::vector<loco_half>;

class CpuHalf : public CpuContextTest<> {};

Half toBf16(const Vec &x) {
  Half h(x.size());
  loco::narrow<loco::Bf16>(x.data(), h.data(), x.size());
  return h;
}
Vec fromBf16(const Half &h) {
  Vec x(h.size());
  loco::widen<loco::Bf16>(h.data(), x.data(), h.size());
  return x;
}

/// Values that exercise rounding: random magnitudes over the whole range,
/// exact ties, subnormals, signed zeros, infinities, NaN.
Vec trickyValues() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mantissa(-2.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-140, 127);
  Vec x;
  for (int i = 0; i < 200000; ++i)
    x.push_back(std::ldexp(mantissa(rng), exponent(rng)));
  for (uint32_t bits : {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x00000001u,
                        0x807fffffu, 0x7f7fffffu, 0x7f800000u, 0xff800000u,
                        0x80000000u, 0x00000000u, 0x3380a000u, 0x477ff000u}) {
    float f;
    std::memcpy(&f, &bits, 4);
    x.push_back(f);
  }
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  return x;
}

TEST_F(CpuHalf, Bf16ConversionMatchesOneDnnReorder) {
  Vec x = trickyValues();
  Half ours = toBf16(x), theirs(x.size());
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  dnnl::memory::dims dims{static_cast<int64_t>(x.size())};
  dnnl::memory src(
      {dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a}, engine,
      x.data());
  dnnl::memory dst(
      {dims, dnnl::memory::data_type::bf16, dnnl::memory::format_tag::a},
      engine, theirs.data());
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  // oneDNN converts with vcvtneps2bf16, which reads fp32 subnormals as zero;
  // torch's .to(bfloat16) (and ours) rounds them like any other value. So
  // subnormals are checked by arithmetic instead: the nearest multiple of
  // bf16's subnormal spacing 2^-133, ties to even, computed in double.
  int64_t differ = 0, subnormals = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(loco::Bf16::load(ours[i])));
      continue;
    }
    // oneDNN's reorder without AVX512-BF16 (an AVX2 path) drops the sign
    // of -0.0; torch keeps it, and so do we.
    if (x[i] == 0.0f) {
      differ += ours[i] != (std::signbit(x[i]) ? 0x8000 : 0x0000);
      continue;
    }
    if (std::fpclassify(x[i]) == FP_SUBNORMAL) {
      ++subnormals;
      double units = std::nearbyint(std::ldexp(double(x[i]), 133));
      differ += loco::Bf16::load(ours[i]) !=
                static_cast<float>(std::ldexp(units, -133));
      continue;
    }
    differ += ours[i] != theirs[i];
  }
  EXPECT_EQ(differ, 0);
  EXPECT_GT(subnormals, 0);
  // Widening is exact: the upper half of the float.
  Vec back = fromBf16(ours);
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(x[i])) {
      uint32_t bits;
      std::memcpy(&bits, &back[i], 4);
      ASSERT_EQ(bits & 0xffffu, 0u);
    }
}

TEST_F(CpuHalf, F16ConversionMatchesSoftFloat) {
  Vec x = trickyValues();
  Half ours(x.size());
  loco::narrow<loco::F16>(x.data(), ours.data(), x.size());
  Vec back(x.size());
  loco::widen<loco::F16>(ours.data(), back.data(), x.size());
  int64_t differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    // GCC 12 lowers _Float16 conversions to libgcc's soft-float routines:
    // an implementation independent of F16C.
    _Float16 reference = static_cast<_Float16>(x[i]);
    loco_half bits;
    std::memcpy(&bits, &reference, 2);
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(back[i]));
      continue;
    }
    differ += bits != ours[i];
    differ +=
        static_cast<float>(reference) != back[i] && !(std::isnan(back[i]));
  }
  EXPECT_EQ(differ, 0);
}

/// out [M, N] = sum_k a(m, k) b(k, n) in double.
std::vector<double> naiveProduct(const Vec &a, const Vec &b, int64_t M,
                                 int64_t K, int64_t N, bool ta, bool tb) {
  std::vector<double> out(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k)
        sum += double(ta ? a[k * M + m] : a[m * K + k]) *
               (tb ? b[n * K + k] : b[k * N + n]);
      out[m * N + n] = sum;
    }
  return out;
}

void expectWithinBf16(const Half &ours, const std::vector<double> &ref,
                      const char *what) {
  double largest = 0, worst = 0;
  for (double v : ref)
    largest = std::max(largest, std::fabs(v));
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::fabs(loco::Bf16::load(ours[i]) - ref[i]));
  EXPECT_LE(worst, std::ldexp(largest, -7)) << what;
}

/// Both paths: the native bf16 kernels (oneDNN's GEMMs where this CPU has
/// AVX512-BF16 or AMX, libxsmm's 1-D convolutions where it has
/// AVX512-BF16; elsewhere this case takes the staged path too) and the
/// staged ones (LOCO_CPU_HALF_GEMM=staged).
class CpuHalfGemm : public CpuContextTest<::testing::TestWithParam<bool>> {
protected:
  void TearDown() override {
    unsetenv("LOCO_CPU_HALF_GEMM");
    CpuContextTest::TearDown();
  }
};

TEST_P(CpuHalfGemm, ProductsMatchDoubleReference) {
  if (GetParam())
    setenv("LOCO_CPU_HALF_GEMM", "staged", 1);
  int64_t M = 301, K = 40, N = 27, batch = 3;
  Half x = toBf16(randomVec(M * K, 1)), w = toBf16(randomVec(N * K, 2));
  Half out(M * N);
  loco_linear_bf16(ctx, x.data(), w.data(), out.data(), M, K, N);
  expectWithinBf16(out,
                   naiveProduct(fromBf16(x), fromBf16(w), M, K, N, false, true),
                   "linear");
  Half g = toBf16(randomVec(M * N, 3)), dw(N * K);
  loco_linear_weight_grad_bf16(ctx, x.data(), g.data(), dw.data(), M, K, N);
  expectWithinBf16(dw,
                   naiveProduct(fromBf16(g), fromBf16(x), N, M, K, true, false),
                   "linear weight grad");
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      int64_t m = 17, k = 9, n = 13;
      Half a = toBf16(randomVec(batch * m * k, 4 + ta)),
           b = toBf16(randomVec(batch * k * n, 6 + tb)), o(batch * m * n);
      loco_batch_matmul_bf16(ctx, a.data(), b.data(), o.data(), batch, m, k, n,
                             ta, tb);
      Vec af = fromBf16(a), bf = fromBf16(b);
      std::vector<double> ref;
      for (int64_t i = 0; i < batch; ++i) {
        Vec ai(af.begin() + i * m * k, af.begin() + (i + 1) * m * k);
        Vec bi(bf.begin() + i * k * n, bf.begin() + (i + 1) * k * n);
        std::vector<double> r = naiveProduct(ai, bi, m, k, n, ta, tb);
        ref.insert(ref.end(), r.begin(), r.end());
      }
      expectWithinBf16(o, ref, "batch matmul");
    }
}

INSTANTIATE_TEST_SUITE_P(Paths, CpuHalfGemm, ::testing::Values(false, true));

/// LOCO_CPU_HALF_GEMM=staged for a scope.
struct StagedPath {
  StagedPath() { setenv("LOCO_CPU_HALF_GEMM", "staged", 1); }
  ~StagedPath() { unsetenv("LOCO_CPU_HALF_GEMM"); }
};

/// The f32 result rounded to bf16, as the staged kernels promise.
Half rounded(const Vec &x) { return toBf16(x); }

TEST_F(CpuHalf, StagedConvolutionsEqualRoundedF32) {
  // The staged path (forced here: on a CPU with bf16 instructions the bf16
  // convolutions run natively, below). 600 rows of 64 x 32 in and 61 x 32
  // out take two staging blocks.
  StagedPath staged;
  int64_t R = 600, L = 64, Ci = 32, Co = 32, K = 4, Lo = L - K + 1;
  ASSERT_LT(loco::workspace::stageRows(R, L * Ci + Lo * Co), R);
  Half x = toBf16(randomVec(R * L * Ci, 1)),
       w = toBf16(randomVec(Co * Ci * K, 2)), b = toBf16(randomVec(Co, 3));
  Vec xf = fromBf16(x), wf = fromBf16(w), bf = fromBf16(b);
  Half out(R * Lo * Co);
  Vec ref(R * Lo * Co);
  loco_conv1d_bf16(ctx, x.data(), w.data(), b.data(), out.data(), R, L, Ci, Co,
                   K, 1);
  loco_conv1d(ctx, xf.data(), wf.data(), bf.data(), ref.data(), R, L, Ci, Co, K,
              1);
  EXPECT_EQ(out, rounded(ref));

  // The weight gradient sums its blocks in fp32: within one rounding.
  Half g = toBf16(randomVec(R * Lo * Co, 4)), dw(Co * Ci * K);
  Vec gf = fromBf16(g), dwRef(Co * Ci * K);
  loco_conv1d_weight_grad_bf16(ctx, x.data(), g.data(), dw.data(), R, L, Ci, Co,
                               K);
  loco_conv1d_weight_grad(ctx, xf.data(), gf.data(), dwRef.data(), R, L, Ci, Co,
                          K);
  expectWithinBf16(dw, std::vector<double>(dwRef.begin(), dwRef.end()),
                   "conv1d weight grad");
}

/// The four 1-D convolutions of a shape, in double on widened operands.
struct Conv1dShape {
  int64_t R, L, Ci, Co, K, stride;
  bool transposed;
  int64_t outLength() const {
    return transposed ? (L - 1) * stride + K : (L - K) / stride + 1;
  }
  /// out[r, o, co] = b + sum of x[r, l, ci] w(ci, co, k) over o = l *
  /// stride + k (transposed) or l = o * stride + k.
  std::vector<double> forward(const Vec &x, const Vec &w, const Vec &b) const {
    int64_t Lo = outLength();
    std::vector<double> out(R * Lo * Co);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t o = 0; o < Lo; ++o)
        for (int64_t co = 0; co < Co; ++co)
          out[(r * Lo + o) * Co + co] = b[co];
    forEachTap([&](int64_t r, int64_t l, int64_t o, int64_t k) {
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t co = 0; co < Co; ++co)
          out[(r * Lo + o) * Co + co] +=
              double(x[(r * L + l) * Ci + ci]) * w[weightAt(ci, co, k)];
    });
    return out;
  }
  /// dw(ci, co, k) = sum over the same pairs of x[r, l, ci] g[r, o, co].
  std::vector<double> weightGrad(const Vec &x, const Vec &g) const {
    int64_t Lo = outLength();
    std::vector<double> dw(Ci * Co * K);
    forEachTap([&](int64_t r, int64_t l, int64_t o, int64_t k) {
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t co = 0; co < Co; ++co)
          dw[weightAt(ci, co, k)] +=
              double(x[(r * L + l) * Ci + ci]) * g[(r * Lo + o) * Co + co];
    });
    return dw;
  }
  int64_t weightAt(int64_t ci, int64_t co, int64_t k) const {
    return (transposed ? ci * Co + co : co * Ci + ci) * K + k;
  }
  template <typename F> void forEachTap(F f) const {
    int64_t Lo = outLength();
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k)
        if (transposed)
          for (int64_t l = 0; l < L; ++l)
            f(r, l, l * stride + k, k);
        else
          for (int64_t o = 0; o < Lo; ++o)
            f(r, o * stride + k, o, k);
  }
};

/// The bf16 1-D convolutions on both paths: native (bf16 products summed in
/// fp32, on a CPU with AVX512-BF16; the staged path elsewhere) and staged. The
/// shapes cover strides 1 and 2, an odd number of positions (a weight
/// gradient's last VNNI pair holds a zero), odd input channels (the native path
/// declines them), a partial last block of positions and more output channels
/// than one block.
TEST_P(CpuHalfGemm, Conv1dMatchesDoubleReference) {
  if (GetParam())
    setenv("LOCO_CPU_HALF_GEMM", "staged", 1);
  for (Conv1dShape c : {Conv1dShape{7, 50, 48, 40, 4, 1, false},
                        Conv1dShape{3, 601, 16, 20, 4, 1, false},
                        Conv1dShape{4, 33, 24, 18, 4, 2, false},
                        Conv1dShape{3, 20, 7, 12, 3, 1, false},
                        Conv1dShape{2, 40, 12, 600, 4, 1, false},
                        Conv1dShape{5, 41, 24, 20, 4, 1, true},
                        Conv1dShape{3, 30, 16, 12, 4, 2, true},
                        Conv1dShape{3, 20, 9, 8, 3, 1, true}}) {
    int64_t Lo = c.outLength(), weights = c.Ci * c.Co * c.K;
    std::string what =
        std::string(c.transposed ? "conv_transpose1d" : "conv1d") + " R " +
        std::to_string(c.R) + " L " + std::to_string(c.L) + " Ci " +
        std::to_string(c.Ci) + " stride " + std::to_string(c.stride);
    Half x = toBf16(randomVec(c.R * c.L * c.Ci, 21)),
         w = toBf16(randomVec(weights, 22)), b = toBf16(randomVec(c.Co, 23));
    Half out(c.R * Lo * c.Co);
    auto conv = c.transposed ? loco_conv_transpose1d_bf16 : loco_conv1d_bf16;
    conv(ctx, x.data(), w.data(), b.data(), out.data(), c.R, c.L, c.Ci, c.Co,
         c.K, c.stride);
    expectWithinBf16(out, c.forward(fromBf16(x), fromBf16(w), fromBf16(b)),
                     what.c_str());
    if (c.stride != 1)
      continue; // weight gradients are of stride-1 convolutions
    Half g = toBf16(randomVec(c.R * Lo * c.Co, 24)), dw(weights);
    auto grad = c.transposed ? loco_conv_transpose1d_weight_grad_bf16
                             : loco_conv1d_weight_grad_bf16;
    grad(ctx, x.data(), g.data(), dw.data(), c.R, c.L, c.Ci, c.Co, c.K);
    expectWithinBf16(dw, c.weightGrad(fromBf16(x), fromBf16(g)),
                     (what + " weight grad").c_str());
  }
}

/// Whether this CPU runs the native bf16 convolutions (AVX512-BF16).
bool hasBf16Instructions() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
}

/// The native path's results do not depend on the thread count (each sum
/// is one thread's, in row order, by a kernel whose shape the operands fix)
/// nor on the workspace the plan leaves (it limits how many blocks run at
/// once, not their size). The shapes reach libxsmm's kernels that split a
/// sum over several accumulators by their width (80 output channels: a
/// 16-wide remainder of 64; 8 channels on the shifted side of a weight
/// gradient), where another block size would reorder the sums. One thread
/// with the workspace the compiler plans for one row, against two and
/// three threads on the heap.
TEST_F(CpuHalf, NativeConv1dIndependentOfThreadsAndWorkspace) {
  if (!hasBf16Instructions())
    GTEST_SKIP() << "no AVX512-BF16: the bf16 convolutions are staged here";
  struct Shape {
    int64_t R, L, Ci, Co;
  };
  for (Shape c : {Shape{2, 4100, 32, 80}, Shape{1, 4100, 32, 16},
                  Shape{3, 100, 128, 8}}) {
    int64_t R = c.R, L = c.L, Ci = c.Ci, Co = c.Co, K = 4, Lo = L - K + 1;
    Half x = toBf16(randomVec(R * L * Ci, 31)),
         w = toBf16(randomVec(Co * Ci * K, 32)), b = toBf16(randomVec(Co, 33)),
         g = toBf16(randomVec(R * Lo * Co, 34)),
         backBias = toBf16(randomVec(Ci, 35));
    auto run = [&](int threads, int64_t workspaceBytes) {
      std::vector<char> workspace(std::max<int64_t>(workspaceBytes, 1) + 64);
      if (workspaceBytes > 0)
        loco_context_set_workspace(
            ctx,
            workspace.data() +
                (64 - reinterpret_cast<uintptr_t>(workspace.data()) % 64) % 64,
            workspaceBytes);
      int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      Half out(R * Lo * Co), dw(Co * Ci * K), back(R * L * Ci),
          dwt(Co * Ci * K);
      loco_conv1d_bf16(ctx, x.data(), w.data(), b.data(), out.data(), R, L, Ci,
                       Co, K, 1);
      loco_conv1d_weight_grad_bf16(ctx, x.data(), g.data(), dw.data(), R, L, Ci,
                                   Co, K);
      // The input gradient: conv_transpose1d of g with the same weight.
      loco_conv_transpose1d_bf16(ctx, g.data(), w.data(), backBias.data(),
                                 back.data(), R, Lo, Co, Ci, K, 1);
      loco_conv_transpose1d_weight_grad_bf16(ctx, g.data(), x.data(),
                                             dwt.data(), R, Lo, Co, Ci, K);
      omp_set_num_threads(before);
      loco_context_set_workspace(ctx, nullptr, 0);
      return std::vector<Half>{out, dw, back, dwt};
    };
    namespace ws = loco::workspace;
    int64_t oneRow = std::max(
        std::max(ws::conv1dStaged(1, L, Ci, Lo, Co, Co * Ci * K),
                 ws::conv1dWeightGradStaged(1, L, Ci, Lo, Co, Co * Ci * K)),
        ws::conv1dStaged(1, Lo, Co, L, Ci, Co * Ci * K));
    std::vector<Half> heap = run(2, 0), one = run(1, oneRow), three = run(3, 0);
    const char *names[] = {"conv1d", "conv1d weight grad", "conv_transpose1d",
                           "conv_transpose1d weight grad"};
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(one[i], heap[i]) << names[i] << ", " << Co << " channels";
      EXPECT_EQ(three[i], heap[i]) << names[i] << ", " << Co << " channels";
    }
  }
}

/// The 16-bit attention widens one entry at a time into a thread's fp32
/// buffers and runs the fp32 code on it: the fp32 kernel's results on the
/// widened inputs, rounded, bit for bit (with dropout), forward and
/// backward. The workspace the compiler plans holds fewer entries than the
/// batch (the staged plan's block), as in a step.
TEST_F(CpuHalf, AttentionEqualsRoundedF32) {
  int64_t batch = 600, L = 70, d = 16, n = batch * L * d;
  ASSERT_LT(loco::workspace::stageRows(batch, 4 * L * d), batch);
  Half q = toBf16(randomVec(n, 1)), k = toBf16(randomVec(n, 2)),
       v = toBf16(randomVec(n, 3)), out(n);
  Vec qf = fromBf16(q), kf = fromBf16(k), vf = fromBf16(v), ref(n);
  Vec lse(batch * L), lseRef(batch * L);
  loco_context_set_rng(ctx, 5, 9);
  std::vector<char> workspace(
      loco::workspace::flashAttentionBackwardStaged(batch, L, L, d, d));
  loco_context_set_workspace(ctx, workspace.data(), workspace.size());
  loco_flash_attention_bf16(ctx, q.data(), k.data(), v.data(), out.data(),
                            lse.data(), batch, L, L, d, d, 0.25, 0.1, 3, 0);
  loco_context_set_workspace(ctx, nullptr, 0);
  loco_flash_attention(ctx, qf.data(), kf.data(), vf.data(), ref.data(),
                       lseRef.data(), batch, L, L, d, d, 0.25, 0.1, 3, 0);
  EXPECT_EQ(out, rounded(ref));
  EXPECT_EQ(lse, lseRef);

  Half dout = toBf16(randomVec(n, 4)), dq(n), dk(n), dv(n);
  Vec doutf = fromBf16(dout), outf = fromBf16(out), dqRef(n), dkRef(n),
      dvRef(n);
  loco_context_set_workspace(ctx, workspace.data(), workspace.size());
  loco_flash_attention_backward_bf16(
      ctx, q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(),
      dq.data(), dk.data(), dv.data(), batch, L, L, d, d, 0.25, 0.1, 3, 0);
  loco_context_set_workspace(ctx, nullptr, 0);
  loco_flash_attention_backward(ctx, qf.data(), kf.data(), vf.data(),
                                outf.data(), lse.data(), doutf.data(),
                                dqRef.data(), dkRef.data(), dvRef.data(), batch,
                                L, L, d, d, 0.25, 0.1, 3, 0);
  EXPECT_EQ(dq, rounded(dqRef));
  EXPECT_EQ(dk, rounded(dkRef));
  EXPECT_EQ(dv, rounded(dvRef));
}

TEST_F(CpuHalf, ReduceSumsInDouble) {
  int64_t shape[] = {37, 50, 3}, reduce[] = {1, 1, 0};
  Half x = toBf16(randomVec(37 * 50 * 3, 1)), out(3);
  Vec xf = fromBf16(x);
  loco_reduce_bf16(ctx, x.data(), out.data(), 3, shape, reduce, 0);
  std::vector<double> ref(3, 0.0);
  for (int64_t i = 0; i < 37 * 50 * 3; ++i)
    ref[i % 3] += xf[i];
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(out[c], loco::Bf16::store(static_cast<float>(ref[c]))) << c;
}

// The fused SwiGLU kernels round where the unfused bf16 kernels store: the
// SiLU, the products and the SiLU's backward, bit for bit.
TEST_F(CpuHalf, SwigluEqualsTheUnfusedKernels) {
  int64_t rows = 19, H = 40, n = rows * H;
  Half x = toBf16(randomVec(rows * 2 * H, 5, 6.0f)),
       g = toBf16(randomVec(n, 6));
  Half a(n), b(n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      a[r * H + j] = x[r * 2 * H + j];
      b[r * H + j] = x[r * 2 * H + H + j];
    }
  Half act(n), y(n), fused(n);
  loco_silu_bf16(ctx, b.data(), act.data(), n);
  loco_mul_bf16(ctx, a.data(), act.data(), y.data(), n);
  loco_swiglu_bf16(ctx, x.data(), fused.data(), rows, H);
  EXPECT_EQ(fused, y);

  Half da(n), gateGrad(n), db(n), dx(rows * 2 * H);
  loco_mul_bf16(ctx, g.data(), act.data(), da.data(), n);
  loco_mul_bf16(ctx, g.data(), a.data(), gateGrad.data(), n);
  loco_silu_backward_bf16(ctx, b.data(), gateGrad.data(), db.data(), n);
  loco_swiglu_backward_bf16(ctx, x.data(), g.data(), dx.data(), rows, H);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      ASSERT_EQ(dx[r * 2 * H + j], da[r * H + j]) << r << "," << j;
      ASSERT_EQ(dx[r * 2 * H + H + j], db[r * H + j]) << r << "," << j;
    }
}

// loco_dropout_add rounds the dropout to the input's type and adds it as
// the unfused bf16 kernels (and, under an f32 residual, the widening cast
// and the f32 add) do, bit for bit, in place over the residual too.
TEST_F(CpuHalf, DropoutAddEqualsTheUnfusedKernels) {
  int64_t n = 10003;
  Half r = toBf16(randomVec(n, 7, 3.0f)), x = toBf16(randomVec(n, 8, 3.0f));
  loco_context_set_rng(ctx, 11, 2);
  Half dropped(n), sum(n), fused(n);
  loco_dropout_bf16(ctx, x.data(), dropped.data(), n, 0.3, 4, 5);
  loco_add_bf16(ctx, r.data(), dropped.data(), sum.data(), n);
  loco_dropout_add_bf16(ctx, r.data(), x.data(), fused.data(), n, 0.3, 4, 5);
  EXPECT_EQ(fused, sum);
  Half inPlace = r;
  loco_dropout_add_bf16(ctx, inPlace.data(), x.data(), inPlace.data(), n, 0.3,
                        4, 5);
  EXPECT_EQ(inPlace, sum);

  Vec residual = randomVec(n, 9, 3.0f), widened(n), mixed(n), fusedMixed(n);
  loco_cast_bf16_f32(ctx, dropped.data(), widened.data(), n);
  loco_add(ctx, residual.data(), widened.data(), mixed.data(), n);
  loco_dropout_add_f32_bf16(ctx, residual.data(), x.data(), fusedMixed.data(),
                            n, 0.3, 4, 5);
  EXPECT_EQ(fusedMixed, mixed);
  loco_dropout_add_f32_bf16(ctx, residual.data(), x.data(), residual.data(), n,
                            0.3, 4, 5);
  EXPECT_EQ(residual, mixed);
}

TEST_F(CpuHalf, DropoutDrawsTheF32Mask) {
  int64_t n = 10001;
  Half x = toBf16(randomVec(n, 1)), out(n);
  Vec xf = fromBf16(x), ref(n);
  loco_context_set_rng(ctx, 11, 2);
  loco_dropout_bf16(ctx, x.data(), out.data(), n, 0.3, 4, 7);
  loco_dropout(ctx, xf.data(), ref.data(), n, 0.3, 4, 7);
  EXPECT_EQ(out, rounded(ref));
}

} // namespace
