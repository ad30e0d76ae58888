//===- StemMapping.h - Which stem a MIDI note sounds in ---------*- C++ -*-===//
//
// This file declares StemMapping: the rule that assigns a note to a stem by
// its General MIDI channel and program, as Slakh2100 groups instruments
// into classes. The default rule is stated in docs/TRAINING.md ("Rendered
// datasets"); a small text file overrides it.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_RENDER_STEMMAPPING_H
#define LOCO_RUNTIME_RENDER_STEMMAPPING_H

#include <array>
#include <string>
#include <vector>

namespace loco {

class StemMapping {
public:
  /// The default rule for `sources`: channel 10 is `drums`; GM programs
  /// 33-40 (the bass family) `bass`; 53-55 (choir and voices) and 81-88
  /// (synth leads) `vocals`; every other program `other`. A stem the
  /// sources do not name is dropped from the rule (its notes are not
  /// rendered); with no `other` source, unassigned notes are dropped too.
  static StemMapping slakh(const std::vector<std::string> &sources);

  /// Reads a mapping file: one line per stem, `STEM CLASS...`, where a
  /// CLASS is `drums` (channel 10), a 1-based GM program or range
  /// (`33-40`), or `*` (every program not named on another line); `#`
  /// starts a comment. Throws RunError naming the file and line for an
  /// unknown stem (not in `sources`), a malformed or out-of-range class,
  /// or a program named twice.
  static StemMapping fromFile(const std::string &path,
                              const std::vector<std::string> &sources);

  /// The index in the sources of the stem that a note of `channel`
  /// (0-based; 9 is GM's channel 10) with `program` (0-based) sounds in,
  /// or -1 when it is not rendered.
  int stemOf(int channel, int program) const;

  const std::vector<std::string> &sources() const { return names; }

private:
  std::vector<std::string> names;
  std::array<int, 128> byProgram{};
  int drums = -1;
};

} // namespace loco

#endif // LOCO_RUNTIME_RENDER_STEMMAPPING_H
