//===- SeparateCommand.cpp - locorun separate -----------------------------===//
//
// This file implements `locorun separate`: songs of any length and format
// into stems, resampled as needed, with the artifact of
// `lococ CONFIG --mode separate`.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Audio.h"
#include "runtime/eval/Evaluate.h"
#include "runtime/eval/Metrics.h"
#include "runtime/eval/Separate.h"
#include "runtime/io/Checkpoint.h"
#include "runtime/io/OutputFile.h"
#include "runtime/session/Session.h"
#include "tools/locorun/Flags.h"
#include "tools/locorun/Inference.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace loco;
namespace fs = std::filesystem;

namespace {

const char *kSeparateUsage =
    "usage: locorun separate SEPARATE.so --weights W SONG... -o DIR [options]\n"
    "\n"
    "Separates each SONG (any format libsndfile reads) into one file per\n"
    "source, DIR/<song>/<source>.wav, with the artifact of\n"
    "`lococ CONFIG --mode separate`. Songs of any length run segment by\n"
    "segment (overlap-added with a cross-fade); stereo is separated channel\n"
    "by channel; other sample rates are resampled (libsamplerate).\n"
    "\n"
    "options:\n"
    "  --weights W              model.safetensors (upstream names), or a\n"
    "                           checkpoint folder holding it (or latest/)\n"
    "  -o, --out DIR            where the stems go\n"
    "  --overlap F              fraction of a segment shared with the next\n"
    "                           (default 0.25, in [0, 0.95])\n"
    "  --batch-segments N       check that the artifact runs N segments per\n"
    "                           step (chosen by lococ --batch-segments)\n"
    "  --mono                   average the channels first (as upstream)\n"
    "  --rescale auto|off|gains|mixture\n"
    "                           the stems' level: gains are the least-squares\n"
    "                           gains that make the stems sum closest to the\n"
    "                           mixture (SI-SDR unchanged); mixture adds\n"
    "                           mixture consistency (the stems then sum to\n"
    "                           the mixture); auto (default): gains for a\n"
    "                           model trained on a scale-free loss (SI-SDR\n"
    "                           alone), else off\n"
    "  --format wav|flac        wav: 32-bit float (default); flac: 24-bit\n"
    "  --overwrite              replace stems that are already in DIR (by\n"
    "                           default an existing file is an error, found\n"
    "                           before the first song is separated)\n"
    "  --device D               cpu (default), cuda, cuda:N or cuda-emu\n"
    "  --quiet                  no progress line\n";

/// The folder name of a song's stems: its file's stem, or for a MUSDB
/// mixture its track folder's name, from the absolute path with `.` and
/// `..` resolved (lexically: a linked song keeps its own name, not its
/// target's, as in git-annex or DVC folders); one path component, never
/// `.`, `..` or empty, so it cannot name a folder outside -o.
std::string songLabel(const std::string &path) {
  fs::path normal = fs::absolute(path).lexically_normal();
  std::string label = normal.stem().string();
  if (label == "mixture" && normal.parent_path().has_filename())
    label = normal.parent_path().filename().string();
  if (label.empty() || label == "." || label == "..")
    label = "song";
  return label;
}

bool isRegularFile(const std::string &path) {
  struct stat info{};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// Creates `dir` and checks that files can be made in it; throws RunError
/// naming `option` otherwise.
void prepareOutputFolder(const std::string &dir, const std::string &option) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw RunError(option + " " + dir + ": exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec)
    throw RunError(option + " " + dir +
                   ": cannot create the folder: " + ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw RunError(option + " " + dir +
                   ": cannot write in the folder: " + std::strerror(errno));
}

/// One line on the stems' level: which rescaling was applied, and why.
void printRescale(const RescaleReport &applied,
                  const std::vector<std::string> &names, bool automatic) {
  if (applied.applied == Rescale::Off) {
    if (automatic)
      std::printf("  level: as the model made it (its loss fixes the "
                  "scale; --rescale gains to rescale anyway)\n");
    return;
  }
  std::printf("  level: %s (", applied.applied == Rescale::Mixture
                                   ? "least-squares gains, then mixture "
                                     "consistency"
                                   : "least-squares gains");
  for (size_t s = 0; s < names.size(); ++s)
    std::printf("%s%s x%.4g", s ? ", " : "", names[s].c_str(),
                applied.gains[s]);
  std::printf(")%s\n", automatic ? "; the model was trained on a "
                                   "scale-free loss (--rescale off keeps "
                                   "its raw level)"
                                 : "");
  // Two estimates that are nearly the same signal get large gains of
  // opposite signs, which amplify their difference.
  for (double gain : applied.gains)
    if (std::abs(gain) > 100.0) {
      std::fprintf(stderr,
                   "locorun: warning: a gain above 100 in magnitude: two "
                   "stems are nearly the same signal, and the gains amplify "
                   "their difference (--rescale off keeps the raw level)\n");
      break;
    }
}

} // namespace

int loco::runSeparateCommand(int argc, char **argv) {
  InferenceArguments a =
      parseInferenceArguments(argc, argv, kSeparateUsage, /*evaluate=*/false);
  if (a.songs.empty())
    usageError(kSeparateUsage, "no song given");
  if (a.out.empty())
    usageError(kSeparateUsage, "-o DIR is required");
  try {
    // Everything that can fail without the model fails before it runs:
    // the output folder, every song's header, every stem's name.
    // Headers of files only: a pipe (/dev/stdin) is read once, when its
    // turn comes.
    for (const std::string &path : a.songs)
      if (isRegularFile(path))
        probeAudio(path);
    prepareOutputFolder(a.out, "-o");
    std::unique_ptr<Session> session = openSeparation(a, kSeparateUsage);
    int64_t rows = session->artifact().inputs().front().shape[0];
    if (a.batchSegments && a.batchSegments != rows)
      throw RunError("'" + a.artifact + "' runs " + std::to_string(rows) +
                     " segments per step, not " +
                     std::to_string(a.batchSegments) +
                     "; the batch is part of its memory plan: recompile with "
                     "`lococ CONFIG --mode separate --batch-segments " +
                     std::to_string(a.batchSegments) + "`");
    std::vector<std::string> names = sourceNames(*session);
    std::vector<std::string> labels;
    std::set<std::string> taken;
    std::vector<std::string> existing;
    for (const std::string &path : a.songs) {
      std::string base = songLabel(path), label = base;
      for (int n = 2; !taken.insert(label).second; ++n)
        label = base + "-" + std::to_string(n);
      labels.push_back(label);
      // A song's folder is a folder of -o, not a link out of it.
      fs::path folder = fs::path(a.out) / label;
      std::error_code ec;
      if (fs::is_symlink(fs::symlink_status(folder, ec)))
        throw RunError(folder.string() +
                       ": is a link; the stems of a song go in a folder of "
                       "-o itself (nothing was separated)");
      // A file this run did not write is replaced only when asked: -o
      // inside a MUSDB split would otherwise write over its references.
      for (const std::string &name : names) {
        fs::path stem = folder / (name + "." + a.format);
        if (fs::exists(fs::symlink_status(stem, ec)) && !a.overwrite)
          existing.push_back(stem.string());
      }
    }
    if (!existing.empty())
      throw RunError(
          existing.front() +
          (existing.size() > 1
               ? " (and " + std::to_string(existing.size() - 1) + " more)"
               : std::string()) +
          ": already exists and this run did not write it; pass --overwrite "
          "to replace it, or give another -o (nothing was separated)");
    SeparateOptions options;
    options.overlap = a.overlap;
    options.mono = a.mono;
    options.progress = !a.quiet;
    options.rescale = resolveRescale(a.rescale, session->artifact().manifest());
    AudioFormat format =
        a.format == "flac" ? AudioFormat::Flac : AudioFormat::Wav;
    for (size_t i = 0; i < a.songs.size(); ++i) {
      const std::string &path = a.songs[i];
      RescaleReport applied;
      std::vector<Audio> stems =
          separateSong(*session, readAudio(path), options, labels[i], &applied);
      fs::path dir = fs::path(a.out) / labels[i];
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        throw RunError(dir.string() +
                       ": cannot create the folder: " + ec.message());
      for (size_t s = 0; s < stems.size(); ++s)
        writeAudio((dir / (names[s] + "." + a.format)).string(), stems[s],
                   format);
      std::string list;
      for (const std::string &name : names)
        list += (list.empty() ? "" : ",") + name;
      std::printf("%s -> %s/{%s}.%s\n", path.c_str(), dir.c_str(), list.c_str(),
                  a.format.c_str());
      printRescale(applied, names, a.rescale == Rescale::Auto);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
