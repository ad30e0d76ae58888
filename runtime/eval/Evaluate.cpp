//===- Evaluate.cpp - Scoring a MUSDB18-layout split ----------------------===//
//
// This file implements the checks of a split before any track is scored
// and the scoring of one track (BSSEval v4, SI-SDR, uSDR), with its table
// rows and JSON.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/Evaluate.h"
#include "runtime/eval/Metrics.h"
#include "runtime/support/RunError.h"

#include <array>
#include <cmath>
#include <cstdio>

using namespace loco;
namespace fs = std::filesystem;

std::string loco::stemFile(const fs::path &dir, const std::string &name) {
  for (const char *ext : {".wav", ".flac"})
    if (fs::exists(dir / (name + ext)))
      return (dir / (name + ext)).string();
  throw RunError((dir / name).string() + ".{wav,flac}: missing stem");
}

namespace {
/// `v`, or null when it is not finite (JSON has no NaN).
nlohmann::ordered_json jsonNumber(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v)
                          : nlohmann::ordered_json();
}
} // namespace

nlohmann::ordered_json loco::criteriaJson(const CriteriaValues &values) {
  nlohmann::ordered_json json;
  for (size_t k = 0; k < std::size(kCriteria); ++k)
    json[kCriteria[k]] = jsonNumber(values[k]);
  return json;
}

void loco::printScoreRow(const std::string &label, const std::string &source,
                         const CriteriaValues &values) {
  std::printf("%-32s %-8s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n",
              label.substr(0, 32).c_str(), source.c_str(), values[0], values[1],
              values[2], values[3], values[4], values[5]);
}

void loco::printRawSdrRow(const std::vector<std::string> &names,
                          const std::vector<double> &sdr) {
  std::printf("%-32s %-8s", "", "raw SDR");
  for (size_t s = 0; s < names.size(); ++s)
    std::printf(" %s %.3f", names[s].c_str(), sdr[s]);
  std::printf(" (without rescaling)\n");
}

double loco::finiteMean(const std::vector<double> &values) {
  double sum = 0.0;
  int64_t count = 0;
  for (double v : values)
    if (std::isfinite(v))
      sum += v, ++count;
  return count ? sum / count : std::nan("");
}

namespace {
/// The criteria of every source of one set of estimates (BSSEval medians
/// over frames, SI-SDR, uSDR), and each source's frames as JSON. A track
/// whose BSSEval is undefined gets NaN there and `failure` says why.
struct SourceScores {
  std::vector<CriteriaValues> values;
  std::vector<nlohmann::ordered_json> frames;
  std::string failure;
};

SourceScores scoreSources(const SourceImages &references,
                          const SourceImages &estimates, int64_t rate,
                          int64_t filtersLen, const std::string &track,
                          bool warn) {
  SourceScores scores;
  BssEval bss;
  try {
    bss = bssEvalV4(references, estimates, rate, rate, filtersLen);
  } catch (const RunError &e) {
    scores.failure = e.what();
    if (warn)
      std::fprintf(stderr, "locorun: warning: %s: %s\n", track.c_str(),
                   scores.failure.c_str());
  }
  for (size_t s = 0; s < references.size(); ++s) {
    CriteriaValues values{};
    const std::vector<std::vector<double>> *frames[] = {&bss.sdr, &bss.isr,
                                                        &bss.sir, &bss.sar};
    nlohmann::ordered_json framesJson = nlohmann::ordered_json::object();
    for (int k = 0; k < 4; ++k) {
      bool ok = scores.failure.empty();
      values[k] = ok ? nanMedian((*frames[k])[s]) : std::nan("");
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      if (ok)
        for (double v : (*frames[k])[s])
          list.push_back(jsonNumber(v));
      framesJson[kCriteria[k]] = std::move(list);
    }
    values[4] = siSdr(references[s], estimates[s]);
    values[5] = uSdr(references[s], estimates[s]);
    scores.values.push_back(values);
    scores.frames.push_back(std::move(framesJson));
  }
  return scores;
}

/// The channel mean of `channels`, as one channel.
std::vector<float>
channelMean(const std::vector<std::vector<float>> &channels) {
  std::vector<float> mean(channels[0].size(), 0.0f);
  for (const auto &channel : channels)
    for (size_t i = 0; i < channel.size() && i < mean.size(); ++i)
      mean[i] += channel[i] / channels.size();
  return mean;
}
} // namespace

void loco::scoreTrack(const fs::path &dir, size_t t, size_t count,
                      const std::vector<std::string> &names,
                      const SeparateFn &separate,
                      const std::string &estimatesDir,
                      const ScoreOptions &options, TrackScores &scores,
                      nlohmann::ordered_json &tracksJson) {
  std::string track = dir.filename().string();
  SourceImages references, estimates;
  int64_t rate = 0;
  for (const std::string &name : names) {
    Audio ref = readAudio(stemFile(dir, name));
    rate = ref.sampleRate; // one rate: checkTracks
    references.push_back(std::move(ref.channels));
  }
  // The mixture: separated, and the target of the rescaling gains.
  bool rescale = options.rescale != Rescale::Off;
  Audio mixture;
  if (separate || rescale)
    mixture = readAudio(stemFile(dir, "mixture"));
  if (separate) {
    std::string label = "[" + std::to_string(t + 1) + "/" +
                        std::to_string(count) + "] " + track;
    for (Audio &stem : separate(rescale ? mixture : std::move(mixture), label))
      estimates.push_back(std::move(stem.channels));
  } else {
    for (const std::string &name : names)
      estimates.push_back(
          readAudio(stemFile(fs::path(estimatesDir) / track, name)).channels);
  }
  // Mono estimates against the references' mean (--mono), else channel for
  // channel; lengths as museval pads or truncates them.
  for (size_t s = 0; s < names.size(); ++s) {
    auto &ref = references[s], &est = estimates[s];
    if (est.size() == 1 && ref.size() > 1)
      ref = {channelMean(ref)};
    if (est.size() != ref.size())
      throw RunError(track + "/" + names[s] + ": " +
                     std::to_string(est.size()) + " estimate channels for " +
                     std::to_string(ref.size()) + " reference channels");
    for (size_t c = 0; c < ref.size(); ++c)
      est[c].resize(ref[c].size(), 0.0f);
  }
  // The rescaled estimates are the ones scored; the model's own are scored
  // too, so that the effect of the level is seen on the same estimates.
  SourceImages raw;
  RescaleReport applied;
  if (rescale) {
    Channels target = std::move(mixture.channels);
    if (estimates.front().size() == 1 && target.size() > 1)
      target = {channelMean(target)};
    for (auto &channel : target)
      channel.resize(estimates.front().front().size(), 0.0f);
    raw = estimates;
    applied = rescaleStems(options.rescale, target, estimates);
  }
  SourceScores main = scoreSources(references, estimates, rate,
                                   options.filtersLen, track, /*warn=*/true);
  SourceScores before;
  if (rescale)
    before = scoreSources(references, raw, rate, options.filtersLen, track,
                          /*warn=*/false);

  nlohmann::ordered_json sourcesJson = nlohmann::ordered_json::object();
  std::vector<double> rawSdr;
  for (size_t s = 0; s < names.size(); ++s) {
    const CriteriaValues &values = main.values[s];
    for (size_t k = 0; k < std::size(kCriteria); ++k)
      scores.scored[s][k].push_back(values[k]);
    nlohmann::ordered_json sourceJson = criteriaJson(values);
    sourceJson["frames"] = std::move(main.frames[s]);
    if (rescale) {
      for (size_t k = 0; k < std::size(kCriteria); ++k)
        scores.raw[s][k].push_back(before.values[s][k]);
      rawSdr.push_back(before.values[s][0]);
      sourceJson["gain"] = applied.gains[s];
      sourceJson["without_rescaling"] = criteriaJson(before.values[s]);
    }
    sourcesJson[names[s]] = std::move(sourceJson);
    if (options.print)
      printScoreRow(s == 0 ? track : "", names[s], values);
  }
  if (rescale && options.print)
    printRawSdrRow(names, rawSdr);
  nlohmann::ordered_json trackJson;
  trackJson["name"] = track;
  trackJson["sample_rate"] = rate;
  trackJson["rescale"] = rescaleName(applied.applied);
  if (!main.failure.empty())
    trackJson["bss_eval_error"] = main.failure;
  trackJson["sources"] = std::move(sourcesJson);
  tracksJson.push_back(std::move(trackJson));
  std::fflush(stdout);
}

void loco::checkTracks(const std::vector<fs::path> &trackDirs,
                       const std::vector<std::string> &names, bool separating,
                       const std::string &estimates, bool mono,
                       bool rescaling) {
  std::vector<std::string> problems;
  for (const fs::path &dir : trackDirs) {
    std::string track = dir.filename().string();
    try {
      // The references: one rate and one channel count, or one problem
      // that lists them all.
      std::vector<std::pair<std::string, AudioInfo>> stems;
      for (const std::string &name : names)
        stems.emplace_back(name, probeAudio(stemFile(dir, name)));
      AudioInfo reference = stems.front().second;
      bool sameRate = true, sameChannels = true, sameLength = true;
      for (const auto &stem : stems) {
        sameRate &= stem.second.sampleRate == reference.sampleRate;
        sameChannels &= stem.second.channels == reference.channels;
        sameLength &= stem.second.frames == reference.frames;
      }
      if (!sameRate || !sameChannels || !sameLength) {
        std::string list;
        for (const auto &[name, info] : stems)
          list += (list.empty() ? "" : ", ") + name + " " +
                  (!sameRate       ? std::to_string(info.sampleRate) + " Hz"
                   : !sameChannels ? std::to_string(info.channels) + " ch"
                                   : std::to_string(info.frames) + " frames");
        problems.push_back(
            dir.string() + ": reference stems " +
            (!sameRate ? "at different rates (" + list + ")"
             : !sameChannels
                 ? "of different channels (" + list +
                       "); BSSEval scores a track's sources together, so "
                       "they need the same channels"
                 : "of different lengths (" + list +
                       "); a track's stems are one recording"));
        continue;
      }
      // The rate of every other file; a problem names it.
      auto sameRateAs = [&](const std::string &path, const AudioInfo &info,
                            const char *what) {
        if (info.sampleRate == reference.sampleRate)
          return true;
        problems.push_back(path + ": " + what + " at " +
                           std::to_string(info.sampleRate) +
                           " Hz, the reference stems at " +
                           std::to_string(reference.sampleRate) +
                           " Hz: they are not aligned (resample one of "
                           "them first)");
        return false;
      };
      if (separating) {
        // Stems of the mixture's channels, or one (--mono, or a mono
        // mixture), scored against the references' mean.
        std::string path = stemFile(dir, "mixture");
        AudioInfo info = probeAudio(path);
        if (sameRateAs(path, info, "the mixture") && !mono &&
            info.channels != reference.channels && info.channels != 1)
          problems.push_back(path + ": the mixture of " +
                             std::to_string(info.channels) +
                             " channel(s), the reference stems of " +
                             std::to_string(reference.channels) +
                             " (--mono separates it as one)");
      } else {
        // Rescaling reads the mixture: at the references' rate, with their
        // channels (averaged for mono estimates).
        if (rescaling) {
          std::string path = stemFile(dir, "mixture");
          AudioInfo info = probeAudio(path);
          if (sameRateAs(path, info, "the mixture") &&
              info.channels != reference.channels)
            problems.push_back(path + ": the mixture of " +
                               std::to_string(info.channels) +
                               " channel(s), the reference stems of " +
                               std::to_string(reference.channels) +
                               " (rescaling fits the estimates to it)");
        }
        // Estimates of the references' channels, or all of one channel.
        int64_t channels = -1;
        std::string first;
        for (const std::string &name : names) {
          std::string path = stemFile(fs::path(estimates) / track, name);
          AudioInfo info = probeAudio(path);
          if (!sameRateAs(path, info, "an estimate"))
            continue;
          if (info.channels != reference.channels && info.channels != 1)
            problems.push_back(path + ": an estimate of " +
                               std::to_string(info.channels) +
                               " channel(s), the reference stems of " +
                               std::to_string(reference.channels));
          else if (channels >= 0 && info.channels != channels)
            problems.push_back(path + ": an estimate of " +
                               std::to_string(info.channels) +
                               " channel(s), and " + first + " of " +
                               std::to_string(channels) +
                               ": a track's estimates are scored together");
          else if (channels < 0)
            channels = info.channels, first = path;
        }
      }
    } catch (const RunError &e) {
      problems.push_back(e.what());
    }
  }
  if (problems.empty())
    return;
  std::string text = std::to_string(problems.size()) +
                     " problem(s) found before any track was scored:";
  for (size_t i = 0; i < problems.size() && i < 10; ++i)
    text += "\n  " + problems[i];
  if (problems.size() > 10)
    text += "\n  ... and " + std::to_string(problems.size() - 10) + " more";
  throw RunError(text);
}
