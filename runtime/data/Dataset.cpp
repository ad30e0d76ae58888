//===- Dataset.cpp - Training data for locorun ----------------------------===//
//
// This file implements the MUSDB folder reader (libsndfile, seeking to the
// segment so that a track is never held whole), the synthetic tracks, and
// the deterministic sampler.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Dataset.h"
#include "runtime/data/Audio.h"
#include "runtime/support/RunError.h"

#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

using namespace loco;
namespace fs = std::filesystem;

namespace {

/// splitmix64: a well-mixed 64-bit hash for the sampler's keys.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class MusdbFolder : public TrackSource {
public:
  struct Track {
    std::string name;
    std::vector<std::string> stems; // mixture first
    int64_t length;
  };
  std::vector<Track> tracks;

  size_t numTracks() const override { return tracks.size(); }
  const std::string &trackName(size_t t) const override {
    return tracks[t].name;
  }
  int64_t trackLength(size_t t) const override { return tracks[t].length; }

  void readPlanar(size_t t, int64_t offset, int64_t length,
                  PlanarStems &stems) const override {
    stems.clear();
    for (const std::string &path : tracks[t].stems)
      stems.push_back(readStem(path, offset, length));
    // Stereo stays stereo when every stem is; anything else is down-mixed
    // to mono here (the mean, as upstream), so that stems line up.
    bool stereo = true;
    for (const auto &stem : stems)
      stereo &= stem.size() == 2;
    if (!stereo)
      for (auto &stem : stems)
        if (stem.size() != 1)
          stem = {downmix(stem)};
  }

  void read(size_t t, int64_t offset, int64_t length,
            std::vector<std::vector<float>> &stems) const override {
    for (const std::string &path : tracks[t].stems)
      stems.push_back(downmix(readStem(path, offset, length)));
  }

private:
  /// `length` frames of `path` from `offset`, one vector per channel.
  static std::vector<std::vector<float>>
  readStem(const std::string &path, int64_t offset, int64_t length) {
    SF_INFO info{};
    SNDFILE *file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file)
      throw RunError(path + ": cannot read: " + sf_strerror(nullptr));
    std::vector<float> frames(length * info.channels, 0.0f);
    if (sf_seek(file, offset, SEEK_SET) < 0 ||
        sf_readf_float(file, frames.data(), length) != length) {
      sf_close(file);
      throw RunError(path + ": cannot read " + std::to_string(length) +
                     " frames at " + std::to_string(offset));
    }
    sf_close(file);
    std::vector<std::vector<float>> channels(info.channels,
                                             std::vector<float>(length));
    for (int64_t i = 0; i < length; ++i)
      for (int c = 0; c < info.channels; ++c) {
        float x = frames[i * info.channels + c];
        // A float file can hold NaN or Inf; nothing trains on them.
        if (!std::isfinite(x))
          throw RunError(path + ": sample " + std::to_string(offset + i) +
                         " is not a finite number (NaN or Inf)");
        channels[c][i] = x;
      }
    return channels;
  }
};

class SyntheticTracks : public TrackSource {
public:
  std::vector<std::string> names;
  std::vector<std::vector<std::vector<float>>> audio; // track, stem, sample

  size_t numTracks() const override { return audio.size(); }
  const std::string &trackName(size_t t) const override { return names[t]; }
  int64_t trackLength(size_t t) const override { return audio[t][0].size(); }
  void readPlanar(size_t t, int64_t offset, int64_t length,
                  PlanarStems &stems) const override {
    stems.clear();
    for (const auto &stem : audio[t])
      stems.push_back({std::vector<float>(stem.begin() + offset,
                                          stem.begin() + offset + length)});
  }
};

/// One synthetic source: four partials in the source's band, each with a
/// slow amplitude envelope, plus a little noise.
std::vector<float> synthesise(size_t source, int64_t length, double rate,
                              std::mt19937_64 &gen) {
  static const double bands[][2] = {
      {220, 880}, {60, 5000}, {41, 110}, {523, 1318}};
  const double *band = bands[source % 4];
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<float> noise(0.0f, 0.005f);
  std::vector<float> out(length);
  double freq[4], phase[4], rateHz[4];
  for (int k = 0; k < 4; ++k) {
    freq[k] = band[0] * std::pow(band[1] / band[0], unit(gen));
    phase[k] = 2 * M_PI * unit(gen);
    rateHz[k] = 0.5 + 3.0 * unit(gen);
  }
  for (int64_t n = 0; n < length; ++n) {
    double t = n / rate, v = 0.0;
    for (int k = 0; k < 4; ++k)
      v += 0.08 * (0.6 + 0.4 * std::sin(2 * M_PI * rateHz[k] * t)) *
           std::sin(2 * M_PI * freq[k] * t + phase[k]);
    out[n] = static_cast<float>(v) + noise(gen);
  }
  return out;
}

std::string findStem(const fs::path &trackDir, const std::string &stem) {
  for (const char *ext : {".wav", ".flac"}) {
    fs::path candidate = trackDir / (stem + ext);
    if (fs::exists(candidate))
      return candidate.string();
  }
  return "";
}

} // namespace

std::vector<float>
loco::downmix(const std::vector<std::vector<float>> &channels) {
  if (channels.size() == 1)
    return channels[0];
  size_t length = channels.empty() ? 0 : channels[0].size();
  std::vector<float> mono(length);
  float count = static_cast<float>(channels.size());
  for (size_t i = 0; i < length; ++i) {
    float sum = 0.0f;
    for (const std::vector<float> &channel : channels)
      sum += channel[i];
    mono[i] = sum / count;
  }
  return mono;
}

void TrackSource::read(size_t track, int64_t offset, int64_t length,
                       std::vector<std::vector<float>> &stems) const {
  PlanarStems planar;
  readPlanar(track, offset, length, planar);
  for (const auto &stem : planar)
    stems.push_back(downmix(stem));
}

std::unique_ptr<TrackSource>
loco::openMusdbFolder(const std::string &dir, const std::string &split,
                      const std::vector<std::string> &sources,
                      int64_t sampleRate, int64_t minLength) {
  fs::path root = fs::path(dir) / split;
  if (!fs::is_directory(root))
    throw RunError(root.string() +
                   ": no such folder (expected the MUSDB18-HQ "
                   "layout " +
                   dir + "/{train,test}/<track>/<stem>.wav)");
  auto folder = std::make_unique<MusdbFolder>();
  std::vector<fs::path> trackDirs;
  for (const auto &entry : fs::directory_iterator(root))
    if (entry.is_directory())
      trackDirs.push_back(entry.path());
  std::sort(trackDirs.begin(), trackDirs.end());
  for (const fs::path &trackDir : trackDirs) {
    MusdbFolder::Track track{trackDir.filename().string(), {}, INT64_MAX};
    std::string problem;
    std::vector<std::string> stems{"mixture"};
    stems.insert(stems.end(), sources.begin(), sources.end());
    for (const std::string &stem : stems) {
      std::string path = findStem(trackDir, stem);
      if (path.empty()) {
        problem = (trackDir / (stem + ".wav")).string() + ": missing stem";
        break;
      }
      SF_INFO info{};
      SNDFILE *file = sf_open(path.c_str(), SFM_READ, &info);
      if (!file) {
        problem = path + ": unreadable (" + sf_strerror(nullptr) + ")";
        break;
      }
      sf_close(file);
      if (info.samplerate != sampleRate) {
        problem = path + ": sample rate " + std::to_string(info.samplerate) +
                  " Hz, the config expects " + std::to_string(sampleRate);
        break;
      }
      track.length = std::min<int64_t>(track.length, info.frames);
      track.stems.push_back(path);
    }
    if (problem.empty() && track.length < minLength)
      problem = track.stems.front() + ": " + std::to_string(track.length) +
                " samples, shorter than a segment (" +
                std::to_string(minLength) + ")";
    if (!problem.empty()) {
      std::fprintf(stderr, "locorun: warning: skipping track '%s': %s\n",
                   track.name.c_str(), problem.c_str());
      continue;
    }
    folder->tracks.push_back(std::move(track));
  }
  if (folder->tracks.empty())
    throw RunError(root.string() + ": no usable track");
  return folder;
}

/// Synthetic track `t` of `seed`: the mixture, then each source's stem.
static std::vector<std::vector<float>> synthesiseTrack(size_t t, int64_t length,
                                                       int64_t sampleRate,
                                                       size_t numSources,
                                                       uint64_t seed) {
  std::mt19937_64 gen(mix(seed ^ mix(t + 1)));
  std::vector<std::vector<float>> stems(1, std::vector<float>(length, 0.0f));
  for (size_t s = 0; s < numSources; ++s) {
    stems.push_back(synthesise(s, length, sampleRate, gen));
    for (int64_t n = 0; n < length; ++n)
      stems[0][n] += stems.back()[n];
  }
  return stems;
}

std::unique_ptr<TrackSource>
loco::makeSyntheticTracks(size_t count, int64_t length, int64_t sampleRate,
                          size_t numSources, uint64_t seed) {
  auto tracks = std::make_unique<SyntheticTracks>();
  for (size_t t = 0; t < count; ++t) {
    tracks->names.push_back("synthetic_" + std::to_string(t));
    tracks->audio.push_back(
        synthesiseTrack(t, length, sampleRate, numSources, seed));
  }
  return tracks;
}

void loco::writeSyntheticFolder(const std::string &dir, size_t trainTracks,
                                size_t testTracks, double seconds,
                                int64_t sampleRate,
                                const std::vector<std::string> &sources,
                                uint64_t seed) {
  auto length = static_cast<int64_t>(std::llround(seconds * sampleRate));
  if (length < 1)
    throw RunError("make-synthetic: " + std::to_string(seconds) + " s at " +
                   std::to_string(sampleRate) + " Hz is no sample at all");
  std::vector<std::string> names{"mixture"};
  names.insert(names.end(), sources.begin(), sources.end());
  // One track in memory at a time: a track's audio depends on its index and
  // the seed alone.
  for (auto [split, count, salt] : {std::tuple{"train", trainTracks, 0ull},
                                    std::tuple{"test", testTracks, 1000ull}}) {
    for (size_t t = 0; t < count; ++t) {
      fs::path trackDir =
          fs::path(dir) / split / ("track_" + std::to_string(t));
      std::error_code ec;
      fs::create_directories(trackDir, ec);
      if (ec)
        throw RunError("cannot create '" + trackDir.string() +
                       "': " + ec.message());
      std::vector<std::vector<float>> stems =
          synthesiseTrack(t, length, sampleRate, sources.size(), seed + salt);
      for (size_t s = 0; s < stems.size(); ++s) {
        Audio audio;
        audio.sampleRate = sampleRate;
        audio.channels = {stems[s], std::move(stems[s])};
        writeAudio((trackDir / (names[s] + ".wav")).string(), audio,
                   AudioFormat::Pcm16);
      }
    }
  }
}

/// Copies one item's mono stems into row `item` of each input ([B, N]).
static void placeItem(const std::vector<std::vector<float>> &stems, int64_t N,
                      int64_t item, std::vector<std::vector<float>> &inputs) {
  for (size_t s = 0; s < inputs.size(); ++s)
    std::copy(stems[s].begin(), stems[s].end(), inputs[s].begin() + item * N);
}

static void appendSegments(const TrackSource &data, size_t track,
                           int64_t offset, int64_t N, int64_t item,
                           std::vector<std::vector<float>> &inputs) {
  std::vector<std::vector<float>> stems;
  data.read(track, offset, N, stems);
  placeItem(stems, N, item, inputs);
}

double loco::sampleBatch(const TrackSource &data, uint64_t seed, uint64_t step,
                         uint64_t micro, int64_t B, int64_t N, bool random,
                         std::vector<std::vector<float>> &inputs,
                         const AugmentKey &augment, int64_t firstItem) {
  for (auto &input : inputs)
    input.assign(B * N, 0.0f);
  double augmentSeconds = 0.0;
  bool augmenting = augment.spec && augment.spec->enabled;
  for (int64_t b = 0; b < B; ++b) {
    uint64_t item = static_cast<uint64_t>(firstItem + b);
    uint64_t key = mix(mix(mix(seed) ^ step) ^ (micro << 20 | item));
    size_t track = key % data.numTracks();
    int64_t span = data.trackLength(track) - N + 1;
    int64_t offset = random ? static_cast<int64_t>(mix(key) % span) : 0;
    if (!augmenting) {
      appendSegments(data, track, offset, N, b, inputs);
      continue;
    }
    PlanarStems stems;
    data.readPlanar(track, offset, N, stems);
    auto start = std::chrono::steady_clock::now();
    AugmentDraw draw =
        drawAugmentation(*augment.spec, stems.size() - 1, seed, augment.epoch,
                         augment.firstSample + static_cast<uint64_t>(b));
    applyAugmentation(draw, augment.sampleRate, stems);
    augmentSeconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::vector<std::vector<float>> mono;
    for (const auto &stem : stems)
      mono.push_back(downmix(stem));
    placeItem(mono, N, b, inputs);
  }
  return augmentSeconds;
}

void loco::validationBatch(const TrackSource &data, size_t first, int64_t B,
                           int64_t N, std::vector<std::vector<float>> &inputs) {
  for (auto &input : inputs)
    input.assign(B * N, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    size_t track = (first + b) % data.numTracks();
    appendSegments(data, track, (data.trackLength(track) - N) / 2, N, b,
                   inputs);
  }
}
