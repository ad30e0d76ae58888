//===- AudioFolderFuzzer.cpp - libFuzzer target: the MUSDB folder scanner -===//
//
// A MUSDB18-HQ-layout folder whose mixture.wav is the input (the stems are
// valid files): the scanner either skips the track with a warning or
// refuses the folder with a RunError, and a track it keeps can be read,
// down-mixed and augmented (gain, swap, polarity, noise; MP3 is left to
// the unit tests, as the encoder would dominate every run).
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Dataset.h"
#include "runtime/session/Session.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::vector<std::string> sources{"vocals", "drums", "bass",
                                                "other"};
  static const fs::path root =
      fs::temp_directory_path() /
      ("loco-fuzz-musdb-" + std::to_string(::getpid()));
  static const bool made = [] {
    // Two valid tracks of 0.1 s; track_0's mixture is replaced each run.
    loco::writeSyntheticFolder(root.string(), 2, 0, 0.1, 8000, sources, 1);
    return true;
  }();
  (void)made;
  std::ofstream(root / "train" / "track_0" / "mixture.wav",
                std::ios::binary | std::ios::trunc)
      << std::string(reinterpret_cast<const char *>(data), size);
  try {
    auto tracks =
        loco::openMusdbFolder(root.string(), "train", sources, 8000, 256);
    std::vector<std::vector<float>> stems;
    loco::AugmentSpec spec;
    spec.enabled = true;
    spec.mp3Prob = 0.0;
    spec.noiseProb = 1.0;
    for (size_t t = 0; t < tracks->numTracks(); ++t) {
      stems.clear();
      tracks->read(t, 0, 256, stems);
      loco::PlanarStems planar;
      tracks->readPlanar(t, 0, 256, planar);
      loco::applyAugmentation(
          loco::drawAugmentation(spec, sources.size(), 1, 0, t), 8000, planar);
    }
  } catch (const loco::RunError &) {
  }
  return 0;
}
