//===- Separate.cpp - Songs of any length through a segment step ----------===//
//
// This file implements the segment plan and cross-fade, the batched
// overlap-add, and the separation of one song through a separation
// artifact, with resampling to and from the model's rate.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/Separate.h"
#include "runtime/session/Session.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

using namespace loco;

/// The unnormalised window of segment `k` at its sample `i`: a linear
/// fade in over the overlap (but for the first), a linear fade out (but for
/// the last), the smaller of the two where they meet.
static double rawWeight(const SegmentPlan &plan, int64_t k, int64_t i) {
  double w = 1.0;
  if (plan.overlap > 0 && k > 0)
    w = std::min(w, (i + 0.5) / plan.overlap);
  if (plan.overlap > 0 && k + 1 < plan.count)
    w = std::min(w, (plan.segment - i - 0.5) / plan.overlap);
  return w;
}

float SegmentPlan::weight(int64_t k, int64_t i) const {
  // Normalised by the windows of every segment covering the same sample:
  // two where the overlap is at most half a segment (and the fades
  // already add up to one), more beyond that.
  int64_t t = start(k) + i;
  int64_t first = std::max<int64_t>(0, (t - segment + hop()) / hop());
  int64_t last = std::min(count - 1, t / hop());
  double sum = 0.0;
  for (int64_t j = first; j <= last; ++j)
    if (t - start(j) < segment)
      sum += rawWeight(*this, j, t - start(j));
  return static_cast<float>(rawWeight(*this, k, i) / sum);
}

const std::vector<float> &SegmentPlan::weights(int64_t k) const {
  // Segment k's weights involve segments k - reach .. k + reach.
  int64_t reach = (segment + hop() - 1) / hop();
  bool isInterior = k - reach >= 1 && k + reach <= count - 2;
  std::vector<float> &out = isInterior ? interior : edge;
  if (isInterior ? !interior.empty() : edgeSegment == k)
    return out;
  out.resize(segment);
  for (int64_t i = 0; i < segment; ++i)
    out[i] = weight(k, i);
  if (!isInterior)
    edgeSegment = k;
  return out;
}

SegmentPlan loco::planSegments(int64_t length, int64_t segment,
                               double overlap) {
  if (segment < 1 || length < 0 || !(overlap >= 0.0 && overlap < 1.0))
    throw RunError("segments need a positive length and an overlap in [0, 1)");
  SegmentPlan plan;
  plan.length = length;
  plan.segment = segment;
  plan.overlap = std::min<int64_t>(
      segment - 1, static_cast<int64_t>(std::llround(overlap * segment)));
  // The fewest segments whose last one reaches the end: (count - 1) * hop
  // + segment >= length.
  int64_t rest = std::max<int64_t>(0, length - plan.overlap);
  plan.count = std::max<int64_t>(1, (rest + plan.hop() - 1) / plan.hop());
  return plan;
}

std::vector<std::vector<std::vector<float>>>
loco::overlapAdd(const std::vector<std::vector<float>> &mixture,
                 int64_t segment, int64_t rows, size_t numSources,
                 double overlap, const SegmentStep &step,
                 const Progress &progress) {
  int64_t length = mixture.empty() ? 0 : mixture[0].size();
  auto channels = static_cast<int64_t>(mixture.size());
  SegmentPlan plan = planSegments(length, segment, overlap);
  // The song's own samples are all this holds: no copies of them.
  std::vector<std::vector<std::vector<float>>> out(numSources);
  for (auto &source : out) {
    source.resize(channels);
    for (auto &channel : source)
      channel.resize(length, 0.0f);
  }
  // Work items are (segment, channel), segment-major, so that progress
  // moves through the song.
  int64_t items = plan.count * channels;
  std::vector<float> batch(rows * segment);
  std::vector<std::vector<float>> estimates;
  for (int64_t first = 0; first < items; first += rows) {
    int64_t used = std::min(rows, items - first);
    std::fill(batch.begin(), batch.end(), 0.0f);
    for (int64_t r = 0; r < used; ++r) {
      int64_t k = (first + r) / channels, c = (first + r) % channels;
      int64_t start = plan.start(k);
      int64_t count = std::clamp<int64_t>(length - start, 0, segment);
      std::copy_n(mixture[c].begin() + start, count,
                  batch.begin() + r * segment);
    }
    estimates.clear();
    step(batch, estimates);
    if (estimates.size() != numSources)
      throw RunError("the separation step returned " +
                     std::to_string(estimates.size()) + " sources, not " +
                     std::to_string(numSources));
    for (int64_t r = 0; r < used; ++r) {
      int64_t k = (first + r) / channels, c = (first + r) % channels;
      int64_t start = plan.start(k);
      int64_t count = std::clamp<int64_t>(length - start, 0, segment);
      const std::vector<float> &window = plan.weights(k);
      for (size_t s = 0; s < numSources; ++s) {
        const float *estimate = estimates[s].data() + r * segment;
        float *song = out[s][c].data() + start;
        for (int64_t i = 0; i < count; ++i)
          song[i] += window[i] * estimate[i];
      }
    }
    if (progress) {
      int64_t k =
          std::min(plan.count, (first + used + channels - 1) / channels);
      progress(
          static_cast<double>(std::min(length, plan.start(k - 1) + segment)),
          static_cast<double>(length));
    }
  }
  return out;
}

SegmentStep loco::sessionStep(Session &session) {
  const TrainArtifact &art = session.artifact();
  if (!art.separate())
    throw RunError("this artifact has no separation step (a train.so of an "
                   "earlier lococ); compile one with `lococ CONFIG --mode "
                   "separate -o separate.so`");
  return [&session](const std::vector<float> &mixture,
                    std::vector<std::vector<float>> &estimates) {
    session.setInputs({mixture});
    StepOutputs out = session.run(session.artifact().separate());
    for (F32Tensor &tensor : out.tensors) {
      if (int64_t bad = firstNonFiniteIndex(tensor.values); bad >= 0)
        throw RunError("the estimate of '" + tensor.name +
                       "' holds a NaN or Inf (element " + std::to_string(bad) +
                       "); are the weights those of a healthy checkpoint?");
      estimates.push_back(std::move(tensor.values));
    }
  };
}

namespace {
/// "  12.0 / 60.0 s  [#####-----]  3.1 s of audio per second", redrawn on a
/// terminal, printed once at the end otherwise.
class ProgressBar {
public:
  ProgressBar(std::string label, double rate)
      : label(std::move(label)), rate(rate),
        start(std::chrono::steady_clock::now()), tty(isatty(2)) {}
  void update(double done, double total, bool last) {
    if (!tty && !last)
      return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    constexpr int kWidth = 24;
    int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
    std::string bar(filled, '#');
    bar.resize(kWidth, '-');
    std::fprintf(
        stderr, "%s%s  %.1f / %.1f s  [%s]  %.2f s of audio per second%s",
        tty ? "\r" : "", label.c_str(), done / rate, total / rate, bar.c_str(),
        seconds > 0 ? done / rate / seconds : 0.0, last ? "\n" : "");
    std::fflush(stderr);
  }

private:
  std::string label;
  double rate;
  std::chrono::steady_clock::time_point start;
  bool tty;
};
} // namespace

std::vector<Audio> loco::separateSong(Session &session, Audio song,
                                      const SeparateOptions &options,
                                      const std::string &label,
                                      RescaleReport *report) {
  const TrainArtifact &art = session.artifact();
  SegmentStep step = sessionStep(session);
  const ManifestTensor &input = art.inputs().front();
  int64_t rows = input.shape[0], segment = input.shape[1];
  int64_t modelRate = art.manifest()
                          .value("model", nlohmann::json::object())
                          .value("sample_rate", int64_t(0));
  if (modelRate <= 0)
    throw RunError("the artifact's manifest has no model sample rate");

  int64_t frames = song.frames();
  std::vector<std::vector<float>> channels = std::move(song.channels);
  if (options.mono && channels.size() > 1) {
    std::vector<float> mean(frames, 0.0f);
    for (const auto &channel : channels)
      for (int64_t i = 0; i < frames; ++i)
        mean[i] += channel[i];
    for (float &v : mean)
      v /= static_cast<float>(channels.size());
    channels = {std::move(mean)};
  }
  // Mixture consistency holds at the song's rate, against the song itself:
  // keep it when it is resampled (resampling the stems back would undo the
  // sum above the lower rate's Nyquist frequency).
  Rescale rescale = resolveRescale(options.rescale, art.manifest());
  std::vector<std::vector<float>> original;
  if (rescale == Rescale::Mixture && song.sampleRate != modelRate)
    original = channels;
  if (song.sampleRate != modelRate)
    for (auto &channel : channels)
      channel = resample(channel, song.sampleRate, modelRate);

  ProgressBar bar(label, static_cast<double>(modelRate));
  std::vector<std::vector<std::vector<float>>> estimates =
      overlapAdd(channels, segment, rows, art.separate().outputs.size(),
                 options.overlap, step, [&](double done, double total) {
                   if (options.progress)
                     bar.update(done, total, done >= total);
                 });
  // The gains against the mixture the model separated (at its rate, after
  // --mono): linear, so they hold at the song's rate too.
  RescaleReport applied;
  applied.applied = rescale;
  if (rescale != Rescale::Off) {
    applied.gains = mixtureGains(channels, estimates);
    applyGains(estimates, applied.gains);
  }
  std::vector<Audio> stems;
  for (auto &source : estimates) {
    Audio stem;
    stem.sampleRate = song.sampleRate;
    for (auto &channel : source) {
      // At the model's rate the estimate is the stem: moved, not copied.
      std::vector<float> back =
          modelRate == song.sampleRate
              ? std::move(channel)
              : resample(channel, modelRate, song.sampleRate);
      back.resize(frames, 0.0f);
      stem.channels.push_back(std::move(back));
    }
    stems.push_back(std::move(stem));
  }
  if (rescale == Rescale::Mixture) {
    std::vector<Channels> parts;
    for (Audio &stem : stems)
      parts.push_back(std::move(stem.channels));
    mixtureConsistency(original.empty() ? channels : original, parts);
    for (size_t s = 0; s < stems.size(); ++s)
      stems[s].channels = std::move(parts[s]);
  }
  if (report)
    *report = std::move(applied);
  return stems;
}
