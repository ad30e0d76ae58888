//===- Spectral.cpp - STFT and inverse STFT on the CPU --------------------===//
//
// This file implements loco_stft and loco_istft with FFTW's batched real
// transforms (one plan per transform size, kept in the context), following
// torch.stft / torch.istft with center = True, reflect padding, a periodic
// Hann window and one-sided, unnormalised spectra.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/Context.h"

#include <fftw3.h>

#include <cmath>
#include <vector>

namespace {

/// The periodic Hann window of length n, as torch.hann_window(n) computes it
/// (in double, rounded once).
float *hannWindow(loco::Scratch &scratch, int64_t n) {
  float *w = scratch.take<float>(n);
  for (int64_t i = 0; i < n; ++i)
    w[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / n));
  return w;
}

/// A plan for `frames` real transforms of size `n` between the given buffers
/// (created under the context's lock; FFTW's planner is not thread-safe).
fftwf_plan getPlan(loco_context *ctx, int64_t n, int64_t frames, bool inverse,
                   float *real, fftwf_complex *spectrum) {
  std::lock_guard<std::mutex> lock(ctx->planMutex);
  auto key = std::make_tuple(n, frames, inverse);
  auto it = ctx->plans.find(key);
  if (it != ctx->plans.end())
    return static_cast<fftwf_plan>(it->second);
  int size = static_cast<int>(n), bins = static_cast<int>(n / 2 + 1);
  fftwf_plan plan =
      inverse
          ? fftwf_plan_many_dft_c2r(1, &size, frames, spectrum, nullptr, 1,
                                    bins, real, nullptr, 1, size, FFTW_ESTIMATE)
          : fftwf_plan_many_dft_r2c(1, &size, frames, real, nullptr, 1, size,
                                    spectrum, nullptr, 1, bins, FFTW_ESTIMATE);
  if (plan)
    ctx->plans[key] = plan;
  return plan;
}

/// FFTW's input and output arrays, from the kernel's scratch (64-byte
/// aligned, so every execution matches the alignment the plan was made for).
struct FftwBuffers {
  float *real;
  fftwf_complex *spectrum;
  FftwBuffers(loco::Scratch &scratch, int64_t realCount, int64_t complexCount)
      : real(scratch.take<float>(realCount)),
        spectrum(reinterpret_cast<fftwf_complex *>(
            scratch.take<float>(2 * complexCount))) {}
};

/// The buffers, window and plan of `frames` transforms of size n_fft, taken
/// in that order from the kernel's scratch; on a planning failure the
/// context records the error and `plan` is null.
struct FrameTransform {
  FftwBuffers buffers;
  float *window;
  fftwf_plan plan;
  FrameTransform(loco_context *ctx, loco::Scratch &scratch, int64_t frames,
                 int64_t nFft, bool inverse, const char *kernel)
      : buffers(scratch, frames * nFft, frames * (nFft / 2 + 1)),
        window(hannWindow(scratch, nFft)),
        plan(getPlan(ctx, nFft, frames, inverse, buffers.real,
                     buffers.spectrum)) {
    if (!plan)
      ctx->fail(std::string(kernel) +
                ": FFTW could not plan a transform of size " +
                std::to_string(nFft));
  }
};

/// The overlap-added squared window of T frames `hop` apart (the iSTFT's
/// normalisation), `n_fft + hop (T - 1)` samples from the scratch.
double *overlapEnvelope(loco::Scratch &scratch, const float *window, int64_t T,
                        int64_t nFft, int64_t hop) {
  int64_t total = nFft + hop * (T - 1);
  double *envelope = scratch.take<double>(total);
  std::fill(envelope, envelope + total, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < nFft; ++n)
      envelope[t * hop + n] += static_cast<double>(window[n]) * window[n];
  return envelope;
}

} // namespace

extern "C" {

void loco_stft(loco_context *ctx, const float *x, float *out, int64_t B,
               int64_t N, int64_t nFft, int64_t hop) {
  int64_t T = 1 + N / hop, F = nFft / 2 + 1, pad = nFft / 2;
  loco::Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/false, "loco_stft");
  if (!fft.plan)
    return;
  FftwBuffers &buffers = fft.buffers;
  const float *window = fft.window;
  for (int64_t b = 0; b < B; ++b) {
    const float *signal = x + b * N;
    // Frame t covers padded samples [t hop, t hop + n_fft); padded sample i
    // is signal[i - pad] reflected at both ends (no edge repeat).
    for (int64_t t = 0; t < T; ++t) {
      float *frame = buffers.real + t * nFft;
      for (int64_t n = 0; n < nFft; ++n) {
        int64_t j = t * hop + n - pad;
        if (j < 0)
          j = -j;
        if (j >= N)
          j = 2 * (N - 1) - j;
        frame[n] = signal[j] * window[n];
      }
    }
    fftwf_execute_dft_r2c(fft.plan, buffers.real, buffers.spectrum);
    float *re = out + b * 2 * T * F, *im = re + T * F;
    for (int64_t i = 0; i < T * F; ++i) {
      re[i] = buffers.spectrum[i][0];
      im[i] = buffers.spectrum[i][1];
    }
  }
}

void loco_istft(loco_context *ctx, const float *spec, float *out, int64_t B,
                int64_t T, int64_t nFft, int64_t hop, int64_t length) {
  int64_t F = nFft / 2 + 1, pad = nFft / 2;
  int64_t total = nFft + hop * (T - 1);
  loco::Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/true, "loco_istft");
  if (!fft.plan)
    return;
  FftwBuffers &buffers = fft.buffers;
  const float *window = fft.window;
  // The overlap-added squared window, the same for every signal.
  double *envelope = overlapEnvelope(scratch, window, T, nFft, hop);
  double *signal = scratch.take<double>(total);
  for (int64_t i = pad; i < std::min(pad + length, total); ++i)
    if (envelope[i] < 1e-11)
      return ctx->fail(
          "loco_istft: the window overlap-add vanishes at sample " +
          std::to_string(i - pad) + " (hop too large)");

  for (int64_t b = 0; b < B; ++b) {
    const float *re = spec + b * 2 * T * F, *im = re + T * F;
    // torch.istft's onesided inverse ignores the imaginary parts of the DC
    // and Nyquist bins; a complex-to-real transform is defined for Hermitian
    // input, so write the zeros it assumes rather than rely on the library.
    for (int64_t i = 0; i < T * F; ++i) {
      int64_t f = i % F;
      buffers.spectrum[i][0] = re[i];
      buffers.spectrum[i][1] = (f == 0 || f == F - 1) ? 0.0f : im[i];
    }
    fftwf_execute_dft_c2r(fft.plan, buffers.spectrum, buffers.real);
    std::fill(signal, signal + total, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const float *frame = buffers.real + t * nFft;
      for (int64_t n = 0; n < nFft; ++n)
        signal[t * hop + n] += static_cast<double>(frame[n]) / nFft * window[n];
    }
    float *y = out + b * length;
    for (int64_t i = 0; i < length; ++i) {
      int64_t j = i + pad;
      y[i] = j < total ? static_cast<float>(signal[j] / envelope[j]) : 0.0f;
    }
  }
}

} // extern "C"

extern "C" {

void loco_stft_backward(loco_context *ctx, const float *g, float *out,
                        int64_t B, int64_t N, int64_t nFft, int64_t hop) {
  int64_t T = 1 + N / hop, F = nFft / 2 + 1, pad = nFft / 2;
  loco::Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/true,
                     "loco_stft_backward");
  if (!fft.plan)
    return;
  FftwBuffers &buffers = fft.buffers;
  const float *window = fft.window;
  double *padded = scratch.take<double>(N + 2 * pad);
  double *acc = scratch.take<double>(N);
  for (int64_t b = 0; b < B; ++b) {
    const float *re = g + b * 2 * T * F, *im = re + T * F;
    // d/dx_w[n] of sum_f (gre[f] re[f] + gim[f] im[f]) is
    // sum_f Re(G[f] e^{+2 pi i f n / N}); a complex-to-real inverse computes
    // twice that once the DC and Nyquist bins are doubled.
    // The edge bins' imaginary parts do not enter (the STFT's are zero for
    // any signal) and must be zero for the Hermitian inverse.
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < F; ++f) {
        bool edge = f == 0 || f == F - 1;
        buffers.spectrum[t * F + f][0] = (edge ? 2.0f : 1.0f) * re[t * F + f];
        buffers.spectrum[t * F + f][1] = edge ? 0.0f : im[t * F + f];
      }
    fftwf_execute_dft_c2r(fft.plan, buffers.spectrum, buffers.real);
    std::fill(padded, padded + N + 2 * pad, 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < nFft; ++n)
        padded[t * hop + n] += 0.5 * buffers.real[t * nFft + n] * window[n];
    // Fold the reflection padding back onto the samples it copied.
    float *gx = out + b * N;
    std::fill(acc, acc + N, 0.0);
    for (int64_t i = 0; i < N + 2 * pad; ++i) {
      int64_t j = i - pad;
      if (j < 0)
        j = -j;
      if (j >= N)
        j = 2 * (N - 1) - j;
      acc[j] += padded[i];
    }
    for (int64_t j = 0; j < N; ++j)
      gx[j] = static_cast<float>(acc[j]);
  }
}

void loco_istft_backward(loco_context *ctx, const float *g, float *out,
                         int64_t B, int64_t T, int64_t nFft, int64_t hop,
                         int64_t length) {
  int64_t F = nFft / 2 + 1, pad = nFft / 2;
  loco::Scratch scratch(ctx);
  FrameTransform fft(ctx, scratch, T, nFft, /*inverse=*/false,
                     "loco_istft_backward");
  if (!fft.plan)
    return;
  FftwBuffers &buffers = fft.buffers;
  const float *window = fft.window;
  double *envelope = overlapEnvelope(scratch, window, T, nFft, hop);
  for (int64_t b = 0; b < B; ++b) {
    const float *gy = g + b * length;
    // Cotangent of each frame of the inverse transform (including its 1/N).
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < nFft; ++n) {
        int64_t j = t * hop + n, i = j - pad;
        double gs = (i >= 0 && i < length) ? gy[i] / envelope[j] : 0.0;
        buffers.real[t * nFft + n] = static_cast<float>(gs * window[n] / nFft);
      }
    fftwf_execute_dft_r2c(fft.plan, buffers.real, buffers.spectrum);
    // frame[n] = (1/N) sum_k c_k (Re X_k cos - Im X_k sin), c_k = 1 at DC
    // and Nyquist and 2 elsewhere; the Nyquist and DC imaginary parts are
    // ignored by the forward, so their cotangent is zero.
    float *re = out + b * 2 * T * F, *im = re + T * F;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < F; ++f) {
        bool edge = f == 0 || f == F - 1;
        float c = edge ? 1.0f : 2.0f;
        re[t * F + f] = c * buffers.spectrum[t * F + f][0];
        im[t * F + f] = edge ? 0.0f : c * buffers.spectrum[t * F + f][1];
      }
  }
}

} // extern "C"
