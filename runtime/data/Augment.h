//===- Augment.h - Training-data augmentation -------------------*- C++ -*-===//
//
// This file declares the augmentation of training segments as upstream's
// `MUSDBDataset._apply_augmentation` does it, in its order:
//   1. per-stem gain, uniform in [gain_min, gain_max], clamped to [-1, 1];
//   2. channel swap (stereo), with probability channel_swap_prob;
//   3. polarity inversion of every stem, with probability polarity_prob;
//   4. the mixture rebuilt as the sum of the stems;
//   5. MP3 compression of the mixture (libsndfile: LAME, then mpg123), with
//      probability mp3_prob, at a bitrate drawn from the MPEG-1 layer III
//      bitrates in [mp3_min_bitrate, mp3_max_bitrate];
//   6. otherwise white Gaussian noise on the mixture, with probability
//      noise_prob, at an SNR uniform in [noise_min_snr_db, noise_max_snr_db]
//      against the mixture's power.
// Every draw is a counter-based (Philox4x32) function of (seed, epoch,
// sample): a resumed run augments exactly as an uninterrupted one, and the
// order in which a loader thread prepares samples does not matter.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DATA_AUGMENT_H
#define LOCO_RUNTIME_DATA_AUGMENT_H

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace loco {

/// The manifest's `dataset` augmentation settings.
struct AugmentSpec {
  bool enabled = false;
  double gainMin = 0.7, gainMax = 1.3;
  double channelSwapProb = 0.5, polarityProb = 0.1;
  double mp3Prob = 0.2;
  int64_t mp3MinBitrate = 96, mp3MaxBitrate = 192;
  double noiseProb = 0.1, noiseMinSnrDb = 25.0, noiseMaxSnrDb = 40.0;

  /// From a manifest's `dataset` dictionary (upstream's defaults for what
  /// it lacks; disabled when it has none).
  static AugmentSpec fromManifest(const nlohmann::json &manifest);
  /// The MPEG-1 layer III bitrates (kbps) in [mp3MinBitrate,
  /// mp3MaxBitrate]; an MP3 draw picks one uniformly.
  std::vector<int> mp3Bitrates() const;
};

/// What one sample's augmentation draws: a pure function of the key.
struct AugmentDraw {
  std::vector<float> gains; ///< one per source
  bool swap = false, invert = false;
  int mp3Bitrate = 0; ///< kbps; 0: no MP3
  double snrDb = 0.0; ///< of the added noise, when `noise`
  bool noise = false;
  /// The key of this sample's noise samples.
  uint64_t seed = 0, epoch = 0, sample = 0;
};

AugmentDraw drawAugmentation(const AugmentSpec &spec, size_t numSources,
                             uint64_t seed, uint64_t epoch, uint64_t sample);

/// One segment's stems, planar: stems[0] is the mixture, then the sources;
/// stems[s][c] is channel c (1 or 2 channels, the same for every stem).
using PlanarStems = std::vector<std::vector<std::vector<float>>>;

/// Applies `draw` to `stems` in upstream's order (see the file comment).
void applyAugmentation(const AugmentDraw &draw, int64_t sampleRate,
                       PlanarStems &stems);

/// `channels` encoded as a constant-bitrate MP3 at `kbps` and decoded
/// again, in memory (libsndfile virtual I/O); as long as the input, and
/// aligned with it. Throws RunError when libsndfile lacks MPEG support.
std::vector<std::vector<float>>
mp3RoundTrip(const std::vector<std::vector<float>> &channels,
             int64_t sampleRate, int kbps);

} // namespace loco

#endif // LOCO_RUNTIME_DATA_AUGMENT_H
