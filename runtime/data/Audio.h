//===- Audio.h - Audio files in and out of locorun --------------*- C++ -*-===//
//
// This file declares what separation and evaluation need of audio files:
// reading any format libsndfile reads into planar float channels, writing
// WAV or FLAC stems, and sample-rate conversion with libsamplerate.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DATA_AUDIO_H
#define LOCO_RUNTIME_DATA_AUDIO_H

#include <cstdint>
#include <string>
#include <vector>

namespace loco {

/// Planar audio: one vector of samples per channel, all of one length.
struct Audio {
  int64_t sampleRate = 0;
  std::vector<std::vector<float>> channels;
  int64_t frames() const { return channels.empty() ? 0 : channels[0].size(); }
};

/// Reads `path` (WAV, FLAC, OGG, ... whatever libsndfile reads). Throws
/// RunError naming the file when it cannot be read, is empty, or holds a
/// NaN or Inf.
/// What an audio file's header says.
struct AudioInfo {
  int64_t sampleRate = 0, channels = 0, frames = 0;
};

/// Reads the header of `path` only, with readAudio's checks (at least one
/// frame and channel, a rate in [1 kHz, 768 kHz], a bounded size). Throws
/// RunError naming the file.
AudioInfo probeAudio(const std::string &path);

/// The samples of `path`, de-interleaved; throws RunError naming the file
/// for a header that probeAudio refuses, a NaN or Inf sample, or fewer
/// frames than the header promises (but for MP3, whose count is an
/// estimate: there the decoder's clean end is the end).
Audio readAudio(const std::string &path);

/// The container of an output file.
/// Wav: 32-bit float; Flac: 24-bit; Pcm16: 16-bit WAV (test folders).
enum class AudioFormat { Wav, Flac, Pcm16 };

/// Writes `audio` to `path`: WAV as 32-bit float (no rounding of the
/// estimates), FLAC as 24-bit PCM (FLAC has no float samples; samples
/// beyond [-1, 1] are clipped there). Written to a temporary file and
/// renamed, so that `path` is never left half-written. Throws RunError.
void writeAudio(const std::string &path, const Audio &audio,
                AudioFormat format);

/// `channel` at `fromRate` converted to `toRate` with libsamplerate's best
/// sinc converter; the length is round(frames * toRate / fromRate).
std::vector<float> resample(const std::vector<float> &channel, int64_t fromRate,
                            int64_t toRate);

} // namespace loco

#endif // LOCO_RUNTIME_DATA_AUDIO_H
