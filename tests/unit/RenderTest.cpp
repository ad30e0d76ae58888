//===- RenderTest.cpp - Datasets rendered through a SoundFont -------------===//
//
// The renderer against what a training set with true stems needs: the
// mixture is exactly the sum of the stems as written, a MIDI file's notes
// land in the stems the mapping names (and nowhere else), one seed renders
// the same files twice, and bad input is a clear error. Needs Debian's
// fluid-soundfont-gm; skipped without it.
//
//===----------------------------------------------------------------------===//

#include "runtime/render/Render.h"
#include "runtime/data/Audio.h"
#include "runtime/support/RunError.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace loco;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSources = {"vocals", "drums", "bass", "other"};

bool haveSoundFont() { return fs::exists(kDefaultSoundFont); }

std::string tempDir(const std::string &name) {
  std::string dir = ::testing::TempDir() + "/render-" + name;
  fs::remove_all(dir);
  return dir;
}

double rms(const Audio &audio) {
  double sum = 0;
  size_t count = 0;
  for (const std::vector<float> &channel : audio.channels)
    for (float v : channel) {
      sum += double(v) * v;
      ++count;
    }
  return count ? std::sqrt(sum / count) : 0.0;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A Standard MIDI File (format 0) of `events` (delta-time 0 each but
/// the note-offs, one beat later): bytes written by hand, as a user's file
/// would come from a sequencer.
std::string writeMidi(const std::string &path) {
  std::string track;
  auto event = [&](std::initializer_list<unsigned char> bytes) {
    track.append(reinterpret_cast<const char *>(bytes.begin()), bytes.size());
  };
  event({0x00, 0xC0, 33});          // channel 1: GM 34, electric bass (finger)
  event({0x00, 0xC1, 0});           // channel 2: GM 1, piano
  event({0x00, 0x90, 40, 100});     // bass E2
  event({0x00, 0x99, 36, 110});     // channel 10: kick
  event({0x83, 0x60, 0x80, 40, 0}); // 480 ticks later: bass off
  event({0x00, 0x89, 36, 0});
  event({0x00, 0xFF, 0x2F, 0x00}); // end of track
  std::string file = "MThd";
  file += std::string("\0\0\0\6\0\0\0\1\1\xE0", 10); // format 0, 480 tpq
  file += "MTrk";
  uint32_t n = track.size();
  file += std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  file += track;
  std::ofstream(path, std::ios::binary) << file;
  return path;
}

} // namespace

TEST(Render, MixtureIsExactlyTheSumOfTheStemsWritten) {
  if (!haveSoundFont())
    GTEST_SKIP() << kDefaultSoundFont << " missing (fluid-soundfont-gm)";
  RenderedDataset d;
  d.dir = tempDir("sum");
  d.sources = kSources;
  d.trainSongs = 1;
  d.testSongs = 1;
  d.seconds = 4;
  writeRenderedDataset(d);
  for (const char *split : {"train", "test"}) {
    fs::path song = fs::path(d.dir) / split / "song_000";
    Audio mixture = readAudio((song / "mixture.wav").string());
    std::vector<Audio> stems;
    for (const std::string &s : kSources)
      stems.push_back(readAudio((song / (s + ".wav")).string()));
    float peak = 0;
    for (size_t c = 0; c < mixture.channels.size(); ++c)
      for (size_t i = 0; i < mixture.channels[c].size(); ++i) {
        float sum = 0.0f;
        for (const Audio &stem : stems)
          sum += stem.channels[c][i];
        ASSERT_EQ(sum, mixture.channels[c][i]) << split << " " << c << " " << i;
        peak = std::max(peak, std::fabs(sum));
      }
    // One gain per song: the loudest sample at 0.9, nothing clipped.
    EXPECT_LE(peak, 0.9f + 1e-6f);
    for (size_t s = 0; s < stems.size(); ++s)
      EXPECT_GT(rms(stems[s]), 1e-3) << kSources[s] << " is silent";
  }
}

TEST(Render, MidiNotesLandInTheirStems) {
  if (!haveSoundFont())
    GTEST_SKIP() << kDefaultSoundFont << " missing (fluid-soundfont-gm)";
  std::string dir = tempDir("midi");
  fs::create_directories(dir);
  std::string midi = writeMidi(dir + "/song.mid");
  StemRenderer renderer(kDefaultSoundFont, 44100);
  std::vector<Audio> stems =
      renderer.renderMidi(midi, StemMapping::slakh(kSources));
  ASSERT_EQ(stems.size(), 4u);
  EXPECT_EQ(rms(stems[0]), 0.0) << "vocals: no voice or lead in the file";
  EXPECT_GT(rms(stems[1]), 1e-4) << "drums: the kick on channel 10";
  EXPECT_GT(rms(stems[2]), 1e-4) << "bass: GM 34 on channel 1";
  EXPECT_EQ(rms(stems[3]), 0.0) << "other: the piano plays no note";
  // A mapping that sends the basses to `other` moves the note there.
  std::ofstream(dir + "/map.txt") << "# basses are other here\n"
                                     "drums drums\nother 33-40 *\n";
  stems = renderer.renderMidi(
      midi, StemMapping::fromFile(dir + "/map.txt", kSources));
  EXPECT_EQ(rms(stems[2]), 0.0);
  EXPECT_GT(rms(stems[3]), 1e-4);
}

TEST(Render, OneSeedRendersTheSameFiles) {
  if (!haveSoundFont())
    GTEST_SKIP() << kDefaultSoundFont << " missing (fluid-soundfont-gm)";
  std::vector<std::string> dirs;
  for (int run = 0; run < 2; ++run) {
    RenderedDataset d;
    d.dir = tempDir("seed" + std::to_string(run));
    d.sources = kSources;
    d.trainSongs = 1;
    d.testSongs = 0;
    d.seconds = 3;
    d.seed = 7;
    writeRenderedDataset(d);
    dirs.push_back(d.dir);
  }
  for (std::string s : {"mixture", "vocals", "drums", "bass", "other"})
    EXPECT_EQ(readFile(dirs[0] + "/train/song_000/" + s + ".wav"),
              readFile(dirs[1] + "/train/song_000/" + s + ".wav"))
        << s;
  // Another seed, another song.
  EXPECT_NE(compose(7, 3, 44100).notes.size() + compose(7, 3, 44100).bpm,
            compose(8, 3, 44100).notes.size() + compose(8, 3, 44100).bpm);
}

// A song's stems do not depend on what the renderer played before: each
// starts from a reset synthesizer on a fresh block.
TEST(Render, SongsAreIndependentOfWhatCameBefore) {
  if (!haveSoundFont())
    GTEST_SKIP() << kDefaultSoundFont << " missing (fluid-soundfont-gm)";
  StemMapping mapping = StemMapping::slakh(kSources);
  Song first = compose(1, 2.3, 44100), second = compose(2, 2, 44100);
  StemRenderer fresh(kDefaultSoundFont, 44100);
  std::vector<Audio> alone = fresh.render(second, mapping);
  StemRenderer used(kDefaultSoundFont, 44100);
  used.render(first, mapping);
  std::vector<Audio> after = used.render(second, mapping);
  for (size_t s = 0; s < alone.size(); ++s)
    EXPECT_EQ(alone[s].channels, after[s].channels) << kSources[s];
}

TEST(Render, BadInputIsAClearError) {
  std::string dir = tempDir("bad");
  fs::create_directories(dir);
  auto expectError = [](const std::function<void()> &f,
                        const std::string &needle) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one with '" << needle << "'";
    } catch (const RunError &e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << e.what();
    }
  };
  expectError([&] { StemRenderer(dir + "/none.sf2", 44100); },
              "none.sf2: no such SoundFont");
  // Bad mapping files: (name, contents, the error's text).
  const char *mappings[][3] = {
      {"map.txt", "vocals 53-55\nguitar 25-32\n",
       "map.txt:2: unknown stem 'guitar'"},
      {"map2.txt", "bass 33-40\nother 0-200\n",
       "map2.txt:2: '0-200' is not a class"},
      {"map3.txt", "bass 33-40\nother 40\n", "GM program 40 is mapped twice"},
      {"map4.txt", "drums drums\nother drums\n",
       "map4.txt:2: 'drums' is mapped twice"},
      {"map5.txt", "# nothing\n", "the stem mapping names no stem"},
  };
  for (const auto &[name, contents, needle] : mappings) {
    std::string path = dir + "/" + name;
    std::ofstream(path) << contents;
    expectError([&] { StemMapping::fromFile(path, kSources); }, needle);
  }
  RenderedDataset twice;
  twice.dir = dir + "/twice";
  twice.sources = {"vocals", "vocals"};
  expectError([&] { writeRenderedDataset(twice); },
              "stem 'vocals' is named twice");
  twice.sources = {"mixture"};
  expectError([&] { writeRenderedDataset(twice); },
              "'mixture' cannot be a stem");
  if (!haveSoundFont())
    return;
  std::ofstream(dir + "/bad.mid") << "MThd but not really a MIDI file";
  StemRenderer renderer(kDefaultSoundFont, 44100);
  expectError(
      [&] {
        renderer.renderMidi(dir + "/bad.mid", StemMapping::slakh(kSources));
      },
      "not a Standard MIDI File");
  // SMPTE time: fluidsynth would not play it.
  std::string smpte = readFile(writeMidi(dir + "/smpte.mid"));
  smpte[12] = char(0xE7);
  std::ofstream(dir + "/smpte.mid", std::ios::binary) << smpte;
  expectError(
      [&] {
        renderer.renderMidi(dir + "/smpte.mid", StemMapping::slakh(kSources));
      },
      "SMPTE time division");
  // A file whose notes the mapping sends nowhere renders nothing: refused
  // rather than written as a silent song.
  std::ofstream(dir + "/vocals-only.txt") << "vocals 53-55\n";
  expectError(
      [&] {
        renderer.renderMidi(
            writeMidi(dir + "/song.mid"),
            StemMapping::fromFile(dir + "/vocals-only.txt", kSources));
      },
      "nothing sounds");
}
