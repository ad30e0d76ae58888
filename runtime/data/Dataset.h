//===- Dataset.h - Training data for locorun --------------------*- C++ -*-===//
//
// This file declares the sources of training segments: a MUSDB18-HQ-layout
// folder read through libsndfile (wav and flac, stereo kept for the
// augmentation and then down-mixed to mono, as upstream does), and
// synthetic tracks generated in memory; and the deterministic batch
// sampler, which draws segment (track, offset) pairs from a hash of (seed,
// step, micro-step, item) so that a resumed run sees the very batches an
// uninterrupted one would.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DATA_DATASET_H
#define LOCO_RUNTIME_DATA_DATASET_H

#include "runtime/data/Augment.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace loco {

class TrackSource {
public:
  virtual ~TrackSource() = default;
  virtual size_t numTracks() const = 0;
  virtual const std::string &trackName(size_t track) const = 0;
  virtual int64_t trackLength(size_t track) const = 0;
  /// Reads `length` frames from `offset` of the mixture and then each
  /// source into `stems` (replacing it), planar: one or two channels, the
  /// same for every stem.
  virtual void readPlanar(size_t track, int64_t offset, int64_t length,
                          PlanarStems &stems) const = 0;
  /// As readPlanar, down-mixed to mono (the mean of the channels),
  /// appending one vector per stem to `stems`. (A source may do it stem by
  /// stem, never holding a whole track's channels.)
  virtual void read(size_t track, int64_t offset, int64_t length,
                    std::vector<std::vector<float>> &stems) const;
};

/// The mean of `channels`, as upstream down-mixes (`mean(dim=1)`).
std::vector<float> downmix(const std::vector<std::vector<float>> &channels);

/// `dir/<split>/<track>/{mixture,<sources>}.{wav,flac}`. Tracks with a
/// missing or unreadable stem, another sample rate, or fewer samples than
/// `minLength` are skipped with a warning (printed to stderr) naming the
/// file. Throws RunError when no track is usable.
std::unique_ptr<TrackSource>
openMusdbFolder(const std::string &dir, const std::string &split,
                const std::vector<std::string> &sources, int64_t sampleRate,
                int64_t minLength);

/// `count` synthetic tracks of `length` samples: per source a sum of
/// sinusoids in its band with track-dependent frequencies and envelopes,
/// and their sum as the mixture.
std::unique_ptr<TrackSource> makeSyntheticTracks(size_t count, int64_t length,
                                                 int64_t sampleRate,
                                                 size_t numSources,
                                                 uint64_t seed);

/// Writes synthetic tracks as a MUSDB18-HQ-layout folder (train/ and test/,
/// stereo 16-bit wav).
void writeSyntheticFolder(const std::string &dir, size_t trainTracks,
                          size_t testTracks, double seconds, int64_t sampleRate,
                          const std::vector<std::string> &sources,
                          uint64_t seed);

/// Where a batch's items are in the epoch, for their augmentation draws:
/// item b of the batch is sample `firstSample + b` of epoch `epoch`.
struct AugmentKey {
  const AugmentSpec *spec = nullptr; ///< null or disabled: no augmentation
  int64_t sampleRate = 44100;
  uint64_t epoch = 0, firstSample = 0;
};

/// Fills `inputs` (mixture then sources, each [B, N]) for micro-step
/// `micro` of optimizer step `step`: random segments when `random`, else
/// the first segment of consecutive tracks; augmented as `augment` says.
/// Returns the seconds spent augmenting. Item b draws as item `firstItem +
/// b` of the step's global batch: a data-parallel rank holding items
/// [firstItem, firstItem + B) of it draws what one process with the whole
/// global batch draws for them.
double sampleBatch(const TrackSource &data, uint64_t seed, uint64_t step,
                   uint64_t micro, int64_t B, int64_t N, bool random,
                   std::vector<std::vector<float>> &inputs,
                   const AugmentKey &augment = {}, int64_t firstItem = 0);

/// The centre segment of tracks [first, first + B) (wrapping around), for
/// validation.
void validationBatch(const TrackSource &data, size_t first, int64_t B,
                     int64_t N, std::vector<std::vector<float>> &inputs);

} // namespace loco

#endif // LOCO_RUNTIME_DATA_DATASET_H
