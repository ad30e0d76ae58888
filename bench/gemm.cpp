//===- gemm.cpp - The CPU backend's GEMM kernels against the best sgemm ---===//
//
// For the products of a musdb18_small training step (fp32; rows = 345
// frames x 513 bins), times the backend's kernels on warm buffers with the
// process's OpenMP threads, and, for the same GEMM shape (the convolutions
// as their im2col product), the best of OpenBLAS's threaded sgemm and
// oneDNN's dnnl_sgemm on as many threads. Prints GFLOP/s side by side and
// the kernel's share of the best. Then the same for one thread: the
// backend's GEMM (libxsmm, or its fallback) against OpenBLAS and oneDNN.
//
//   OMP_NUM_THREADS=2 build/bin/loco-gemm-bench
//   OPENBLAS_CORETYPE=Prescott ...  # what a CPU newer than OpenBLAS's
//                                   # model table gets (bench/gemm.sh)
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Gemm.h"
#include "runtime/abi/api.h"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

/// Seconds per call: the median of 5 timed calls after one warm-up.
double timeCall(const std::function<void()> &call) {
  call();
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    call();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[2];
}

/// The best rate of the libraries' sgemm for row-major C[M, N] = op(A) B on
/// `threads` threads: {OpenBLAS, oneDNN} GFLOP/s.
std::pair<double, double> libraryRates(int64_t M, int64_t N, int64_t K,
                                       bool transA, int threads) {
  std::vector<float> a(M * K, 0.5f), b(K * N, 0.25f), c(M * N);
  double flops = 2.0 * M * N * K;
  int64_t lda = transA ? M : K;
  openblas_set_num_threads(threads);
  double blas = timeCall([&] {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, CblasNoTrans,
                M, N, K, 1.0f, a.data(), lda, b.data(), N, 0.0f, c.data(), N);
  });
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
  double dnnl = timeCall([&] {
    dnnl_sgemm(transA ? 'T' : 'N', 'N', M, N, K, 1.0f, a.data(), lda, b.data(),
               N, 0.0f, c.data(), N);
  });
  return {flops / blas / 1e9, flops / dnnl / 1e9};
}

void row(const char *name, double flops, double seconds, int64_t M, int64_t N,
         int64_t K, bool transA, int threads) {
  auto [blas, dnnl] = libraryRates(M, N, K, transA, threads);
  double rate = flops / seconds / 1e9, best = std::max(blas, dnnl);
  std::printf("  %-28s %9.1f %9.1f %9.1f %8.0f%%\n", name, rate, blas, dnnl,
              100.0 * rate / best);
}

} // namespace

int main() {
  int threads = omp_get_max_threads();
  char error[256];
  loco_context *ctx = loco_context_create("cpu", error, sizeof(error));
  if (!ctx) {
    std::fprintf(stderr, "loco-gemm-bench: %s\n", error);
    return 1;
  }
  std::printf("backend: %s\nOpenBLAS core: %s\n\n", loco_context_describe(ctx),
              openblas_get_corename());

  // musdb18_small: 345 x 513 rows, 48 channels, SwiGLU hidden 192 (conv1d
  // to 2 x 192), kernel 4; one path's convolution runs along the 513 bins
  // of each of 345 frames.
  constexpr int64_t R = 345, L = 513, C = 48, H = 192, Kt = 4;
  constexpr int64_t Rows = R * L, Lo = L - Kt + 1, Lt = Lo + Kt - 1;
  std::vector<float> x(Rows * 2 * H, 0.5f), w(2 * H * H * Kt, 0.01f),
      bias(2 * H, 0.1f), out(Rows * 2 * H), g(Rows * 2 * H, 0.25f);

  std::printf("%d thread(s): kernel GFLOP/s against the same GEMM shape\n",
              threads);
  std::printf("  %-28s %9s %9s %9s %9s\n", "kernel", "lococ", "OpenBLAS",
              "oneDNN", "of best");
  double fl = 2.0 * Rows * C * 3 * C;
  row("linear 48 -> 144", fl, timeCall([&] {
        loco_linear(ctx, x.data(), w.data(), out.data(), Rows, C, 3 * C);
      }),
      Rows, 3 * C, C, false, threads);
  fl = 2.0 * R * Lo * 2 * H * Kt * C;
  row("conv1d 48 -> 384, k 4", fl, timeCall([&] {
        loco_conv1d(ctx, x.data(), w.data(), bias.data(), out.data(), R, L, C,
                    2 * H, Kt, 1);
      }),
      R * Lo, 2 * H, Kt * C, false, threads);
  fl = 2.0 * R * Lo * C * Kt * H;
  row("conv_transpose1d 192 -> 48", fl, timeCall([&] {
        loco_conv_transpose1d(ctx, x.data(), w.data(), bias.data(), out.data(),
                              R, Lo, H, C, Kt, 1);
      }),
      R * Lo, C, Kt * H, false, threads);
  fl = 2.0 * R * Lo * 2 * H * Kt * C;
  row("conv1d weight grad", fl, timeCall([&] {
        loco_conv1d_weight_grad(ctx, x.data(), g.data(), out.data(), R, L, C,
                                2 * H, Kt);
      }),
      Kt * C, 2 * H, R * Lo, true, threads);
  fl = 2.0 * R * Lt * C * Kt * H;
  row("conv_transpose1d weight grad", fl, timeCall([&] {
        loco_conv_transpose1d_weight_grad(ctx, x.data(), g.data(), out.data(),
                                          R, Lo, H, C, Kt);
      }),
      Kt * H, C, R * Lt, true, threads);
  fl = 2.0 * Rows * C * C;
  row("linear weight grad 48 x 48", fl, timeCall([&] {
        loco_linear_weight_grad(ctx, x.data(), g.data(), out.data(), Rows, C,
                                C);
      }),
      C, C, Rows, true, threads);

  std::printf("\n1 thread: the backend's GEMM against the libraries\n");
  std::printf("  %-28s %9s %9s %9s %9s\n", "M x N x K", "lococ", "OpenBLAS",
              "oneDNN", "of best");
  struct Shape {
    int64_t M, N, K;
    bool transA;
  };
  for (Shape s : {Shape{4096, 144, 48, false}, Shape{160, 384, 192, false},
                  Shape{513, 48, 192, false}, Shape{192, 384, 8192, true},
                  Shape{1024, 1024, 1024, false}}) {
    std::vector<float> a(s.M * s.K, 0.5f), b(s.K * s.N, 0.25f), c(s.M * s.N);
    double seconds = timeCall([&] {
      loco::cpu::gemm({s.M, s.N, s.K, s.transA, s.transA ? s.M : s.K, s.N, s.N},
                      a.data(), b.data(), c.data(), false);
    });
    char name[64];
    std::snprintf(name, sizeof(name), "%lld x %lld x %lld%s",
                  static_cast<long long>(s.M), static_cast<long long>(s.N),
                  static_cast<long long>(s.K), s.transA ? " (A^T)" : "");
    row(name, 2.0 * s.M * s.N * s.K, seconds, s.M, s.N, s.K, s.transA, 1);
  }
  loco_context_destroy(ctx);
  return 0;
}
