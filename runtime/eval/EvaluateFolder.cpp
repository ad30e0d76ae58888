//===- EvaluateFolder.cpp - Scores of a MUSDB-layout folder ---------------===//
//
// This file implements evaluateFolder: the tracks of a split, each scored
// (Evaluate.h), and the summary over them: BSSEval's criteria as the median
// over tracks, SI-SDR and uSDR as the mean.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/EvaluateFolder.h"

#include "runtime/eval/Evaluate.h"
#include "runtime/eval/Metrics.h"
#include "runtime/session/Session.h"
#include "runtime/support/RunError.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

using namespace loco;
namespace fs = std::filesystem;

namespace {

/// The track folders of the split, sorted, the first `limit` (0: all).
std::vector<fs::path> trackFolders(const FolderEvaluation &e) {
  fs::path splitDir = fs::path(e.data) / e.split;
  std::error_code ec;
  if (!fs::is_directory(splitDir, ec))
    throw RunError(splitDir.string() + ": not a folder (--data expects a "
                                       "MUSDB18-HQ layout: <split>/<track>/)");
  std::vector<fs::path> trackDirs;
  for (const auto &entry : fs::directory_iterator(splitDir))
    if (entry.is_directory())
      trackDirs.push_back(entry.path());
  std::sort(trackDirs.begin(), trackDirs.end());
  if (e.tracks > 0 && static_cast<size_t>(e.tracks) < trackDirs.size())
    trackDirs.resize(e.tracks);
  if (trackDirs.empty())
    throw RunError(splitDir.string() + ": no track folders");
  return trackDirs;
}

/// The summary over the tracks scored so far, printed when `print`.
nlohmann::ordered_json summarize(const TrackScores &scores,
                                 const std::vector<std::string> &names,
                                 bool rescaled, bool print) {
  // BSSEval's criteria: median over tracks; SI-SDR, uSDR: mean.
  auto aggregate = [&](const PerTrackScores &perTrack, size_t s) {
    CriteriaValues values;
    for (size_t k = 0; k < std::size(kCriteria); ++k)
      values[k] =
          k < 4 ? nanMedian(perTrack[s][k]) : finiteMean(perTrack[s][k]);
    return values;
  };
  nlohmann::ordered_json summary = nlohmann::ordered_json::object();
  std::vector<double> rawSdr;
  for (size_t s = 0; s < names.size(); ++s) {
    CriteriaValues values = aggregate(scores.scored, s);
    nlohmann::ordered_json sourceJson = criteriaJson(values);
    if (rescaled) {
      CriteriaValues raw = aggregate(scores.raw, s);
      rawSdr.push_back(raw[0]);
      sourceJson["without_rescaling"] = criteriaJson(raw);
    }
    summary[names[s]] = std::move(sourceJson);
    if (print)
      printScoreRow(s == 0 ? "all tracks" : "", names[s], values);
  }
  if (print && rescaled)
    printRawSdrRow(names, rawSdr);
  return summary;
}

/// The --json document.
nlohmann::ordered_json document(const FolderEvaluation &e,
                                const nlohmann::ordered_json &summary,
                                const nlohmann::ordered_json &tracks,
                                const std::string &error) {
  nlohmann::ordered_json root;
  root["split"] = e.split;
  root["bss_eval"] = {{"version", 4},
                      {"window_seconds", 1.0},
                      {"hop_seconds", 1.0},
                      {"filters_len", 512},
                      {"aggregate", "median over frames, then tracks"}};
  root["complete"] = error.empty();
  if (!error.empty())
    root["error"] = error;
  root["summary"] = summary;
  root["tracks"] = tracks;
  return root;
}

} // namespace

nlohmann::ordered_json loco::evaluateFolder(
    Session *session, const FolderEvaluation &e,
    const std::function<void(const nlohmann::ordered_json &)> &onPartial) {
  std::vector<std::string> names = e.names;
  if (session) {
    names.clear();
    for (const ManifestTensor &out : session->artifact().separate().outputs)
      names.push_back(out.name);
  } else if (names.empty()) {
    names = {"vocals", "drums", "bass", "other"};
  }
  std::vector<fs::path> trackDirs = trackFolders(e);
  // Evaluation rescales the estimates itself (against the track's own
  // mixture), so that it can score the model's raw ones too.
  SeparateOptions options = e.separation;
  options.rescale = Rescale::Off;
  SeparateFn separate;
  if (session)
    separate = [&](Audio mixture, const std::string &label) {
      return separateSong(*session, std::move(mixture), options, label);
    };
  ScoreOptions scoring;
  scoring.rescale =
      session ? resolveRescale(e.rescale, session->artifact().manifest())
      : e.rescale == Rescale::Auto ? Rescale::Off
                                   : e.rescale;
  scoring.print = e.print;
  bool rescaled = scoring.rescale != Rescale::Off;
  checkTracks(trackDirs, names, session != nullptr, e.estimates,
              e.separation.mono, rescaled);
  if (rescaled && e.print)
    std::printf("the stems are rescaled (--rescale %s: %s); the model's own "
                "level is scored too (raw SDR)\n",
                rescaleName(scoring.rescale),
                e.rescale == Rescale::Auto ? "it was trained on a "
                                             "scale-free loss"
                                           : "asked for");
  TrackScores scores(names.size());
  nlohmann::ordered_json tracksJson = nlohmann::ordered_json::array();
  if (e.print)
    std::printf("%-32s %-8s %8s %8s %8s %8s %8s %8s\n", "track", "source",
                "SDR", "ISR", "SIR", "SAR", "SI-SDR", "uSDR");
  try {
    for (size_t t = 0; t < trackDirs.size(); ++t)
      scoreTrack(trackDirs[t], t, trackDirs.size(), names, separate,
                 e.estimates, scoring, scores, tracksJson);
  } catch (const std::exception &error) {
    // The scores of the tracks before it are kept.
    if (onPartial && !tracksJson.empty())
      onPartial(document(e, summarize(scores, names, rescaled, false),
                         tracksJson, error.what()));
    throw;
  }
  if (e.print)
    std::printf("\n%zu track(s): SDR, ISR, SIR, SAR: median over frames, then "
                "over tracks; SI-SDR, uSDR: mean over tracks\n",
                trackDirs.size());
  nlohmann::ordered_json summary = summarize(scores, names, rescaled, e.print);
  std::fflush(stdout);
  return document(e, summary, tracksJson, "");
}
