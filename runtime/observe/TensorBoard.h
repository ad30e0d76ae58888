//===- TensorBoard.h - Event files that TensorBoard reads -------*- C++ -*-===//
//
// This file declares the writer of `locorun --tensorboard DIR`: an event
// file (events.out.tfevents.<time>.<host>) of TFRecord-framed `Event`
// protobuf messages (TensorBoardEvent.proto, compiled by protoc), with
// scalars and WAV-encoded audio, as upstream's trainer logs through
// torch.utils.tensorboard.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_OBSERVE_TENSORBOARD_H
#define LOCO_RUNTIME_OBSERVE_TENSORBOARD_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tensorboard {
class Event;
} // namespace tensorboard

namespace loco {

/// CRC-32C (Castagnoli) of `bytes`, and TFRecord's masked form of it.
uint32_t crc32c(const void *bytes, size_t size);
uint32_t maskedCrc32c(const void *bytes, size_t size);

class TensorBoardWriter {
public:
  /// Creates `dir` if needed and a new event file in it. Throws RunError.
  explicit TensorBoardWriter(const std::string &dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter &) = delete;
  TensorBoardWriter &operator=(const TensorBoardWriter &) = delete;

  const std::string &path() const { return file; }
  /// A scalar at `step` (skipped when not finite: a skipped step's NaN).
  void scalar(const std::string &tag, double value, int64_t step);
  /// Mono audio at `sampleRate`, WAV-encoded (16-bit PCM, clipped to
  /// [-1, 1]).
  void audio(const std::string &tag, const std::vector<float> &samples,
             int64_t sampleRate, int64_t step);
  /// Makes what was written readable (TensorBoard reads while we write).
  void flush();

private:
  void write(const tensorboard::Event &event);

  std::string file;
  FILE *out = nullptr;
  /// A failed write is reported once; training goes on without the log.
  bool failed = false;
};

} // namespace loco

#endif // LOCO_RUNTIME_OBSERVE_TENSORBOARD_H
