//===- Inference.cpp - locorun separate and locorun evaluate --------------===//
//
// This file implements the command lines of separation (songs to stems,
// any length, resampled as needed) and evaluation (a MUSDB18-layout split,
// separated by a separation artifact or read from a folder of estimates,
// scored per track and source, printed as a table and written as JSON).
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Inference.h"
#include "tools/locorun/Audio.h"
#include "tools/locorun/Metrics.h"
#include "tools/locorun/Separate.h"
#include "tools/locorun/Session.h"

#include <nlohmann/json.hpp>

#include <algorithm>
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
    "                           (default 0.25, in [0, 1))\n"
    "  --batch-segments N       check that the artifact runs N segments per\n"
    "                           step (chosen by lococ --batch-segments)\n"
    "  --mono                   average the channels first (as upstream)\n"
    "  --format wav|flac        wav: 32-bit float (default); flac: 24-bit\n"
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
    "  --overlap F, --mono, --device D, --quiet   as for locorun separate\n";

[[noreturn]] void usage(const char *text, const std::string &message) {
  std::fprintf(stderr, "locorun: error: %s\n%s", message.c_str(), text);
  std::exit(1);
}

struct Arguments {
  std::string artifact, weights, out, data, split = "test", json, estimates,
                                            device = "cpu", format = "wav";
  std::vector<std::string> songs, sources;
  double overlap = 0.25;
  int64_t batchSegments = 0, tracks = 0;
  bool mono = false, quiet = false;
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
    else if (arg == "--quiet")
      a.quiet = true;
    else if (arg == "--overlap") {
      std::string v = value();
      char *end = nullptr;
      a.overlap = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(a.overlap >= 0.0 && a.overlap < 1.0))
        usage(text, "--overlap expects a number in [0, 1), got '" + v + "'");
    } else if (!evaluate && (arg == "-o" || arg == "--out"))
      a.out = value();
    else if (!evaluate && arg == "--format") {
      a.format = value();
      if (a.format != "wav" && a.format != "flac")
        usage(text, "--format expects wav or flac, got '" + a.format + "'");
    } else if (!evaluate && arg == "--batch-segments")
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

/// `path` itself, or the model.safetensors of a checkpoint folder (of its
/// `latest` checkpoint, when it holds several).
std::string weightsFile(const std::string &path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    return path;
  for (fs::path candidate : {fs::path(path) / "model.safetensors",
                             fs::path(path) / "latest" / "model.safetensors"})
    if (fs::exists(candidate, ec))
      return candidate.string();
  throw RunError(path + ": a folder without model.safetensors (or "
                        "latest/model.safetensors)");
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
  session->loadParameters(weightsFile(a.weights));
  return session;
}

std::vector<std::string> sourceNames(Session &session) {
  std::vector<std::string> names;
  for (const ManifestTensor &out : session.artifact().separate().outputs)
    names.push_back(out.name);
  return names;
}

} // namespace

int loco::runSeparateCommand(int argc, char **argv) {
  Arguments a = parse(argc, argv, kSeparateUsage, /*evaluate=*/false);
  if (a.songs.empty())
    usage(kSeparateUsage, "no song given");
  if (a.out.empty())
    usage(kSeparateUsage, "-o DIR is required");
  try {
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
    SeparateOptions options;
    options.overlap = a.overlap;
    options.mono = a.mono;
    options.progress = !a.quiet;
    AudioFormat format =
        a.format == "flac" ? AudioFormat::Flac : AudioFormat::Wav;
    std::set<std::string> labels;
    for (size_t i = 0; i < a.songs.size(); ++i) {
      const std::string &path = a.songs[i];
      Audio song = readAudio(path);
      // The song's name; a MUSDB mixture is named by its track folder.
      std::string label = fs::path(path).stem().string();
      if (label == "mixture" && fs::absolute(path).parent_path().has_filename())
        label = fs::absolute(path).parent_path().filename().string();
      for (int n = 2; !labels.insert(label).second; ++n)
        label = fs::path(path).stem().string() + "-" + std::to_string(n);
      std::vector<Audio> stems =
          separateSong(*session, std::move(song), options, label);
      fs::path dir = fs::path(a.out) / label;
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        throw RunError(dir.string() +
                       ": cannot create the folder: " + ec.message());
      for (size_t s = 0; s < stems.size(); ++s)
        writeAudio((dir / (names[s] + "." + a.format)).string(), stems[s],
                   format);
      std::printf(
          "%s -> %s/{%s}.%s\n", path.c_str(), dir.c_str(),
          [&] {
            std::string list;
            for (const std::string &name : names)
              list += (list.empty() ? "" : ",") + name;
            return list;
          }()
              .c_str(),
          a.format.c_str());
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

namespace {
/// A stem of a track folder: <dir>/<name>.wav or .flac.
std::string stemFile(const fs::path &dir, const std::string &name) {
  for (const char *ext : {".wav", ".flac"})
    if (fs::exists(dir / (name + ext)))
      return (dir / (name + ext)).string();
  throw RunError((dir / name).string() + ".{wav,flac}: missing stem");
}

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v)
                          : nlohmann::ordered_json();
}

double mean(const std::vector<double> &values) {
  double sum = 0.0;
  int64_t count = 0;
  for (double v : values)
    if (std::isfinite(v))
      sum += v, ++count;
  return count ? sum / count : std::nan("");
}

const char *kCriteria[] = {"SDR", "ISR", "SIR", "SAR", "SI-SDR", "uSDR"};
} // namespace

int loco::runEvaluateCommand(int argc, char **argv) {
  Arguments a = parse(argc, argv, kEvaluateUsage, /*evaluate=*/true);
  if (a.data.empty())
    usage(kEvaluateUsage, "--data DIR is required");
  if (a.artifact.empty() == a.estimates.empty())
    usage(kEvaluateUsage,
          "give either a separation artifact (with --weights) or --estimates");
  try {
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
    // [source][criterion][track]: per-track medians (BSSEval) and values.
    std::vector<std::vector<std::vector<double>>> perTrack(
        names.size(), std::vector<std::vector<double>>(std::size(kCriteria)));
    nlohmann::ordered_json tracksJson = nlohmann::ordered_json::array();
    std::printf("%-32s %-8s %8s %8s %8s %8s %8s %8s\n", "track", "source",
                "SDR", "ISR", "SIR", "SAR", "SI-SDR", "uSDR");
    for (size_t t = 0; t < trackDirs.size(); ++t) {
      const fs::path &dir = trackDirs[t];
      std::string track = dir.filename().string();
      SourceImages references, estimates;
      int64_t rate = 0;
      for (const std::string &name : names) {
        Audio ref = readAudio(stemFile(dir, name));
        if (rate && ref.sampleRate != rate)
          throw RunError(dir.string() + ": stems at different sample rates");
        rate = ref.sampleRate;
        references.push_back(std::move(ref.channels));
      }
      if (session) {
        Audio mixture = readAudio(stemFile(dir, "mixture"));
        std::string label = "[" + std::to_string(t + 1) + "/" +
                            std::to_string(trackDirs.size()) + "] " + track;
        for (Audio &stem :
             separateSong(*session, std::move(mixture), options, label))
          estimates.push_back(std::move(stem.channels));
      } else {
        for (const std::string &name : names)
          estimates.push_back(
              readAudio(stemFile(fs::path(a.estimates) / track, name))
                  .channels);
      }
      // Mono references against mono estimates (--mono), else channel for
      // channel; lengths as museval pads or truncates them.
      for (size_t s = 0; s < names.size(); ++s) {
        auto &ref = references[s], &est = estimates[s];
        if (est.size() == 1 && ref.size() > 1) {
          std::vector<float> mean(ref[0].size(), 0.0f);
          for (const auto &channel : ref)
            for (size_t i = 0; i < channel.size(); ++i)
              mean[i] += channel[i] / ref.size();
          ref = {std::move(mean)};
        }
        if (est.size() != ref.size())
          throw RunError(track + "/" + names[s] + ": " +
                         std::to_string(est.size()) +
                         " estimate channels for " +
                         std::to_string(ref.size()) + " reference channels");
        for (size_t c = 0; c < ref.size(); ++c)
          est[c].resize(ref[c].size(), 0.0f);
      }
      BssEval bss;
      std::string failure;
      try {
        bss = bssEvalV4(references, estimates, rate, rate);
      } catch (const RunError &e) {
        failure = e.what();
        std::fprintf(stderr, "locorun: warning: %s: %s\n", track.c_str(),
                     failure.c_str());
      }
      nlohmann::ordered_json sourcesJson = nlohmann::ordered_json::object();
      for (size_t s = 0; s < names.size(); ++s) {
        double values[std::size(kCriteria)];
        const std::vector<std::vector<double>> *frames[] = {&bss.sdr, &bss.isr,
                                                            &bss.sir, &bss.sar};
        nlohmann::ordered_json framesJson = nlohmann::ordered_json::object();
        for (int k = 0; k < 4; ++k) {
          values[k] =
              failure.empty() ? nanMedian((*frames[k])[s]) : std::nan("");
          nlohmann::ordered_json list = nlohmann::ordered_json::array();
          if (failure.empty())
            for (double v : (*frames[k])[s])
              list.push_back(number(v));
          framesJson[kCriteria[k]] = std::move(list);
        }
        values[4] = siSdr(references[s], estimates[s]);
        values[5] = uSdr(references[s], estimates[s]);
        nlohmann::ordered_json sourceJson;
        for (size_t k = 0; k < std::size(kCriteria); ++k) {
          perTrack[s][k].push_back(values[k]);
          sourceJson[kCriteria[k]] = number(values[k]);
        }
        sourceJson["frames"] = std::move(framesJson);
        sourcesJson[names[s]] = std::move(sourceJson);
        std::printf("%-32s %-8s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n",
                    s == 0 ? track.substr(0, 32).c_str() : "", names[s].c_str(),
                    values[0], values[1], values[2], values[3], values[4],
                    values[5]);
      }
      nlohmann::ordered_json trackJson;
      trackJson["name"] = track;
      trackJson["sample_rate"] = rate;
      if (!failure.empty())
        trackJson["bss_eval_error"] = failure;
      trackJson["sources"] = std::move(sourcesJson);
      tracksJson.push_back(std::move(trackJson));
      std::fflush(stdout);
    }

    std::printf("\n%zu track(s): SDR, ISR, SIR, SAR: median over frames, then "
                "over tracks; SI-SDR, uSDR: mean over tracks\n",
                trackDirs.size());
    nlohmann::ordered_json summary = nlohmann::ordered_json::object();
    for (size_t s = 0; s < names.size(); ++s) {
      double values[std::size(kCriteria)];
      nlohmann::ordered_json sourceJson;
      for (size_t k = 0; k < std::size(kCriteria); ++k) {
        values[k] = k < 4 ? nanMedian(perTrack[s][k]) : mean(perTrack[s][k]);
        sourceJson[kCriteria[k]] = number(values[k]);
      }
      summary[names[s]] = std::move(sourceJson);
      std::printf("%-32s %-8s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n",
                  s == 0 ? "all tracks" : "", names[s].c_str(), values[0],
                  values[1], values[2], values[3], values[4], values[5]);
    }
    if (!a.json.empty()) {
      nlohmann::ordered_json root;
      root["split"] = a.split;
      root["bss_eval"] = {{"version", 4},
                          {"window_seconds", 1.0},
                          {"hop_seconds", 1.0},
                          {"filters_len", 512},
                          {"aggregate", "median over frames, then tracks"}};
      root["summary"] = std::move(summary);
      root["tracks"] = std::move(tracksJson);
      std::string temporary = a.json + ".partial";
      {
        std::ofstream file(temporary);
        file << root.dump(1) << "\n";
        if (!file)
          throw RunError(a.json + ": cannot write");
      }
      fs::rename(temporary, a.json);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
