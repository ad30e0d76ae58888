//===- TensorBoard.cpp - Event files that TensorBoard reads ---------------===//
//
// This file implements the TFRecord framing (length, masked CRC-32C of the
// length, data, masked CRC-32C of the data), the events, and the in-memory
// WAV encoding of audio summaries (libsndfile's virtual I/O).
//
//===----------------------------------------------------------------------===//

#include "runtime/observe/TensorBoard.h"
#include "runtime/observe/TensorBoardEvent.pb.h"
#include "runtime/support/RunError.h"

#include <sndfile.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

using namespace loco;

namespace {
/// Bit by bit, reflected polynomial 0x82F63B78: the reference the SSE4.2
/// instruction is checked against, and the path of CPUs without it.
uint32_t crc32cPortable(uint32_t crc, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32cSse42(uint32_t crc,
                                                       const uint8_t *p,
                                                       size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p)
    c32 = _mm_crc32_u8(c32, *p);
  return c32;
}
#endif
} // namespace

uint32_t loco::crc32c(const void *bytes, size_t size) {
  auto *p = static_cast<const uint8_t *>(bytes);
#if defined(__x86_64__)
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  if (sse42)
    return ~crc32cSse42(~0u, p, size);
#endif
  return ~crc32cPortable(~0u, p, size);
}

uint32_t loco::maskedCrc32c(const void *bytes, size_t size) {
  uint32_t crc = crc32c(bytes, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw RunError("--tensorboard: cannot create the folder '" + dir +
                   "': " + ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  file = (std::filesystem::path(dir) /
          ("events.out.tfevents." +
           std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(now).count()) +
           "." + host + "." + std::to_string(getpid()) + ".lococ"))
             .string();
  out = std::fopen(file.c_str(), "wb");
  if (!out)
    throw RunError("--tensorboard: cannot create an event file in '" + dir +
                   "': " + std::strerror(errno));
  tensorboard::Event event;
  event.set_wall_time(std::chrono::duration<double>(now).count());
  event.set_file_version("brain.Event:2");
  write(event);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (out)
    std::fclose(out);
}

void TensorBoardWriter::write(const tensorboard::Event &event) {
  if (failed)
    return;
  std::string data = event.SerializeAsString();
  uint64_t length = data.size();
  char header[12];
  std::memcpy(header, &length, 8); // little-endian (x86-64, aarch64)
  uint32_t lengthCrc = maskedCrc32c(header, 8);
  std::memcpy(header + 8, &lengthCrc, 4);
  uint32_t dataCrc = maskedCrc32c(data.data(), data.size());
  if (std::fwrite(header, 1, 12, out) != 12 ||
      std::fwrite(data.data(), 1, data.size(), out) != data.size() ||
      std::fwrite(&dataCrc, 1, 4, out) != 4) {
    failed = true;
    std::fprintf(stderr,
                 "locorun: warning: cannot write %s (%s); training goes on "
                 "without TensorBoard events\n",
                 file.c_str(), std::strerror(errno));
  }
}

void TensorBoardWriter::flush() {
  if (!failed)
    std::fflush(out);
}

namespace {
/// An event of now at `step` holding one summary value tagged `tag`.
tensorboard::Summary::Value *
summaryEvent(tensorboard::Event &event, const std::string &tag, int64_t step) {
  event.set_wall_time(std::chrono::duration<double>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
  event.set_step(step);
  tensorboard::Summary::Value *entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  return entry;
}
} // namespace

void TensorBoardWriter::scalar(const std::string &tag, double value,
                               int64_t step) {
  if (!std::isfinite(value))
    return;
  tensorboard::Event event;
  summaryEvent(event, tag, step)->set_simple_value(static_cast<float>(value));
  write(event);
}

namespace {
/// A growing in-memory file for libsndfile's virtual I/O.
struct MemoryFile {
  std::string bytes;
  sf_count_t position = 0;
};

SF_VIRTUAL_IO memoryIo() {
  SF_VIRTUAL_IO io{};
  io.get_filelen = [](void *user) -> sf_count_t {
    return static_cast<MemoryFile *>(user)->bytes.size();
  };
  io.seek = [](sf_count_t offset, int whence, void *user) -> sf_count_t {
    auto *m = static_cast<MemoryFile *>(user);
    sf_count_t base = whence == SEEK_SET ? 0
                      : whence == SEEK_CUR
                          ? m->position
                          : static_cast<sf_count_t>(m->bytes.size());
    m->position = base + offset;
    return m->position;
  };
  io.read = [](void *ptr, sf_count_t count, void *user) -> sf_count_t {
    auto *m = static_cast<MemoryFile *>(user);
    sf_count_t available = std::max<sf_count_t>(
        0, static_cast<sf_count_t>(m->bytes.size()) - m->position);
    sf_count_t n = std::min(count, available);
    std::memcpy(ptr, m->bytes.data() + m->position, n);
    m->position += n;
    return n;
  };
  io.write = [](const void *ptr, sf_count_t count, void *user) -> sf_count_t {
    auto *m = static_cast<MemoryFile *>(user);
    if (m->position + count > static_cast<sf_count_t>(m->bytes.size()))
      m->bytes.resize(m->position + count);
    std::memcpy(m->bytes.data() + m->position, ptr, count);
    m->position += count;
    return count;
  };
  io.tell = [](void *user) -> sf_count_t {
    return static_cast<MemoryFile *>(user)->position;
  };
  return io;
}
} // namespace

void TensorBoardWriter::audio(const std::string &tag,
                              const std::vector<float> &samples,
                              int64_t sampleRate, int64_t step) {
  MemoryFile wav;
  SF_VIRTUAL_IO io = memoryIo();
  SF_INFO info{};
  info.samplerate = static_cast<int>(sampleRate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE *sound = sf_open_virtual(&io, SFM_WRITE, &info, &wav);
  if (!sound)
    return;
  sf_command(sound, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  sf_writef_float(sound, samples.data(), samples.size());
  sf_close(sound);

  tensorboard::Event event;
  tensorboard::Summary::Audio *clip =
      summaryEvent(event, tag, step)->mutable_audio();
  clip->set_sample_rate(static_cast<float>(sampleRate));
  clip->set_num_channels(1);
  clip->set_length_frames(static_cast<int64_t>(samples.size()));
  clip->set_encoded_audio_string(wav.bytes);
  clip->set_content_type("audio/wav");
  write(event);
}
