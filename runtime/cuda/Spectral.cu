//===- Spectral.cu - STFT and inverse STFT on CUDA ------------------------===//
//
// This file implements the spectral kernels with cuFFT's batched real
// transforms (one plan per transform size, made on first use, before any
// graph capture; work areas in the fixed workspace), following torch.stft /
// torch.istft with center = True, reflect padding, a periodic Hann window
// and one-sided, unnormalised spectra. Overlap-adds are gathers: each
// output sample sums the frames that cover it in frame order, in double,
// so no atomics and the same sums as the CPU backend.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/Reduce.cuh"

#include <cmath>
#include <set>

using namespace loco::cuda;

namespace {

/// torch.hann_window(n, periodic=True) at sample i (double, rounded once).
__host__ __device__ inline float hann(int64_t i, int64_t n) {
  return static_cast<float>(0.5 - 0.5 * cos(2.0 * M_PI * i / n));
}

/// The reflected index of padded sample j - pad (no edge repeat).
__device__ inline int64_t reflect(int64_t j, int64_t N) {
  if (j < 0)
    j = -j;
  if (j >= N)
    j = 2 * (N - 1) - j;
  return j;
}

/// The frames t in [0, T) whose window covers padded sample j.
__host__ __device__ inline void coveringFrames(int64_t j, int64_t T,
                                               int64_t nFft, int64_t hop,
                                               int64_t &first, int64_t &last) {
  first = j >= nFft ? (j - nFft) / hop + 1 : 0;
  last = j / hop < T - 1 ? j / hop : T - 1;
}

/// The overlap-added squared window at padded sample j (host and device:
/// the inverse's NOLA check runs on the host).
__host__ __device__ inline double envelopeAt(int64_t j, int64_t T, int64_t nFft,
                                             int64_t hop) {
  int64_t first, last;
  coveringFrames(j, T, nFft, hop, first, last);
  double sum = 0.0;
  for (int64_t t = first; t <= last; ++t) {
    double w = hann(j - t * hop, nFft);
    sum += w * w;
  }
  return sum;
}

/// The plan for `frames` real transforms of size n (forward R2C or inverse
/// C2R), its work area in the fixed workspace.
cufftHandle getPlan(loco_context *ctx, int64_t n, int64_t frames, bool inverse,
                    const char *kernel) {
  auto key = std::make_tuple(n, frames, inverse);
  auto it = ctx->plans.find(key);
  if (it != ctx->plans.end())
    return it->second;
  if (ctx->capturing) {
    ctx->fail(std::string(kernel) + ": a cuFFT plan cannot be made during "
                                    "graph capture");
    return 0;
  }
  cufftHandle plan = 0;
  int size = static_cast<int>(n), bins = static_cast<int>(n / 2 + 1);
  size_t work = 0;
  bool ok =
      LOCO_CHECK(ctx, cufftCreate(&plan)) &&
      LOCO_CHECK(ctx, cufftSetAutoAllocation(plan, 0)) &&
      (inverse
           ? LOCO_CHECK(ctx, cufftMakePlanMany(plan, 1, &size, &bins, 1, bins,
                                               &size, 1, size, CUFFT_C2R,
                                               static_cast<int>(frames), &work))
           : LOCO_CHECK(ctx, cufftMakePlanMany(
                                 plan, 1, &size, &size, 1, size, &bins, 1, bins,
                                 CUFFT_R2C, static_cast<int>(frames), &work)));
  if (ok && static_cast<int64_t>(work) > loco::workspace::kCudaFftBytes) {
    ctx->fail(std::string(kernel) + ": cuFFT needs " + std::to_string(work) +
              " bytes of work area for " + std::to_string(frames) +
              " transforms of size " + std::to_string(n) +
              "; the fixed "
              "workspace has " +
              std::to_string(loco::workspace::kCudaFftBytes));
    ok = false;
  }
  ok = ok && LOCO_CHECK(ctx, cufftSetWorkArea(plan, ctx->fftWork)) &&
       LOCO_CHECK(ctx, cufftSetStream(plan, ctx->stream));
  if (!ok) {
    if (plan)
      cufftDestroy(plan);
    return 0;
  }
  ctx->plans[key] = plan;
  ctx->sampleMemory();
  return plan;
}

/// The plan of `frames` transforms of size n_fft (forward R2C or inverse
/// C2R) and its frame and spectrum buffers, from the kernel's scratch as the
/// CPU backend sizes them (workspace::fft); `plan` is 0 when planning failed
/// (the context says why).
struct FrameTransform {
  cufftHandle plan;
  bool inverse;
  float *real = nullptr;
  cufftComplex *spectrum = nullptr;
  FrameTransform(loco_context *ctx, Scratch &scratch, int64_t frames,
                 int64_t nFft, bool inverse, const char *kernel)
      : plan(getPlan(ctx, nFft, frames, inverse, kernel)), inverse(inverse) {
    if (!plan)
      return;
    real = scratch.take<float>(frames * nFft);
    spectrum = reinterpret_cast<cufftComplex *>(
        scratch.take<float>(2 * frames * (nFft / 2 + 1)));
  }
  /// frames -> spectrum, or spectrum -> frames for the inverse.
  bool execute(loco_context *ctx, LaunchSite site = LaunchSite::here()) const {
    return inverse ? checkLaunch(ctx, cufftExecC2R(plan, spectrum, real),
                                 "cufftExecC2R", site)
                   : checkLaunch(ctx, cufftExecR2C(plan, real, spectrum),
                                 "cufftExecR2C", site);
  }
};

/// Checks once per shape that the window overlap-add never vanishes inside
/// the signal (torch.istft's NOLA condition).
bool overlapIsNonzero(loco_context *ctx, int64_t T, int64_t nFft, int64_t hop,
                      int64_t length, const char *kernel) {
  static thread_local std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>>
      checked;
  auto key = std::make_tuple(T, nFft, hop, length);
  if (checked.count(key))
    return true;
  int64_t pad = nFft / 2, total = nFft + hop * (T - 1);
  for (int64_t j = pad; j < std::min(pad + length, total); ++j) {
    if (envelopeAt(j, T, nFft, hop) < 1e-11) {
      ctx->fail(std::string(kernel) +
                ": the window overlap-add vanishes at "
                "sample " +
                std::to_string(j - pad) + " (hop too large)");
      return false;
    }
  }
  checked.insert(key);
  return true;
}

} // namespace

extern "C" {

void loco_stft(loco_context *ctx, const float *x, float *out, int64_t B,
               int64_t N, int64_t nFft, int64_t hop) {
  int64_t T = 1 + N / hop, F = nFft / 2 + 1, pad = nFft / 2;
  Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/false, "loco_stft");
  if (!fft.plan)
    return;
  float *real = fft.real;
  cufftComplex *spectrum = fft.spectrum;
  for (int64_t b = 0; b < B; ++b) {
    const float *signal = x + b * N;
    forEach(ctx, T * nFft, [=] __device__(int64_t i) {
      int64_t t = i / nFft, n = i % nFft;
      real[i] = signal[reflect(t * hop + n - pad, N)] * hann(n, nFft);
    });
    if (!fft.execute(ctx))
      return;
    float *re = out + b * 2 * T * F, *im = re + T * F;
    forEach(ctx, T * F, [=] __device__(int64_t i) {
      re[i] = spectrum[i].x;
      im[i] = spectrum[i].y;
    });
  }
}

void loco_istft(loco_context *ctx, const float *spec, float *out, int64_t B,
                int64_t T, int64_t nFft, int64_t hop, int64_t length) {
  int64_t F = nFft / 2 + 1, pad = nFft / 2, total = nFft + hop * (T - 1);
  if (!overlapIsNonzero(ctx, T, nFft, hop, length, "loco_istft"))
    return;
  Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/true, "loco_istft");
  if (!fft.plan)
    return;
  float *real = fft.real;
  cufftComplex *spectrum = fft.spectrum;
  for (int64_t b = 0; b < B; ++b) {
    const float *re = spec + b * 2 * T * F, *im = re + T * F;
    // torch.istft's onesided inverse ignores the imaginary parts of the DC
    // and Nyquist bins. cuFFT's C2R is defined for Hermitian input only and
    // does not promise to ignore them: write the zeros it assumes.
    forEach(ctx, T * F, [=] __device__(int64_t i) {
      int64_t f = i % F;
      bool edge = f == 0 || f == F - 1;
      spectrum[i] = make_cuFloatComplex(re[i], edge ? 0.0f : im[i]);
    });
    if (!fft.execute(ctx))
      return;
    float *y = out + b * length;
    forEach(ctx, length, [=] __device__(int64_t i) {
      int64_t j = i + pad;
      if (j >= total) {
        y[i] = 0.0f;
        return;
      }
      int64_t first, last;
      coveringFrames(j, T, nFft, hop, first, last);
      double sum = 0.0;
      for (int64_t t = first; t <= last; ++t) {
        int64_t n = j - t * hop;
        sum += static_cast<double>(real[t * nFft + n]) / nFft * hann(n, nFft);
      }
      y[i] = static_cast<float>(sum / envelopeAt(j, T, nFft, hop));
    });
  }
}

void loco_stft_backward(loco_context *ctx, const float *g, float *out,
                        int64_t B, int64_t N, int64_t nFft, int64_t hop) {
  int64_t T = 1 + N / hop, F = nFft / 2 + 1, pad = nFft / 2;
  Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/true,
                     "loco_stft_backward");
  if (!fft.plan)
    return;
  float *real = fft.real;
  cufftComplex *spectrum = fft.spectrum;
  for (int64_t b = 0; b < B; ++b) {
    const float *re = g + b * 2 * T * F, *im = re + T * F;
    // A complex-to-real inverse computes twice the adjoint once the DC and
    // Nyquist bins are doubled (see the CPU kernel). Their imaginary parts
    // do not enter the adjoint (the STFT's are zero for any signal), and
    // cuFFT's C2R must see them zero (Hermitian input).
    forEach(ctx, T * F, [=] __device__(int64_t i) {
      int64_t f = i % F;
      bool edge = f == 0 || f == F - 1;
      spectrum[i] = edge ? make_cuFloatComplex(2.0f * re[i], 0.0f)
                         : make_cuFloatComplex(re[i], im[i]);
    });
    if (!fft.execute(ctx))
      return;
    float *gx = out + b * N;
    // padded(i): the windowed frames overlap-added at padded sample i; the
    // signal's sample j collects the padded samples that reflect onto it,
    // in ascending padded order.
    auto padded = [=] __device__(int64_t i) {
      int64_t first, last;
      coveringFrames(i, T, nFft, hop, first, last);
      double sum = 0.0;
      for (int64_t t = first; t <= last; ++t) {
        int64_t n = i - t * hop;
        sum += 0.5 * real[t * nFft + n] * hann(n, nFft);
      }
      return sum;
    };
    forEach(ctx, N, [=] __device__(int64_t j) {
      double acc = 0.0;
      if (j >= 1 && j <= pad)
        acc += padded(pad - j);
      acc += padded(j + pad);
      int64_t right = pad + 2 * (N - 1) - j;
      if (j <= N - 2 && right < N + 2 * pad)
        acc += padded(right);
      gx[j] = static_cast<float>(acc);
    });
  }
}

void loco_istft_backward(loco_context *ctx, const float *g, float *out,
                         int64_t B, int64_t T, int64_t nFft, int64_t hop,
                         int64_t length) {
  int64_t F = nFft / 2 + 1, pad = nFft / 2;
  Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/false,
                     "loco_istft_backward");
  if (!fft.plan)
    return;
  float *real = fft.real;
  cufftComplex *spectrum = fft.spectrum;
  for (int64_t b = 0; b < B; ++b) {
    const float *gy = g + b * length;
    // The cotangent of each frame of the inverse transform (with its 1/N).
    forEach(ctx, T * nFft, [=] __device__(int64_t idx) {
      int64_t t = idx / nFft, n = idx % nFft, j = t * hop + n, i = j - pad;
      double gs =
          (i >= 0 && i < length) ? gy[i] / envelopeAt(j, T, nFft, hop) : 0.0;
      real[idx] = static_cast<float>(gs * hann(n, nFft) / nFft);
    });
    if (!fft.execute(ctx))
      return;
    float *re = out + b * 2 * T * F, *im = re + T * F;
    forEach(ctx, T * F, [=] __device__(int64_t i) {
      int64_t f = i % F;
      bool edge = f == 0 || f == F - 1;
      float c = edge ? 1.0f : 2.0f;
      re[i] = c * spectrum[i].x;
      im[i] = edge ? 0.0f : c * spectrum[i].y;
    });
  }
}

} // extern "C"
