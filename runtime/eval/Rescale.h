//===- Rescale.h - The level of stems from scale-free models ----*- C++ -*-===//
//
// This file declares the rescaling of separated stems. A model trained on a
// scale-free loss (SI-SDR alone, as upstream's default config) learns the
// shape of each source but not its level: each estimate comes out at an
// arbitrary gain, and every BSSEval SDR of it measures that gain. The
// least-squares gains that make the estimates sum closest to the mixture
// set the level back; mixture consistency (Wisdom et al., ICASSP 2019)
// then shares the residual out so that the stems sum to the mixture.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_RESCALE_H
#define LOCO_RUNTIME_EVAL_RESCALE_H

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace loco {

/// How separation sets the level of its stems.
enum class Rescale {
  /// `Gains` for a model trained on a scale-free loss, else `Off`.
  Auto,
  /// The model's estimates as they are.
  Off,
  /// One gain per source for the whole song: the gains g minimising
  /// sum over channels and samples of (mixture - sum_j g_j s_j)^2. A pure
  /// gain: SI-SDR is unchanged.
  Gains,
  /// `Gains`, then mixture consistency: s_j += (mixture - sum_k s_k) / J,
  /// so that the stems sum to the mixture.
  Mixture,
};

/// "auto", "off", "gains", "mixture"; throws RunError naming `option`
/// otherwise.
Rescale parseRescale(const std::string &text, const std::string &option);
const char *rescaleName(Rescale rescale);

/// Whether an artifact's manifest says its model was trained on a loss that
/// does not depend on the estimates' gain: SI-SDR alone (loss_type si_sdr,
/// or combined with zero L1 and spectral weights).
bool lossIsScaleFree(const nlohmann::json &manifest);

/// `Auto` resolved for a manifest (`Gains` or `Off`); anything else as is.
Rescale resolveRescale(Rescale rescale, const nlohmann::json &manifest);

using Channels = std::vector<std::vector<float>>;

/// The least-squares gains of `stems` ([source][channel][sample]) against
/// `mixture` ([channel][sample]), in double, from the J x J Gram matrix of
/// the stems (a ridge of 1e-9 of its trace keeps a silent or duplicated
/// stem solvable: its gain goes to zero or is shared). Throws RunError for
/// shapes that differ.
std::vector<double> mixtureGains(const Channels &mixture,
                                 const std::vector<Channels> &stems);

/// Multiplies each source's channels by its gain.
void applyGains(std::vector<Channels> &stems, const std::vector<double> &gains);

/// Shares the residual mixture - sum of the stems equally among them; the
/// stems then sum to the mixture within float rounding.
void mixtureConsistency(const Channels &mixture, std::vector<Channels> &stems);

/// What separateSong applied to a song: the mode (never `Auto`) and, when
/// not `Off`, each source's gain.
struct RescaleReport {
  Rescale applied = Rescale::Off;
  std::vector<double> gains;
};

/// Applies `rescale` (resolved) to `stems` against `mixture`; returns what
/// was done.
RescaleReport rescaleStems(Rescale rescale, const Channels &mixture,
                           std::vector<Channels> &stems);

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_RESCALE_H
