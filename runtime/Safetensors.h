//===- Safetensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// This file declares a reader and a writer of the safetensors format (an u64
// little-endian header length, a JSON header, raw little-endian data), which
// lococ uses for weights, batches and checkpoints under the upstream
// state_dict names. The reader validates everything before handing out data:
// header bounds, JSON shape, dtypes, shapes against byte ranges, ranges
// against the data section, and overlaps.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SAFETENSORS_H
#define LOCO_RUNTIME_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace loco {

/// One tensor entry of a safetensors header.
struct TensorEntry {
  std::string name;
  std::string dtype; ///< "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; ///< byte range within the data section
  int64_t numElements() const;
};

/// Bytes per element of a safetensors dtype, or 0 when it is unknown.
size_t dtypeSize(const std::string &dtype);

/// A validated safetensors file: mapped read-only (a file larger than
/// memory costs only the pages read), or an image in memory.
class SafetensorsFile {
public:
  /// Maps and validates `path`, which must be a regular file. On failure
  /// returns null and sets `error` to a message naming the file and what is
  /// wrong.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;
  /// Validates an in-memory image (`name` is used in messages).
  static std::unique_ptr<SafetensorsFile> fromBytes(std::vector<uint8_t> bytes,
                                                    const std::string &name,
                                                    std::string &error);

  /// Entries in file (data offset) order.
  const std::vector<TensorEntry> &tensors() const { return entries; }
  const TensorEntry *find(const std::string &name) const;
  const uint8_t *data(const TensorEntry &entry) const {
    return base + dataStart + entry.begin;
  }
  /// The F32 values of `entry` (which must have dtype F32).
  std::vector<float> floats(const TensorEntry &entry) const;
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  SafetensorsFile() = default;
  /// Validates the header of `file`'s bytes (base, size).
  static std::unique_ptr<SafetensorsFile>
  validate(std::unique_ptr<SafetensorsFile> file, const std::string &name,
           std::string &error);

  std::vector<uint8_t> image; ///< fromBytes: the bytes
  void *mapping = nullptr;    ///< open: the file's mapping
  const uint8_t *base = nullptr;
  size_t size = 0;
  size_t dataStart = 0;
  std::vector<TensorEntry> entries;
  std::map<std::string, std::string> meta;
};

/// A float32 tensor to write.
struct F32Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// Writes `tensors` (in the given order) and `metadata` to `path`. Returns
/// false and sets `error` on I/O failure or a shape/value count mismatch.
bool writeSafetensors(const std::string &path,
                      const std::vector<F32Tensor> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &error);

} // namespace loco

#endif // LOCO_RUNTIME_SAFETENSORS_H
