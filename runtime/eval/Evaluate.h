//===- Evaluate.h - Scoring a MUSDB18-layout split -------------*- C++ -*-===//
//
// This file declares the parts of `locorun evaluate` that need no model:
// the checks of a split before any track is scored, and the scoring of one
// track from its reference stems and its estimates.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_EVALUATE_H
#define LOCO_RUNTIME_EVAL_EVALUATE_H

#include "runtime/data/Audio.h"
#include "runtime/eval/Rescale.h"

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace loco {

/// The criteria of a track's row, in order.
inline constexpr const char *kCriteria[] = {"SDR", "ISR",    "SIR",
                                            "SAR", "SI-SDR", "uSDR"};

/// Scores by [source][criterion][track]: per-track BSSEval medians, SI-SDR
/// and uSDR.
using PerTrackScores = std::vector<std::vector<std::vector<double>>>;

/// The scores of the tracks so far: of the estimates as scored (rescaled
/// when rescaling applies), and, when it applies, of the model's own.
struct TrackScores {
  PerTrackScores scored, raw;
  explicit TrackScores(size_t sources)
      : scored(sources, std::vector<std::vector<double>>(std::size(kCriteria))),
        raw(scored) {}
};

/// One value per criterion (kCriteria's order).
using CriteriaValues = std::array<double, std::size(kCriteria)>;

/// `values` as a JSON object keyed by criterion (NaN and Inf as null).
nlohmann::ordered_json criteriaJson(const CriteriaValues &values);

/// A row of evaluate's table: `label` (a track's name, or blank) and the
/// source's criteria.
void printScoreRow(const std::string &label, const std::string &source,
                   const CriteriaValues &values);

/// The row of the model's own SDR per source (`sdr[s]` of `names[s]`),
/// under the rescaled rows.
void printRawSdrRow(const std::vector<std::string> &names,
                    const std::vector<double> &sdr);

/// How a track is scored.
struct ScoreOptions {
  /// The stems' level (resolved: never Auto). Anything but Off scores the
  /// rescaled estimates and the model's own both.
  Rescale rescale = Rescale::Off;
  /// BSSEval's distortion filter length (museval's 512).
  int64_t filtersLen = 512;
  /// Print each track's table rows on stdout (locorun evaluate's table).
  bool print = true;
};

/// Separates a track's mixture into its stems (one Audio per source);
/// `label` names the track in progress output.
using SeparateFn =
    std::function<std::vector<Audio>(Audio mixture, const std::string &label)>;

/// The stem `name` of a track folder: <dir>/<name>.wav or .flac; throws
/// RunError when neither exists.
std::string stemFile(const std::filesystem::path &dir, const std::string &name);

/// Everything about a split that can be wrong before a track is separated
/// or scored: each reference stem (and the mixture when `separating`, or
/// each estimate in `estimates`/<track>/) exists and is audio; a track's
/// references share one sample rate, channel count and length; its mixture
/// has their rate and channels (or any channels with `mono`, or one); its
/// estimates have their rate and all the references' channels or all one
/// (scored against the references' mean, as --mono separates); when
/// `rescaling` estimates, the mixture has the references' rate and
/// channels. Throws RunError listing the problems.
void checkTracks(const std::vector<std::filesystem::path> &trackDirs,
                 const std::vector<std::string> &names, bool separating,
                 const std::string &estimates, bool mono, bool rescaling);

/// Separates track `t` of `count` in `dir` with `separate` (or, when it is
/// empty, reads its estimates from `estimatesDir`/<track>/), rescales them
/// against the track's mixture as `options` says, scores every source,
/// prints its table rows (when `options.print`), and appends its scores to
/// `scores` and `tracksJson`. Expects a split that checkTracks accepted.
void scoreTrack(const std::filesystem::path &dir, size_t t, size_t count,
                const std::vector<std::string> &names,
                const SeparateFn &separate, const std::string &estimatesDir,
                const ScoreOptions &options, TrackScores &scores,
                nlohmann::ordered_json &tracksJson);

/// The mean of the finite values (NaN when there are none).
double finiteMean(const std::vector<double> &values);

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_EVALUATE_H
