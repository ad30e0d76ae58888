//===- EvaluateCommand.cpp - locorun evaluate -----------------------------===//
//
// This file implements `locorun evaluate`: a MUSDB18-layout split,
// separated by a separation artifact or read from a folder of estimates,
// scored per track and source (BSSEval v4, SI-SDR, uSDR), printed as a
// table and written as JSON.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Audio.h"
#include "runtime/eval/Evaluate.h"
#include "runtime/eval/Metrics.h"
#include "runtime/eval/Separate.h"
#include "runtime/io/Checkpoint.h"
#include "runtime/io/OutputFile.h"
#include "runtime/session/Session.h"
#include "tools/locorun/Flags.h"
#include "tools/locorun/Inference.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace loco;
namespace fs = std::filesystem;

namespace {

const char *kEvaluateUsage =
    "usage: locorun evaluate SEPARATE.so --weights W --data DIR [options]\n"
    "       locorun evaluate --estimates EST_DIR --data DIR [options]\n"
    "\n"
    "Separates (or reads from EST_DIR/<track>/<source>.wav) every track of\n"
    "DIR/<split>/ and scores it against the reference stems: BSSEval v4 as\n"
    "museval computes it (1 s windows and hop, 512-tap distortion filters;\n"
    "SDR, ISR, SIR, SAR: median over frames, then over tracks), SI-SDR (the\n"
    "training loss's definition) and uSDR (whole-song SDR; both averaged\n"
    "over tracks).\n"
    "\n"
    "options:\n"
    "  --weights W              as for locorun separate\n"
    "  --data DIR               a MUSDB18-HQ-layout folder\n"
    "  --split S                default: test\n"
    "  --tracks N               only the first N tracks (by name)\n"
    "  --sources A,B,...        with --estimates: the stems (default\n"
    "                           vocals,drums,bass,other)\n"
    "  --json FILE              write every frame's scores and the summary\n"
    "                           (checked before the first track; replaced\n"
    "                           when complete, or written in place when it\n"
    "                           is a stream such as /dev/stdout)\n"
    "  --rescale auto|off|gains|mixture\n"
    "                           as for locorun separate (with --estimates,\n"
    "                           auto is off); when it applies, the model's\n"
    "                           own estimates are scored too (a raw SDR line\n"
    "                           per track, without_rescaling in the JSON)\n"
    "  --overlap F, --mono, --device D, --quiet   as for locorun separate\n";

} // namespace

int loco::runEvaluateCommand(int argc, char **argv) {
  InferenceArguments a =
      parseInferenceArguments(argc, argv, kEvaluateUsage, /*evaluate=*/true);
  if (a.data.empty())
    usageError(kEvaluateUsage, "--data DIR is required");
  if (a.artifact.empty() == a.estimates.empty())
    usageError(
        kEvaluateUsage,
        "give either a separation artifact (with --weights) or --estimates");
  std::unique_ptr<OutputFile> json;
  nlohmann::ordered_json tracksJson = nlohmann::ordered_json::array();
  // The JSON document of the tracks scored so far; `error` when the run
  // stopped before the last one.
  auto writeJson = [&](const nlohmann::ordered_json &summary,
                       const std::string &error) {
    nlohmann::ordered_json root;
    root["split"] = a.split;
    root["bss_eval"] = {{"version", 4},
                        {"window_seconds", 1.0},
                        {"hop_seconds", 1.0},
                        {"filters_len", 512},
                        {"aggregate", "median over frames, then tracks"}};
    root["complete"] = error.empty();
    if (!error.empty())
      root["error"] = error;
    root["summary"] = summary;
    root["tracks"] = tracksJson;
    // Track names are file names: bytes that are not UTF-8 become U+FFFD.
    json->write(root.dump(1, ' ', false,
                          nlohmann::ordered_json::error_handler_t::replace) +
                "\n");
  };
  try {
    if (!a.json.empty())
      json = std::make_unique<OutputFile>(a.json, "--json");
    std::unique_ptr<Session> session;
    std::vector<std::string> names = a.sources;
    if (!a.artifact.empty()) {
      session = openSeparation(a, kEvaluateUsage);
      names = sourceNames(*session);
    } else if (names.empty()) {
      names = {"vocals", "drums", "bass", "other"};
    }
    fs::path splitDir = fs::path(a.data) / a.split;
    std::error_code ec;
    if (!fs::is_directory(splitDir, ec))
      throw RunError(splitDir.string() +
                     ": not a folder (--data expects a "
                     "MUSDB18-HQ layout: <split>/<track>/)");
    std::vector<fs::path> trackDirs;
    for (const auto &entry : fs::directory_iterator(splitDir))
      if (entry.is_directory())
        trackDirs.push_back(entry.path());
    std::sort(trackDirs.begin(), trackDirs.end());
    if (a.tracks > 0 && static_cast<size_t>(a.tracks) < trackDirs.size())
      trackDirs.resize(a.tracks);
    if (trackDirs.empty())
      throw RunError(splitDir.string() + ": no track folders");

    SeparateOptions options;
    options.overlap = a.overlap;
    options.mono = a.mono;
    options.progress = !a.quiet;
    // Evaluation rescales the estimates itself (against the track's own
    // mixture), so that it can score the model's raw ones too.
    options.rescale = Rescale::Off;
    SeparateFn separate;
    if (session)
      separate = [&](Audio mixture, const std::string &label) {
        return separateSong(*session, std::move(mixture), options, label);
      };
    ScoreOptions scoring;
    scoring.rescale =
        session ? resolveRescale(a.rescale, session->artifact().manifest())
        : a.rescale == Rescale::Auto ? Rescale::Off
                                     : a.rescale;
    checkTracks(trackDirs, names, session != nullptr, a.estimates, a.mono,
                scoring.rescale != Rescale::Off);
    if (scoring.rescale != Rescale::Off)
      std::printf("the stems are rescaled (--rescale %s: %s); the model's own "
                  "level is scored too (raw SDR)\n",
                  rescaleName(scoring.rescale),
                  a.rescale == Rescale::Auto ? "it was trained on a "
                                               "scale-free loss"
                                             : "asked for");
    TrackScores scores(names.size());
    // The summary over the tracks scored so far, printed when `print`.
    auto summarize = [&](bool print) {
      // BSSEval's criteria: median over tracks; SI-SDR, uSDR: mean.
      auto aggregate = [&](const PerTrackScores &perTrack, size_t s) {
        CriteriaValues values;
        for (size_t k = 0; k < std::size(kCriteria); ++k)
          values[k] =
              k < 4 ? nanMedian(perTrack[s][k]) : finiteMean(perTrack[s][k]);
        return values;
      };
      bool rescaled = scoring.rescale != Rescale::Off;
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
    };
    std::printf("%-32s %-8s %8s %8s %8s %8s %8s %8s\n", "track", "source",
                "SDR", "ISR", "SIR", "SAR", "SI-SDR", "uSDR");
    try {
      for (size_t t = 0; t < trackDirs.size(); ++t)
        scoreTrack(trackDirs[t], t, trackDirs.size(), names, separate,
                   a.estimates, scoring, scores, tracksJson);
    } catch (const std::exception &e) {
      // The scores of the tracks before it are kept.
      if (json && !tracksJson.empty()) {
        writeJson(summarize(false), e.what());
        std::fprintf(stderr,
                     "locorun: the scores of the %zu track(s) before it are "
                     "in %s (\"complete\": false)\n",
                     tracksJson.size(), a.json.c_str());
      }
      throw;
    }
    std::printf("\n%zu track(s): SDR, ISR, SIR, SAR: median over frames, then "
                "over tracks; SI-SDR, uSDR: mean over tracks\n",
                trackDirs.size());
    nlohmann::ordered_json summary = summarize(true);
    std::fflush(stdout);
    if (json)
      writeJson(summary, "");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
