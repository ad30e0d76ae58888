//===- Dataset.h - Training data for locorun --------------------*- C++ -*-===//
//
// This file declares the sources of training segments: a MUSDB18-HQ-layout
// folder read through libsndfile (wav and flac, stereo down-mixed to mono as
// upstream does), and synthetic tracks generated in memory; and the
// deterministic batch sampler, which draws segment (track, offset) pairs from
// a hash of (seed, step, micro-step, item) so that a resumed run sees the
// very batches an uninterrupted one would.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_DATASET_H
#define LOCO_TOOLS_LOCORUN_DATASET_H

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
  /// Reads `length` mono samples from `offset` of the mixture and then each
  /// source, appending one vector per stem to `stems`.
  virtual void read(size_t track, int64_t offset, int64_t length,
                    std::vector<std::vector<float>> &stems) const = 0;
};

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

/// Fills `inputs` (mixture then sources, each [B, N]) for micro-step
/// `micro` of optimizer step `step`: random segments when `random`, else
/// the first segment of consecutive tracks.
void sampleBatch(const TrackSource &data, uint64_t seed, uint64_t step,
                 uint64_t micro, int64_t B, int64_t N, bool random,
                 std::vector<std::vector<float>> &inputs);

/// The centre segment of tracks [first, first + B) (wrapping around), for
/// validation.
void validationBatch(const TrackSource &data, size_t first, int64_t B,
                     int64_t N, std::vector<std::vector<float>> &inputs);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_DATASET_H
