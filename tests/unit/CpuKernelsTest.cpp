//===- CpuKernelsTest.cpp - CPU kernels against naive references ----------===//
//
// Every kernel of the CPU backend is compared with a naive loop written
// directly from the op's definition (in double), on random inputs, with
// shapes that exercise the edges (odd sizes, padding, rows that do not fill
// a block). Unless a test says otherwise the tolerance is 2e-5 of the
// reference's largest magnitude: float32 kernels with at most a few thousand
// accumulated terms against a double reference stay well inside it, and an
// indexing error is off by O(1).
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace {

using namespace loco::test;

class CpuKernels : public CpuContextTest<> {};

constexpr double kTol = 2e-5;

double hann(int64_t n, int64_t N) {
  return 0.5 - 0.5 * std::cos(2 * M_PI * n / N);
}

std::vector<double> naiveStft(const Vec &x, int64_t B, int64_t N, int64_t nFft,
                              int64_t hop) {
  int64_t T = 1 + N / hop, F = nFft / 2 + 1;
  std::vector<double> out(B * 2 * T * F);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < F; ++f) {
        double re = 0, im = 0;
        for (int64_t n = 0; n < nFft; ++n) {
          int64_t j = t * hop + n - nFft / 2;
          j = j < 0 ? -j : (j >= N ? 2 * (N - 1) - j : j);
          double v = x[b * N + j] * hann(n, nFft);
          re += v * std::cos(2 * M_PI * f * n / nFft);
          im -= v * std::sin(2 * M_PI * f * n / nFft);
        }
        out[((b * 2) * T + t) * F + f] = re;
        out[((b * 2 + 1) * T + t) * F + f] = im;
      }
  return out;
}

TEST_F(CpuKernels, StftMatchesNaiveDft) {
  int64_t B = 2, N = 1000, nFft = 64, hop = 16;
  Vec x = randomVec(B * N, 1);
  int64_t T = 1 + N / hop, F = nFft / 2 + 1;
  Vec out(B * 2 * T * F);
  loco_stft(ctx, x.data(), out.data(), B, N, nFft, hop);
  EXPECT_LT(relError(out, naiveStft(x, B, N, nFft, hop)), kTol);
}

TEST_F(CpuKernels, StftMatchesTorchOnTheTinyGoldenSet) {
  // The golden encoder_in is torch.stft of the mixture (n_fft 256, hop 64):
  // an independent reference. 1e-5: float32 FFTs of length 256 differ in
  // rounding order only.
  std::string error;
  std::string dir = LOCO_TEST_DATA_DIR "/golden/tiny/";
  auto inputs = loco::SafetensorsFile::open(dir + "inputs.safetensors", error);
  auto outputs =
      loco::SafetensorsFile::open(dir + "outputs.safetensors", error);
  ASSERT_TRUE(inputs && outputs) << error;
  Vec mixture = inputs->floats(*inputs->find("mixture"));
  Vec golden = outputs->floats(*outputs->find("encoder_in"));
  Vec out(golden.size());
  loco_stft(ctx, mixture.data(), out.data(), 2, 4096, 256, 64);
  EXPECT_LT(relError(out, std::vector<double>(golden.begin(), golden.end())),
            1e-5);
}

TEST_F(CpuKernels, IstftMatchesNaiveInverse) {
  int64_t B = 2, nFft = 32, hop = 8, T = 20, F = nFft / 2 + 1;
  int64_t length = (T - 1) * hop + 3;
  Vec spec = randomVec(B * 2 * T * F, 2);
  Vec out(B * length);
  loco_istft(ctx, spec.data(), out.data(), B, T, nFft, hop, length);
  std::vector<double> expected(B * length);
  int64_t total = nFft + hop * (T - 1);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> y(total, 0.0), env(total, 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < nFft; ++n) {
        const float *re = spec.data() + (b * 2 * T + t) * F;
        const float *im = spec.data() + ((b * 2 + 1) * T + t) * F;
        // One-sided inverse: DC and Nyquist real parts only.
        double v = re[0] + re[F - 1] * ((n % 2) ? -1.0 : 1.0);
        for (int64_t k = 1; k < F - 1; ++k)
          v += 2 * (re[k] * std::cos(2 * M_PI * k * n / nFft) -
                    im[k] * std::sin(2 * M_PI * k * n / nFft));
        y[t * hop + n] += v / nFft * hann(n, nFft);
        env[t * hop + n] += hann(n, nFft) * hann(n, nFft);
      }
    for (int64_t i = 0; i < length; ++i)
      expected[b * length + i] = y[i + nFft / 2] / env[i + nFft / 2];
  }
  EXPECT_LT(relError(out, expected), kTol);
}

TEST_F(CpuKernels, IstftInvertsStft) {
  int64_t B = 1, N = 777, nFft = 64, hop = 16, T = 1 + N / hop;
  Vec x = randomVec(N, 3), spec(2 * T * (nFft / 2 + 1)), y(N);
  loco_stft(ctx, x.data(), spec.data(), B, N, nFft, hop);
  loco_istft(ctx, spec.data(), y.data(), B, T, nFft, hop, N);
  EXPECT_LT(relError(y, std::vector<double>(x.begin(), x.end())), 1e-5);
}

TEST_F(CpuKernels, Conv2dMatchesNaive) {
  int64_t B = 2, Ci = 3, H = 7, W = 9, Co = 4, KH = 3, KW = 3, PH = 1, PW = 1;
  Vec x = randomVec(B * Ci * H * W, 4), w = randomVec(Co * Ci * KH * KW, 5),
      b = randomVec(Co, 6);
  Vec out(B * Co * H * W);
  loco_conv2d(ctx, x.data(), w.data(), b.data(), out.data(), B, Ci, H, W, Co,
              KH, KW, PH, PW);
  std::vector<double> expected(out.size());
  for (int64_t n = 0; n < B; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t oh = 0; oh < H; ++oh)
        for (int64_t ow = 0; ow < W; ++ow) {
          double acc = b[co];
          for (int64_t ci = 0; ci < Ci; ++ci)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh + kh - PH, iw = ow + kw - PW;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                  acc += x[((n * Ci + ci) * H + ih) * W + iw] *
                         w[((co * Ci + ci) * KH + kh) * KW + kw];
              }
          expected[((n * Co + co) * H + oh) * W + ow] = acc;
        }
  EXPECT_LT(relError(out, expected), kTol);
}

TEST_F(CpuKernels, ConvTranspose2dMatchesScatterDefinition) {
  int64_t B = 2, Ci = 5, H = 6, W = 8, Co = 3, KH = 3, KW = 3, PH = 1, PW = 1;
  Vec x = randomVec(B * Ci * H * W, 7), w = randomVec(Ci * Co * KH * KW, 8),
      b = randomVec(Co, 9);
  int64_t Ho = H + KH - 1 - 2 * PH, Wo = W + KW - 1 - 2 * PW;
  Vec out(B * Co * Ho * Wo);
  loco_conv_transpose2d(ctx, x.data(), w.data(), b.data(), out.data(), B, Ci, H,
                        W, Co, KH, KW, PH, PW);
  // Every input element scatters w[ci, co] into the output, shifted by -pad.
  std::vector<double> expected(out.size());
  for (int64_t n = 0; n < B; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t i = 0; i < Ho * Wo; ++i)
        expected[(n * Co + co) * Ho * Wo + i] = b[co];
  for (int64_t n = 0; n < B; ++n)
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t co = 0; co < Co; ++co)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t oh = ih + kh - PH, ow = iw + kw - PW;
                if (oh >= 0 && oh < Ho && ow >= 0 && ow < Wo)
                  expected[((n * Co + co) * Ho + oh) * Wo + ow] +=
                      x[((n * Ci + ci) * H + ih) * W + iw] *
                      w[((ci * Co + co) * KH + kh) * KW + kw];
              }
  EXPECT_LT(relError(out, expected), kTol);
}

class Conv1dTest : public CpuKernels,
                   public ::testing::WithParamInterface<int64_t> {};

// The second shape's 2048 output channels make the kernel accumulate its
// taps over several blocks of output positions, the last one partial.
TEST_P(Conv1dTest, ConvMatchesNaive) {
  struct Shape {
    int64_t R, L, Ci, Co;
  };
  for (Shape shape : {Shape{5, 13, 6, 10}, Shape{2, 150, 3, 2048}}) {
    int64_t stride = GetParam(), R = shape.R, L = shape.L, Ci = shape.Ci,
            Co = shape.Co, K = 4;
    int64_t Lo = (L - K) / stride + 1;
    Vec x = randomVec(R * L * Ci, 10), w = randomVec(Co * Ci * K, 11),
        b = randomVec(Co, 12), out(R * Lo * Co);
    loco_conv1d(ctx, x.data(), w.data(), b.data(), out.data(), R, L, Ci, Co, K,
                stride);
    std::vector<double> expected(out.size());
    for (int64_t r = 0; r < R; ++r)
      for (int64_t l = 0; l < Lo; ++l)
        for (int64_t co = 0; co < Co; ++co) {
          double acc = b[co];
          for (int64_t ci = 0; ci < Ci; ++ci)
            for (int64_t k = 0; k < K; ++k)
              acc += x[(r * L + l * stride + k) * Ci + ci] *
                     w[(co * Ci + ci) * K + k];
          expected[(r * Lo + l) * Co + co] = acc;
        }
    EXPECT_LT(relError(out, expected), kTol) << Co << " channels";
  }
}

TEST_P(Conv1dTest, TransposedConvMatchesScatterDefinition) {
  int64_t stride = GetParam(), R = 4, L = 11, Ci = 7, Co = 5, K = 4;
  int64_t Lo = (L - 1) * stride + K;
  Vec x = randomVec(R * L * Ci, 13), w = randomVec(Ci * Co * K, 14),
      b = randomVec(Co, 15), out(R * Lo * Co);
  loco_conv_transpose1d(ctx, x.data(), w.data(), b.data(), out.data(), R, L, Ci,
                        Co, K, stride);
  std::vector<double> expected(out.size());
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < Lo; ++j)
      for (int64_t co = 0; co < Co; ++co)
        expected[(r * Lo + j) * Co + co] = b[co];
  for (int64_t r = 0; r < R; ++r)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t co = 0; co < Co; ++co)
          for (int64_t k = 0; k < K; ++k)
            expected[(r * Lo + l * stride + k) * Co + co] +=
                x[(r * L + l) * Ci + ci] * w[(ci * Co + co) * K + k];
  EXPECT_LT(relError(out, expected), kTol);
}

INSTANTIATE_TEST_SUITE_P(Strides, Conv1dTest, ::testing::Values(1, 2));

TEST_F(CpuKernels, GroupNormMatchesNaive) {
  int64_t B = 2, C = 6, S = 35, G = 3;
  Vec x = randomVec(B * C * S, 16, 3.0f), g = randomVec(C, 17),
      be = randomVec(C, 18);
  for (float &v : x)
    v += 2.0f; // a mean far from zero exercises the centring
  Vec out(x.size());
  loco_group_norm(ctx, x.data(), g.data(), be.data(), out.data(), B, C, S, G,
                  1e-5);
  std::vector<double> expected(out.size());
  int64_t per = C / G;
  for (int64_t n = 0; n < B; ++n)
    for (int64_t grp = 0; grp < G; ++grp) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < per * S; ++i)
        mean += x[(n * C + grp * per) * S + i];
      mean /= per * S;
      for (int64_t i = 0; i < per * S; ++i)
        var += std::pow(x[(n * C + grp * per) * S + i] - mean, 2);
      var /= per * S;
      for (int64_t c = grp * per; c < (grp + 1) * per; ++c)
        for (int64_t s = 0; s < S; ++s)
          expected[(n * C + c) * S + s] =
              (x[(n * C + c) * S + s] - mean) / std::sqrt(var + 1e-5) * g[c] +
              be[c];
    }
  EXPECT_LT(relError(out, expected), kTol);
}

TEST_F(CpuKernels, RmsGroupNormMatchesNaive) {
  int64_t rows = 9, C = 8, G = 2;
  Vec x = randomVec(rows * C, 19), g = randomVec(C, 20), out(x.size());
  loco_rms_group_norm(ctx, x.data(), g.data(), out.data(), rows, C, G, 1e-5);
  std::vector<double> expected(out.size());
  int64_t per = C / G;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t grp = 0; grp < G; ++grp) {
      double ss = 0;
      for (int64_t c = 0; c < per; ++c)
        ss += std::pow(x[r * C + grp * per + c], 2);
      double rms = std::sqrt(ss) / std::sqrt(static_cast<double>(per));
      for (int64_t c = 0; c < per; ++c)
        expected[r * C + grp * per + c] =
            x[r * C + grp * per + c] / (rms + 1e-5) * g[grp * per + c];
    }
  EXPECT_LT(relError(out, expected), kTol);
}

TEST_F(CpuKernels, LinearAndBatchMatmulMatchNaive) {
  int64_t M = 7, K = 5, N = 6, batch = 3;
  Vec x = randomVec(M * K, 21), w = randomVec(N * K, 22), out(M * N);
  loco_linear(ctx, x.data(), w.data(), out.data(), M, K, N);
  std::vector<double> expected(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k)
        expected[i * N + j] += x[i * K + k] * w[j * K + k];
  EXPECT_LT(relError(out, expected), kTol);

  for (int64_t transposeA : {0, 1})
    for (int64_t transposeB : {0, 1}) {
      Vec a = randomVec(batch * M * K, 23), b = randomVec(batch * K * N, 24);
      Vec c(batch * M * N);
      loco_batch_matmul(ctx, a.data(), b.data(), c.data(), batch, M, K, N,
                        transposeA, transposeB);
      std::vector<double> ref(c.size());
      for (int64_t p = 0; p < batch; ++p)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j)
            for (int64_t k = 0; k < K; ++k)
              ref[(p * M + i) * N + j] +=
                  (transposeA ? a[(p * K + k) * M + i]
                              : a[(p * M + i) * K + k]) *
                  (transposeB ? b[(p * N + j) * K + k]
                              : b[(p * K + k) * N + j]);
      EXPECT_LT(relError(c, ref), kTol)
          << "transpose_a = " << transposeA << ", transpose_b = " << transposeB;
    }
}

TEST_F(CpuKernels, RopeMatchesInterleavedRotation) {
  int64_t outer = 3, L = 17, d = 8;
  Vec x = randomVec(outer * L * d, 25), out(x.size());
  loco_rope(ctx, x.data(), out.data(), outer, L, d, 10000.0, 0);
  std::vector<double> expected(out.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < L; ++p)
      for (int64_t i = 0; i < d / 2; ++i) {
        double a = p / std::pow(10000.0, 2.0 * i / d);
        const float *xr = x.data() + (o * L + p) * d;
        expected[(o * L + p) * d + 2 * i] =
            xr[2 * i] * std::cos(a) - xr[2 * i + 1] * std::sin(a);
        expected[(o * L + p) * d + 2 * i + 1] =
            xr[2 * i + 1] * std::cos(a) + xr[2 * i] * std::sin(a);
      }
  // Angles up to 16 rad in float32 carry ~1e-6 absolute error.
  EXPECT_LT(relError(out, expected), 1e-5);
}

TEST_F(CpuKernels, SoftmaxMatchesNaiveOnInnerAndOuterAxes) {
  int64_t outer = 4, n = 9, inner = 3;
  Vec x = randomVec(outer * n * inner, 26, 5.0f), out(x.size());
  loco_softmax(ctx, x.data(), out.data(), outer, n, inner);
  std::vector<double> expected(out.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < n; ++i)
        sum += std::exp(x[(o * n + i) * inner + j]);
      for (int64_t i = 0; i < n; ++i)
        expected[(o * n + i) * inner + j] =
            std::exp(x[(o * n + i) * inner + j]) / sum;
    }
  EXPECT_LT(relError(out, expected), kTol);
}

TEST_F(CpuKernels, DropoutIsDeterministicPerKeyAndUnbiased) {
  int64_t n = 200000;
  Vec x(n, 1.0f), a(n), b(n), c(n);
  loco_context_set_rng(ctx, 42, 7);
  loco_dropout(ctx, x.data(), a.data(), n, 0.25, 3, 0);
  loco_dropout(ctx, x.data(), b.data(), n, 0.25, 3, 0);
  EXPECT_EQ(a, b) << "the same key must give the same mask";
  loco_dropout(ctx, x.data(), c.data(), n, 0.25, 4, 0);
  EXPECT_NE(a, c) << "another stream must give another mask";
  int64_t kept = std::count(a.begin(), a.end(), 1.0f / 0.75f);
  int64_t dropped = std::count(a.begin(), a.end(), 0.0f);
  EXPECT_EQ(kept + dropped, n);
  // Binomial(200000, 0.75): sd ~ 194; 5 sd.
  EXPECT_NEAR(kept, 150000, 1000);
  loco_context_set_training(ctx, 0);
  loco_dropout(ctx, x.data(), c.data(), n, 0.25, 3, 0);
  EXPECT_EQ(c, x) << "evaluation mode is the identity";
}

// A row chunk of a dropout draws with its offset in the whole tensor: the
// chunks' masks put side by side are the whole op's mask, for offsets that
// are and are not multiples of Philox's block of four.
TEST_F(CpuKernels, DropoutChunksWithOffsetsEqualTheWhole) {
  int64_t n = 1003;
  Vec x = randomVec(n, 11), whole(n), chunked(n);
  loco_context_set_rng(ctx, 9, 2);
  loco_dropout(ctx, x.data(), whole.data(), n, 0.3, 6, 0);
  for (int64_t start : {0, 1, 7, 500, 998}) {
    std::fill(chunked.begin(), chunked.end(), -1.0f);
    int64_t sizes[] = {start, n - start};
    int64_t offset = 0;
    for (int64_t size : sizes) {
      loco_dropout(ctx, x.data() + offset, chunked.data() + offset, size, 0.3,
                   6, offset);
      offset += size;
    }
    EXPECT_EQ(chunked, whole) << "split at " << start;
  }
}

TEST_F(CpuKernels, ElementwiseMatchNaive) {
  int64_t n = 1001;
  Vec a = randomVec(n, 27), b = randomVec(n, 28), out(n);
  for (float &v : b)
    v += 3.0f;
  auto check = [&](auto kernel, auto fn) {
    kernel(ctx, a.data(), b.data(), out.data(), n);
    std::vector<double> e(n);
    for (int64_t i = 0; i < n; ++i)
      e[i] = fn(static_cast<double>(a[i]), static_cast<double>(b[i]));
    EXPECT_LT(relError(out, e), 1e-6);
  };
  check(loco_add, [](double x, double y) { return x + y; });
  check(loco_sub, [](double x, double y) { return x - y; });
  check(loco_mul, [](double x, double y) { return x * y; });
  check(loco_div, [](double x, double y) { return x / y; });
  loco_silu(ctx, a.data(), out.data(), n);
  std::vector<double> e(n);
  for (int64_t i = 0; i < n; ++i)
    e[i] = a[i] / (1 + std::exp(-static_cast<double>(a[i])));
  EXPECT_LT(relError(out, e), 1e-6);
  loco_scale(ctx, a.data(), out.data(), n, -0.5);
  for (int64_t i = 0; i < n; ++i)
    e[i] = -0.5 * a[i];
  EXPECT_LT(relError(out, e), 1e-7);
}

TEST_F(CpuKernels, TransposeSlicePadReduceMatchNaive) {
  const int64_t shape[4] = {2, 3, 4, 5}, perm[4] = {2, 0, 3, 1};
  int64_t n = 120;
  Vec x = randomVec(n, 29), out(n);
  loco_transpose(ctx, x.data(), out.data(), 4, shape, perm);
  std::vector<double> e(n);
  for (int64_t i0 = 0; i0 < 2; ++i0)
    for (int64_t i1 = 0; i1 < 3; ++i1)
      for (int64_t i2 = 0; i2 < 4; ++i2)
        for (int64_t i3 = 0; i3 < 5; ++i3)
          // out [4, 2, 5, 3] at (i2, i0, i3, i1)
          e[((i2 * 2 + i0) * 5 + i3) * 3 + i1] =
              x[((i0 * 3 + i1) * 4 + i2) * 5 + i3];
  EXPECT_EQ(relError(out, e), 0.0);

  // A permutation that keeps the last dim: whole source rows move.
  const int64_t rowPerm[4] = {2, 0, 1, 3};
  loco_transpose(ctx, x.data(), out.data(), 4, shape, rowPerm);
  for (int64_t i0 = 0; i0 < 2; ++i0)
    for (int64_t i1 = 0; i1 < 3; ++i1)
      for (int64_t i2 = 0; i2 < 4; ++i2)
        for (int64_t i3 = 0; i3 < 5; ++i3)
          // out [4, 2, 3, 5] at (i2, i0, i1, i3)
          e[((i2 * 2 + i0) * 3 + i1) * 5 + i3] =
              x[((i0 * 3 + i1) * 4 + i2) * 5 + i3];
  EXPECT_EQ(relError(out, e), 0.0);

  // x as [2*3, 4, 5]: dim 1, start 1, size 2.
  Vec s(6 * 2 * 5);
  loco_slice(ctx, x.data(), s.data(), 6, 4, 5, 1, 2);
  std::vector<double> es(s.size());
  for (int64_t o = 0; o < 6; ++o)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 5; ++j)
        es[(o * 2 + i) * 5 + j] = x[(o * 4 + i + 1) * 5 + j];
  EXPECT_EQ(relError(s, es), 0.0);

  const int64_t low[4] = {0, 1, 0, 2}, high[4] = {1, 0, 0, 3};
  // The output starts as garbage: the kernel writes every zero itself.
  Vec p(3 * 4 * 4 * 10, std::nanf(""));
  loco_pad(ctx, x.data(), p.data(), 4, shape, low, high);
  std::vector<double> ep(p.size(), 0.0);
  for (int64_t i0 = 0; i0 < 2; ++i0)
    for (int64_t i1 = 0; i1 < 3; ++i1)
      for (int64_t i2 = 0; i2 < 4; ++i2)
        for (int64_t i3 = 0; i3 < 5; ++i3)
          ep[((i0 * 4 + i1 + 1) * 4 + i2) * 10 + i3 + 2] =
              x[((i0 * 3 + i1) * 4 + i2) * 5 + i3];
  EXPECT_EQ(relError(p, ep), 0.0);

  const int64_t reduce[4] = {1, 0, 1, 0};
  Vec r(15);
  loco_reduce(ctx, x.data(), r.data(), 4, shape, reduce, /*mean=*/1);
  std::vector<double> er(15, 0.0);
  for (int64_t i0 = 0; i0 < 2; ++i0)
    for (int64_t i1 = 0; i1 < 3; ++i1)
      for (int64_t i2 = 0; i2 < 4; ++i2)
        for (int64_t i3 = 0; i3 < 5; ++i3)
          er[i1 * 5 + i3] += x[((i0 * 3 + i1) * 4 + i2) * 5 + i3] / 8.0;
  EXPECT_LT(relError(r, er), 1e-6);
}

TEST_F(CpuKernels, ReduceMatchesNaiveForEveryPattern) {
  // Every subset of reduced dims of a [3, 1, 4, 5] tensor (the size-1 dim
  // exercises the collapsing of dims), against a direct loop.
  const int64_t shape[4] = {3, 1, 4, 5};
  Vec x = randomVec(60, 41);
  for (int mask = 1; mask < 16; ++mask) {
    int64_t reduce[4], outShape[4];
    int64_t outCount = 1;
    for (int i = 0; i < 4; ++i) {
      reduce[i] = (mask >> i) & 1;
      outShape[i] = reduce[i] ? 1 : shape[i];
      outCount *= outShape[i];
    }
    Vec out(outCount);
    loco_reduce(ctx, x.data(), out.data(), 4, shape, reduce, /*mean=*/0);
    std::vector<double> expected(outCount, 0.0);
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t d = 0; d < 5; ++d) {
          int64_t o = ((reduce[0] ? 0 : a) * outShape[1] * outShape[2] +
                       (reduce[2] ? 0 : c)) *
                          outShape[3] +
                      (reduce[3] ? 0 : d);
          expected[o] += x[(a * 4 + c) * 5 + d];
        }
    EXPECT_LT(relError(out, expected), 1e-6) << "reduce mask " << mask;
  }
}

TEST_F(CpuKernels, LossesMatchNaive) {
  int64_t B = 3, N = 500;
  Vec e = randomVec(B * N, 30), t = randomVec(B * N, 31);
  for (int64_t i = 0; i < B * N; ++i)
    e[i] = 0.7f * t[i] + 0.3f * e[i] + 0.1f; // correlated, with an offset
  Vec sdr(B), l1(1), l2(1);
  loco_si_sdr(ctx, e.data(), t.data(), sdr.data(), B, N, 1e-8);
  std::vector<double> esdr(B);
  for (int64_t b = 0; b < B; ++b) {
    double me = 0, mt = 0;
    for (int64_t i = 0; i < N; ++i) {
      me += e[b * N + i] / N;
      mt += t[b * N + i] / N;
    }
    double dot = 0, tt = 0;
    for (int64_t i = 0; i < N; ++i) {
      dot += (e[b * N + i] - me) * (t[b * N + i] - mt);
      tt += std::pow(t[b * N + i] - mt, 2);
    }
    double a = dot / (tt + 1e-8), pp = 0, nn = 0;
    for (int64_t i = 0; i < N; ++i) {
      double p = a * (t[b * N + i] - mt);
      pp += p * p;
      nn += std::pow(e[b * N + i] - me - p, 2);
    }
    esdr[b] = 10 * std::log10((pp + 1e-8) / (nn + 1e-8));
  }
  EXPECT_LT(relError(sdr, esdr), 1e-6);
  loco_l1_loss(ctx, e.data(), t.data(), l1.data(), B * N);
  loco_mse_loss(ctx, e.data(), t.data(), l2.data(), B * N);
  double sl1 = 0, sl2 = 0;
  for (int64_t i = 0; i < B * N; ++i) {
    sl1 += std::fabs(e[i] - t[i]);
    sl2 += std::pow(e[i] - t[i], 2);
  }
  EXPECT_LT(relError(l1, {sl1 / (B * N)}), 1e-6);
  EXPECT_LT(relError(l2, {sl2 / (B * N)}), 1e-6);

  int64_t frames = 4, F = 7;
  Vec E = randomVec(B * 2 * frames * F, 32),
      T = randomVec(B * 2 * frames * F, 33);
  E[0] = E[frames * F] = 0.0f; // a zero bin
  Vec spec(1);
  loco_spectral_l1(ctx, E.data(), T.data(), spec.data(), B, frames, F);
  double ss = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < frames * F; ++j) {
      auto mag = [&](const Vec &v) {
        return std::hypot(v[b * 2 * frames * F + j],
                          v[(b * 2 + 1) * frames * F + j]);
      };
      ss += std::fabs(std::log1p(mag(E)) - std::log1p(mag(T)));
    }
  EXPECT_LT(relError(spec, {ss / (B * frames * F)}), 1e-6);
}

TEST_F(CpuKernels, AdamwSkipsANonFiniteStep) {
  // One Inf among the gradients: the norm is Inf, and the step leaves the
  // weights and moments exactly as they were (only the gradient is zeroed).
  // The same call with the Inf replaced does update them. (The check pass
  // runs too, as the compiled optimizer step runs it.)
  const int64_t n = 1000;
  loco_context_set_optimizer(ctx, 1, 1e-3);
  for (bool poisoned : {true, false}) {
    Vec p = randomVec(n, 40), g = randomVec(n, 41), m(n, 0.0f), v(n, 0.0f);
    g[n / 2] = poisoned ? INFINITY : 1.0f;
    Vec p0 = p;
    loco_optimizer_scratch scratch;
    loco_grad_norm_begin(ctx, &scratch);
    loco_grad_norm_accumulate(ctx, g.data(), n, &scratch);
    loco_grad_norm_finish(ctx, &scratch, 5.0);
    loco_adamw_check(ctx, p.data(), g.data(), m.data(), v.data(), n, &scratch,
                     0.9, 0.999, 1e-8, 0.01);
    EXPECT_EQ(scratch.nonfinite_updates, 0);
    loco_adamw(ctx, p.data(), g.data(), m.data(), v.data(), n, &scratch, 0.9,
               0.999, 1e-8, 0.01);
    EXPECT_EQ(std::isfinite(scratch.grad_norm), !poisoned);
    EXPECT_EQ(p == p0, poisoned);
    EXPECT_EQ(m == Vec(n, 0.0f), poisoned);
    EXPECT_EQ(g, Vec(n, 0.0f));
  }
  // Finite gradients, but one weight's update overflows (decay 1 - lr wd =
  // -9999 on a weight of 1e35): loco_adamw_check counts it, and loco_adamw
  // then leaves every weight and moment as it was.
  loco_context_set_optimizer(ctx, 1, 1e6);
  Vec p = randomVec(n, 42), g = randomVec(n, 43), m(n, 0.0f), v(n, 0.0f);
  p[7] = 1e35f;
  Vec p0 = p;
  loco_optimizer_scratch scratch;
  loco_grad_norm_begin(ctx, &scratch);
  loco_grad_norm_accumulate(ctx, g.data(), n, &scratch);
  loco_grad_norm_finish(ctx, &scratch, 5.0);
  loco_adamw_check(ctx, p.data(), g.data(), m.data(), v.data(), n, &scratch,
                   0.9, 0.999, 1e-8, 0.01);
  EXPECT_EQ(scratch.nonfinite_updates, 1);
  loco_adamw(ctx, p.data(), g.data(), m.data(), v.data(), n, &scratch, 0.9,
             0.999, 1e-8, 0.01);
  EXPECT_EQ(p, p0);
  EXPECT_EQ(m, Vec(n, 0.0f));
  EXPECT_EQ(g, Vec(n, 0.0f));
}

TEST_F(CpuKernels, ContextRejectsOtherDevices) {
  char error[128] = {0};
  EXPECT_EQ(loco_context_create("cuda:0", error, sizeof(error)), nullptr);
  EXPECT_STREQ(error, "the cpu backend cannot run on device 'cuda:0'");
}

} // namespace
