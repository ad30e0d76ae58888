//===- EvaluateCommand.cpp - locorun evaluate -----------------------------===//
//
// This file implements `locorun evaluate`: a MUSDB18-layout split,
// separated by a separation artifact or read from a folder of estimates,
// scored per track and source (BSSEval v4, SI-SDR, uSDR), printed as a
// table and written as JSON.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Audio.h"
#include "runtime/eval/EvaluateFolder.h"
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

const char *kEvaluateUsage =
    "usage: locorun evaluate SEPARATE.so --weights W --data DIR [options]\n"
    "       locorun evaluate --estimates EST_DIR --data DIR [options]\n"
    "\n"
    "Separates (or reads from EST_DIR/<track>/<source>.wav) every track of\n"
    "DIR/<split>/ and scores it against the reference stems: BSSEval v4 as\n"
    "museval computes it (1 s windows and hop, 512-tap distortion filters;\n"
    "SDR, ISR, SIR, SAR: median over frames, then over tracks), SI-SDR (the\n"
    "training loss's definition) and uSDR (whole-song SDR; both averaged\n"
    "over tracks).\n"
    "\n"
    "options:\n"
    "  --weights W              as for locorun separate\n"
    "  --data DIR               a MUSDB18-HQ-layout folder\n"
    "  --split S                default: test\n"
    "  --tracks N               only the first N tracks (by name)\n"
    "  --sources A,B,...        with --estimates: the stems (default\n"
    "                           vocals,drums,bass,other)\n"
    "  --json FILE              write every frame's scores and the summary\n"
    "                           (checked before the first track; replaced\n"
    "                           when complete, or written in place when it\n"
    "                           is a stream such as /dev/stdout)\n"
    "  --rescale auto|off|gains|mixture\n"
    "                           as for locorun separate (with --estimates,\n"
    "                           auto is off); when it applies, the model's\n"
    "                           own estimates are scored too (a raw SDR line\n"
    "                           per track, without_rescaling in the JSON)\n"
    "  --overlap F, --mono, --device D, --quiet   as for locorun separate\n";

} // namespace

int loco::runEvaluateCommand(int argc, char **argv) {
  InferenceArguments a =
      parseInferenceArguments(argc, argv, kEvaluateUsage, /*evaluate=*/true);
  if (a.data.empty())
    usageError(kEvaluateUsage, "--data DIR is required");
  if (a.artifact.empty() == a.estimates.empty())
    usageError(
        kEvaluateUsage,
        "give either a separation artifact (with --weights) or --estimates");
  std::unique_ptr<OutputFile> json;
  // Track names are file names: bytes that are not UTF-8 become U+FFFD.
  auto writeJson = [&](const nlohmann::ordered_json &root) {
    json->write(root.dump(1, ' ', false,
                          nlohmann::ordered_json::error_handler_t::replace) +
                "\n");
  };
  try {
    if (!a.json.empty())
      json = std::make_unique<OutputFile>(a.json, "--json");
    std::unique_ptr<Session> session;
    if (!a.artifact.empty())
      session = openSeparation(a, kEvaluateUsage);
    FolderEvaluation e;
    e.data = a.data;
    e.split = a.split;
    e.tracks = a.tracks;
    e.estimates = a.estimates;
    e.names = a.sources;
    e.separation.overlap = a.overlap;
    e.separation.mono = a.mono;
    e.separation.progress = !a.quiet;
    e.rescale = a.rescale;
    nlohmann::ordered_json root = evaluateFolder(
        session.get(), e, [&](const nlohmann::ordered_json &partial) {
          if (!json)
            return;
          writeJson(partial);
          std::fprintf(stderr,
                       "locorun: the scores of the %zu track(s) before it are "
                       "in %s (\"complete\": false)\n",
                       partial["tracks"].size(), a.json.c_str());
        });
    if (json)
      writeJson(root);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
