//===- CheckpointFuzzer.cpp - libFuzzer target: checkpoint loading --------===//
//
// The two parts of a checkpoint that --resume interprets: checkpoint.json
// (verified against the files' sizes and CRC-32s) and the optimizer file's
// metadata (counters parsed strictly). The first input byte picks which;
// the rest is checkpoint.json or an optimizer.safetensors image. Bad input
// must end in a RunError, never a crash.
//
//===----------------------------------------------------------------------===//

#include "runtime/io/Checkpoint.h"
#include "runtime/io/TrainState.h"
#include "runtime/support/RunError.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] & 1) {
    std::string error;
    auto file = loco::SafetensorsFile::fromBytes(
        std::vector<uint8_t>(rest.begin(), rest.end()), "optimizer", error);
    if (file) {
      try {
        (void)loco::readTrainState(file->metadata(), "optimizer");
      } catch (const loco::RunError &) {
      }
    }
    return 0;
  }
  // A run folder with one checkpoint whose checkpoint.json is the input.
  static const fs::path root =
      fs::temp_directory_path() /
      ("loco-fuzz-checkpoint-" + std::to_string(::getpid()));
  static const bool made = [] {
    fs::create_directories(root / "step-00000001");
    for (const char *name : {"model.safetensors", "optimizer.safetensors"})
      std::ofstream(root / "step-00000001" / name) << name;
    return true;
  }();
  (void)made;
  std::ofstream(root / "step-00000001" / "checkpoint.json",
                std::ios::binary | std::ios::trunc)
      << rest;
  try {
    (void)loco::findCheckpoint(root.string());
  } catch (const loco::RunError &) {
  }
  return 0;
}
