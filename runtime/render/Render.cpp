//===- Render.cpp - Stems rendered from MIDI through a SoundFont ----------===//
//
// This file implements the stem renderer over libfluidsynth (one synth,
// reset between stems; a MIDI file played by fluid_player on the synth's
// sample clock, its note-ons filtered by the stem mapping) and the writer
// of rendered datasets.
//
//===----------------------------------------------------------------------===//

#include "runtime/render/Render.h"

#include "runtime/support/RunError.h"

#include <fluidsynth.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace loco;
namespace fs = std::filesystem;

struct StemRenderer::Impl {
  fluid_settings_t *settings = nullptr;
  fluid_synth_t *synth = nullptr;
  int64_t sampleRate = 44100;

  std::string soundFont;

  ~Impl() {
    if (synth)
      delete_fluid_synth(synth);
    if (settings)
      delete_fluid_settings(settings);
  }
  /// A new synthesizer with the SoundFont (its samples stay cached in the
  /// process): a song starts from nothing that an earlier one left, not
  /// even the order of voices in the synthesizer's slots, which decides
  /// the order of their float sums.
  void start() {
    if (synth)
      delete_fluid_synth(synth);
    synth = new_fluid_synth(settings);
    rendered = 0;
    if (!synth)
      throw RunError("fluidsynth could not start a synthesizer");
    if (fluid_synth_sfload(synth, soundFont.c_str(), 1) == FLUID_FAILED)
      throw RunError(soundFont + ": not a SoundFont fluidsynth can load");
  }
  /// Frames rendered so far: fluid_synth_write_float renders whole
  /// blocks of 64 and hands the rest of a block out on the next call.
  int64_t rendered = 0;

  /// Silence, default controllers, GM programs of `programs`, starting at
  /// a fresh block: the rest of the block in flight (the previous stem's
  /// sound) is rendered and dropped, so that no stem leaks into the next
  /// and each starts on the same block grid whatever came before.
  void reset(const std::array<int, 16> &programs) {
    int64_t pending = (64 - rendered % 64) % 64;
    if (pending) {
      Audio scratch = empty();
      write(scratch, pending);
    }
    fluid_synth_system_reset(synth);
    for (int channel = 0; channel < 16; ++channel)
      if (channel != 9)
        fluid_synth_program_change(synth, channel, programs[channel]);
  }
  /// Renders `frames` more samples onto the end of `stem`.
  void write(Audio &stem, int64_t frames) {
    constexpr int64_t kBlock = 4096;
    for (int64_t done = 0; done < frames;) {
      int n = static_cast<int>(std::min(kBlock, frames - done));
      size_t at = stem.channels[0].size();
      stem.channels[0].resize(at + n);
      stem.channels[1].resize(at + n);
      if (fluid_synth_write_float(synth, n, stem.channels[0].data(), at, 1,
                                  stem.channels[1].data(), at, 1) != FLUID_OK)
        throw RunError("fluidsynth failed to render");
      done += n;
      rendered += n;
    }
  }
  Audio empty() const {
    Audio a;
    a.sampleRate = sampleRate;
    a.channels.resize(2);
    return a;
  }
};

StemRenderer::StemRenderer(const std::string &soundFont, int64_t sampleRate)
    : impl(std::make_unique<Impl>()) {
  std::error_code ec;
  if (!fs::is_regular_file(soundFont, ec))
    throw RunError(soundFont + ": no such SoundFont" +
                   (soundFont == kDefaultSoundFont
                        ? " (Debian's General MIDI SoundFont: apt-get install "
                          "fluid-soundfont-gm; or pass --soundfont FILE.sf2)"
                        : std::string(" (--soundfont takes a .sf2 file)")));
  // fluidsynth's chatter (warnings about unused controllers, ...) is not
  // the user's business; its errors come back as the calls' failures,
  // which are reported with the file they concern.
  for (int level : {FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG})
    fluid_set_log_function(level, nullptr, nullptr);
  impl->sampleRate = sampleRate;
  impl->settings = new_fluid_settings();
  fluid_settings_setnum(impl->settings, "synth.sample-rate",
                        static_cast<double>(sampleRate));
  // Dry stems: a shared reverb or chorus would carry one stem's tail into
  // the next stem rendered on this synth.
  fluid_settings_setint(impl->settings, "synth.reverb.active", 0);
  fluid_settings_setint(impl->settings, "synth.chorus.active", 0);
  fluid_settings_setint(impl->settings, "synth.cpu-cores", 1);
  fluid_settings_setstr(impl->settings, "player.timing-source", "sample");
  // The player would reset the synth at the file's end, cutting every
  // release short; reset() between stems does what is needed.
  fluid_settings_setint(impl->settings, "player.reset-synth", 0);
  fluid_settings_setint(impl->settings, "synth.polyphony", 256);
  impl->soundFont = soundFont;
  impl->start();
}

StemRenderer::~StemRenderer() = default;

std::vector<Audio> StemRenderer::render(const Song &song,
                                        const StemMapping &mapping,
                                        double tailSeconds) {
  struct Event {
    int64_t time;
    bool on;
    const Note *note;
  };
  int64_t length =
      song.length + static_cast<int64_t>(tailSeconds * impl->sampleRate);
  impl->start();
  std::vector<Audio> stems;
  for (size_t s = 0; s < mapping.sources().size(); ++s) {
    std::vector<Event> events;
    for (const Note &n : song.notes)
      if (mapping.stemOf(n.channel, song.programs[n.channel]) ==
          static_cast<int>(s)) {
        events.push_back({n.start, true, &n});
        events.push_back({n.end, false, &n});
      }
    // Note-offs first at a time, so that a repeated key restarts.
    std::stable_sort(
        events.begin(), events.end(), [](const Event &a, const Event &b) {
          return a.time != b.time ? a.time < b.time : !a.on && b.on;
        });
    impl->reset(song.programs);
    Audio stem = impl->empty();
    int64_t position = 0;
    for (const Event &e : events) {
      impl->write(stem, e.time - position);
      position = e.time;
      if (e.on)
        fluid_synth_noteon(impl->synth, e.note->channel, e.note->key,
                           e.note->velocity);
      else
        fluid_synth_noteoff(impl->synth, e.note->channel, e.note->key);
    }
    impl->write(stem, length - position);
    stems.push_back(std::move(stem));
  }
  return stems;
}

namespace {
/// Whether every sample of every stem is zero.
bool silent(const std::vector<Audio> &stems) {
  for (const Audio &stem : stems)
    for (const std::vector<float> &channel : stem.channels)
      for (float v : channel)
        if (v != 0.0f)
          return false;
  return true;
}

/// Checks the chunk structure of a Standard MIDI File (fluidsynth would
/// log a bad file and play silence): the MThd header, and each of its
/// tracks an MTrk chunk within the file. Throws RunError saying what is
/// wrong.
void checkMidiFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i)
      v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  auto fail = [&](const std::string &why) {
    throw RunError(path + ": not a Standard MIDI File (" + why + ")");
  };
  if (!in.good() && !in.eof())
    throw RunError(path + ": cannot read");
  if (bytes.size() < 14 || bytes.compare(0, 4, "MThd") != 0 || u32(4) != 6)
    fail("no MThd header of 6 bytes");
  // Ticks per quarter note; fluidsynth plays neither SMPTE time (the high
  // bit) nor a division of 0 (which never advances).
  unsigned division = static_cast<unsigned char>(bytes[12]) << 8 |
                      static_cast<unsigned char>(bytes[13]);
  if (division == 0 || division & 0x8000)
    fail(division ? "SMPTE time division" : "a time division of 0");
  unsigned format = static_cast<unsigned char>(bytes[8]) << 8 |
                    static_cast<unsigned char>(bytes[9]);
  unsigned tracks = static_cast<unsigned char>(bytes[10]) << 8 |
                    static_cast<unsigned char>(bytes[11]);
  if (format > 2 || tracks == 0 || tracks > 128)
    fail("format " + std::to_string(format) + " with " +
         std::to_string(tracks) + " track(s)");
  size_t at = 8 + u32(4);
  for (unsigned t = 0; t < tracks; ++t) {
    if (at + 8 > bytes.size() || bytes.compare(at, 4, "MTrk") != 0)
      fail("track " + std::to_string(t + 1) + " of " + std::to_string(tracks) +
           " is missing");
    uint64_t length = u32(at + 4);
    if (at + 8 + length > bytes.size())
      fail("track " + std::to_string(t + 1) + " runs past the end");
    at += 8 + length;
  }
}

/// The note-ons of one stem, from a MIDI file's events.
struct StemFilter {
  fluid_synth_t *synth;
  const StemMapping *mapping;
  int stem;
  std::array<int, 16> programs{};
};

int filterEvent(void *data, fluid_midi_event_t *event) {
  auto *filter = static_cast<StemFilter *>(data);
  int type = fluid_midi_event_get_type(event);
  int channel = fluid_midi_event_get_channel(event) & 15;
  if (type == 0xC0)
    filter->programs[channel] = fluid_midi_event_get_program(event) & 127;
  if (type == 0x90 && fluid_midi_event_get_velocity(event) > 0 &&
      filter->mapping->stemOf(channel, filter->programs[channel]) !=
          filter->stem)
    return FLUID_OK; // another stem's note
  return fluid_synth_handle_midi_event(filter->synth, event);
}
} // namespace

std::vector<Audio> StemRenderer::renderMidi(const std::string &path,
                                            const StemMapping &mapping,
                                            double tailSeconds,
                                            double maxSeconds) {
  checkMidiFile(path);
  impl->start();
  std::vector<Audio> stems;
  int64_t limit = static_cast<int64_t>(maxSeconds * impl->sampleRate);
  for (size_t s = 0; s < mapping.sources().size(); ++s) {
    impl->reset({});
    StemFilter filter{impl->synth, &mapping, static_cast<int>(s), {}};
    std::unique_ptr<fluid_player_t, void (*)(fluid_player_t *)> player(
        new_fluid_player(impl->synth), delete_fluid_player);
    if (!player || fluid_player_add(player.get(), path.c_str()) != FLUID_OK)
      throw RunError(path + ": fluidsynth cannot read this MIDI file");
    fluid_player_set_playback_callback(player.get(), filterEvent, &filter);
    Audio stem = impl->empty();
    fluid_player_play(player.get());
    while (fluid_player_get_status(player.get()) == FLUID_PLAYER_PLAYING) {
      impl->write(stem, 1024);
      if (static_cast<int64_t>(stem.channels[0].size()) > limit)
        throw RunError(path + ": plays longer than " +
                       std::to_string(static_cast<int64_t>(maxSeconds)) + " s");
    }
    fluid_player_stop(player.get());
    impl->write(stem, static_cast<int64_t>(tailSeconds * impl->sampleRate));
    stems.push_back(std::move(stem));
  }
  // The player stops at the same tick for every stem; pad to be sure.
  size_t frames = 0;
  for (const Audio &stem : stems)
    frames = std::max(frames, stem.channels[0].size());
  for (Audio &stem : stems)
    for (std::vector<float> &channel : stem.channels)
      channel.resize(frames, 0.0f);
  if (silent(stems))
    throw RunError(path + ": nothing sounds (fluidsynth could not parse it, "
                          "or the stem mapping sends none of its notes to a "
                          "stem)");
  return stems;
}

Audio loco::mixStems(std::vector<Audio> &stems) {
  Audio mixture = stems.front();
  auto sum = [&] {
    for (size_t c = 0; c < mixture.channels.size(); ++c)
      for (size_t i = 0; i < mixture.channels[c].size(); ++i) {
        float v = 0.0f;
        for (const Audio &stem : stems)
          v += stem.channels[c][i];
        mixture.channels[c][i] = v;
      }
  };
  sum();
  float peak = 0.0f;
  for (const std::vector<float> &channel : mixture.channels)
    for (float v : channel)
      peak = std::max(peak, std::fabs(v));
  for (const Audio &stem : stems)
    for (const std::vector<float> &channel : stem.channels)
      for (float v : channel)
        peak = std::max(peak, std::fabs(v));
  // One gain for the song: its loudest sample (a stem's or the mixture's)
  // at 0.9, so nothing clips and quiet renders are brought up to level.
  if (peak > 0.0f) {
    float gain = 0.9f / peak;
    for (Audio &stem : stems)
      for (std::vector<float> &channel : stem.channels)
        for (float &v : channel)
          v *= gain;
    sum(); // the mixture of the scaled stems, exactly
  }
  return mixture;
}

/// Stem names that are files of their own in a track folder.
static void checkSources(const std::vector<std::string> &sources) {
  if (sources.empty())
    throw RunError("no stems to render (--sources)");
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string &name = sources[i];
    if (name.empty() || name == "mixture" || name == "." || name == ".." ||
        name.find('/') != std::string::npos)
      throw RunError("'" + name +
                     "' cannot be a stem: each stem is the "
                     "file <name>.wav beside mixture.wav");
    for (size_t j = 0; j < i; ++j)
      if (sources[j] == name)
        throw RunError("stem '" + name + "' is named twice");
  }
}

void loco::writeRenderedDataset(
    const RenderedDataset &d,
    const std::function<void(const std::string &)> &progress) {
  checkSources(d.sources);
  StemMapping mapping = d.mappingFile.empty()
                            ? StemMapping::slakh(d.sources)
                            : StemMapping::fromFile(d.mappingFile, d.sources);
  // A file named twice (a folder and a file in it) is one song.
  std::vector<std::string> midi;
  for (const std::string &file : d.midiFiles) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(file, ec);
    midi.push_back(ec ? file : canonical.string());
  }
  std::sort(midi.begin(), midi.end());
  midi.erase(std::unique(midi.begin(), midi.end()), midi.end());
  if (midi.empty() && d.trainSongs + d.testSongs == 0)
    throw RunError("no songs to render");
  if (!midi.empty() && static_cast<int64_t>(midi.size()) <= d.testSongs)
    throw RunError(std::to_string(midi.size()) +
                   " MIDI file(s) leave none for training after " +
                   std::to_string(d.testSongs) + " test song(s)");
  // Every file checked before the first song is written.
  std::vector<std::string> names;
  for (const std::string &file : midi) {
    checkMidiFile(file);
    std::string name = fs::path(file).stem().string();
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw RunError(file + ": another MIDI file is also named '" + name +
                     "'; each song is a folder of its name");
    names.push_back(name);
  }
  StemRenderer renderer(d.soundFont, d.sampleRate);
  int64_t total = midi.empty() ? d.trainSongs + d.testSongs
                               : static_cast<int64_t>(midi.size());
  int64_t firstTest = total - d.testSongs;
  for (int64_t i = 0; i < total; ++i) {
    bool test = i >= firstTest;
    std::string name;
    std::vector<Audio> stems;
    if (midi.empty()) {
      char text[32];
      std::snprintf(text, sizeof(text), "song_%03lld",
                    static_cast<long long>(test ? i - firstTest : i));
      name = text;
      // Test songs draw from seeds of their own.
      uint64_t seed = d.seed * 1000003ull + (test ? 500000 : 0) +
                      static_cast<uint64_t>(test ? i - firstTest : i);
      stems = renderer.render(compose(seed, d.seconds, d.sampleRate), mapping);
    } else {
      name = fs::path(midi[i]).stem().string();
      stems = renderer.renderMidi(midi[i], mapping);
    }
    fs::path folder = fs::path(d.dir) / (test ? "test" : "train") / name;
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec)
      throw RunError(folder.string() + ": cannot create: " + ec.message());
    Audio mixture = mixStems(stems);
    writeAudio((folder / "mixture.wav").string(), mixture, AudioFormat::Wav);
    for (size_t s = 0; s < stems.size(); ++s)
      writeAudio((folder / (d.sources[s] + ".wav")).string(), stems[s],
                 AudioFormat::Wav);
    if (progress)
      progress(folder.string());
  }
}
