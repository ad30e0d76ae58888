//===- Rescale.cpp - The level of stems from scale-free models ------------===//
//
// This file implements the least-squares gains of separated stems against
// their mixture, mixture consistency, and the choice of either from the
// artifact's loss.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/Rescale.h"
#include "runtime/support/RunError.h"

#include <lapacke.h>

#include <cmath>

using namespace loco;

Rescale loco::parseRescale(const std::string &text, const std::string &option) {
  for (Rescale r :
       {Rescale::Auto, Rescale::Off, Rescale::Gains, Rescale::Mixture})
    if (text == rescaleName(r))
      return r;
  throw RunError(option + " expects auto, off, gains or mixture, got '" + text +
                 "'");
}

const char *loco::rescaleName(Rescale rescale) {
  switch (rescale) {
  case Rescale::Auto:
    return "auto";
  case Rescale::Off:
    return "off";
  case Rescale::Gains:
    return "gains";
  case Rescale::Mixture:
    return "mixture";
  }
  return "?";
}

bool loco::lossIsScaleFree(const nlohmann::json &manifest) {
  const nlohmann::json &loss = manifest.value("loss", nlohmann::json::object());
  if (!loss.is_object())
    return false;
  std::string type = loss.value("loss_type", std::string());
  if (type == "si_sdr")
    return true;
  return type == "combined" && loss.value("l1_weight", 1.0) == 0.0 &&
         loss.value("spectral_weight", 1.0) == 0.0;
}

Rescale loco::resolveRescale(Rescale rescale, const nlohmann::json &manifest) {
  if (rescale != Rescale::Auto)
    return rescale;
  return lossIsScaleFree(manifest) ? Rescale::Gains : Rescale::Off;
}

namespace {
void checkShapes(const Channels &mixture, const std::vector<Channels> &stems) {
  for (const Channels &stem : stems) {
    bool same = stem.size() == mixture.size();
    for (size_t c = 0; same && c < stem.size(); ++c)
      same = stem[c].size() == mixture[c].size();
    if (!same)
      throw RunError("rescaling: a stem's channels or length differ from the "
                     "mixture's");
  }
}
} // namespace

std::vector<double> loco::mixtureGains(const Channels &mixture,
                                       const std::vector<Channels> &stems) {
  checkShapes(mixture, stems);
  auto J = static_cast<int>(stems.size());
  if (J == 0)
    return {};
  // The normal equations G g = b: G[j][k] = <s_j, s_k>, b[j] = <s_j, x>.
  std::vector<double> gram(J * J, 0.0), rhs(J, 0.0);
  for (size_t c = 0; c < mixture.size(); ++c)
    for (size_t i = 0; i < mixture[c].size(); ++i) {
      double x = mixture[c][i];
      for (int j = 0; j < J; ++j) {
        double sj = stems[j][c][i];
        rhs[j] += sj * x;
        for (int k = j; k < J; ++k)
          gram[j * J + k] += sj * stems[k][c][i];
      }
    }
  double trace = 0.0;
  for (int j = 0; j < J; ++j) {
    trace += gram[j * J + j];
    for (int k = 0; k < j; ++k)
      gram[j * J + k] = gram[k * J + j];
  }
  bool finite = std::isfinite(trace);
  for (double b : rhs)
    finite &= std::isfinite(b);
  if (!finite)
    throw RunError("rescaling: a stem or the mixture holds a NaN or Inf");
  if (trace == 0.0) // every stem silent: nothing to scale
    return std::vector<double>(J, 1.0);
  for (int j = 0; j < J; ++j)
    gram[j * J + j] += 1e-9 * trace;
  std::vector<lapack_int> pivots(J);
  if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, J, 1, gram.data(), J, pivots.data(),
                    rhs.data(), 1) != 0)
    throw RunError("rescaling: the stems' Gram matrix is singular");
  for (double g : rhs)
    if (!std::isfinite(g))
      throw RunError("rescaling: a gain is not finite");
  return rhs;
}

void loco::applyGains(std::vector<Channels> &stems,
                      const std::vector<double> &gains) {
  for (size_t j = 0; j < stems.size(); ++j)
    for (auto &channel : stems[j])
      for (float &v : channel)
        v = static_cast<float>(v * gains[j]);
}

void loco::mixtureConsistency(const Channels &mixture,
                              std::vector<Channels> &stems) {
  checkShapes(mixture, stems);
  if (stems.empty())
    return;
  double share = 1.0 / static_cast<double>(stems.size());
  for (size_t c = 0; c < mixture.size(); ++c)
    for (size_t i = 0; i < mixture[c].size(); ++i) {
      double sum = 0.0;
      for (const Channels &stem : stems)
        sum += stem[c][i];
      auto delta = static_cast<float>((mixture[c][i] - sum) * share);
      for (Channels &stem : stems)
        stem[c][i] += delta;
    }
}

RescaleReport loco::rescaleStems(Rescale rescale, const Channels &mixture,
                                 std::vector<Channels> &stems) {
  RescaleReport report;
  report.applied = rescale == Rescale::Auto ? Rescale::Off : rescale;
  if (report.applied == Rescale::Off)
    return report;
  report.gains = mixtureGains(mixture, stems);
  applyGains(stems, report.gains);
  if (report.applied == Rescale::Mixture)
    mixtureConsistency(mixture, stems);
  return report;
}
