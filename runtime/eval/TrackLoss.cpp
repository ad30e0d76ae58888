//===- TrackLoss.cpp - The training loss of whole tracks, on the host -----===//
//
// This file implements docs/MODEL.md's loss terms in double: SI-SDR (the shared
// runtime/SiSdr.h), L1, L2, and the spectral term (STFT n_fft 2048, hop
// 1024, periodic Hann, centred with reflection, log1p magnitudes, mean
// absolute difference) with FFTW.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/TrackLoss.h"
#include "runtime/SiSdr.h"
#include "runtime/abi/Manifest.h"
#include "runtime/support/RunError.h"

#include <fftw3.h>

#include <cmath>
#include <complex>

using namespace loco;

LossSpec LossSpec::fromManifest(const nlohmann::json &manifest) {
  LossSpec spec;
  LossManifest loss =
      LossManifest::fromJson(manifest.value("loss", nlohmann::json()));
  spec.type = loss.loss_type;
  spec.siSdrWeight = loss.si_sdr_weight;
  spec.l1Weight = loss.l1_weight;
  spec.spectralWeight = loss.spectral_weight;
  spec.eps = loss.eps;
  return spec;
}

namespace {
constexpr int kFft = 2048, kHop = 1024;

/// log1p |STFT(x)| for every frame and bin (frame-major), as torch.stft
/// with center=True, pad_mode="reflect" and a periodic Hann window.
std::vector<double> logMagnitudes(const std::vector<float> &x) {
  int64_t n = x.size(), frames = 1 + n / kHop, bins = kFft / 2 + 1;
  if (n <= kFft / 2)
    throw RunError("a validation track of " + std::to_string(n) +
                   " samples is too short for the spectral loss's reflection "
                   "padding (1024)");
  auto at = [&](int64_t i) { // reflect about both ends
    if (i < 0)
      i = -i;
    if (i >= n)
      i = 2 * (n - 1) - i;
    return static_cast<double>(x[i]);
  };
  double *in = fftw_alloc_real(kFft);
  fftw_complex *out = fftw_alloc_complex(bins);
  fftw_plan plan = fftw_plan_dft_r2c_1d(kFft, in, out, FFTW_ESTIMATE);
  std::vector<double> window(kFft), result(frames * bins);
  for (int i = 0; i < kFft; ++i)
    window[i] = 0.5 - 0.5 * std::cos(2 * M_PI * i / kFft);
  for (int64_t t = 0; t < frames; ++t) {
    for (int i = 0; i < kFft; ++i)
      in[i] = window[i] * at(t * kHop + i - kFft / 2);
    fftw_execute(plan);
    for (int64_t f = 0; f < bins; ++f)
      result[t * bins + f] = std::log1p(std::hypot(out[f][0], out[f][1]));
  }
  fftw_destroy_plan(plan);
  fftw_free(in);
  fftw_free(out);
  return result;
}
} // namespace

TrackLossValue loco::trackLoss(const LossSpec &spec,
                               const std::vector<std::string> &sources,
                               const std::vector<std::vector<float>> &estimates,
                               const std::vector<std::vector<float>> &targets) {
  bool siSdr = spec.type == "si_sdr" || spec.type == "combined";
  bool l1 = spec.type == "l1" || spec.type == "combined";
  bool l2 = spec.type == "l2";
  bool spectral = spec.type == "combined" && spec.spectralWeight > 0;
  TrackLossValue value;
  auto add = [&](const std::string &name, double component, double weight) {
    value.components.emplace_back(name, component);
    value.total += weight * component;
  };
  for (size_t s = 0; s < sources.size(); ++s) {
    const std::vector<float> &e = estimates[s], &t = targets[s];
    auto n = static_cast<int64_t>(t.size());
    if (siSdr)
      add(sources[s] + "_si_sdr", -siSdrDb(e.data(), t.data(), n, spec.eps),
          spec.siSdrWeight);
    if (l1 || l2) {
      double sum = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        double d = static_cast<double>(e[i]) - t[i];
        sum += l1 ? std::fabs(d) : d * d;
      }
      add(sources[s] + (l1 ? "_l1" : "_l2"), sum / n, l1 ? spec.l1Weight : 1.0);
    }
    if (spectral) {
      std::vector<double> me = logMagnitudes(e), mt = logMagnitudes(t);
      double sum = 0.0;
      for (size_t i = 0; i < me.size(); ++i)
        sum += std::fabs(me[i] - mt[i]);
      add(sources[s] + "_spectral", sum / me.size(), spec.spectralWeight);
    }
  }
  return value;
}
