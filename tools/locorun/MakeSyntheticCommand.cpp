//===- MakeSyntheticCommand.cpp - locorun make-synthetic ------------------===//
//
// This file implements `locorun make-synthetic`: a MUSDB18-HQ-layout folder
// of generated tracks, for trying training, separation and evaluation
// without a dataset.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Dataset.h"
#include "runtime/support/RunError.h"
#include "tools/locorun/Flags.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

using namespace loco;

namespace {

const char *kSyntheticUsage =
    "usage: locorun make-synthetic DIR [--tracks N] [--test-tracks N]\n"
    "                              [--seconds S] [--sample-rate R] [--seed S]\n"
    "\n"
    "Writes a MUSDB18-HQ-layout folder of generated tracks (tones and noise\n"
    "per source): DIR/train/track_N/ and DIR/test/track_N/, each with\n"
    "mixture.wav and vocals, drums, bass, other .wav (16-bit stereo), for\n"
    "trying training, separation and evaluation without a dataset.\n"
    "\n"
    "options:\n"
    "  --tracks N               training tracks (default 8)\n"
    "  --test-tracks N          test tracks (default 2)\n"
    "  --seconds S              length of each track (default 3, at most "
    "3600)\n"
    "  --sample-rate R          1000 to 384000 Hz (default 44100)\n"
    "  --seed S                 the tracks' random seed (default 0)\n";

int runSynthetic(int argc, char **argv) {
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kSyntheticUsage, stdout);
      return 0;
    }
  if (argc < 3 || argv[2][0] == '-') {
    std::fprintf(stderr,
                 "locorun: error: make-synthetic needs a folder "
                 "first\n%s",
                 kSyntheticUsage);
    return 1;
  }
  std::string dir = argv[2];
  int64_t tracks = 8, testTracks = 2, rate = 44100, seed = 0;
  double seconds = 3.0;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      usageError(kSyntheticUsage, "option " + arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--tracks")
      tracks = parseCount(kSyntheticUsage, arg, value);
    else if (arg == "--test-tracks")
      testTracks = parseCount(kSyntheticUsage, arg, value);
    else if (arg == "--sample-rate")
      rate = parseCount(kSyntheticUsage, arg, value);
    else if (arg == "--seed")
      seed = parseCount(kSyntheticUsage, arg, value);
    else if (arg == "--seconds") {
      char *end = nullptr;
      seconds = std::strtod(value.c_str(), &end);
      // An hour of audio per stem is far beyond a test folder; the bound
      // keeps the sample count (and the memory) reasonable.
      if (value.empty() || *end || !(seconds > 0.0 && seconds <= 3600.0))
        usageError(kSyntheticUsage,
                   "--seconds expects a number in (0, 3600], got '" + value +
                       "'");
    } else
      usageError(kSyntheticUsage, "unknown option '" + arg + "'");
  }
  // The rates locorun reads back (Audio.cpp's bounds, 384 kHz at most).
  if (rate < 1000 || rate > 384000)
    usageError(kSyntheticUsage, "--sample-rate expects 1000 to 384000, got " +
                                    std::to_string(rate));
  if (tracks > 10000 || testTracks > 10000)
    usageError(kSyntheticUsage,
               "--tracks and --test-tracks expect at most 10000");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_directory(dir, ec))
    throw RunError("make-synthetic: '" + dir + "' exists and is not a folder");
  writeSyntheticFolder(dir, tracks, testTracks, seconds, rate,
                       {"vocals", "drums", "bass", "other"}, seed);
  std::printf("wrote %lld training and %lld test tracks of %.1f s to %s\n",
              static_cast<long long>(tracks),
              static_cast<long long>(testTracks), seconds, dir.c_str());
  return 0;
}

} // namespace

int loco::runMakeSyntheticCommand(int argc, char **argv) {
  try {
    return runSynthetic(argc, argv);
  } catch (const std::exception &e) { // RunError, or a library's
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
}
