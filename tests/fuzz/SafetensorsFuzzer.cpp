//===- SafetensorsFuzzer.cpp - libFuzzer target: the safetensors reader ---===//
//
// Any bytes through the reader that --init, --batch and --resume use: the
// file is either refused with a message or every tensor it lists can be
// read within its bounds.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = loco::SafetensorsFile::fromBytes(
      std::vector<uint8_t>(data, data + size), "fuzz.safetensors", error);
  if (!file)
    return error.empty() ? __builtin_trap(), 0 : 0; // a refusal says why
  double sum = 0.0;
  for (const loco::TensorEntry &entry : file->tensors()) {
    if (entry.dtype == "F32")
      for (float v : file->floats(entry))
        sum += v;
    // Every entry's bytes are inside the image: touch the last one.
    if (entry.end > entry.begin)
      sum += file->data(entry)[entry.end - entry.begin - 1];
  }
  for (const auto &[key, value] : file->metadata())
    sum += key.size() + value.size();
  return sum == 12345.678 ? 1 : 0;
}
