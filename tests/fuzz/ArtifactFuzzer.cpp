//===- ArtifactFuzzer.cpp - libFuzzer target: train.so checks -------------===//
//
// The two things locorun trusts from a train.so before running it: the ELF
// image (checked before dlopen) and the embedded JSON manifest (fields,
// tensor shapes and sizes, entry points, every region inside the arena).
// The first input byte picks which; the rest is the file or the manifest.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Artifact.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] & 1) {
    static const std::string path =
        "/tmp/loco-fuzz-artifact-" + std::to_string(::getpid()) + ".so";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << rest;
    (void)loco::checkSharedObject(path);
    return 0;
  }
  static int entry = 0;
  std::string error;
  auto artifact = loco::TrainArtifact::fromManifest(
      rest.c_str(), LOCO_ABI_VERSION,
      [](const std::string &) { return static_cast<void *>(&entry); },
      "fuzz.so", error);
  if (artifact) {
    // What locorun reads next: sizes and offsets, all checked in range.
    int64_t total = artifact->arenaBytes();
    for (const loco::ManifestTensor &t : artifact->parameters())
      total += t.numElements();
  }
  return 0;
}
