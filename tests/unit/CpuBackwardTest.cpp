//===- CpuBackwardTest.cpp - CPU backward kernels vs finite differences ---===//
//
// Every backward kernel is checked against central finite differences of
// the forward kernel it differentiates: for a random cotangent c and
// L(x) = <c, f(x)> (accumulated in double), the kernel's gradient must match
// (L(x + h e_i) - L(x - h e_i)) / 2h at every coordinate. The forward
// kernels run in float32, so a difference carries ~1e-7 |L| / h of rounding
// noise plus O(h^2) truncation: with h = 1e-2 and inputs of order 1 the
// comparison holds to 1e-3 of the gradient's largest magnitude for the
// linear ops and 5e-3 for the nonlinear ones (norms, softmax, SiLU, losses),
// while any indexing or sign error is off by O(1). Linear maps whose
// transpose is another forward kernel (input gradients of convolutions,
// inverse RoPE, dropout, broadcast) are checked by the adjoint identity
// <A x, y> = <x, A^T y> instead, which holds to rounding.
//
//===----------------------------------------------------------------------===//

#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace {

using namespace loco::test;
using Forward = std::function<Vec(const Vec &)>;

double dot(const Vec &a, const Vec &b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    s += static_cast<double>(a[i]) * b[i];
  return s;
}

/// Max |analytic - numeric| over max |numeric|.
double finiteDifferenceError(const Forward &f, const Vec &x, const Vec &c,
                             const Vec &analytic, double h = 1e-2) {
  double maxRef = 0.0, maxDiff = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    Vec plus = x, minus = x;
    plus[i] += static_cast<float>(h);
    minus[i] -= static_cast<float>(h);
    double numeric = (dot(c, f(plus)) - dot(c, f(minus))) / (2 * h);
    maxRef = std::max(maxRef, std::fabs(numeric));
    maxDiff = std::max(maxDiff, std::fabs(numeric - analytic[i]));
  }
  return maxDiff / std::max(maxRef, 1e-30);
}

class CpuBackward : public CpuContextTest<> {};

constexpr double kLinearTol = 1e-3, kNonlinearTol = 5e-3;

TEST_F(CpuBackward, StftBackward) {
  int64_t B = 2, N = 70, nFft = 16, hop = 4, T = 1 + N / hop, F = nFft / 2 + 1;
  Vec x = randomVec(B * N, 1), c = randomVec(B * 2 * T * F, 2), gx(B * N);
  auto f = [&](const Vec &in) {
    Vec out(B * 2 * T * F);
    loco_stft(ctx, in.data(), out.data(), B, N, nFft, hop);
    return out;
  };
  loco_stft_backward(ctx, c.data(), gx.data(), B, N, nFft, hop);
  EXPECT_LT(finiteDifferenceError(f, x, c, gx), kLinearTol);
}

TEST_F(CpuBackward, IstftBackward) {
  int64_t B = 2, nFft = 16, hop = 4, T = 12, F = nFft / 2 + 1;
  int64_t length = (T - 1) * hop + 2;
  Vec spec = randomVec(B * 2 * T * F, 3), c = randomVec(B * length, 4);
  Vec gs(spec.size());
  auto f = [&](const Vec &in) {
    Vec out(B * length);
    loco_istft(ctx, in.data(), out.data(), B, T, nFft, hop, length);
    return out;
  };
  loco_istft_backward(ctx, c.data(), gs.data(), B, T, nFft, hop, length);
  EXPECT_LT(finiteDifferenceError(f, spec, c, gs), kLinearTol);
  // The DC and Nyquist imaginary parts do not reach the output.
  for (int64_t t = 0; t < T; ++t) {
    EXPECT_EQ(gs[(1 * T + t) * F], 0.0f);
    EXPECT_EQ(gs[(1 * T + t) * F + F - 1], 0.0f);
  }
}

TEST_F(CpuBackward, Conv2dWeightAndInputGradients) {
  int64_t B = 2, Ci = 3, H = 5, W = 6, Co = 4, K = 3, P = 1;
  Vec x = randomVec(B * Ci * H * W, 5), w = randomVec(Co * Ci * K * K, 6),
      bias(Co, 0.0f), c = randomVec(B * Co * H * W, 7);
  Vec gw(w.size());
  loco_conv2d_weight_grad(ctx, x.data(), c.data(), gw.data(), B, Ci, H, W, Co,
                          K, K, P, P);
  auto fw = [&](const Vec &wv) {
    Vec out(B * Co * H * W);
    loco_conv2d(ctx, x.data(), wv.data(), bias.data(), out.data(), B, Ci, H, W,
                Co, K, K, P, P);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(fw, w, c, gw), kLinearTol);
  // Input gradient: conv_transpose2d with the same weight is the adjoint.
  Vec y(B * Co * H * W), back(x.size()), zeros(Ci, 0.0f);
  loco_conv2d(ctx, x.data(), w.data(), bias.data(), y.data(), B, Ci, H, W, Co,
              K, K, P, P);
  loco_conv_transpose2d(ctx, c.data(), w.data(), zeros.data(), back.data(), B,
                        Co, H, W, Ci, K, K, P, P);
  EXPECT_NEAR(dot(y, c), dot(x, back), 1e-4 * std::fabs(dot(y, c)) + 1e-4);
}

TEST_F(CpuBackward, ConvTranspose2dWeightAndInputGradients) {
  int64_t B = 2, Ci = 4, H = 5, W = 6, Co = 3, K = 3, P = 1;
  Vec x = randomVec(B * Ci * H * W, 8), w = randomVec(Ci * Co * K * K, 9),
      bias(Co, 0.0f), c = randomVec(B * Co * H * W, 10);
  Vec gw(w.size());
  loco_conv_transpose2d_weight_grad(ctx, x.data(), c.data(), gw.data(), B, Ci,
                                    H, W, Co, K, K, P, P);
  auto fw = [&](const Vec &wv) {
    Vec out(B * Co * H * W);
    loco_conv_transpose2d(ctx, x.data(), wv.data(), bias.data(), out.data(), B,
                          Ci, H, W, Co, K, K, P, P);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(fw, w, c, gw), kLinearTol);
  Vec y(B * Co * H * W), back(x.size()), zeros(Ci, 0.0f);
  loco_conv_transpose2d(ctx, x.data(), w.data(), bias.data(), y.data(), B, Ci,
                        H, W, Co, K, K, P, P);
  loco_conv2d(ctx, c.data(), w.data(), zeros.data(), back.data(), B, Co, H, W,
              Ci, K, K, P, P);
  EXPECT_NEAR(dot(y, c), dot(x, back), 1e-4 * std::fabs(dot(y, c)) + 1e-4);
}

TEST_F(CpuBackward, Conv1dWeightAndInputGradients) {
  int64_t R = 3, L = 9, Ci = 4, Co = 5, K = 4, Lo = L - K + 1;
  Vec x = randomVec(R * L * Ci, 11), w = randomVec(Co * Ci * K, 12),
      bias(Co, 0.0f), c = randomVec(R * Lo * Co, 13), gw(w.size());
  loco_conv1d_weight_grad(ctx, x.data(), c.data(), gw.data(), R, L, Ci, Co, K);
  auto fw = [&](const Vec &wv) {
    Vec out(R * Lo * Co);
    loco_conv1d(ctx, x.data(), wv.data(), bias.data(), out.data(), R, L, Ci, Co,
                K, 1);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(fw, w, c, gw), kLinearTol);
  Vec y(R * Lo * Co), back(x.size()), zeros(Ci, 0.0f);
  loco_conv1d(ctx, x.data(), w.data(), bias.data(), y.data(), R, L, Ci, Co, K,
              1);
  loco_conv_transpose1d(ctx, c.data(), w.data(), zeros.data(), back.data(), R,
                        Lo, Co, Ci, K, 1);
  EXPECT_NEAR(dot(y, c), dot(x, back), 1e-4 * std::fabs(dot(y, c)) + 1e-4);
}

TEST_F(CpuBackward, ConvTranspose1dWeightAndInputGradients) {
  int64_t R = 3, L = 7, Ci = 5, Co = 4, K = 4, Lo = L + K - 1;
  Vec x = randomVec(R * L * Ci, 14), w = randomVec(Ci * Co * K, 15),
      bias(Co, 0.0f), c = randomVec(R * Lo * Co, 16), gw(w.size());
  loco_conv_transpose1d_weight_grad(ctx, x.data(), c.data(), gw.data(), R, L,
                                    Ci, Co, K);
  auto fw = [&](const Vec &wv) {
    Vec out(R * Lo * Co);
    loco_conv_transpose1d(ctx, x.data(), wv.data(), bias.data(), out.data(), R,
                          L, Ci, Co, K, 1);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(fw, w, c, gw), kLinearTol);
  Vec y(R * Lo * Co), back(x.size()), zeros(Ci, 0.0f);
  loco_conv_transpose1d(ctx, x.data(), w.data(), bias.data(), y.data(), R, L,
                        Ci, Co, K, 1);
  loco_conv1d(ctx, c.data(), w.data(), zeros.data(), back.data(), R, Lo, Co, Ci,
              K, 1);
  EXPECT_NEAR(dot(y, c), dot(x, back), 1e-4 * std::fabs(dot(y, c)) + 1e-4);
}

// The 1-D weight gradients copy blocks of rows (at most 4 MiB at once) to a
// common row length and do one GEMM per tap and block: shapes with two
// blocks and a short last one (R = 45, 21 rows per block), against the
// definition summed in double. Tolerance 1e-4 of the largest magnitude:
// each entry sums 13,500 float products (about 1e-6 relative rounding),
// while a row or tap off by one is O(1).
// Both kernels with either side the wider (the taps are computed in either
// orientation), on 1 thread and on 8 (more threads than taps: the taps are
// split into column blocks).
TEST_F(CpuBackward, Conv1dWeightGradientsAcrossRowBlocks) {
  int savedThreads = omp_get_max_threads();
  for (int threads : {1, 8})
    for (bool wideIn : {false, true})
      for (bool transposed : {false, true}) {
        SCOPED_TRACE(testing::Message() << threads << " threads, "
                                        << (wideIn ? "Ci > Co" : "Ci < Co"));
        omp_set_num_threads(threads);
        int64_t R = 45, L = 300, K = 3;
        int64_t Ci = wideIn ? 160 : 6, Co = wideIn ? 6 : 160;
        int64_t Lo = transposed ? L + K - 1 : L - K + 1;
        Vec x = randomVec(R * L * Ci, 21), g = randomVec(R * Lo * Co, 22),
            gw(Ci * Co * K);
        if (transposed)
          loco_conv_transpose1d_weight_grad(ctx, x.data(), g.data(), gw.data(),
                                            R, L, Ci, Co, K);
        else
          loco_conv1d_weight_grad(ctx, x.data(), g.data(), gw.data(), R, L, Ci,
                                  Co, K);
        double maxRef = 0, maxDiff = 0;
        for (int64_t ci = 0; ci < Ci; ++ci)
          for (int64_t co = 0; co < Co; ++co)
            for (int64_t k = 0; k < K; ++k) {
              double sum = 0;
              // conv1d: out[t] = sum_k x[t + k] w_k; its transpose: out[t + k]
              // += x[t] w_k.
              for (int64_t r = 0; r < R; ++r)
                for (int64_t t = 0; t < (transposed ? L : Lo); ++t) {
                  int64_t xt = transposed ? t : t + k,
                          gt = transposed ? t + k : t;
                  sum += double(x[(r * L + xt) * Ci + ci]) *
                         g[(r * Lo + gt) * Co + co];
                }
              // Weights are [Co, Ci, K] for conv1d and [Ci, Co, K] transposed.
              float mine =
                  gw[((transposed ? ci * Co + co : co * Ci + ci)) * K + k];
              maxRef = std::max(maxRef, std::fabs(sum));
              maxDiff = std::max(maxDiff, std::fabs(sum - mine));
            }
        EXPECT_LT(maxDiff, 1e-4 * maxRef)
            << (transposed ? "transposed" : "conv1d");
      }
  omp_set_num_threads(savedThreads);
}

TEST_F(CpuBackward, LinearWeightGradient) {
  int64_t M = 6, K = 4, N = 5;
  Vec x = randomVec(M * K, 17), w = randomVec(N * K, 18),
      c = randomVec(M * N, 19);
  Vec gw(w.size());
  loco_linear_weight_grad(ctx, x.data(), c.data(), gw.data(), M, K, N);
  auto fw = [&](const Vec &wv) {
    Vec out(M * N);
    loco_linear(ctx, x.data(), wv.data(), out.data(), M, K, N);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(fw, w, c, gw), kLinearTol);
  // No rows (an empty row chunk): zeros, whatever the output held. The
  // device backends must agree (the conformance suite checks it).
  Vec none(N * K, 7.0f);
  loco_linear_weight_grad(ctx, x.data(), c.data(), none.data(), 0, K, N);
  for (float v : none)
    EXPECT_EQ(v, 0.0f);
}

TEST_F(CpuBackward, GroupNormBackward) {
  int64_t B = 2, C = 4, S = 6, G = 2;
  Vec x = randomVec(B * C * S, 20), gamma = randomVec(C, 21),
      beta = randomVec(C, 22);
  Vec c = randomVec(x.size(), 23), dx(x.size()), dg(C), db(C);
  loco_group_norm_backward(ctx, x.data(), gamma.data(), c.data(), dx.data(),
                           dg.data(), db.data(), B, C, S, G, 1e-5);
  auto run = [&](const Vec &xv, const Vec &gv, const Vec &bv) {
    Vec out(xv.size());
    loco_group_norm(ctx, xv.data(), gv.data(), bv.data(), out.data(), B, C, S,
                    G, 1e-5);
    return out;
  };
  EXPECT_LT(
      finiteDifferenceError([&](const Vec &v) { return run(v, gamma, beta); },
                            x, c, dx, 1e-3),
      kNonlinearTol);
  EXPECT_LT(finiteDifferenceError([&](const Vec &v) { return run(x, v, beta); },
                                  gamma, c, dg),
            kNonlinearTol);
  EXPECT_LT(finiteDifferenceError(
                [&](const Vec &v) { return run(x, gamma, v); }, beta, c, db),
            kNonlinearTol);
}

TEST_F(CpuBackward, RmsGroupNormBackward) {
  int64_t rows = 5, C = 6, G = 2;
  Vec x = randomVec(rows * C, 24), gamma = randomVec(C, 25),
      c = randomVec(rows * C, 26);
  Vec dx(x.size()), dg(C);
  loco_rms_group_norm_backward(ctx, x.data(), gamma.data(), c.data(), dx.data(),
                               dg.data(), rows, C, G, 1e-5);
  auto run = [&](const Vec &xv, const Vec &gv) {
    Vec out(xv.size());
    loco_rms_group_norm(ctx, xv.data(), gv.data(), out.data(), rows, C, G,
                        1e-5);
    return out;
  };
  EXPECT_LT(finiteDifferenceError([&](const Vec &v) { return run(v, gamma); },
                                  x, c, dx, 1e-3),
            kNonlinearTol);
  EXPECT_LT(finiteDifferenceError([&](const Vec &v) { return run(x, v); },
                                  gamma, c, dg),
            kNonlinearTol);
}

TEST_F(CpuBackward, SoftmaxBackward) {
  int64_t outer = 3, n = 5, inner = 2;
  Vec x = randomVec(outer * n * inner, 27, 2.0f), c = randomVec(x.size(), 28);
  Vec y(x.size()), dx(x.size());
  auto f = [&](const Vec &in) {
    Vec out(in.size());
    loco_softmax(ctx, in.data(), out.data(), outer, n, inner);
    return out;
  };
  y = f(x);
  loco_softmax_backward(ctx, y.data(), c.data(), dx.data(), outer, n, inner);
  EXPECT_LT(finiteDifferenceError(f, x, c, dx, 1e-3), kNonlinearTol);
}

TEST_F(CpuBackward, SiluBackward) {
  int64_t n = 40;
  Vec x = randomVec(n, 29, 4.0f), c = randomVec(n, 30), dx(n);
  loco_silu_backward(ctx, x.data(), c.data(), dx.data(), n);
  auto f = [&](const Vec &in) {
    Vec out(n);
    loco_silu(ctx, in.data(), out.data(), n);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(f, x, c, dx, 1e-3), kNonlinearTol);
}

TEST_F(CpuBackward, SwigluBackward) {
  // Rows of 2 x 13: a gate half that is not a multiple of the vector width.
  int64_t rows = 3, H = 13;
  Vec x = randomVec(rows * 2 * H, 33, 4.0f), c = randomVec(rows * H, 34);
  Vec dx(rows * 2 * H);
  loco_swiglu_backward(ctx, x.data(), c.data(), dx.data(), rows, H);
  auto f = [&](const Vec &in) {
    Vec out(rows * H);
    loco_swiglu(ctx, in.data(), out.data(), rows, H);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(f, x, c, dx, 1e-3), kNonlinearTol);
}

// loco-fuse-elementwise replaces slices, loco_silu, loco_mul, and in the
// backward two products, loco_silu_backward, two pads and a sum, by the
// fused kernels: they compute the same expressions, so the results are the
// unfused kernels' bit for bit (the sum adds exact zeros).
TEST_F(CpuBackward, SwigluEqualsTheUnfusedKernels) {
  int64_t rows = 37, H = 1100; // two exp blocks per row, the second partial
  Vec x = randomVec(rows * 2 * H, 35, 6.0f), g = randomVec(rows * H, 36);
  Vec a(rows * H), b(rows * H);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      a[r * H + j] = x[r * 2 * H + j];
      b[r * H + j] = x[r * 2 * H + H + j];
    }
  int64_t n = rows * H;
  Vec act(n), y(n), fused(n);
  loco_silu(ctx, b.data(), act.data(), n);
  loco_mul(ctx, a.data(), act.data(), y.data(), n);
  loco_swiglu(ctx, x.data(), fused.data(), rows, H);
  EXPECT_EQ(fused, y);

  Vec da(n), gateGrad(n), db(n), dx(rows * 2 * H);
  loco_mul(ctx, g.data(), act.data(), da.data(), n);
  loco_mul(ctx, g.data(), a.data(), gateGrad.data(), n);
  loco_silu_backward(ctx, b.data(), gateGrad.data(), db.data(), n);
  loco_swiglu_backward(ctx, x.data(), g.data(), dx.data(), rows, H);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      ASSERT_EQ(dx[r * 2 * H + j], da[r * H + j]) << r << "," << j;
      ASSERT_EQ(dx[r * 2 * H + H + j], db[r * H + j]) << r << "," << j;
    }
  // In place over the input, as the arena plan may put it.
  loco_swiglu_backward(ctx, x.data(), g.data(), x.data(), rows, H);
  EXPECT_EQ(x, dx);
}

// loco-fuse-elementwise replaces loco_dropout and loco_add by
// loco_dropout_add: the same mask and the same two roundings (the product
// is not contracted into an FMA with the sum), so the results are the
// unfused kernels' bit for bit: at a chunk's offset that is not a multiple
// of Philox's block of 4, in place over either operand, and in evaluation.
TEST_F(CpuBackward, DropoutAddEqualsTheUnfusedKernels) {
  int64_t n = 40003;
  Vec r = randomVec(n, 37, 3.0f), x = randomVec(n, 38, 3.0f);
  loco_context_set_rng(ctx, 9, 4);
  for (int training : {1, 0}) {
    loco_context_set_training(ctx, training);
    SCOPED_TRACE(training ? "training" : "evaluation");
    Vec dropped(n), sum(n), fused(n);
    loco_dropout(ctx, x.data(), dropped.data(), n, 0.1, 6, 7);
    loco_add(ctx, r.data(), dropped.data(), sum.data(), n);
    loco_dropout_add(ctx, r.data(), x.data(), fused.data(), n, 0.1, 6, 7);
    ASSERT_EQ(fused, sum);
    if (training) { // The mask drew: about a tenth of x dropped.
      EXPECT_NEAR(std::count(dropped.begin(), dropped.end(), 0.0f), n / 10,
                  n / 50);
    }
    Vec inR = r, inX = x;
    loco_dropout_add(ctx, inR.data(), x.data(), inR.data(), n, 0.1, 6, 7);
    loco_dropout_add(ctx, r.data(), inX.data(), inX.data(), n, 0.1, 6, 7);
    EXPECT_EQ(inR, sum);
    EXPECT_EQ(inX, sum);
  }
  loco_context_set_training(ctx, 1);
}

TEST_F(CpuBackward, BroadcastIsTheAdjointOfReduceSum) {
  const int64_t shape[3] = {3, 4, 5}, mask[3] = {1, 0, 1};
  Vec x = randomVec(60, 31), g = randomVec(4, 32), reduced(4), spread(60);
  loco_reduce(ctx, x.data(), reduced.data(), 3, shape, mask, 0);
  loco_broadcast(ctx, g.data(), spread.data(), 3, shape, mask);
  EXPECT_NEAR(dot(reduced, g), dot(x, spread), 1e-5);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 5; ++k)
        ASSERT_EQ(spread[(i * 4 + j) * 5 + k], g[j]);
}

TEST_F(CpuBackward, InverseRopeIsTheTranspose) {
  int64_t outer = 2, L = 9, d = 8;
  Vec x = randomVec(outer * L * d, 33), y = randomVec(x.size(), 34);
  Vec rx(x.size()), ry(x.size());
  loco_rope(ctx, x.data(), rx.data(), outer, L, d, 10000.0, 0);
  loco_rope(ctx, y.data(), ry.data(), outer, L, d, 10000.0, 1);
  EXPECT_NEAR(dot(rx, y), dot(x, ry), 1e-5);
}

TEST_F(CpuBackward, DropoutIsItsOwnTranspose) {
  int64_t n = 1000;
  Vec x = randomVec(n, 35), y = randomVec(n, 36), dx(n), dy(n);
  loco_context_set_rng(ctx, 7, 3);
  loco_dropout(ctx, x.data(), dx.data(), n, 0.3, 5, 0);
  loco_dropout(ctx, y.data(), dy.data(), n, 0.3, 5, 0);
  EXPECT_NEAR(dot(dx, y), dot(x, dy), 1e-4);
}

TEST_F(CpuBackward, SiSdrBackward) {
  int64_t B = 2, N = 30;
  Vec t = randomVec(B * N, 37), e = randomVec(B * N, 38), c = randomVec(B, 39);
  for (int64_t i = 0; i < B * N; ++i)
    e[i] = 0.6f * t[i] + 0.4f * e[i] + 0.2f;
  Vec de(e.size());
  loco_si_sdr_backward(ctx, e.data(), t.data(), c.data(), de.data(), B, N,
                       1e-8);
  auto f = [&](const Vec &ev) {
    Vec out(B);
    loco_si_sdr(ctx, ev.data(), t.data(), out.data(), B, N, 1e-8);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(f, e, c, de, 1e-3), kNonlinearTol);
}

TEST_F(CpuBackward, L1AndMseBackward) {
  int64_t n = 50;
  Vec e = randomVec(n, 40), t = randomVec(n, 41), c{0.7f}, de(n);
  loco_l1_loss_backward(ctx, e.data(), t.data(), c.data(), de.data(), n);
  auto l1 = [&](const Vec &ev) {
    Vec out(1);
    loco_l1_loss(ctx, ev.data(), t.data(), out.data(), n);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(l1, e, c, de, 1e-3), kNonlinearTol);
  loco_mse_loss_backward(ctx, e.data(), t.data(), c.data(), de.data(), n);
  auto mse = [&](const Vec &ev) {
    Vec out(1);
    loco_mse_loss(ctx, ev.data(), t.data(), out.data(), n);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(mse, e, c, de, 1e-3), kNonlinearTol);
}

TEST_F(CpuBackward, SpectralL1Backward) {
  int64_t B = 2, frames = 3, F = 4;
  Vec E = randomVec(B * 2 * frames * F, 42), T = randomVec(E.size(), 43);
  Vec c{1.3f}, dE(E.size());
  loco_spectral_l1_backward(ctx, E.data(), T.data(), c.data(), dE.data(), B,
                            frames, F);
  auto f = [&](const Vec &ev) {
    Vec out(1);
    loco_spectral_l1(ctx, ev.data(), T.data(), out.data(), B, frames, F);
    return out;
  };
  EXPECT_LT(finiteDifferenceError(f, E, c, dE, 1e-3), kNonlinearTol);
}

} // namespace
