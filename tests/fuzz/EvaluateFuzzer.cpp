//===- EvaluateFuzzer.cpp - libFuzzer target: evaluate's inputs ----------===//
//
// A one-track MUSDB18-layout split and a folder of estimates, shaped by the
// input: each of the four reference stems and four estimates gets its own
// channel count (1 to 3), sample rate and length, and its samples come from
// the input's bytes; a flag replaces one reference or estimate with the raw
// input (a header of any kind) or leaves one out. `locorun evaluate`'s
// checks (checkTracks) either refuse the split with a RunError or accept
// it, and an accepted split is scored (scoreTrack: BSSEval v4, SI-SDR,
// uSDR; with a flag, of the estimates rescaled against a mixture of the
// input's shape, and of the raw ones) without any other outcome. Before these
// checks, one mono source among stereo ones crashed BSSEval.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Audio.h"
#include "runtime/eval/Evaluate.h"
#include "runtime/session/Session.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::vector<std::string> names{"vocals", "drums", "bass",
                                              "other"};
  static const fs::path root =
      fs::temp_directory_path() /
      ("loco-fuzz-evaluate-" + std::to_string(::getpid()));
  static const bool quiet = [] {
    // scoreTrack prints its table rows.
    return std::freopen("/dev/null", "w", stdout) != nullptr;
  }();
  (void)quiet;
  if (size < 9)
    return 0;
  fs::path track = root / "data" / "test" / "track_0";
  fs::path estimates = root / "estimates" / "track_0";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(track);
  fs::create_directories(estimates);
  const uint8_t flags = data[8];
  const uint8_t *samples = data + 9;
  size_t count = size - 9, next = 0;
  // Eight stems, then (flag bit 3) the mixture, shaped as the first.
  for (int i = 0; i < 9; ++i) {
    if (i == 8 && !(flags & 8))
      break;
    uint8_t shape = data[i == 8 ? 0 : i];
    loco::Audio audio;
    static const int64_t kRates[] = {8000, 8000, 16000, 4000};
    audio.sampleRate = kRates[(shape >> 2) & 3];
    audio.channels.resize(1 + (shape & 3) % 3);
    for (auto &channel : audio.channels) {
      channel.resize(100 + 50 * (shape >> 4));
      for (float &v : channel)
        v = count ? (static_cast<int8_t>(samples[next++ % count]) / 128.0f)
                  : 0.0f;
    }
    fs::path file = i == 8  ? track / "mixture.wav"
                    : i < 4 ? track / (names[i] + ".wav")
                            : estimates / (names[i % 4] + ".wav");
    // Flags: bit 0 replaces a reference, bit 1 an estimate, with the raw
    // input; bit 2 leaves one out.
    bool raw = (i == 2 && (flags & 1)) || (i == 5 && (flags & 2));
    if (i == 7 && (flags & 4))
      continue;
    if (raw)
      std::ofstream(file, std::ios::binary)
          << std::string(reinterpret_cast<const char *>(data), size);
    else
      loco::writeAudio(file.string(), audio, loco::AudioFormat::Wav);
  }
  try {
    std::vector<fs::path> tracks{track};
    std::string estimatesDir = (root / "estimates").string();
    // 16-tap distortion filters: museval's 512 make the Gram matrix of 4
    // sources x 3 channels a 6144-square solve, a second a run. Flag bit 3
    // rescales the estimates against the mixture (written from the input
    // too), scoring both sets.
    loco::ScoreOptions options;
    options.filtersLen = 16;
    if (flags & 8)
      options.rescale = loco::Rescale::Mixture;
    loco::checkTracks(tracks, names, /*separating=*/false, estimatesDir,
                      /*mono=*/false, options.rescale != loco::Rescale::Off);
    loco::TrackScores scores(names.size());
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    loco::scoreTrack(track, 0, 1, names, loco::SeparateFn(), estimatesDir,
                     options, scores, json);
    (void)json.dump(1, ' ', false,
                    nlohmann::ordered_json::error_handler_t::replace);
  } catch (const loco::RunError &) {
  }
  return 0;
}
