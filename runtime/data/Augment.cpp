//===- Augment.cpp - Training-data augmentation ---------------------------===//
//
// This file implements the augmentation draws (Philox4x32 on (seed, epoch,
// sample)), their application, and the in-memory MP3 round trip through
// libsndfile's virtual I/O.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Augment.h"
#include "runtime/abi/Manifest.h"
#include "runtime/support/RunError.h"

#include "runtime/Philox.h"

#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

using namespace loco;

AugmentSpec AugmentSpec::fromManifest(const nlohmann::json &manifest) {
  DatasetManifest dataset =
      DatasetManifest::fromJson(manifest.value("dataset", nlohmann::json()));
  AugmentSpec spec;
  spec.enabled = dataset.augmentation;
  spec.gainMin = dataset.gain_min;
  spec.gainMax = dataset.gain_max;
  spec.channelSwapProb = dataset.channel_swap_prob;
  spec.polarityProb = dataset.polarity_prob;
  spec.mp3Prob = dataset.mp3_prob;
  spec.mp3MinBitrate = dataset.mp3_min_bitrate;
  spec.mp3MaxBitrate = dataset.mp3_max_bitrate;
  spec.noiseProb = dataset.noise_prob;
  spec.noiseMinSnrDb = dataset.noise_min_snr_db;
  spec.noiseMaxSnrDb = dataset.noise_max_snr_db;
  if (spec.enabled && spec.mp3Prob > 0 && spec.mp3Bitrates().empty())
    throw RunError("the manifest's MP3 bitrate range [" +
                   std::to_string(spec.mp3MinBitrate) + ", " +
                   std::to_string(spec.mp3MaxBitrate) +
                   "] kbps holds no MPEG-1 layer III bitrate");
  return spec;
}

std::vector<int> AugmentSpec::mp3Bitrates() const {
  static const int kLayer3[] = {32,  40,  48,  56,  64,  80,  96,
                                112, 128, 160, 192, 224, 256, 320};
  std::vector<int> rates;
  for (int kbps : kLayer3)
    if (kbps >= mp3MinBitrate && kbps <= mp3MaxBitrate)
      rates.push_back(kbps);
  return rates;
}

namespace {

/// Draws 2 block and 2 block + 1 of a sample's stream (one Philox block):
/// uniform doubles in [0, 1) with 53 random bits each.
std::pair<double, double> uniformPair(uint64_t seed, uint64_t epoch,
                                      uint64_t sample, uint64_t block) {
  PhiloxOut bits = philoxBlock(seed, epoch, sample, block);
  auto toDouble = [](uint32_t high, uint32_t low) {
    uint64_t word = (static_cast<uint64_t>(high) << 32) | low;
    return static_cast<double>(word >> 11) * 0x1.0p-53;
  };
  return {toDouble(bits.v[0], bits.v[1]), toDouble(bits.v[2], bits.v[3])};
}

/// Draw `index` of a sample's stream. Each decision has its own index, so
/// one changing setting (say, a probability of 0) leaves every other draw
/// as it was.
double uniform(uint64_t seed, uint64_t epoch, uint64_t sample, uint64_t index) {
  auto [even, odd] = uniformPair(seed, epoch, sample, index / 2);
  return index % 2 ? odd : even;
}

// Stream indices of the decisions (gains take kGain .. kGain + S - 1).
enum : uint64_t {
  kSwap = 0,
  kPolarity,
  kMp3,
  kBitrate,
  kNoise,
  kSnr,
  kGain = 16,
  // The noise samples: two uniforms per Gaussian pair (Box-Muller).
  kNoiseSamples = uint64_t(1) << 32,
};

} // namespace

AugmentDraw loco::drawAugmentation(const AugmentSpec &spec, size_t numSources,
                                   uint64_t seed, uint64_t epoch,
                                   uint64_t sample) {
  auto u = [&](uint64_t index) { return uniform(seed, epoch, sample, index); };
  AugmentDraw draw;
  draw.seed = seed;
  draw.epoch = epoch;
  draw.sample = sample;
  for (size_t s = 0; s < numSources; ++s)
    draw.gains.push_back(static_cast<float>(
        spec.gainMin + (spec.gainMax - spec.gainMin) * u(kGain + s)));
  draw.swap = u(kSwap) < spec.channelSwapProb;
  draw.invert = u(kPolarity) < spec.polarityProb;
  std::vector<int> rates = spec.mp3Bitrates();
  if (!rates.empty() && u(kMp3) < spec.mp3Prob) {
    size_t pick = static_cast<size_t>(u(kBitrate) * rates.size());
    draw.mp3Bitrate = rates[std::min(pick, rates.size() - 1)];
  } else if (u(kNoise) < spec.noiseProb) {
    draw.noise = true;
    draw.snrDb = spec.noiseMinSnrDb +
                 (spec.noiseMaxSnrDb - spec.noiseMinSnrDb) * u(kSnr);
  }
  return draw;
}

void loco::applyAugmentation(const AugmentDraw &draw, int64_t sampleRate,
                             PlanarStems &stems) {
  if (stems.size() != draw.gains.size() + 1)
    throw RunError("augmentation: " + std::to_string(stems.size() - 1) +
                   " sources, drawn for " + std::to_string(draw.gains.size()));
  std::vector<std::vector<float>> &mixture = stems[0];
  size_t channels = mixture.size();
  size_t length = channels ? mixture[0].size() : 0;
  for (size_t s = 1; s < stems.size(); ++s) {
    float gain = draw.gains[s - 1];
    for (std::vector<float> &channel : stems[s])
      for (float &x : channel)
        x = std::clamp(x * gain, -1.0f, 1.0f);
    if (draw.swap && stems[s].size() == 2)
      std::swap(stems[s][0], stems[s][1]);
    if (draw.invert)
      for (std::vector<float> &channel : stems[s])
        for (float &x : channel)
          x = -x;
  }
  // The mixture is the sum of the (augmented) stems.
  for (size_t c = 0; c < channels; ++c) {
    std::fill(mixture[c].begin(), mixture[c].end(), 0.0f);
    for (size_t s = 1; s < stems.size(); ++s)
      for (size_t n = 0; n < length; ++n)
        mixture[c][n] += stems[s][c][n];
  }
  if (draw.mp3Bitrate > 0) {
    mixture = mp3RoundTrip(mixture, sampleRate, draw.mp3Bitrate);
  } else if (draw.noise) {
    double power = 0.0;
    for (const std::vector<float> &channel : mixture)
      for (float x : channel)
        power += static_cast<double>(x) * x;
    power /= std::max<double>(1.0, static_cast<double>(channels * length));
    double sigma = std::sqrt(power / std::pow(10.0, draw.snrDb / 10.0));
    for (size_t c = 0; c < channels; ++c)
      for (size_t n = 0; n < length; n += 2) {
        // Draws kNoiseSamples + 2 (c length + n) and the one after: one
        // Philox block per Gaussian pair.
        auto [u1, u2] = uniformPair(draw.seed, draw.epoch, draw.sample,
                                    kNoiseSamples / 2 + c * length + n);
        double radius = sigma * std::sqrt(-2.0 * std::log1p(-u1));
        mixture[c][n] += static_cast<float>(radius * std::cos(2 * M_PI * u2));
        if (n + 1 < length)
          mixture[c][n + 1] +=
              static_cast<float>(radius * std::sin(2 * M_PI * u2));
      }
  }
}

//===----------------------------------------------------------------------===//
// MP3 round trip
//===----------------------------------------------------------------------===//

namespace {

/// A growable file in memory for libsndfile's virtual I/O.
struct MemoryFile {
  std::vector<unsigned char> bytes;
  sf_count_t position = 0;

  static sf_count_t length(void *self) {
    return static_cast<sf_count_t>(
        static_cast<MemoryFile *>(self)->bytes.size());
  }
  static sf_count_t seek(sf_count_t offset, int whence, void *self) {
    auto *file = static_cast<MemoryFile *>(self);
    sf_count_t base = whence == SEEK_CUR   ? file->position
                      : whence == SEEK_END ? length(self)
                                           : 0;
    if (base + offset < 0)
      return -1;
    file->position = base + offset;
    return file->position;
  }
  static sf_count_t read(void *out, sf_count_t count, void *self) {
    auto *file = static_cast<MemoryFile *>(self);
    sf_count_t available =
        std::max<sf_count_t>(0, length(self) - file->position);
    count = std::min(count, available);
    if (count > 0)
      std::memcpy(out, file->bytes.data() + file->position, count);
    file->position += count;
    return count;
  }
  static sf_count_t write(const void *in, sf_count_t count, void *self) {
    auto *file = static_cast<MemoryFile *>(self);
    if (file->position + count > length(self))
      file->bytes.resize(file->position + count);
    std::memcpy(file->bytes.data() + file->position, in, count);
    file->position += count;
    return count;
  }
  static sf_count_t tell(void *self) {
    return static_cast<MemoryFile *>(self)->position;
  }
  static SF_VIRTUAL_IO io() {
    return SF_VIRTUAL_IO{length, seek, read, write, tell};
  }
};

} // namespace

std::vector<std::vector<float>>
loco::mp3RoundTrip(const std::vector<std::vector<float>> &channels,
                   int64_t sampleRate, int kbps) {
  int count = static_cast<int>(channels.size());
  if (count < 1 || count > 2)
    throw RunError("MP3 augmentation takes mono or stereo, got " +
                   std::to_string(count) + " channels");
  sf_count_t frames = static_cast<sf_count_t>(channels[0].size());
  MemoryFile file;
  SF_VIRTUAL_IO io = MemoryFile::io();
  SF_INFO info{};
  info.samplerate = static_cast<int>(sampleRate);
  info.channels = count;
  info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  SNDFILE *out = sf_open_virtual(&io, SFM_WRITE, &info, &file);
  if (!out)
    throw RunError(std::string("MP3 augmentation: libsndfile cannot encode "
                               "MPEG layer III (") +
                   sf_strerror(nullptr) +
                   "); set dataset.augmentation.mp3_prob: 0");
  // libsndfile maps the compression level c to a constant bitrate of
  // int(320 - 288 c) kbps at 32 kHz and above; a quarter kbps of margin
  // keeps the rounding on the intended rate.
  int mode = SF_BITRATE_MODE_CONSTANT;
  double level = std::clamp((320.0 - kbps - 0.25) / 288.0, 0.0, 1.0);
  sf_command(out, SFC_SET_BITRATE_MODE, &mode, sizeof(mode));
  sf_command(out, SFC_SET_COMPRESSION_LEVEL, &level, sizeof(level));
  std::vector<float> interleaved(static_cast<size_t>(frames) * count);
  for (sf_count_t n = 0; n < frames; ++n)
    for (int c = 0; c < count; ++c)
      interleaved[n * count + c] = channels[c][n];
  sf_count_t written = sf_writef_float(out, interleaved.data(), frames);
  sf_close(out);
  if (written != frames)
    throw RunError("MP3 augmentation: the encoder took " +
                   std::to_string(written) + " of " + std::to_string(frames) +
                   " frames");

  file.position = 0;
  SF_INFO readInfo{};
  SNDFILE *in = sf_open_virtual(&io, SFM_READ, &readInfo, &file);
  if (!in)
    throw RunError(std::string("MP3 augmentation: cannot decode the "
                               "encoded segment (") +
                   sf_strerror(nullptr) + ")");
  // The decoder drops the encoder's delay and padding (LAME's gapless
  // info); a frame it may still differ by is zero-padded or cut.
  std::vector<float> decoded(static_cast<size_t>(frames) * count, 0.0f);
  std::vector<float> chunk(4096 * static_cast<size_t>(readInfo.channels));
  sf_count_t filled = 0;
  while (filled < frames) {
    sf_count_t got = sf_readf_float(in, chunk.data(), 4096);
    if (got <= 0)
      break;
    sf_count_t take = std::min(got, frames - filled);
    for (sf_count_t n = 0; n < take; ++n)
      for (int c = 0; c < count; ++c)
        decoded[(filled + n) * count + c] =
            chunk[n * readInfo.channels + std::min(c, readInfo.channels - 1)];
    filled += take;
  }
  sf_close(in);
  std::vector<std::vector<float>> result(count, std::vector<float>(frames));
  for (sf_count_t n = 0; n < frames; ++n)
    for (int c = 0; c < count; ++c)
      result[c][n] = decoded[n * count + c];
  return result;
}
