//===- Composition.h - Seeded procedural songs ------------------*- C++ -*-===//
//
// This file declares compose(): a song made from a seed, as notes on
// General MIDI channels with a program each: a tempo and key, a chord
// progression, a drum pattern (channel 10), a bass line, held chords and a
// lead melody, with the instruments drawn per song. Tests and demos render
// it, so that no MIDI file is needed.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_RENDER_COMPOSITION_H
#define LOCO_RUNTIME_RENDER_COMPOSITION_H

#include <array>
#include <cstdint>
#include <vector>

namespace loco {

/// A note from `start` to `end` (samples) on a 0-based MIDI channel.
struct Note {
  int64_t start = 0, end = 0;
  int channel = 0, key = 60, velocity = 100;
};

struct Song {
  int64_t sampleRate = 44100;
  /// Each channel's GM program (0-based); channel 9 plays drums.
  std::array<int, 16> programs{};
  std::vector<Note> notes; ///< sorted by start
  int64_t length = 0;      ///< samples, the notes' end
  double bpm = 120;
};

/// The song of `seed`, about `seconds` long (whole bars), at `sampleRate`.
/// The same seed gives the same song on every machine.
Song compose(uint64_t seed, double seconds, int64_t sampleRate);

} // namespace loco

#endif // LOCO_RUNTIME_RENDER_COMPOSITION_H
