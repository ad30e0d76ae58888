//===- TrackLoss.h - The training loss of whole tracks, on the host -*- C++
//-*-===//
//
// This file declares the training loss (docs/MODEL.md section 5) computed on
// the host from estimates and targets of any length: validation on whole tracks
// separates them segment by segment, and scores the song as the training
// step scores a segment, term by term with the same names.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_TRACKLOSS_H
#define LOCO_RUNTIME_EVAL_TRACKLOSS_H

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace loco {

/// The config's loss: `loss_type` (si_sdr, l1, l2, combined), its weights
/// and eps, as the manifest's "loss" dictionary records them.
struct LossSpec {
  std::string type = "combined";
  double siSdrWeight = 1.0, l1Weight = 0.1, spectralWeight = 0.1, eps = 1e-8;
  static LossSpec fromManifest(const nlohmann::json &manifest);
};

struct TrackLossValue {
  double total = 0.0;
  /// "<source>_si_sdr" (the negated SI-SDR), "<source>_l1", "<source>_l2",
  /// "<source>_spectral": unweighted, as the training step reports them.
  std::vector<std::pair<std::string, double>> components;
};

/// The loss of one mono track: `estimates[s]` against `targets[s]` (equal
/// lengths, at least the spectral STFT's 1024 samples of reflection).
TrackLossValue trackLoss(const LossSpec &spec,
                         const std::vector<std::string> &sources,
                         const std::vector<std::vector<float>> &estimates,
                         const std::vector<std::vector<float>> &targets);

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_TRACKLOSS_H
