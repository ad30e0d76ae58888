//===- Audio.cpp - Audio files in and out of locorun ----------------------===//
//
// This file implements audio reading and writing through libsndfile and
// sample-rate conversion through libsamplerate.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Audio.h"
#include "runtime/support/RunError.h"

#include <fcntl.h>
#include <samplerate.h>
#include <sndfile.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

using namespace loco;

namespace {
// A song is at most a few hours; the bound keeps frames * channels (and the
// buffers below) far from overflow.
constexpr int64_t kMaxSamples = int64_t(1) << 34;
// Audio rates from telephone speech to studio masters. Outside them a
// header is broken (a 1 Hz WAV would make the resampler allocate gigabytes).
constexpr int64_t kMinRate = 1000, kMaxRate = 768000;

/// Opens `path` and checks its header; throws RunError naming the file.
SNDFILE *openAudio(const std::string &path, SF_INFO &info) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw RunError(path + ": is a folder, not an audio file");
  SNDFILE *file = sf_open(path.c_str(), SFM_READ, &info);
  if (!file)
    throw RunError(path + ": cannot read audio: " + sf_strerror(nullptr));
  std::string problem;
  if (info.frames <= 0 || info.channels <= 0 ||
      info.frames > kMaxSamples / info.channels)
    problem = path + ": no audio to separate (" + std::to_string(info.frames) +
              " frames, " + std::to_string(info.channels) + " channels)";
  else if (info.samplerate < kMinRate || info.samplerate > kMaxRate)
    problem = path + ": its header says " + std::to_string(info.samplerate) +
              " Hz; an audio file is between " + std::to_string(kMinRate) +
              " and " + std::to_string(kMaxRate) + " Hz";
  if (!problem.empty()) {
    sf_close(file);
    throw RunError(problem);
  }
  return file;
}

/// Why writing about `bytes` to `path` failed, as far as can be told
/// afterwards: the file size limit (ulimit -f, where the process would
/// have died of SIGXFSZ had locorun not ignored it), a full disk, or
/// neither known.
std::string writeFailure(const std::string &path, long double bytes) {
  struct rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY && bytes > limit.rlim_cur)
    return "larger than the file size limit of " +
           std::to_string(limit.rlim_cur) + " bytes (ulimit -f)";
  struct statvfs disk{};
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (::statvfs(folder.empty() ? "." : folder.c_str(), &disk) == 0 &&
      static_cast<long double>(disk.f_bavail) * disk.f_frsize < bytes)
    return "the disk is full";
  return "disk full or file size limit?";
}
} // namespace

AudioInfo loco::probeAudio(const std::string &path) {
  SF_INFO info{};
  SNDFILE *file = openAudio(path, info);
  sf_close(file);
  return {info.samplerate, info.channels, info.frames};
}

Audio loco::readAudio(const std::string &path) {
  SF_INFO info{};
  SNDFILE *file = openAudio(path, info);
  Audio audio;
  audio.sampleRate = info.samplerate;
  audio.channels.resize(info.channels);
  for (auto &channel : audio.channels)
    channel.resize(info.frames);
  // Blocks of frames, de-interleaved as they come.
  constexpr sf_count_t kBlock = 1 << 16;
  std::vector<float> block(kBlock * info.channels);
  sf_count_t done = 0;
  while (done < info.frames) {
    sf_count_t got = sf_readf_float(file, block.data(),
                                    std::min(kBlock, info.frames - done));
    if (got <= 0)
      break;
    for (sf_count_t i = 0; i < got; ++i)
      for (int c = 0; c < info.channels; ++c) {
        float v = block[i * info.channels + c];
        if (!std::isfinite(v)) {
          sf_close(file);
          throw RunError(path + ": sample " + std::to_string(done + i) +
                         " of channel " + std::to_string(c) +
                         " is not a finite number (NaN or Inf)");
        }
        audio.channels[c][done + i] = v;
      }
    done += got;
  }
  // An MP3's frame count is the decoder's estimate from its bit rate, above
  // what decodes (its padding): a short read is its end when the decoder
  // reports no error. Any other format's header counts exact frames.
  bool mpeg = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
  bool clean = sf_error(file) == SF_ERR_NO_ERROR;
  sf_close(file);
  if (done != info.frames && !(mpeg && clean && done > 0))
    throw RunError(path + ": read " + std::to_string(done) + " of " +
                   std::to_string(info.frames) + " frames (truncated file?)");
  for (auto &channel : audio.channels)
    channel.resize(done);
  return audio;
}

void loco::writeAudio(const std::string &path, const Audio &audio,
                      AudioFormat format) {
  SF_INFO info{};
  info.samplerate = static_cast<int>(audio.sampleRate);
  info.channels = static_cast<int>(audio.channels.size());
  info.format = format == AudioFormat::Flac ? SF_FORMAT_FLAC | SF_FORMAT_PCM_24
                : format == AudioFormat::Pcm16
                    ? SF_FORMAT_WAV | SF_FORMAT_PCM_16
                    : SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  if (audio.frames() > int64_t(std::numeric_limits<uint32_t>::max()) / 4 /
                           std::max(1, info.channels) &&
      format == AudioFormat::Wav)
    info.format = SF_FORMAT_W64 | SF_FORMAT_FLOAT; // over WAV's 4 GiB
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw RunError(path + ": is a folder; cannot write a stem there");
  ec.clear(); // a path that does not exist yet is no error
  // The temporary file is made by this call and nothing else: a leftover
  // (or a planted link) of that name is removed, not followed.
  std::string temporary = path + ".partial";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(),
                  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw RunError(path + ": cannot write audio: " + std::strerror(errno));
  SNDFILE *file = sf_open_fd(fd, SFM_WRITE, &info, /*close_desc=*/SF_TRUE);
  if (!file) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw RunError(path + ": cannot write audio: " + sf_strerror(nullptr));
  }
  // FLAC holds integers: clip rather than let libsndfile wrap.
  if (format == AudioFormat::Flac)
    sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  // No PEAK chunk: libsndfile stamps it with the wall clock, so the same
  // samples written a second apart would make different files.
  sf_command(file, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  constexpr int64_t kBlock = 1 << 16;
  std::vector<float> block(kBlock * info.channels);
  bool ok = true;
  for (int64_t start = 0; ok && start < audio.frames(); start += kBlock) {
    int64_t count = std::min(kBlock, audio.frames() - start);
    for (int64_t i = 0; i < count; ++i)
      for (int c = 0; c < info.channels; ++c)
        block[i * info.channels + c] = audio.channels[c][start + i];
    ok = sf_writef_float(file, block.data(), count) == count;
  }
  ok = sf_close(file) == 0 && ok;
  if (ok)
    std::filesystem::rename(temporary, path, ec);
  if (!ok || ec) {
    // libsndfile's own message does not keep the system's reason: find it.
    auto bytes = static_cast<long double>(audio.frames()) * info.channels * 4;
    std::string why = ec ? ec.message() : writeFailure(temporary, bytes);
    std::filesystem::remove(temporary, ec);
    throw RunError(path + ": cannot write audio (" + why + ")");
  }
}

std::vector<float> loco::resample(const std::vector<float> &channel,
                                  int64_t fromRate, int64_t toRate) {
  if (fromRate == toRate || channel.empty())
    return channel;
  if (fromRate < kMinRate || fromRate > kMaxRate || toRate < kMinRate ||
      toRate > kMaxRate)
    throw RunError("cannot resample from " + std::to_string(fromRate) +
                   " Hz to " + std::to_string(toRate) +
                   " Hz: rates are "
                   "between " +
                   std::to_string(kMinRate) + " and " +
                   std::to_string(kMaxRate) + " Hz");
  double ratio = static_cast<double>(toRate) / fromRate;
  auto frames = static_cast<int64_t>(std::llround(channel.size() * ratio));
  // src_simple takes long counts; a song is far below that. One more frame
  // of room than the rounded length: the converter may emit it.
  std::vector<float> out(frames + 1);
  SRC_DATA data{};
  data.data_in = channel.data();
  data.input_frames = static_cast<long>(channel.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = ratio;
  if (int error = src_simple(&data, SRC_SINC_BEST_QUALITY, 1))
    throw RunError(std::string("resampling failed: ") + src_strerror(error));
  out.resize(std::min<int64_t>(frames, data.output_frames_gen));
  out.resize(frames, 0.0f);
  return out;
}
