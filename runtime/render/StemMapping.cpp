//===- StemMapping.cpp - Which stem a MIDI note sounds in -----------------===//
//
// This file implements the default (Slakh-like) stem rule and the mapping
// file's parser.
//
//===----------------------------------------------------------------------===//

#include "runtime/render/StemMapping.h"

#include "runtime/support/RunError.h"

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace loco;

static int indexOf(const std::vector<std::string> &sources,
                   const std::string &name) {
  auto it = std::find(sources.begin(), sources.end(), name);
  return it == sources.end() ? -1 : static_cast<int>(it - sources.begin());
}

StemMapping StemMapping::slakh(const std::vector<std::string> &sources) {
  StemMapping m;
  m.names = sources;
  m.byProgram.fill(indexOf(sources, "other"));
  for (int p = 32; p < 40; ++p) // GM 33-40: basses
    m.byProgram[p] = indexOf(sources, "bass");
  for (int p : {52, 53, 54}) // GM 53-55: choir aahs, voice oohs, synth voice
    m.byProgram[p] = indexOf(sources, "vocals");
  for (int p = 80; p < 88; ++p) // GM 81-88: synth leads
    m.byProgram[p] = indexOf(sources, "vocals");
  m.drums = indexOf(sources, "drums");
  return m;
}

StemMapping StemMapping::fromFile(const std::string &path,
                                  const std::vector<std::string> &sources) {
  std::ifstream in(path);
  if (!in)
    throw RunError(path + ": cannot read the stem mapping");
  StemMapping m;
  m.names = sources;
  m.byProgram.fill(-2); // -2: not named yet
  int rest = -1;
  bool anyStem = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string where = path + ":" + std::to_string(number) + ": ";
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string stem, cls;
    if (!(words >> stem))
      continue;
    int index = indexOf(sources, stem);
    if (index < 0) {
      std::string names;
      for (const std::string &source : sources)
        names += (names.empty() ? "" : ", ") + source;
      throw RunError(where + "unknown stem '" + stem + "' (the stems are " +
                     names + ")");
    }
    bool any = false;
    while (words >> cls) {
      any = true;
      if (cls == "drums" || cls == "*") {
        int &target = cls == "drums" ? m.drums : rest;
        if (target >= 0)
          throw RunError(where + "'" + cls + "' is mapped twice");
        target = index;
        continue;
      }
      int low = 0, high = 0;
      char dash = 0;
      std::istringstream range(cls);
      bool ok = static_cast<bool>(range >> low);
      if (ok && range >> dash)
        ok = dash == '-' && static_cast<bool>(range >> high) && range.eof();
      else
        high = low;
      if (!ok || low < 1 || high > 128 || low > high)
        throw RunError(where + "'" + cls +
                       "' is not a class: drums, *, a GM program 1-128 or a "
                       "range such as 33-40");
      for (int p = low - 1; p < high; ++p) {
        if (m.byProgram[p] != -2)
          throw RunError(where + "GM program " + std::to_string(p + 1) +
                         " is mapped twice");
        m.byProgram[p] = index;
      }
    }
    if (!any)
      throw RunError(where + "stem '" + stem + "' names no class");
    anyStem = true;
  }
  if (!anyStem)
    throw RunError(path + ": the stem mapping names no stem");
  for (int &stem : m.byProgram)
    if (stem == -2)
      stem = rest;
  return m;
}

int StemMapping::stemOf(int channel, int program) const {
  if (channel == 9)
    return drums;
  if (program < 0 || program > 127)
    return -1;
  return byProgram[program];
}
