//===- Safetensors.cpp - Reading and writing safetensors files ------------===//
//
// This file implements the safetensors reader and writer. The reader maps
// the file and never trusts it: every length, offset and shape is checked
// (with overflow checks) before any tensor data is touched.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

using namespace loco;

int64_t TensorEntry::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

size_t loco::dtypeSize(const std::string &dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

/// The largest header we accept, as the reference implementation does.
static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

std::unique_ptr<SafetensorsFile>
SafetensorsFile::fromBytes(std::vector<uint8_t> bytes, const std::string &name,
                           std::string &error) {
  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->image = std::move(bytes);
  file->base = file->image.data();
  file->size = file->image.size();
  return validate(std::move(file), name, error);
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping)
    ::munmap(mapping, size);
}

std::unique_ptr<SafetensorsFile>
SafetensorsFile::validate(std::unique_ptr<SafetensorsFile> file,
                          const std::string &name, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = name + ": " + what;
    return nullptr;
  };
  const uint8_t *bytes = file->base;
  if (file->size < 8)
    return fail(
        "not a safetensors file: shorter than its 8-byte header length");
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | bytes[i];
  if (headerLength > kMaxHeaderBytes || headerLength > file->size - 8)
    return fail("header length " + std::to_string(headerLength) +
                " exceeds the file (" + std::to_string(file->size) + " bytes)");
  const char *headerBegin = reinterpret_cast<const char *>(bytes + 8);
  nlohmann::json header =
      nlohmann::json::parse(headerBegin, headerBegin + headerLength, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return fail("header is not a JSON object");

  file->dataStart = 8 + headerLength;
  uint64_t dataBytes = file->size - file->dataStart;
  for (auto &[key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        return fail("__metadata__ is not an object");
      for (auto &[metaKey, metaValue] : value.items()) {
        if (!metaValue.is_string())
          return fail("__metadata__ value of '" + metaKey +
                      "' is not a string");
        file->meta[metaKey] = metaValue.get<std::string>();
      }
      continue;
    }
    if (!value.is_object())
      return fail("entry '" + key + "' is not an object");
    TensorEntry entry;
    entry.name = key;
    auto dtype = value.find("dtype");
    auto shape = value.find("shape");
    auto offsets = value.find("data_offsets");
    if (dtype == value.end() || !dtype->is_string() || shape == value.end() ||
        !shape->is_array() || offsets == value.end() || !offsets->is_array() ||
        offsets->size() != 2)
      return fail("entry '" + key +
                  "' needs dtype (string), shape (list) and data_offsets "
                  "([begin, end])");
    entry.dtype = dtype->get<std::string>();
    size_t elementSize = dtypeSize(entry.dtype);
    if (elementSize == 0)
      return fail("entry '" + key + "' has unknown dtype '" + entry.dtype +
                  "'");
    uint64_t count = 1;
    for (const auto &dim : *shape) {
      if (!dim.is_number_unsigned())
        return fail("entry '" + key +
                    "' has a shape entry that is not a "
                    "non-negative integer");
      uint64_t d = dim.get<uint64_t>();
      if (d != 0 &&
          count > std::numeric_limits<uint64_t>::max() / d / elementSize)
        return fail("entry '" + key + "' has a shape too large to address");
      count *= d;
      entry.shape.push_back(static_cast<int64_t>(d));
    }
    if (!(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      return fail("entry '" + key +
                  "' has data_offsets that are not "
                  "non-negative integers");
    entry.begin = (*offsets)[0].get<uint64_t>();
    entry.end = (*offsets)[1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > dataBytes)
      return fail("entry '" + key + "' has data_offsets [" +
                  std::to_string(entry.begin) + ", " +
                  std::to_string(entry.end) + "] outside the data section of " +
                  std::to_string(dataBytes) + " bytes");
    if (entry.end - entry.begin != count * elementSize)
      return fail("entry '" + key + "' holds " +
                  std::to_string(entry.end - entry.begin) + " bytes but its " +
                  entry.dtype + " shape needs " +
                  std::to_string(count * elementSize));
    file->entries.push_back(std::move(entry));
  }
  std::sort(file->entries.begin(), file->entries.end(),
            [](const TensorEntry &a, const TensorEntry &b) {
              return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
            });
  for (size_t i = 1; i < file->entries.size(); ++i)
    if (file->entries[i].begin < file->entries[i - 1].end)
      return fail("entries '" + file->entries[i - 1].name + "' and '" +
                  file->entries[i].name + "' overlap");
  return file;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open file: " + std::strerror(errno);
    return nullptr;
  }
  struct stat info{};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = path + (S_ISDIR(info.st_mode) ? ": is a folder, not a file"
                                          : ": not a regular file");
    ::close(fd);
    return nullptr;
  }
  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  file->size = static_cast<size_t>(info.st_size);
  if (file->size > 0) {
    void *mapped = ::mmap(nullptr, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) {
      error = path + ": cannot map file: " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    file->mapping = mapped;
    file->base = static_cast<const uint8_t *>(mapped);
  }
  ::close(fd); // the mapping stays valid
  return validate(std::move(file), path, error);
}

const TensorEntry *SafetensorsFile::find(const std::string &name) const {
  for (const TensorEntry &entry : entries)
    if (entry.name == name)
      return &entry;
  return nullptr;
}

std::vector<float> SafetensorsFile::floats(const TensorEntry &entry) const {
  std::vector<float> values(entry.numElements());
  if (entry.dtype == "F32" && !values.empty())
    std::memcpy(values.data(), data(entry), values.size() * sizeof(float));
  return values;
}

bool loco::writeSafetensors(const std::string &path,
                            const std::vector<F32Tensor> &tensors,
                            const std::map<std::string, std::string> &metadata,
                            std::string &error) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const F32Tensor &t : tensors) {
    int64_t count = 1;
    for (int64_t dim : t.shape)
      count *= dim;
    if (count != static_cast<int64_t>(t.values.size())) {
      error = path + ": tensor '" + t.name + "' has " +
              std::to_string(t.values.size()) + " values for " +
              std::to_string(count) + " elements";
      return false;
    }
    uint64_t bytes = t.values.size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  uint64_t length = text.size();
  uint8_t lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<uint8_t>(length >> (8 * i));
  out.write(reinterpret_cast<const char *>(lengthBytes), 8);
  out.write(text.data(), text.size());
  for (const F32Tensor &t : tensors)
    out.write(reinterpret_cast<const char *>(t.values.data()),
              t.values.size() * sizeof(float));
  if (!out) {
    error = path + ": write error";
    return false;
  }
  return true;
}
