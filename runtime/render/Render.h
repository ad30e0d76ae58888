//===- Render.h - Stems rendered from MIDI through a SoundFont --*- C++ -*-===//
//
// This file declares the renderer of datasets with true stems: songs (a
// seeded composition, or a user's MIDI file) rendered through libfluidsynth
// in-process, one stem at a time (the notes the StemMapping assigns to
// it), dry (no reverb or chorus, so that no stem leaks into another), and
// a MUSDB18-layout folder of them whose mixtures are the exact sums of the
// stems written.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_RENDER_RENDER_H
#define LOCO_RUNTIME_RENDER_RENDER_H

#include "runtime/data/Audio.h"
#include "runtime/render/Composition.h"
#include "runtime/render/StemMapping.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace loco {

/// Debian's General MIDI SoundFont (fluid-soundfont-gm).
inline constexpr const char *kDefaultSoundFont =
    "/usr/share/sounds/sf2/FluidR3_GM.sf2";

class StemRenderer {
public:
  /// Loads `soundFont`; throws RunError naming it (and the Debian package
  /// when it is the default) when it is missing or not a SoundFont.
  StemRenderer(const std::string &soundFont, int64_t sampleRate);
  ~StemRenderer();
  StemRenderer(const StemRenderer &) = delete;
  StemRenderer &operator=(const StemRenderer &) = delete;

  /// One stereo Audio per source of `mapping` (silence for a stem without
  /// notes), all of the song's length plus `tailSeconds` in which the last
  /// notes' releases ring out.
  std::vector<Audio> render(const Song &song, const StemMapping &mapping,
                            double tailSeconds = 1.0);
  /// The same for a Standard MIDI File, whose program changes are followed
  /// per channel. Throws RunError for a file that is not MIDI or that
  /// plays longer than `maxSeconds`.
  std::vector<Audio> renderMidi(const std::string &path,
                                const StemMapping &mapping,
                                double tailSeconds = 1.0,
                                double maxSeconds = 3600.0);

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Scales every stem by one gain so that the song's loudest sample (of the
/// mixture or a stem) is 0.9 (no clipping anywhere), and returns the
/// mixture: the float32 sum of the scaled stems in source order.
Audio mixStems(std::vector<Audio> &stems);

struct RenderedDataset {
  std::string dir;                  ///< written as dir/{train,test}/<song>/
  std::vector<std::string> sources; ///< the stems, the config's order
  int64_t trainSongs = 8, testSongs = 2;
  double seconds = 18.0; ///< of each composed song
  uint64_t seed = 0;
  /// Render these MIDI files instead of composing (the last `testSongs`
  /// of them, sorted, go to test/).
  std::vector<std::string> midiFiles;
  std::string mappingFile; ///< empty: StemMapping::slakh
  std::string soundFont = kDefaultSoundFont;
  int64_t sampleRate = 44100;
};

/// Writes the dataset (32-bit float WAV: the mixture is exactly the sum of
/// the stems as written). `progress` is told of each song written.
void writeRenderedDataset(
    const RenderedDataset &dataset,
    const std::function<void(const std::string &)> &progress = {});

} // namespace loco

#endif // LOCO_RUNTIME_RENDER_RENDER_H
