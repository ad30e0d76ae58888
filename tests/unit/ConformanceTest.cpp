//===- ConformanceTest.cpp - Device backends against the CPU backend ------===//
//
// One suite, parameterised over the device backends this build has (cuda,
// and cuda-emu, the CUDA backend emulated on the CPU, each at each matmul
// precision: fp32, TF32, BF16, FP16): every kernel of the ABI
// runs on seeded random inputs on the CPU backend (the reference, itself
// checked against naive loops, finite differences and the golden sets) and on
// the device, and the results are compared as max |device - cpu| / max |cpu|.
// Both backends are opened side by side (RTLD_LOCAL) and called through
// their own tables. Without a device the suite skips, saying why.
//
// Tolerances (stated per op; fp32 rounding differs by summation order,
// libm versus CUDA's math functions, cuFFT versus FFTW):
//  - data movement, dropout masks, fill/copy: exact (0);
//  - element-wise, softmax, losses, norms, the optimizer, the STFTs: 1e-5
//    (double statistics on both sides; expf/log1pf/sinf differ by an ulp or
//    two; FFT round-off of size-256 transforms is ~1e-7 of the largest bin);
//  - GEMM-based ops (linear, batched products, the 1-D convolutions, flash
//    attention) at fp32: 1e-5, sums of up to ~500 products in another order;
//    with TF32 or FP16 inputs (10-bit mantissas, relative rounding 2^-11 per
//    input, fp32 accumulation): 5e-3; with BF16 inputs (7-bit mantissas,
//    2^-8): 2e-2, and 5e-2 for attention, whose exp() turns the scores'
//    absolute error (|scores| up to ~8 here) into a relative one.
//
//===----------------------------------------------------------------------===//

#include "runtime/Backend.h"
#include "tests/unit/CpuTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>

using loco::Backend;
using loco::test::randomVec;
using loco::test::relError;
using loco::test::Vec;

namespace {

struct Param {
  const char *device;
  int math; // LOCO_MATMUL_*
};

const char *mathName(int math) {
  switch (math) {
  case LOCO_MATMUL_TF32:
    return "tf32";
  case LOCO_MATMUL_BF16:
    return "bf16";
  case LOCO_MATMUL_FP16:
    return "fp16";
  default:
    return "fp32";
  }
}

void PrintTo(const Param &param, std::ostream *os) {
  *os << param.device << " (" << mathName(param.math) << ")";
}

std::string paramName(const ::testing::TestParamInfo<Param> &info) {
  std::string name = info.param.device;
  for (char &c : name)
    if (c == ':' || c == '-')
      c = '_';
  return name + "_" + mathName(info.param.math);
}

/// A tensor on both sides: the CPU's copy and the device's.
struct Buf {
  Vec host;
  float *dev = nullptr;
  float *on(bool device) { return device ? dev : host.data(); }
};

/// The backends, opened once per process.
const Backend *cpuBackend(std::string &error) {
  static std::unique_ptr<Backend> backend = Backend::open("cpu", false, error);
  return backend.get();
}
const Backend *deviceBackend(const std::string &kind, std::string &error) {
  static std::map<std::string, std::unique_ptr<Backend>> backends;
  auto &slot = backends[kind];
  if (!slot)
    slot = Backend::open(kind, false, error);
  return slot.get();
}

/// What a step function run through loco_run_step works on (it takes only
/// the context and an arena): the backend's table and its two tensors.
const Backend *gStepApi = nullptr;
float *gStepIn = nullptr, *gStepOut = nullptr;

class Conformance : public ::testing::TestWithParam<Param> {
protected:
  void SetUp() override {
    std::string error;
    cpu = cpuBackend(error);
    ASSERT_NE(cpu, nullptr) << error;
    std::string kind = Backend::kindOfDevice(GetParam().device);
    dev = deviceBackend(kind, error);
#ifdef LOCO_TEST_CUDA_EMULATION
    // The emulation is built with the tests: failing to open it is a bug.
    if (kind == "cuda_emu") {
      ASSERT_NE(dev, nullptr) << error;
    }
#endif
    if (!dev)
      GTEST_SKIP() << "the " << kind << " backend is not built: " << error;
    if (dev->loco_device_count() == 0)
      GTEST_SKIP()
          << "no " << kind << " device on this machine: the "
          << GetParam().device
          << " conformance tests run on the lent GPU (tests/gpu/run.sh)";
    char message[512] = {0};
    cctx = cpu->loco_context_create("cpu", message, sizeof(message));
    ASSERT_NE(cctx, nullptr) << message;
    dctx =
        dev->loco_context_create(GetParam().device, message, sizeof(message));
    ASSERT_NE(dctx, nullptr) << message;
    dev->loco_context_set_matmul_precision(dctx, GetParam().math);
    for (auto [api, ctx] : {std::pair{cpu, cctx}, std::pair{dev, dctx}}) {
      api->loco_context_set_rng(ctx, 1234, 7);
      api->loco_context_set_training(ctx, 1);
      api->loco_context_set_optimizer(ctx, 3, 1e-3);
    }
  }

  void TearDown() override {
    if (dctx) {
      dev->loco_synchronize(dctx);
      EXPECT_EQ(dev->loco_context_error(dctx), nullptr)
          << dev->loco_context_error(dctx);
      for (Buf &b : bufs)
        dev->loco_arena_free(dctx, b.dev);
      dev->loco_context_destroy(dctx);
    }
    if (cctx) {
      EXPECT_EQ(cpu->loco_context_error(cctx), nullptr);
      cpu->loco_context_destroy(cctx);
    }
  }

  /// An input: `values` on both sides.
  Buf &in(const Vec &values) {
    bufs.push_back({values, nullptr});
    Buf &b = bufs.back();
    b.dev = static_cast<float *>(
        dev->loco_arena_alloc(dctx, std::max<size_t>(1, values.size()) * 4));
    upload(b);
    return b;
  }
  /// The CPU's copy of b onto the device's.
  void upload(Buf &b) {
    dev->loco_copy_to_device(dctx, b.dev, b.host.data(), b.host.size() * 4);
  }
  /// An output of n floats, zero on both sides.
  Buf &out(int64_t n) { return in(Vec(n, 0.0f)); }

  /// Runs `call(api, ctx, device)` on the CPU, then on the device.
  template <typename Call> void both(Call call) {
    call(*cpu, cctx, false);
    call(*dev, dctx, true);
    dev->loco_synchronize(dctx);
    ASSERT_EQ(dev->loco_context_error(dctx), nullptr)
        << dev->loco_context_error(dctx);
  }

  /// Runs `step` through loco_run_step on the CPU, then on the device, with
  /// gStepApi, gStepIn and gStepOut set to each side's table and copies of
  /// `input` and `output`.
  void runStep(loco_step_fn step, Buf &input, Buf &output) {
    for (bool device : {false, true}) {
      gStepApi = device ? dev : cpu;
      gStepIn = input.on(device);
      gStepOut = output.on(device);
      gStepApi->loco_run_step(device ? dctx : cctx, step, nullptr);
    }
    dev->loco_synchronize(dctx);
    ASSERT_EQ(dev->loco_context_error(dctx), nullptr)
        << dev->loco_context_error(dctx);
  }

  /// The device's copy of b.
  Vec fetch(const Buf &b) {
    Vec values(b.host.size());
    dev->loco_copy_to_host(dctx, values.data(), b.dev, values.size() * 4);
    return values;
  }

  /// max |device - cpu| / max |cpu| of `b` within `tolerance`.
  void expectClose(const char *what, const Buf &b, double tolerance) {
    double error = relError(fetch(b), b.host);
    std::cout << "[ measured ] " << what << ": " << error << " (tolerance "
              << tolerance << ")\n";
    EXPECT_LE(error, tolerance) << what;
  }
  /// Bit-identical results.
  void expectExact(const char *what, const Buf &b) {
    Vec got = fetch(b);
    int64_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i)
      differ += std::memcmp(&got[i], &b.host[i], 4) != 0;
    EXPECT_EQ(differ, 0) << what << ": elements that differ";
  }

  /// The tolerance of GEMM-based results at this parameter's precision.
  double gemmTolerance() const {
    switch (GetParam().math) {
    case LOCO_MATMUL_TF32:
    case LOCO_MATMUL_FP16:
      return 5e-3;
    case LOCO_MATMUL_BF16:
      return 2e-2;
    default:
      return 1e-5;
    }
  }
  double attentionTolerance() const {
    return GetParam().math == LOCO_MATMUL_BF16 ? 5e-2 : gemmTolerance();
  }

  const Backend *cpu = nullptr, *dev = nullptr;
  loco_context *cctx = nullptr, *dctx = nullptr;
  std::deque<Buf> bufs;
};

using Api = const Backend &;

TEST_P(Conformance, ElementWise) {
  const int64_t n = 100003;
  Vec divisor = randomVec(n, 2, 2.0f);
  for (float &v : divisor)
    v += v >= 0 ? 0.5f : -0.5f; // away from zero for div
  Buf &a = in(randomVec(n, 1)), &b = in(divisor);
  Buf &add = out(n), &sub = out(n), &mul = out(n), &div = out(n);
  Buf &silu = out(n), &scale = out(n), &copy = out(n), &fill = out(n);
  // a's first rows * 2H elements as a SwiGLU input, b's first rows * H as
  // its cotangent.
  const int64_t rows = n / 14, H = 7;
  Buf &siluGrad = out(n), &swiglu = out(rows * H),
      &swigluGrad = out(rows * 2 * H);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_add(ctx, a.on(d), b.on(d), add.on(d), n);
    api.loco_sub(ctx, a.on(d), b.on(d), sub.on(d), n);
    api.loco_mul(ctx, a.on(d), b.on(d), mul.on(d), n);
    api.loco_div(ctx, a.on(d), b.on(d), div.on(d), n);
    api.loco_silu(ctx, a.on(d), silu.on(d), n);
    api.loco_scale(ctx, a.on(d), scale.on(d), n, 0.37);
    api.loco_copy(ctx, a.on(d), copy.on(d), n);
    api.loco_fill(ctx, fill.on(d), n, -2.5);
    api.loco_silu_backward(ctx, a.on(d), b.on(d), siluGrad.on(d), n);
    api.loco_swiglu(ctx, a.on(d), swiglu.on(d), rows, H);
    api.loco_swiglu_backward(ctx, a.on(d), b.on(d), swigluGrad.on(d), rows, H);
  });
  expectExact("add", add);
  expectExact("sub", sub);
  expectExact("mul", mul);
  expectClose("div", div, 1e-6);
  expectClose("silu", silu, 1e-6);
  expectExact("scale", scale);
  expectExact("copy", copy);
  expectExact("fill", fill);
  expectClose("silu_backward", siluGrad, 1e-6);
  expectClose("swiglu", swiglu, 1e-6);
  expectClose("swiglu_backward", swigluGrad, 1e-6);
}

TEST_P(Conformance, DropoutMasksAreTheCpuMasks) {
  const int64_t n = 40001;
  Buf &x = in(randomVec(n, 3)), &r = in(randomVec(n, 4));
  Buf &y = out(n), &chunk = out(n - 5), &off = out(n);
  Buf &sum = out(n), &sumChunk = out(n - 5), &sumOff = out(n);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_dropout(ctx, x.on(d), y.on(d), n, 0.1, 5, 0);
    // A row chunk: offset 5, not a multiple of Philox's block of 4.
    api.loco_dropout(ctx, x.on(d) + 5, chunk.on(d), n - 5, 0.1, 5, 5);
    // The fused residual add: the same masks, and the product is not
    // contracted into an FMA with the sum on either side.
    api.loco_dropout_add(ctx, r.on(d), x.on(d), sum.on(d), n, 0.1, 5, 0);
    api.loco_dropout_add(ctx, r.on(d) + 5, x.on(d) + 5, sumChunk.on(d), n - 5,
                         0.1, 5, 5);
  });
  expectExact("dropout", y);
  expectExact("dropout at offset 5", chunk);
  expectExact("dropout_add", sum);
  expectExact("dropout_add at offset 5", sumChunk);
  for (int64_t i = 0; i < n - 5; ++i)
    ASSERT_EQ(chunk.host[i], y.host[i + 5]) << i;
  // Evaluation: the identity.
  for (auto [api, ctx] : {std::pair{cpu, cctx}, std::pair{dev, dctx}})
    api->loco_context_set_training(ctx, 0);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_dropout(ctx, x.on(d), off.on(d), n, 0.1, 5, 0);
    api.loco_dropout_add(ctx, r.on(d), x.on(d), sumOff.on(d), n, 0.1, 5, 0);
  });
  expectExact("dropout (eval)", off);
  expectExact("dropout_add (eval)", sumOff);
}

TEST_P(Conformance, RopeAndSoftmax) {
  const int64_t outer = 6, L = 301, dim = 24, n = 37, inner = 5;
  Buf &x = in(randomVec(outer * L * dim, 4));
  Buf &r = out(outer * L * dim), &ri = out(outer * L * dim);
  Buf &s = in(randomVec(outer * n * inner, 5, 4.0f)),
      &g = in(randomVec(outer * n * inner, 6));
  Buf &sm = out(outer * n * inner), &smGrad = out(outer * n * inner);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_rope(ctx, x.on(d), r.on(d), outer, L, dim, 10000.0, 0);
    api.loco_rope(ctx, x.on(d), ri.on(d), outer, L, dim, 10000.0, 1);
    api.loco_softmax(ctx, s.on(d), sm.on(d), outer, n, inner);
    api.loco_softmax_backward(ctx, sm.on(d), g.on(d), smGrad.on(d), outer, n,
                              inner);
  });
  expectClose("rope", r, 1e-5);
  expectClose("rope inverse", ri, 1e-5);
  expectClose("softmax", sm, 1e-6);
  expectClose("softmax_backward", smGrad, 1e-5);
}

TEST_P(Conformance, DataMovement) {
  const int64_t shape[4] = {3, 5, 7, 11}, perm[4] = {2, 0, 3, 1};
  const int64_t low[4] = {0, 1, 2, 0}, high[4] = {1, 0, 3, 2};
  const int64_t mask[4] = {0, 1, 0, 1};
  int64_t n = 3 * 5 * 7 * 11, padded = 4 * 6 * 12 * 13;
  Buf &x = in(randomVec(n, 7)), &t = out(n), &p = out(padded);
  Buf &sl = out(3 * 2 * 77), &bc = out(n), &small = in(randomVec(3 * 7, 8));
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_transpose(ctx, x.on(d), t.on(d), 4, shape, perm);
    api.loco_pad(ctx, x.on(d), p.on(d), 4, shape, low, high);
    api.loco_slice(ctx, x.on(d), sl.on(d), 3, 5, 77, 2, 2);
    api.loco_broadcast(ctx, small.on(d), bc.on(d), 4, shape, mask);
  });
  expectExact("transpose", t);
  expectExact("pad", p);
  expectExact("slice", sl);
  expectExact("broadcast", bc);
}

TEST_P(Conformance, Reductions) {
  const int64_t shape[4] = {4, 6, 5, 300};
  int64_t n = 4 * 6 * 5 * 300;
  Buf &x = in(randomVec(n, 9));
  // [kept, reduced], [reduced, kept], [reduced, kept, reduced], full, and a
  // pattern that needs the general walk (kept, reduced, kept, reduced).
  const int64_t patterns[5][4] = {
      {0, 0, 1, 1}, {1, 1, 1, 0}, {1, 0, 1, 1}, {1, 1, 1, 1}, {0, 1, 0, 1}};
  const int64_t counts[5] = {24, 300, 6, 1, 20};
  for (int pattern = 0; pattern < 5; ++pattern)
    for (int64_t mean : {0, 1}) {
      Buf &r = out(counts[pattern]);
      both([&](Api api, loco_context *ctx, bool d) {
        api.loco_reduce(ctx, x.on(d), r.on(d), 4, shape, patterns[pattern],
                        mean);
      });
      expectClose(mean ? "reduce (mean)" : "reduce (sum)", r, 1e-6);
    }
  // A bias gradient's [reduced, kept] over enough rows that the column sums
  // run in parts, finished from the partial sums.
  const int64_t tall[2] = {50000, 40}, overFirst[2] = {1, 0};
  Buf &rows = in(randomVec(tall[0] * tall[1], 23));
  Buf &columns = out(tall[1]);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_reduce(ctx, rows.on(d), columns.on(d), 2, tall, overFirst, 1);
  });
  expectClose("reduce (50000 x 40 over rows, mean)", columns, 1e-6);
  // More segments (kept elements) than the fixed workspace has partial sums
  // (about 1.03 M): one block per segment, finished in place. A sum over
  // the sources of a stereo xlarge batch keeps 1.32 M. The reduction does
  // not depend on the matmul precision: once per device (282 M emulated
  // threads take two minutes on the emulated device).
  if (GetParam().math != LOCO_MATMUL_FP32)
    return;
  const int64_t many[2] = {1100003, 3}, overSecond[2] = {0, 1};
  Buf &wide = in(randomVec(many[0] * many[1], 19));
  Buf &sums = out(many[0]);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_reduce(ctx, wide.on(d), sums.on(d), 2, many, overSecond, 0);
  });
  expectClose("reduce (1100003 segments)", sums, 1e-6);
}

TEST_P(Conformance, MatrixProducts) {
  const int64_t M = 333, K = 96, N = 160, batch = 3;
  Buf &x = in(randomVec(M * K, 10)), &w = in(randomVec(N * K, 11));
  Buf &lin = out(M * N), &g = in(randomVec(M * N, 12)), &wg = out(N * K);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_linear(ctx, x.on(d), w.on(d), lin.on(d), M, K, N);
    api.loco_linear_weight_grad(ctx, x.on(d), g.on(d), wg.on(d), M, K, N);
  });
  expectClose("linear", lin, gemmTolerance());
  expectClose("linear_weight_grad", wg, gemmTolerance());
  // Many rows: the weight gradient's row blocks.
  const int64_t rows = 70000;
  Buf &xs = in(randomVec(rows * 24, 13)), &gs = in(randomVec(rows * 40, 14));
  Buf &wgs = out(40 * 24);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_linear_weight_grad(ctx, xs.on(d), gs.on(d), wgs.on(d), rows, 24,
                                40);
  });
  expectClose("linear_weight_grad (70000 rows)", wgs, gemmTolerance());
  // No rows (an empty row chunk): zeros, whatever the output held.
  Buf &wg0 = in(randomVec(N * K, 16));
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_linear_weight_grad(ctx, x.on(d), g.on(d), wg0.on(d), 0, K, N);
  });
  expectExact("linear_weight_grad (M = 0)", wg0);
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1}) {
      Buf &a = in(randomVec(batch * 45 * 70, 15 + 2 * ta + tb));
      Buf &b = in(randomVec(batch * 70 * 33, 20 + 2 * ta + tb));
      Buf &c = out(batch * 45 * 33);
      both([&](Api api, loco_context *ctx, bool d) {
        api.loco_batch_matmul(ctx, a.on(d), b.on(d), c.on(d), batch, 45, 70, 33,
                              ta, tb);
      });
      expectClose("batch_matmul", c, gemmTolerance());
    }
}

TEST_P(Conformance, Convolutions2d) {
  const int64_t B = 2, Ci = 4, H = 19, W = 33, Co = 8, KH = 3, KW = 3;
  Buf &x = in(randomVec(B * Ci * H * W, 30)),
      &w = in(randomVec(Co * Ci * KH * KW, 31));
  Buf &b = in(randomVec(Co, 32)), &y = out(B * Co * H * W);
  Buf &g = in(randomVec(B * Co * H * W, 33)), &wg = out(Co * Ci * KH * KW);
  // The transpose: x [B, Co, H, W] -> [B, Ci, H, W] with w [Co, Ci, ...].
  Buf &bt = in(randomVec(Ci, 34)), &yt = out(B * Ci * H * W);
  Buf &gt = in(randomVec(B * Ci * H * W, 35)), &wgt = out(Co * Ci * KH * KW);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_conv2d(ctx, x.on(d), w.on(d), b.on(d), y.on(d), B, Ci, H, W, Co,
                    KH, KW, 1, 1);
    api.loco_conv2d_weight_grad(ctx, x.on(d), g.on(d), wg.on(d), B, Ci, H, W,
                                Co, KH, KW, 1, 1);
    api.loco_conv_transpose2d(ctx, g.on(d), w.on(d), bt.on(d), yt.on(d), B, Co,
                              H, W, Ci, KH, KW, 1, 1);
    api.loco_conv_transpose2d_weight_grad(ctx, g.on(d), gt.on(d), wgt.on(d), B,
                                          Co, H, W, Ci, KH, KW, 1, 1);
  });
  expectClose("conv2d", y, 1e-5);
  expectClose("conv2d_weight_grad", wg, 1e-5);
  expectClose("conv_transpose2d", yt, 1e-5);
  expectClose("conv_transpose2d_weight_grad", wgt, 1e-5);
}

TEST_P(Conformance, Convolutions1d) {
  const int64_t R = 37, L = 50, Ci = 24, Co = 96, K = 4;
  for (int64_t stride : {1, 2}) {
    int64_t Lo = (L - K) / stride + 1, Lt = (L - 1) * stride + K;
    Buf &x = in(randomVec(R * L * Ci, 40)), &w = in(randomVec(Co * Ci * K, 41));
    Buf &b = in(randomVec(Co, 42)), &y = out(R * Lo * Co);
    Buf &wt = in(randomVec(Ci * Co * K, 43)), &yt = out(R * Lt * Co);
    both([&](Api api, loco_context *ctx, bool d) {
      api.loco_conv1d(ctx, x.on(d), w.on(d), b.on(d), y.on(d), R, L, Ci, Co, K,
                      stride);
      api.loco_conv_transpose1d(ctx, x.on(d), wt.on(d), b.on(d), yt.on(d), R, L,
                                Ci, Co, K, stride);
    });
    expectClose("conv1d", y, gemmTolerance());
    expectClose("conv_transpose1d", yt, gemmTolerance());
  }
  // Weight gradients (stride 1), over many rows.
  const int64_t rows = 2049;
  Buf &x = in(randomVec(rows * L * Ci, 44)),
      &g = in(randomVec(rows * (L - K + 1) * Co, 45));
  Buf &gt = in(randomVec(rows * (L + K - 1) * Co, 46));
  Buf &wg = out(Co * Ci * K), &wgt = out(Ci * Co * K);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_conv1d_weight_grad(ctx, x.on(d), g.on(d), wg.on(d), rows, L, Ci,
                                Co, K);
    api.loco_conv_transpose1d_weight_grad(ctx, x.on(d), gt.on(d), wgt.on(d),
                                          rows, L, Ci, Co, K);
  });
  // The device kernel sums each tap in fp32 over kWeightGradRows (256)
  // pairs before adding into double: 96,000 pairs here, each fp32 run off
  // by up to ~256 x 2^-24 of its size; measured 1.1e-5 on the emulated
  // device, so 5e-5 (the CPU sums in double).
  expectClose("conv1d_weight_grad", wg, 5e-5);
  expectClose("conv_transpose1d_weight_grad", wgt, 5e-5);
}

TEST_P(Conformance, Normalisation) {
  for (int64_t groups : {1, 2}) {
    const int64_t B = 2, C = 16, S = 3001;
    Buf &x = in(randomVec(B * C * S, 50, 3.0f)), &gamma = in(randomVec(C, 51));
    Buf &beta = in(randomVec(C, 52)), &y = out(B * C * S),
        &g = in(randomVec(B * C * S, 53));
    Buf &dx = out(B * C * S), &dgamma = out(C), &dbeta = out(C);
    both([&](Api api, loco_context *ctx, bool d) {
      api.loco_group_norm(ctx, x.on(d), gamma.on(d), beta.on(d), y.on(d), B, C,
                          S, groups, 1e-5);
      api.loco_group_norm_backward(ctx, x.on(d), gamma.on(d), g.on(d), dx.on(d),
                                   dgamma.on(d), dbeta.on(d), B, C, S, groups,
                                   1e-5);
    });
    expectClose("group_norm", y, 1e-5);
    expectClose("group_norm_backward dx", dx, 1e-5);
    expectClose("group_norm_backward dgamma", dgamma, 1e-5);
    expectClose("group_norm_backward dbeta", dbeta, 1e-5);
  }
  const int64_t rows = 5003, C = 96, groups = 4;
  Buf &x = in(randomVec(rows * C, 54)), &gamma = in(randomVec(C, 55));
  Buf &y = out(rows * C), &g = in(randomVec(rows * C, 56));
  Buf &dx = out(rows * C), &dgamma = out(C);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_rms_group_norm(ctx, x.on(d), gamma.on(d), y.on(d), rows, C, groups,
                            1e-5);
    api.loco_rms_group_norm_backward(ctx, x.on(d), gamma.on(d), g.on(d),
                                     dx.on(d), dgamma.on(d), rows, C, groups,
                                     1e-5);
  });
  expectClose("rms_group_norm", y, 1e-5);
  expectClose("rms_group_norm_backward dx", dx, 1e-5);
  expectClose("rms_group_norm_backward dgamma", dgamma, 1e-5);
}

TEST_P(Conformance, SpectralTransforms) {
  const int64_t B = 2, N = 4096, nFft = 256, hop = 64;
  const int64_t T = 1 + N / hop, F = nFft / 2 + 1;
  Buf &x = in(randomVec(B * N, 60)), &spec = out(B * 2 * T * F);
  Buf &g = in(randomVec(B * 2 * T * F, 61)), &y = out(B * N);
  Buf &gx = out(B * N), &gy = in(randomVec(B * N, 62)),
      &gspec = out(B * 2 * T * F);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_stft(ctx, x.on(d), spec.on(d), B, N, nFft, hop);
    api.loco_istft(ctx, spec.on(d), y.on(d), B, T, nFft, hop, N);
    api.loco_stft_backward(ctx, g.on(d), gx.on(d), B, N, nFft, hop);
    api.loco_istft_backward(ctx, gy.on(d), gspec.on(d), B, T, nFft, hop, N);
  });
  // The inverse of a random spectrum: the DC and Nyquist bins' imaginary
  // parts are far from zero (an STFT's are ~0), and must be ignored.
  Buf &random = in(randomVec(B * 2 * T * F, 63)), &ry = out(B * N);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_istft(ctx, random.on(d), ry.on(d), B, T, nFft, hop, N);
  });
  expectClose("stft", spec, 1e-5);
  expectClose("istft", y, 1e-5);
  expectClose("istft (random spectrum)", ry, 1e-5);
  expectClose("stft_backward", gx, 1e-5);
  expectClose("istft_backward", gspec, 1e-5);
}

TEST_P(Conformance, Losses) {
  const int64_t B = 3, N = 20000, frames = 40, F = 129;
  Buf &e = in(randomVec(B * N, 70)), &t = in(randomVec(B * N, 71));
  Buf &sdr = out(B), &l1 = out(1), &mse = out(1), &one = in(Vec{0.7f});
  Buf &gsdr = in(randomVec(B, 72)), &dsdr = out(B * N), &dl1 = out(B * N),
      &dmse = out(B * N);
  Buf &E = in(randomVec(B * 2 * frames * F, 73)),
      &T = in(randomVec(B * 2 * frames * F, 74));
  Buf &spec = out(1), &dspec = out(B * 2 * frames * F);
  both([&](Api api, loco_context *ctx, bool d) {
    api.loco_si_sdr(ctx, e.on(d), t.on(d), sdr.on(d), B, N, 1e-8);
    api.loco_l1_loss(ctx, e.on(d), t.on(d), l1.on(d), B * N);
    api.loco_mse_loss(ctx, e.on(d), t.on(d), mse.on(d), B * N);
    api.loco_spectral_l1(ctx, E.on(d), T.on(d), spec.on(d), B, frames, F);
    api.loco_si_sdr_backward(ctx, e.on(d), t.on(d), gsdr.on(d), dsdr.on(d), B,
                             N, 1e-8);
    api.loco_l1_loss_backward(ctx, e.on(d), t.on(d), one.on(d), dl1.on(d),
                              B * N);
    api.loco_mse_loss_backward(ctx, e.on(d), t.on(d), one.on(d), dmse.on(d),
                               B * N);
    api.loco_spectral_l1_backward(ctx, E.on(d), T.on(d), one.on(d), dspec.on(d),
                                  B, frames, F);
  });
  expectClose("si_sdr", sdr, 1e-5);
  expectClose("l1_loss", l1, 1e-6);
  expectClose("mse_loss", mse, 1e-6);
  expectClose("spectral_l1", spec, 1e-5);
  expectClose("si_sdr_backward", dsdr, 1e-5);
  expectExact("l1_loss_backward", dl1);
  expectClose("mse_loss_backward", dmse, 1e-6);
  expectClose("spectral_l1_backward", dspec, 1e-5);
}

TEST_P(Conformance, OptimizerStep) {
  const int64_t n1 = 70001, n2 = 513;
  Buf &g1 = in(randomVec(n1, 80, 30.0f)), &g2 = in(randomVec(n2, 81, 30.0f));
  Buf &p1 = in(randomVec(n1, 82)), &m1 = in(randomVec(n1, 83, 0.1f));
  Vec secondMoments = randomVec(n1, 84, 0.01f);
  for (float &v : secondMoments) // non-negative
    v = std::fabs(v);
  Buf &v1 = in(secondMoments);
  Buf &scratch = out(sizeof(loco_optimizer_scratch) / 4);
  both([&](Api api, loco_context *ctx, bool d) {
    auto *s = reinterpret_cast<loco_optimizer_scratch *>(scratch.on(d));
    api.loco_grad_norm_begin(ctx, s);
    api.loco_grad_norm_accumulate(ctx, g1.on(d), n1, s);
    api.loco_grad_norm_accumulate(ctx, g2.on(d), n2, s);
    api.loco_grad_norm_finish(ctx, s, 5.0);
    api.loco_adamw_check(ctx, p1.on(d), g1.on(d), m1.on(d), v1.on(d), n1, s,
                         0.9, 0.999, 1e-8, 0.01);
    api.loco_adamw(ctx, p1.on(d), g1.on(d), m1.on(d), v1.on(d), n1, s, 0.9,
                   0.999, 1e-8, 0.01);
  });
  loco_optimizer_scratch mine, theirs;
  auto fetchScratch = [&] {
    dev->loco_copy_to_host(dctx, &mine, scratch.dev, sizeof(mine));
    std::memcpy(&theirs, scratch.host.data(), sizeof(theirs));
  };
  fetchScratch();
  EXPECT_NEAR(mine.sum_squares, theirs.sum_squares, 1e-12 * theirs.sum_squares);
  // The sums of squares add in another order: the norm and coefficient may
  // round to a neighbouring float.
  EXPECT_NEAR(mine.grad_norm, theirs.grad_norm, 1e-6 * theirs.grad_norm);
  EXPECT_NEAR(mine.clip_coef, theirs.clip_coef, 1e-6 * theirs.clip_coef);
  EXPECT_EQ(mine.nonfinite_updates, 0);
  EXPECT_EQ(theirs.nonfinite_updates, 0);
  expectClose("adamw p", p1, 1e-6);
  expectClose("adamw m", m1, 1e-6);
  expectClose("adamw v", v1, 1e-6);
  expectExact("adamw zeroes the gradient", g1);

  // One optimizer step of a single parameter, as the compiled step runs it.
  auto step = [&](Buf &p, Buf &g, Buf &m, Buf &v) {
    both([&](Api api, loco_context *ctx, bool d) {
      auto *s = reinterpret_cast<loco_optimizer_scratch *>(scratch.on(d));
      api.loco_grad_norm_begin(ctx, s);
      api.loco_grad_norm_accumulate(ctx, g.on(d), n2, s);
      api.loco_grad_norm_finish(ctx, s, 5.0);
      api.loco_adamw_check(ctx, p.on(d), g.on(d), m.on(d), v.on(d), n2, s, 0.9,
                           0.999, 1e-8, 0.01);
      api.loco_adamw(ctx, p.on(d), g.on(d), m.on(d), v.on(d), n2, s, 0.9, 0.999,
                     1e-8, 0.01);
    });
    fetchScratch();
  };

  // A NaN in one gradient: the whole step is skipped on both backends.
  Vec poisoned = randomVec(n2, 85);
  poisoned[17] = std::nanf("");
  Buf &g3 = in(poisoned), &p3 = in(randomVec(n2, 86));
  Buf &m3 = in(randomVec(n2, 87, 0.1f)), &v3 = in(Vec(n2, 0.01f));
  Vec before = p3.host;
  step(p3, g3, m3, v3);
  ASSERT_EQ(p3.host, before) << "the CPU applied a non-finite step";
  expectExact("adamw skips a non-finite step: p", p3);
  expectExact("adamw skips a non-finite step: m", m3);
  expectExact("adamw skips a non-finite step: v", v3);
  expectExact("adamw skips a non-finite step: g zeroed", g3);

  // Finite gradients, one update that overflows (decay -9999 on 1e35): the
  // check counts it on both backends and the whole step is skipped.
  for (auto [api, ctx] : {std::pair{cpu, cctx}, std::pair{dev, dctx}})
    api->loco_context_set_optimizer(ctx, 3, 1e6);
  Vec weights = randomVec(n2, 88);
  weights[100] = 1e35f;
  Buf &g4 = in(randomVec(n2, 89)), &p4 = in(weights);
  Buf &m4 = in(randomVec(n2, 90, 0.1f)), &v4 = in(Vec(n2, 0.01f));
  step(p4, g4, m4, v4);
  EXPECT_EQ(theirs.nonfinite_updates, 1);
  EXPECT_EQ(mine.nonfinite_updates, 1);
  ASSERT_EQ(p4.host, weights) << "the CPU applied an overflowing step";
  expectExact("adamw skips an overflowing step: p", p4);
  expectExact("adamw skips an overflowing step: m", m4);
}

struct AttentionShape {
  int64_t batch, Lq, Lk, d, dv;
  double p;
};

TEST_P(Conformance, FlashAttention) {
  for (AttentionShape s : {AttentionShape{6, 70, 131, 16, 16, 0.0},
                           AttentionShape{4, 129, 64, 24, 24, 0.0},
                           AttentionShape{3, 200, 77, 32, 32, 0.1},
                           AttentionShape{2, 65, 65, 24, 24, 0.2}}) {
    SCOPED_TRACE("batch " + std::to_string(s.batch) + " Lq " +
                 std::to_string(s.Lq) + " Lk " + std::to_string(s.Lk) + " d " +
                 std::to_string(s.d) + " p " + std::to_string(s.p));
    double scale = 1.0 / std::sqrt(static_cast<double>(s.d));
    Buf &q = in(randomVec(s.batch * s.Lq * s.d, 90, 2.0f));
    Buf &k = in(randomVec(s.batch * s.Lk * s.d, 91, 2.0f));
    Buf &v = in(randomVec(s.batch * s.Lk * s.dv, 92));
    Buf &o = out(s.batch * s.Lq * s.dv), &lse = out(s.batch * s.Lq);
    Buf &dout = in(randomVec(s.batch * s.Lq * s.dv, 93));
    Buf &dq = out(s.batch * s.Lq * s.d), &dk = out(s.batch * s.Lk * s.d);
    Buf &dv = out(s.batch * s.Lk * s.dv);
    // With dropout: a row chunk's offset into the probability tensor.
    int64_t offset = s.p > 0 ? 13 : 0, stream = s.p > 0 ? 9 : -1;
    both([&](Api api, loco_context *ctx, bool d) {
      api.loco_flash_attention(ctx, q.on(d), k.on(d), v.on(d), o.on(d),
                               lse.on(d), s.batch, s.Lq, s.Lk, s.d, s.dv, scale,
                               s.p, stream, offset);
    });
    expectClose("flash_attention out", o, attentionTolerance());
    expectClose("flash_attention lse", lse, attentionTolerance());
    // The backward from the CPU's forward on both sides, so that each
    // kernel is compared on the same inputs.
    upload(o);
    upload(lse);
    both([&](Api api, loco_context *ctx, bool d) {
      api.loco_flash_attention_backward(ctx, q.on(d), k.on(d), v.on(d), o.on(d),
                                        lse.on(d), dout.on(d), dq.on(d),
                                        dk.on(d), dv.on(d), s.batch, s.Lq, s.Lk,
                                        s.d, s.dv, scale, s.p, stream, offset);
    });
    expectClose("flash_attention_backward dq", dq, attentionTolerance());
    expectClose("flash_attention_backward dk", dk, attentionTolerance());
    expectClose("flash_attention_backward dv", dv, attentionTolerance());
  }
}

// rows x heads on grid.x: more than 65535 batch entries (B * F * heads for
// the large configs), which a grid.y/z placement cannot launch.
TEST_P(Conformance, FlashAttentionManyBatchEntries) {
  // The grid placement of more batch entries than grid.y holds; on the
  // emulated device (40 s a precision) at fp32 only: FlashAttention covers
  // every precision's tensor-core path there.
  if (std::string(GetParam().device) == "cuda-emu" &&
      GetParam().math != LOCO_MATMUL_FP32)
    GTEST_SKIP() << "emulated at fp32 only (the tile products of each "
                    "precision run in FlashAttention)";
  const int64_t batch = 70001, L = 7, d = 16;
  Buf &q = in(randomVec(batch * L * d, 94)),
      &k = in(randomVec(batch * L * d, 95));
  Buf &v = in(randomVec(batch * L * d, 96)), &o = out(batch * L * d);
  Buf &lse = out(batch * L), &dout = in(randomVec(batch * L * d, 97));
  Buf &dq = out(batch * L * d), &dk = out(batch * L * d),
      &dv = out(batch * L * d);
  both([&](Api api, loco_context *ctx, bool dev) {
    api.loco_flash_attention(ctx, q.on(dev), k.on(dev), v.on(dev), o.on(dev),
                             lse.on(dev), batch, L, L, d, d, 0.25, 0.0, -1, 0);
    api.loco_flash_attention_backward(ctx, q.on(dev), k.on(dev), v.on(dev),
                                      o.on(dev), lse.on(dev), dout.on(dev),
                                      dq.on(dev), dk.on(dev), dv.on(dev), batch,
                                      L, L, d, d, 0.25, 0.0, -1, 0);
  });
  expectClose("flash_attention out (70001 entries)", o, attentionTolerance());
  expectClose("flash_attention dq (70001 entries)", dq, attentionTolerance());
  expectClose("flash_attention dk (70001 entries)", dk, attentionTolerance());
  expectClose("flash_attention dv (70001 entries)", dv, attentionTolerance());
}

// A step run through loco_run_step: eager, captured, then replayed as a
// graph; each replay must draw the dropout of the step it runs in.
constexpr int64_t kStepElements = 10007;
void dropoutStep(loco_context *ctx, void *) {
  gStepApi->loco_dropout(ctx, gStepIn, gStepOut, kStepElements, 0.3, 2, 0);
  gStepApi->loco_scale(ctx, gStepOut, gStepOut, kStepElements, 2.0);
}

TEST_P(Conformance, CapturedStepsReplayWithNewScalars) {
  Buf &x = in(randomVec(kStepElements, 98)), &y = out(kStepElements);
  for (uint64_t step = 0; step < 4; ++step) {
    for (auto [api, ctx] : {std::pair{cpu, cctx}, std::pair{dev, dctx}})
      api->loco_context_set_rng(ctx, 99, step);
    runStep(dropoutStep, x, y);
    SCOPED_TRACE("step " + std::to_string(step));
    expectExact("captured dropout step", y);
  }
  // The same results come from an eager fallback: prove the replay. The
  // first call runs eagerly, the second captures and launches, the others
  // launch the graph (graphs are off under LOCO_CUDA_SYNC or
  // LOCO_CUDA_GRAPHS=0, and then nothing is captured).
  std::string described = dev->loco_context_describe(dctx);
  std::cout << "[ measured ] " << described << "\n";
  if (described.find("CUDA graphs") != std::string::npos) {
    EXPECT_NE(described.find("1 graph(s) captured, 3 graph launch(es)"),
              std::string::npos)
        << described;
  }
}

// A step whose capture fails (here: its second call needs a cuFFT plan of
// a new size, which cannot be made while capturing) still runs, eagerly,
// with graphs off for the context from then on; nothing is dropped and no
// error remains.
int64_t gFftSize = 0;
constexpr int64_t kSignal = 4096, kHop = 64;
void stftStep(loco_context *ctx, void *) {
  gStepApi->loco_stft(ctx, gStepIn, gStepOut, 1, kSignal, gFftSize, kHop);
}

TEST_P(Conformance, FailedCaptureRunsTheStepEagerly) {
  Buf &x = in(randomVec(kSignal, 99));
  // The largest spectrum: 256-point frames.
  Buf &spectrum = out(2 * (1 + kSignal / kHop) * 129);
  for (int64_t call = 0; call < 3; ++call) {
    gFftSize = int64_t(64) << call; // a new size, so a new plan, each call
    SCOPED_TRACE("call " + std::to_string(call));
    runStep(stftStep, x, spectrum);
    expectClose("stft step", spectrum, 1e-5);
  }
  // The fallback is visible (graphs were on, unless LOCO_CUDA_SYNC or
  // LOCO_CUDA_GRAPHS=0 turned them off).
  std::string described = dev->loco_context_describe(dctx);
  if (described.find("CUDA graphs") != std::string::npos) {
    EXPECT_NE(described.find("CUDA graphs off after a failed capture"),
              std::string::npos)
        << described;
  }
}

TEST_P(Conformance, DeviceMemoryIsAccounted) {
  int64_t before = 0, peak = 0;
  before = dev->loco_context_device_memory(dctx, &peak);
  const int64_t bytes = int64_t(256) << 20;
  void *arena = dev->loco_arena_alloc(dctx, bytes);
  ASSERT_NE(arena, nullptr);
  int64_t after = dev->loco_context_device_memory(dctx, &peak);
  std::cout << "[ measured ] device memory before/after a 256 MiB arena: "
            << before << " / " << after << " bytes, peak " << peak << "\n";
  EXPECT_GE(after - before, bytes);
  EXPECT_LE(after - before, bytes + (int64_t(8) << 20));
  dev->loco_arena_free(dctx, arena);
}

// bf16 and f16 storage (loco-autocast's kernels): the same inputs, rounded
// to the type on the CPU, on both backends. Tolerances: data movement,
// casts, fill, copy, dropout and the exact fp32 element-wise ops (add, sub,
// mul, scale: one rounding of the same fp32 value): exact; element-wise ops
// through expf or a division: one ulp of the type (2^-7 of bf16's largest
// magnitude, 2^-10 of f16's); reductions, GEMMs, convolutions (fp32 sums
// in another order, then one rounding): 2 ulps; attention: 4 ulps (exp()
// of the scores' rounding).
struct HalfTable {
  const char *name;
  double ulp; // relative spacing at 1: 2^-7 (bf16), 2^-10 (f16)
#define LOCO_HALF_MEMBER(kernel)                                               \
  decltype(&::loco_##kernel##_bf16) Backend::*kernel;
  LOCO_HALF_MEMBER(add)
  LOCO_HALF_MEMBER(mul)
  LOCO_HALF_MEMBER(silu)
  LOCO_HALF_MEMBER(scale)
  LOCO_HALF_MEMBER(silu_backward)
  LOCO_HALF_MEMBER(dropout)
  LOCO_HALF_MEMBER(dropout_add)
  LOCO_HALF_MEMBER(transpose)
  LOCO_HALF_MEMBER(pad)
  LOCO_HALF_MEMBER(reduce)
  LOCO_HALF_MEMBER(linear)
  LOCO_HALF_MEMBER(linear_weight_grad)
  LOCO_HALF_MEMBER(batch_matmul)
  LOCO_HALF_MEMBER(conv1d)
  LOCO_HALF_MEMBER(conv1d_weight_grad)
  LOCO_HALF_MEMBER(conv2d)
  LOCO_HALF_MEMBER(conv_transpose1d)
  LOCO_HALF_MEMBER(conv_transpose1d_weight_grad)
  LOCO_HALF_MEMBER(conv_transpose2d)
  LOCO_HALF_MEMBER(conv2d_weight_grad)
  LOCO_HALF_MEMBER(conv_transpose2d_weight_grad)
  LOCO_HALF_MEMBER(flash_attention)
  LOCO_HALF_MEMBER(flash_attention_backward)
#undef LOCO_HALF_MEMBER
  decltype(&::loco_dropout_add_f32_bf16) Backend::*dropout_add_f32;
  decltype(&::loco_cast_f32_bf16) Backend::*down;
  decltype(&::loco_cast_bf16_f32) Backend::*up;
};
#define LOCO_HALF_TABLE(S, ULP)                                                \
  HalfTable {                                                                  \
    #S, ULP, &Backend::loco_add_##S, &Backend::loco_mul_##S,                   \
        &Backend::loco_silu_##S, &Backend::loco_scale_##S,                     \
        &Backend::loco_silu_backward_##S, &Backend::loco_dropout_##S,          \
        &Backend::loco_dropout_add_##S, &Backend::loco_transpose_##S,          \
        &Backend::loco_pad_##S, &Backend::loco_reduce_##S,                     \
        &Backend::loco_linear_##S, &Backend::loco_linear_weight_grad_##S,      \
        &Backend::loco_batch_matmul_##S, &Backend::loco_conv1d_##S,            \
        &Backend::loco_conv1d_weight_grad_##S, &Backend::loco_conv2d_##S,      \
        &Backend::loco_conv_transpose1d_##S,                                   \
        &Backend::loco_conv_transpose1d_weight_grad_##S,                       \
        &Backend::loco_conv_transpose2d_##S,                                   \
        &Backend::loco_conv2d_weight_grad_##S,                                 \
        &Backend::loco_conv_transpose2d_weight_grad_##S,                       \
        &Backend::loco_flash_attention_##S,                                    \
        &Backend::loco_flash_attention_backward_##S,                           \
        &Backend::loco_dropout_add_f32_##S, &Backend::loco_cast_f32_##S,       \
        &Backend::loco_cast_##S##_f32                                          \
  }

TEST_P(Conformance, ReducedPrecisionStorage) {
  for (const HalfTable &t :
       {LOCO_HALF_TABLE(bf16, 1.0 / 128), LOCO_HALF_TABLE(f16, 1.0 / 1024)}) {
    SCOPED_TRACE(t.name);
    // The products run at the storage's own precision where the parameter
    // is the other half type: loco-autocast stores f16 only under FP16
    // products and bf16 only under BF16, and f16 values rounded to bf16
    // inputs would be 2-3 f16 ulps off (a failure that no run can meet).
    bool f16 = std::string(t.name) == "f16";
    int math = GetParam().math;
    if (math == LOCO_MATMUL_BF16 && f16)
      math = LOCO_MATMUL_FP16;
    else if (math == LOCO_MATMUL_FP16 && !f16)
      math = LOCO_MATMUL_BF16;
    dev->loco_context_set_matmul_precision(dctx, math);
    // Half tensors live in float buffers of half the element count (the
    // harness allocates and copies float buffers); `half(b)` is the view.
    auto half = [](Buf &b, bool d) {
      return reinterpret_cast<loco_half *>(b.on(d));
    };
    // Values rounded to the type on the CPU, then copied to the device.
    auto hin = [&](const Vec &values) -> Buf & {
      Buf &b = out((values.size() + 1) / 2);
      (cpu->*t.down)(cctx, values.data(), half(b, false), values.size());
      upload(b);
      return b;
    };
    auto hout = [&](int64_t n) -> Buf & { return out((n + 1) / 2); };
    // Both sides' results widened on the CPU, compared in units of the
    // type's spacing at the reference's largest magnitude.
    auto check = [&](const char *what, Buf &b, int64_t n, double ulps) {
      Vec device = fetch(b), host(n), fromDevice(n);
      (cpu->*t.up)(cctx, half(b, false), host.data(), n);
      (cpu->*t.up)(cctx, reinterpret_cast<const loco_half *>(device.data()),
                   fromDevice.data(), n);
      double error = relError(fromDevice, host);
      std::cout << "[ measured ] " << t.name << " " << what << ": " << error
                << " (tolerance " << ulps * t.ulp << ")\n";
      EXPECT_LE(error, ulps * t.ulp) << what;
    };
    const int64_t n = 30001;
    Vec divisorless = randomVec(n, 2);
    Buf &a = hin(randomVec(n, 1)), &b = hin(divisorless);
    Buf &add = hout(n), &mul = hout(n), &silu = hout(n), &scale = hout(n),
        &siluGrad = hout(n), &drop = hout(n), &dropAdd = hout(n);
    Buf &residual = in(randomVec(n, 9)), &dropAddMixed = out(n);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.add)(ctx, half(a, d), half(b, d), half(add, d), n);
      (api.*t.mul)(ctx, half(a, d), half(b, d), half(mul, d), n);
      (api.*t.silu)(ctx, half(a, d), half(silu, d), n);
      (api.*t.scale)(ctx, half(a, d), half(scale, d), n, 0.37);
      (api.*t.silu_backward)(ctx, half(a, d), half(b, d), half(siluGrad, d), n);
      (api.*t.dropout)(ctx, half(a, d), half(drop, d), n, 0.3, 5, 11);
      (api.*t.dropout_add)(ctx, half(b, d), half(a, d), half(dropAdd, d), n,
                           0.3, 5, 11);
      (api.*t.dropout_add_f32)(ctx, residual.on(d), half(a, d),
                               dropAddMixed.on(d), n, 0.3, 5, 11);
    });
    check("add", add, n, 0);
    check("mul", mul, n, 0);
    check("silu", silu, n, 1);
    check("scale", scale, n, 0);
    check("silu_backward", siluGrad, n, 1);
    check("dropout", drop, n, 0);
    check("dropout_add", dropAdd, n, 0);
    expectExact("dropout_add (f32 residual)", dropAddMixed);

    int64_t shape[] = {5, 7, 9}, perm[] = {2, 0, 1}, low[] = {0, 2, 1},
            high[] = {1, 0, 3}, reduceDims[] = {1, 0, 1};
    Buf &x = hin(randomVec(5 * 7 * 9, 3));
    Buf &tr = hout(5 * 7 * 9), &pd = hout(6 * 9 * 13), &rd = hout(7);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.transpose)(ctx, half(x, d), half(tr, d), 3, shape, perm);
      (api.*t.pad)(ctx, half(x, d), half(pd, d), 3, shape, low, high);
      (api.*t.reduce)(ctx, half(x, d), half(rd, d), 3, shape, reduceDims, 0);
    });
    check("transpose", tr, 5 * 7 * 9, 0);
    check("pad", pd, 6 * 9 * 13, 0);
    check("reduce", rd, 7, 2);

    const int64_t M = 333, K = 96, N = 160;
    Buf &xm = hin(randomVec(M * K, 10)), &w = hin(randomVec(N * K, 11));
    Buf &g = hin(randomVec(M * N, 12)), &lin = hout(M * N), &wg = hout(N * K);
    Buf &c = hout(3 * 45 * 33);
    Buf &ba = hin(randomVec(3 * 45 * 70, 13)),
        &bb = hin(randomVec(3 * 33 * 70, 14));
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.linear)(ctx, half(xm, d), half(w, d), half(lin, d), M, K, N);
      (api.*t.linear_weight_grad)(ctx, half(xm, d), half(g, d), half(wg, d), M,
                                  K, N);
      (api.*t.batch_matmul)(ctx, half(ba, d), half(bb, d), half(c, d), 3, 45,
                            70, 33, 0, 1);
    });
    check("linear", lin, M * N, 2);
    check("linear_weight_grad", wg, N * K, 2);
    check("batch_matmul", c, 3 * 45 * 33, 2);

    const int64_t R = 37, L = 50, Ci = 24, Co = 96, Kc = 4, Lo = L - Kc + 1;
    Buf &xc = hin(randomVec(R * L * Ci, 40)),
        &wc = hin(randomVec(Co * Ci * Kc, 41));
    Buf &bc = hin(randomVec(Co, 42)), &yc = hout(R * Lo * Co);
    Buf &gc = hin(randomVec(R * Lo * Co, 43)), &wgc = hout(Co * Ci * Kc);
    Buf &x2 = hin(randomVec(2 * 4 * 19 * 33, 44)),
        &w2 = hin(randomVec(8 * 4 * 9, 45));
    Buf &b2 = hin(randomVec(8, 46)), &y2 = hout(2 * 8 * 19 * 33);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.conv1d)(ctx, half(xc, d), half(wc, d), half(bc, d), half(yc, d),
                      R, L, Ci, Co, Kc, 1);
      (api.*t.conv1d_weight_grad)(ctx, half(xc, d), half(gc, d), half(wgc, d),
                                  R, L, Ci, Co, Kc);
      (api.*t.conv2d)(ctx, half(x2, d), half(w2, d), half(b2, d), half(y2, d),
                      2, 4, 19, 33, 8, 3, 3, 1, 1);
    });
    check("conv1d", yc, R * Lo * Co, 2);
    check("conv1d_weight_grad", wgc, Co * Ci * Kc, 2);
    check("conv2d", y2, 2 * 8 * 19 * 33, 2);

    // The transposes (stride 2: the FFN's up-sampling) and the 2-D weight
    // gradients, same tolerances.
    const int64_t Lt = 2 * (L - 1) + Kc;
    Buf &xt = hin(randomVec(R * L * Co, 47)),
        &wt = hin(randomVec(Co * Ci * Kc, 48));
    Buf &bt = hin(randomVec(Ci, 49)), &yt = hout(R * Lt * Ci);
    Buf &gt = hin(randomVec(R * (L + Kc - 1) * Ci, 50)),
        &wgt = hout(Co * Ci * Kc);
    Buf &g2 = hin(randomVec(2 * 8 * 19 * 33, 51)), &wg2 = hout(8 * 4 * 9);
    Buf &x2t = hin(randomVec(2 * 8 * 19 * 33, 52)),
        &y2t = hout(2 * 4 * 19 * 33);
    Buf &wg2t = hout(8 * 4 * 9);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.conv_transpose1d)(ctx, half(xt, d), half(wt, d), half(bt, d),
                                half(yt, d), R, L, Co, Ci, Kc, 2);
      (api.*t.conv_transpose1d_weight_grad)(ctx, half(xt, d), half(gt, d),
                                            half(wgt, d), R, L, Co, Ci, Kc);
      (api.*t.conv2d_weight_grad)(ctx, half(x2, d), half(g2, d), half(wg2, d),
                                  2, 4, 19, 33, 8, 3, 3, 1, 1);
      (api.*t.conv_transpose2d)(ctx, half(x2t, d), half(w2, d), half(b2, d),
                                half(y2t, d), 2, 8, 19, 33, 4, 3, 3, 1, 1);
      (api.*t.conv_transpose2d_weight_grad)(ctx, half(x2t, d), half(x2, d),
                                            half(wg2t, d), 2, 8, 19, 33, 4, 3,
                                            3, 1, 1);
    });
    check("conv_transpose1d", yt, R * Lt * Ci, 2);
    check("conv_transpose1d_weight_grad", wgt, Co * Ci * Kc, 2);
    check("conv2d_weight_grad", wg2, 8 * 4 * 9, 2);
    check("conv_transpose2d", y2t, 2 * 4 * 19 * 33, 2);
    check("conv_transpose2d_weight_grad", wg2t, 8 * 4 * 9, 2);
    // More rows than one block of fp32 sums holds (the CUDA backend sums
    // 464 of these rows at a time): the blocks are rounded into place.
    if (!f16) {
      const int64_t Rb = 1000;
      Buf &xb = hin(randomVec(Rb * L * Ci, 53)), &yb = hout(Rb * Lo * Co);
      both([&](Api api, loco_context *ctx, bool d) {
        (api.*t.conv1d)(ctx, half(xb, d), half(wc, d), half(bc, d), half(yb, d),
                        Rb, L, Ci, Co, Kc, 1);
      });
      check("conv1d (1000 rows)", yb, Rb * Lo * Co, 2);
    }

    const int64_t B = 6, Lq = 70, Lk = 131, dh = 16;
    Buf &q = hin(randomVec(B * Lq * dh, 90)),
        &k = hin(randomVec(B * Lk * dh, 91));
    Buf &v = hin(randomVec(B * Lk * dh, 92)),
        &dout = hin(randomVec(B * Lq * dh, 93));
    Buf &o = hout(B * Lq * dh), &lse = out(B * Lq);
    Buf &dq = hout(B * Lq * dh), &dk = hout(B * Lk * dh),
        &dv = hout(B * Lk * dh);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.flash_attention)(ctx, half(q, d), half(k, d), half(v, d),
                               half(o, d), lse.on(d), B, Lq, Lk, dh, dh, 0.25,
                               0.0, -1, 0);
    });
    check("flash_attention out", o, B * Lq * dh, 4);
    expectClose("flash_attention lse", lse, 4 * t.ulp);
    upload(o);
    upload(lse);
    both([&](Api api, loco_context *ctx, bool d) {
      (api.*t.flash_attention_backward)(ctx, half(q, d), half(k, d), half(v, d),
                                        half(o, d), lse.on(d), half(dout, d),
                                        half(dq, d), half(dk, d), half(dv, d),
                                        B, Lq, Lk, dh, dh, 0.25, 0.0, -1, 0);
    });
    check("flash_attention_backward dq", dq, B * Lq * dh, 4);
    check("flash_attention_backward dk", dk, B * Lk * dh, 4);
    check("flash_attention_backward dv", dv, B * Lk * dh, 4);
  }
}

// The device's bf16/f16 attention reads and writes its storage directly:
// it must compute exactly what its fp32 entry points compute on the
// widened inputs, rounded once (the staged form it replaced), dropout and
// a row chunk's offset included.
TEST_P(Conformance, HalfAttentionIsFp32OnWidenedInputs) {
  for (const HalfTable &t :
       {LOCO_HALF_TABLE(bf16, 1.0 / 128), LOCO_HALF_TABLE(f16, 1.0 / 1024)}) {
    SCOPED_TRACE(t.name);
    const int64_t B = 3, Lq = 70, Lk = 77, dh = 24;
    auto half = [](Buf &b) { return reinterpret_cast<loco_half *>(b.dev); };
    // A 16-bit tensor on the device and its fp32 widening.
    auto pair = [&](int64_t n, uint32_t seed) {
      Vec values = randomVec(n, seed), widened(n);
      Vec packed((n + 1) / 2);
      auto *bits = reinterpret_cast<loco_half *>(packed.data());
      (cpu->*t.down)(cctx, values.data(), bits, n);
      (cpu->*t.up)(cctx, bits, widened.data(), n);
      return std::pair<Buf *, Buf *>{&in(packed), &in(widened)};
    };
    auto [q, q32] = pair(B * Lq * dh, 90);
    auto [k, k32] = pair(B * Lk * dh, 91);
    auto [v, v32] = pair(B * Lk * dh, 92);
    auto [dout, dout32] = pair(B * Lq * dh, 93);
    Buf &o = out((B * Lq * dh + 1) / 2), &o32 = out(B * Lq * dh);
    Buf &lse = out(B * Lq), &lse32 = out(B * Lq);
    Buf &dq = out((B * Lq * dh + 1) / 2), &dk = out((B * Lk * dh + 1) / 2),
        &dv = out((B * Lk * dh + 1) / 2);
    Buf &dq32 = out(B * Lq * dh), &dk32 = out(B * Lk * dh),
        &dv32 = out(B * Lk * dh);
    (dev->*t.flash_attention)(dctx, half(*q), half(*k), half(*v), half(o),
                              lse.dev, B, Lq, Lk, dh, dh, 0.25, 0.1, 9, 13);
    dev->loco_flash_attention(dctx, q32->dev, k32->dev, v32->dev, o32.dev,
                              lse32.dev, B, Lq, Lk, dh, dh, 0.25, 0.1, 9, 13);
    // The backward from the fp32 side's output, rounded as the 16-bit side
    // stores it.
    Vec out32 = fetch(o32), rounded((B * Lq * dh + 1) / 2),
        widenedOut(B * Lq * dh);
    auto *roundedBits = reinterpret_cast<loco_half *>(rounded.data());
    (cpu->*t.down)(cctx, out32.data(), roundedBits, B * Lq * dh);
    (cpu->*t.up)(cctx, roundedBits, widenedOut.data(), B * Lq * dh);
    Buf &oh = in(rounded), &oh32 = in(widenedOut);
    (dev->*t.flash_attention_backward)(
        dctx, half(*q), half(*k), half(*v), half(oh), lse32.dev, half(*dout),
        half(dq), half(dk), half(dv), B, Lq, Lk, dh, dh, 0.25, 0.1, 9, 13);
    dev->loco_flash_attention_backward(
        dctx, q32->dev, k32->dev, v32->dev, oh32.dev, lse32.dev, dout32->dev,
        dq32.dev, dk32.dev, dv32.dev, B, Lq, Lk, dh, dh, 0.25, 0.1, 9, 13);
    dev->loco_synchronize(dctx);
    ASSERT_EQ(dev->loco_context_error(dctx), nullptr);
    auto expectRoundedEqual = [&](const char *what, const Buf &h, const Buf &f,
                                  int64_t n) {
      Vec got = fetch(h), wide = fetch(f), want((n + 1) / 2);
      (cpu->*t.down)(cctx, wide.data(),
                     reinterpret_cast<loco_half *>(want.data()), n);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(loco_half)), 0)
          << what;
    };
    expectRoundedEqual("out", o, o32, B * Lq * dh);
    EXPECT_EQ(fetch(lse), fetch(lse32)) << "lse";
    expectRoundedEqual("dq", dq, dq32, B * Lq * dh);
    expectRoundedEqual("dk", dk, dk32, B * Lk * dh);
    expectRoundedEqual("dv", dv, dv32, B * Lk * dh);
  }
}

/// A device at each matmul precision.
std::vector<Param> atEveryPrecision(const char *device) {
  std::vector<Param> params;
  for (int math :
       {LOCO_MATMUL_FP32, LOCO_MATMUL_TF32, LOCO_MATMUL_BF16, LOCO_MATMUL_FP16})
    params.push_back(Param{device, math});
  return params;
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance,
                         ::testing::ValuesIn(atEveryPrecision("cuda:0")),
                         paramName);

#ifdef LOCO_TEST_CUDA_EMULATION
// The CUDA backend emulated on the CPU (docs/CUDA_EMULATION.md): the same
// kernels, run on every machine, against the same tolerances.
INSTANTIATE_TEST_SUITE_P(Emulated, Conformance,
                         ::testing::ValuesIn(atEveryPrecision("cuda-emu")),
                         paramName);
#endif

} // namespace
