//===- Inference.cpp - locorun separate and locorun evaluate --------------===//
//
// This file implements the command lines of separation (songs to stems,
// any length, resampled as needed) and evaluation (a MUSDB18-layout split,
// separated by a separation artifact or read from a folder of estimates,
// scored per track and source, printed as a table and written as JSON).
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Inference.h"
#include "runtime/data/Audio.h"
#include "runtime/io/Checkpoint.h"
#include "runtime/eval/Evaluate.h"
#include "runtime/eval/Metrics.h"
#include "runtime/io/OutputFile.h"
#include "runtime/eval/Separate.h"
#include "runtime/session/Session.h"

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

const char *kSeparateUsage =
    "usage: locorun separate SEPARATE.so --weights W SONG... -o DIR [options]\n"
    "\n"
    "Separates each SONG (any format libsndfile reads) into one file per\n"
    "source, DIR/<song>/<source>.wav, with the artifact of\n"
    "`lococ CONFIG --mode separate`. Songs of any length run segment by\n"
    "segment (overlap-added with a cross-fade); stereo is separated channel\n"
    "by channel; other sample rates are resampled (libsamplerate).\n"
    "\n"
    "options:\n"
    "  --weights W              model.safetensors (upstream names), or a\n"
    "                           checkpoint folder holding it (or latest/)\n"
    "  -o, --out DIR            where the stems go\n"
    "  --overlap F              fraction of a segment shared with the next\n"
    "                           (default 0.25, in [0, 0.95])\n"
    "  --batch-segments N       check that the artifact runs N segments per\n"
    "                           step (chosen by lococ --batch-segments)\n"
    "  --mono                   average the channels first (as upstream)\n"
    "  --rescale auto|off|gains|mixture\n"
    "                           the stems' level: gains are the least-squares\n"
    "                           gains that make the stems sum closest to the\n"
    "                           mixture (SI-SDR unchanged); mixture adds\n"
    "                           mixture consistency (the stems then sum to\n"
    "                           the mixture); auto (default): gains for a\n"
    "                           model trained on a scale-free loss (SI-SDR\n"
    "                           alone), else off\n"
    "  --format wav|flac        wav: 32-bit float (default); flac: 24-bit\n"
    "  --overwrite              replace stems that are already in DIR (by\n"
    "                           default an existing file is an error, found\n"
    "                           before the first song is separated)\n"
    "  --device D               cpu (default), cuda or cuda:N\n"
    "  --quiet                  no progress line\n";

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

[[noreturn]] void usage(const char *text, const std::string &message) {
  std::fprintf(stderr, "locorun: error: %s\n%s", message.c_str(), text);
  std::exit(1);
}

struct Arguments {
  std::string artifact, weights, out, data, split = "test", json, estimates,
                                            device = "cpu", format = "wav";
  Rescale rescale = Rescale::Auto;
  std::vector<std::string> songs, sources;
  double overlap = 0.25;
  int64_t batchSegments = 0, tracks = 0;
  bool mono = false, quiet = false, overwrite = false;
};

int64_t positive(const char *text, const std::string &option,
                 const std::string &value) {
  char *end = nullptr;
  long long n = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end || n < 1)
    usage(text, option + " expects a positive integer, got '" + value + "'");
  return n;
}

Arguments parse(int argc, char **argv, const char *text, bool evaluate) {
  Arguments a;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(text, "option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(text, stdout);
      std::exit(0);
    } else if (arg == "--weights")
      a.weights = value();
    else if (arg == "--device")
      a.device = value();
    else if (arg == "--mono")
      a.mono = true;
    else if (arg == "--rescale") {
      try {
        a.rescale = parseRescale(value(), "--rescale");
      } catch (const RunError &e) {
        usage(text, e.what());
      }
    }
    else if (arg == "--quiet")
      a.quiet = true;
    else if (arg == "--overlap") {
      std::string v = value();
      char *end = nullptr;
      a.overlap = std::strtod(v.c_str(), &end);
      // Each sample is separated 1 / (1 - overlap) times: 20 at 0.95.
      if (v.empty() || *end || !(a.overlap >= 0.0 && a.overlap <= 0.95))
        usage(text, "--overlap expects a number in [0, 0.95] (each sample is "
                    "separated 1 / (1 - overlap) times), got '" + v + "'");
    } else if (!evaluate && (arg == "-o" || arg == "--out"))
      a.out = value();
    else if (!evaluate && arg == "--format") {
      a.format = value();
      if (a.format != "wav" && a.format != "flac")
        usage(text, "--format expects wav or flac, got '" + a.format + "'");
    } else if (!evaluate && arg == "--overwrite")
      a.overwrite = true;
    else if (!evaluate && arg == "--batch-segments")
      a.batchSegments = positive(text, arg, value());
    else if (evaluate && arg == "--data")
      a.data = value();
    else if (evaluate && arg == "--split")
      a.split = value();
    else if (evaluate && arg == "--json")
      a.json = value();
    else if (evaluate && arg == "--estimates")
      a.estimates = value();
    else if (evaluate && arg == "--tracks")
      a.tracks = positive(text, arg, value());
    else if (evaluate && arg == "--sources") {
      std::stringstream list(value());
      for (std::string name; std::getline(list, name, ',');)
        if (!name.empty())
          a.sources.push_back(name);
    } else if (!arg.empty() && arg[0] == '-')
      usage(text, "unknown option '" + arg + "'");
    else if (a.artifact.empty())
      a.artifact = arg;
    else if (!evaluate)
      a.songs.push_back(arg);
    else
      usage(text, "unexpected argument '" + arg + "'");
  }
  return a;
}

/// Opens the artifact on `device` with the weights of `weights`.
std::unique_ptr<Session> openSeparation(const Arguments &a, const char *text) {
  if (a.artifact.empty())
    usage(text, "no separation artifact given (lococ CONFIG --mode separate "
                "-o separate.so)");
  if (a.weights.empty())
    usage(text, "--weights is required (a model.safetensors or checkpoint "
                "folder)");
  auto session = std::make_unique<Session>(a.artifact, a.device);
  if (!session->artifact().separate())
    throw RunError("'" + a.artifact +
                   "' has no separation step (a train.so of an earlier "
                   "lococ); compile one with `lococ CONFIG --mode separate -o "
                   "separate.so` (the same config, and --batch-segments N for "
                   "N segments per step)");
  session->loadParameters(findWeights(a.weights, "--weights"));
  return session;
}

std::vector<std::string> sourceNames(Session &session) {
  std::vector<std::string> names;
  for (const ManifestTensor &out : session.artifact().separate().outputs)
    names.push_back(out.name);
  return names;
}

/// The folder name of a song's stems: its file's stem, or for a MUSDB
/// mixture its track folder's name, from the absolute path with `.` and
/// `..` resolved (lexically: a linked song keeps its own name, not its
/// target's, as in git-annex or DVC folders); one path component, never
/// `.`, `..` or empty, so it cannot name a folder outside -o.
std::string songLabel(const std::string &path) {
  fs::path normal = fs::absolute(path).lexically_normal();
  std::string label = normal.stem().string();
  if (label == "mixture" && normal.parent_path().has_filename())
    label = normal.parent_path().filename().string();
  if (label.empty() || label == "." || label == "..")
    label = "song";
  return label;
}

bool isRegularFile(const std::string &path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// Creates `dir` and checks that files can be made in it; throws RunError
/// naming `option` otherwise.
void prepareOutputFolder(const std::string &dir, const std::string &option) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw RunError(option + " " + dir + ": exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec)
    throw RunError(option + " " + dir + ": cannot create the folder: " +
                   ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw RunError(option + " " + dir + ": cannot write in the folder: " +
                   std::strerror(errno));
}

/// One line on the stems' level: which rescaling was applied, and why.
void printRescale(const RescaleReport &applied,
                  const std::vector<std::string> &names, bool automatic) {
  if (applied.applied == Rescale::Off) {
    if (automatic)
      std::printf("  level: as the model made it (its loss fixes the "
                  "scale; --rescale gains to rescale anyway)\n");
    return;
  }
  std::printf("  level: %s (", applied.applied == Rescale::Mixture
                                   ? "least-squares gains, then mixture "
                                     "consistency"
                                   : "least-squares gains");
  for (size_t s = 0; s < names.size(); ++s)
    std::printf("%s%s x%.4g", s ? ", " : "", names[s].c_str(),
                applied.gains[s]);
  std::printf(")%s\n", automatic ? "; the model was trained on a "
                                    "scale-free loss (--rescale off keeps "
                                    "its raw level)"
                                  : "");
  // Two estimates that are nearly the same signal get large gains of
  // opposite signs, which amplify their difference.
  for (double gain : applied.gains)
    if (std::abs(gain) > 100.0) {
      std::fprintf(stderr,
                   "locorun: warning: a gain above 100 in magnitude: two "
                   "stems are nearly the same signal, and the gains amplify "
                   "their difference (--rescale off keeps the raw level)\n");
      break;
    }
}
} // namespace

int loco::runSeparateCommand(int argc, char **argv) {
  Arguments a = parse(argc, argv, kSeparateUsage, /*evaluate=*/false);
  if (a.songs.empty())
    usage(kSeparateUsage, "no song given");
  if (a.out.empty())
    usage(kSeparateUsage, "-o DIR is required");
  try {
    // Everything that can fail without the model fails before it runs:
    // the output folder, every song's header, every stem's name.
    // Headers of files only: a pipe (/dev/stdin) is read once, when its
    // turn comes.
    for (const std::string &path : a.songs)
      if (isRegularFile(path))
        probeAudio(path);
    prepareOutputFolder(a.out, "-o");
    std::unique_ptr<Session> session = openSeparation(a, kSeparateUsage);
    int64_t rows = session->artifact().inputs().front().shape[0];
    if (a.batchSegments && a.batchSegments != rows)
      throw RunError("'" + a.artifact + "' runs " + std::to_string(rows) +
                     " segments per step, not " +
                     std::to_string(a.batchSegments) +
                     "; the batch is part of its memory plan: recompile with "
                     "`lococ CONFIG --mode separate --batch-segments " +
                     std::to_string(a.batchSegments) + "`");
    std::vector<std::string> names = sourceNames(*session);
    std::vector<std::string> labels;
    std::set<std::string> taken;
    std::vector<std::string> existing;
    for (const std::string &path : a.songs) {
      std::string base = songLabel(path), label = base;
      for (int n = 2; !taken.insert(label).second; ++n)
        label = base + "-" + std::to_string(n);
      labels.push_back(label);
      // A song's folder is a folder of -o, not a link out of it.
      fs::path folder = fs::path(a.out) / label;
      std::error_code ec;
      if (fs::is_symlink(fs::symlink_status(folder, ec)))
        throw RunError(folder.string() +
                       ": is a link; the stems of a song go in a folder of "
                       "-o itself (nothing was separated)");
      // A file this run did not write is replaced only when asked: -o
      // inside a MUSDB split would otherwise write over its references.
      for (const std::string &name : names) {
        fs::path stem = folder / (name + "." + a.format);
        if (fs::exists(fs::symlink_status(stem, ec)) && !a.overwrite)
          existing.push_back(stem.string());
      }
    }
    if (!existing.empty())
      throw RunError(
          existing.front() + (existing.size() > 1
                                  ? " (and " +
                                        std::to_string(existing.size() - 1) +
                                        " more)"
                                  : std::string()) +
          ": already exists and this run did not write it; pass --overwrite "
          "to replace it, or give another -o (nothing was separated)");
    SeparateOptions options;
    options.overlap = a.overlap;
    options.mono = a.mono;
    options.progress = !a.quiet;
    options.rescale = resolveRescale(a.rescale, session->artifact().manifest());
    AudioFormat format =
        a.format == "flac" ? AudioFormat::Flac : AudioFormat::Wav;
    for (size_t i = 0; i < a.songs.size(); ++i) {
      const std::string &path = a.songs[i];
      RescaleReport applied;
      std::vector<Audio> stems = separateSong(*session, readAudio(path),
                                              options, labels[i], &applied);
      fs::path dir = fs::path(a.out) / labels[i];
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        throw RunError(dir.string() +
                       ": cannot create the folder: " + ec.message());
      for (size_t s = 0; s < stems.size(); ++s)
        writeAudio((dir / (names[s] + "." + a.format)).string(), stems[s],
                   format);
      std::string list;
      for (const std::string &name : names)
        list += (list.empty() ? "" : ",") + name;
      std::printf("%s -> %s/{%s}.%s\n", path.c_str(), dir.c_str(),
                  list.c_str(), a.format.c_str());
      printRescale(applied, names, a.rescale == Rescale::Auto);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

int loco::runEvaluateCommand(int argc, char **argv) {
  Arguments a = parse(argc, argv, kEvaluateUsage, /*evaluate=*/true);
  if (a.data.empty())
    usage(kEvaluateUsage, "--data DIR is required");
  if (a.artifact.empty() == a.estimates.empty())
    usage(kEvaluateUsage,
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
