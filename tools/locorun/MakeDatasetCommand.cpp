//===- MakeDatasetCommand.cpp - locorun make-dataset ----------------------===//
//
// This file implements `locorun make-dataset DIR`: a MUSDB18-layout folder
// of songs rendered stem by stem through a SoundFont (runtime/render), from
// seeded compositions or the user's MIDI files.
//
//===----------------------------------------------------------------------===//

#include "runtime/render/Render.h"
#include "runtime/support/RunError.h"
#include "tools/locorun/Flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <sstream>

using namespace loco;
namespace fs = std::filesystem;

namespace {

const char *kDatasetUsage =
    "usage: locorun make-dataset DIR [--songs N] [--test-songs N]\n"
    "                             [--seconds S] [--seed S] [--midi PATH]...\n"
    "                             [--mapping FILE] [--sources a,b,...]\n"
    "                             [--soundfont FILE.sf2]\n"
    "\n"
    "Renders songs through a General MIDI SoundFont, one stem at a time,\n"
    "into a MUSDB18-HQ-layout folder: DIR/train/<song>/ and DIR/test/<song>/,\n"
    "each with mixture.wav (the exact sum of the stems) and one 32-bit float\n"
    "WAV per source. Without --midi the songs are composed from the seed\n"
    "(drums, bass, chords and a lead, instruments drawn per song). Notes go\n"
    "to stems by GM channel and program as Slakh2100 groups them: channel\n"
    "10 drums, programs 33-40 bass, 53-55 and 81-88 vocals, the rest other\n"
    "(docs/TRAINING.md, \"Rendered datasets\"; --mapping overrides).\n"
    "\n"
    "options:\n"
    "  --songs N                composed training songs (default 8)\n"
    "  --test-songs N           test songs (default 2; with --midi, the\n"
    "                           last N files by name)\n"
    "  --seconds S              length of a composed song (default 18)\n"
    "  --seed S                 the compositions' seed (default 0)\n"
    "  --midi PATH              a .mid file or a folder of them (repeatable)\n"
    "  --mapping FILE           stems by class: lines 'STEM CLASS...', CLASS\n"
    "                           'drums', a GM program, a range '33-40' or '*'\n"
    "  --sources a,b,...        the stems (default vocals,drums,bass,other)\n"
    "  --soundfont FILE         default "
    "/usr/share/sounds/sf2/FluidR3_GM.sf2\n"
    "                           (apt-get install fluid-soundfont-gm)\n";

/// The MIDI files of `path`: itself, or a folder's .mid/.midi files.
void addMidi(const std::string &path, std::vector<std::string> &files) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec))
      throw RunError("--midi: '" + path + "' does not exist");
    files.push_back(path);
    return;
  }
  size_t before = files.size();
  for (const auto &entry : fs::recursive_directory_iterator(path)) {
    std::string ext = entry.path().extension().string();
    for (char &c : ext)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (entry.is_regular_file() && (ext == ".mid" || ext == ".midi"))
      files.push_back(entry.path().string());
  }
  if (files.size() == before)
    throw RunError("--midi: no .mid files in '" + path + "'");
}

int runDataset(int argc, char **argv) {
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kDatasetUsage, stdout);
      return 0;
    }
  if (argc < 3 || argv[2][0] == '-')
    usageError(kDatasetUsage, "make-dataset needs a folder first");
  RenderedDataset d;
  d.dir = argv[2];
  d.sources = {"vocals", "drums", "bass", "other"};
  static const char *const kOptions[] = {
      "--songs", "--test-songs", "--seed",      "--seconds",
      "--midi",  "--mapping",    "--soundfont", "--sources"};
  bool composing = false;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (std::find(std::begin(kOptions), std::end(kOptions), arg) ==
        std::end(kOptions))
      usageError(kDatasetUsage, "unknown option '" + arg + "'");
    if (i + 1 >= argc)
      usageError(kDatasetUsage, "option " + arg + " needs a value");
    composing |= arg == "--songs" || arg == "--seed" || arg == "--seconds";
    std::string value = argv[++i];
    if (arg == "--songs")
      d.trainSongs = parseCount(kDatasetUsage, arg, value);
    else if (arg == "--test-songs")
      d.testSongs = parseCount(kDatasetUsage, arg, value);
    else if (arg == "--seed")
      d.seed = parseCount(kDatasetUsage, arg, value);
    else if (arg == "--seconds") {
      char *end = nullptr;
      d.seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || !(d.seconds > 0.0 && d.seconds <= 600.0))
        usageError(kDatasetUsage,
                   "--seconds expects a number in (0, 600], got '" + value +
                       "'");
    } else if (arg == "--midi")
      addMidi(value, d.midiFiles);
    else if (arg == "--mapping")
      d.mappingFile = value;
    else if (arg == "--soundfont")
      d.soundFont = value;
    else if (arg == "--sources") {
      d.sources.clear();
      std::stringstream list(value);
      for (std::string name; std::getline(list, name, ',');)
        if (!name.empty())
          d.sources.push_back(name);
      if (d.sources.empty())
        usageError(kDatasetUsage, "--sources names no stem");
    } else
      usageError(kDatasetUsage, "unknown option '" + arg + "'");
  }
  if (composing && !d.midiFiles.empty())
    usageError(kDatasetUsage, "--songs, --seconds and --seed compose songs; "
                              "with --midi the files are the songs");
  if (d.trainSongs > 10000 || d.testSongs > 10000)
    usageError(kDatasetUsage, "--songs and --test-songs expect at most 10000");
  std::error_code ec;
  if (fs::exists(d.dir, ec) && !fs::is_directory(d.dir, ec))
    throw RunError("make-dataset: '" + d.dir + "' exists and is not a folder");
  int64_t written = 0;
  writeRenderedDataset(d, [&](const std::string &folder) {
    ++written;
    std::fprintf(stderr, "\r%lld song(s) rendered",
                 static_cast<long long>(written));
  });
  std::fprintf(stderr, "\n");
  std::printf("wrote %lld training and %lld test songs to %s\n",
              static_cast<long long>(written - d.testSongs),
              static_cast<long long>(d.testSongs), d.dir.c_str());
  return 0;
}

} // namespace

int loco::runMakeDatasetCommand(int argc, char **argv) {
  try {
    return runDataset(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
}
