//===- Composition.cpp - Seeded procedural songs --------------------------===//
//
// This file implements compose() with its own integer PRNG (SplitMix64),
// so that a seed's song does not depend on the standard library's
// distributions.
//
//===----------------------------------------------------------------------===//

#include "runtime/render/Composition.h"

#include <algorithm>
#include <cmath>
#include <iterator>

using namespace loco;

namespace {

class Random {
public:
  explicit Random(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [low, high].
  int between(int low, int high) {
    return low + static_cast<int>(next() % uint64_t(high - low + 1));
  }
  bool chance(int percent) { return between(0, 99) < percent; }
  template <typename T, size_t N> T pick(const T (&values)[N]) {
    return values[next() % N];
  }

private:
  uint64_t state;
};

enum Channel { kBass = 0, kChords = 1, kLead = 2, kDrums = 9 };

/// Semitones of the major and natural minor scales.
constexpr int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
constexpr int kMinor[7] = {0, 2, 3, 5, 7, 8, 10};

struct Writer {
  Song &song;
  int64_t samplesPerBeat;
  void note(double beat, double beats, int channel, int key, int velocity) {
    Note n;
    n.start = static_cast<int64_t>(std::llround(beat * samplesPerBeat));
    n.end = n.start +
            std::max<int64_t>(1, std::llround(beats * samplesPerBeat) - 1);
    n.channel = channel;
    n.key = std::clamp(key, 0, 127);
    n.velocity = std::clamp(velocity, 1, 127);
    song.notes.push_back(n);
  }
};

void drums(Writer &w, Random &r, int bars) {
  bool halfTime = r.chance(30);
  for (int bar = 0; bar < bars; ++bar) {
    double b = bar * 4.0;
    if (bar % 4 == 0)
      w.note(b, 1, kDrums, 49, r.between(90, 110)); // crash
    for (int eighth = 0; eighth < 8; ++eighth)
      w.note(b + eighth / 2.0, 0.5, kDrums, 42,
             eighth % 2 ? r.between(55, 70) : r.between(75, 90)); // hi-hat
    w.note(b, 0.5, kDrums, 36, r.between(100, 120));              // kick
    w.note(b + 2, 0.5, kDrums, 36, r.between(95, 115));
    if (r.chance(40))
      w.note(b + 2.5, 0.5, kDrums, 36, r.between(80, 100));
    static constexpr double kBackbeat[] = {1.0, 3.0}, kHalfTime[] = {2.0};
    for (double snare :
         halfTime
             ? std::vector<double>(std::begin(kHalfTime), std::end(kHalfTime))
             : std::vector<double>(std::begin(kBackbeat), std::end(kBackbeat)))
      w.note(b + snare, 0.5, kDrums, 38, r.between(95, 115));
  }
}

} // namespace

Song loco::compose(uint64_t seed, double seconds, int64_t sampleRate) {
  Random r(seed * 0x2545F4914F6CDD1Dull + 1);
  Song song;
  song.sampleRate = sampleRate;
  song.bpm = r.between(90, 140);
  double barSeconds = 4 * 60.0 / song.bpm;
  int bars = std::max(1, static_cast<int>(std::lround(seconds / barSeconds)));
  Writer w{song,
           static_cast<int64_t>(std::llround(sampleRate * 60.0 / song.bpm))};
  int root = r.between(0, 11);
  bool minor = r.chance(40);
  const int *scale = minor ? kMinor : kMajor;
  // Scale degrees (0-based) of four-chord progressions.
  constexpr int kProgressions[][4] = {
      {0, 4, 5, 3}, {0, 3, 4, 3}, {5, 3, 0, 4}, {0, 5, 3, 4}, {0, 3, 0, 4}};
  const int *progression = kProgressions[r.next() % 5];
  // Instruments: GM programs (0-based) drawn per song.
  constexpr int kBassPrograms[] = {32, 33, 34, 35, 38};
  constexpr int kChordPrograms[] = {0, 4, 16, 24, 48, 49, 88, 89};
  constexpr int kLeadPrograms[] = {52, 53, 80, 81, 54};
  song.programs[kBass] = r.pick(kBassPrograms);
  song.programs[kChords] = r.pick(kChordPrograms);
  song.programs[kLead] = r.pick(kLeadPrograms);
  auto degreeKey = [&](int degree, int octave) {
    int wrapped = ((degree % 7) + 7) % 7;
    return 12 * (octave + 1) + root + scale[wrapped] + 12 * (degree / 7);
  };
  drums(w, r, bars);
  for (int bar = 0; bar < bars; ++bar) {
    double b = bar * 4.0;
    int degree = progression[bar % 4];
    // Bass: the chord's root on each beat, sometimes the fifth.
    for (int beat = 0; beat < 4; ++beat)
      w.note(b + beat, 0.9, kBass,
             degreeKey(degree + (beat == 3 && r.chance(40) ? 4 : 0), 2),
             r.between(90, 110));
    // Chords: the triad held for the bar.
    for (int third = 0; third < 3; ++third)
      w.note(b, 3.9, kChords, degreeKey(degree + 2 * third, 4),
             r.between(55, 70));
    // Lead: a stepwise melody in the scale, in eighths and quarters.
    int step = degree;
    for (double t = 0; t < 4;) {
      double length = r.chance(50) ? 0.5 : 1.0;
      if (!r.chance(20))
        w.note(b + t, length * 0.95, kLead, degreeKey(step, 5),
               r.between(85, 110));
      step += r.between(-2, 2);
      step = std::clamp(step, degree - 3, degree + 7);
      t += length;
    }
  }
  std::sort(
      song.notes.begin(), song.notes.end(), [](const Note &a, const Note &b) {
        return a.start != b.start ? a.start < b.start : a.channel < b.channel;
      });
  for (const Note &n : song.notes)
    song.length = std::max(song.length, n.end);
  return song;
}
