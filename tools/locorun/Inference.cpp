//===- Inference.cpp - What locorun separate and evaluate share -----------===//
//
// This file implements the shared flags and session setup of Inference.h.
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Inference.h"

#include "runtime/io/Checkpoint.h"
#include "tools/locorun/Flags.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

using namespace loco;

namespace {
/// A count of at least 1 (strtoll's range; "positive" for any bad value).
int64_t positive(const char *text, const std::string &option,
                 const std::string &value) {
  char *end = nullptr;
  long long n = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end || n < 1)
    usageError(text,
               option + " expects a positive integer, got '" + value + "'");
  return n;
}
} // namespace

InferenceArguments loco::parseInferenceArguments(int argc, char **argv,
                                                 const char *text,
                                                 bool evaluate) {
  InferenceArguments a;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usageError(text, "option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(text, stdout);
      std::exit(0);
    } else if (arg == "--weights")
      a.weights = value();
    else if (arg == "--device")
      a.device = value();
    else if (arg == "--mono")
      a.mono = true;
    else if (arg == "--rescale") {
      try {
        a.rescale = parseRescale(value(), "--rescale");
      } catch (const RunError &e) {
        usageError(text, e.what());
      }
    } else if (arg == "--quiet")
      a.quiet = true;
    else if (arg == "--overlap") {
      std::string v = value();
      char *end = nullptr;
      a.overlap = std::strtod(v.c_str(), &end);
      // Each sample is separated 1 / (1 - overlap) times: 20 at 0.95.
      if (v.empty() || *end || !(a.overlap >= 0.0 && a.overlap <= 0.95))
        usageError(text,
                   "--overlap expects a number in [0, 0.95] (each sample is "
                   "separated 1 / (1 - overlap) times), got '" +
                       v + "'");
    } else if (!evaluate && (arg == "-o" || arg == "--out"))
      a.out = value();
    else if (!evaluate && arg == "--format") {
      a.format = value();
      if (a.format != "wav" && a.format != "flac")
        usageError(text,
                   "--format expects wav or flac, got '" + a.format + "'");
    } else if (!evaluate && arg == "--overwrite")
      a.overwrite = true;
    else if (!evaluate && arg == "--batch-segments")
      a.batchSegments = positive(text, arg, value());
    else if (evaluate && arg == "--data")
      a.data = value();
    else if (evaluate && arg == "--split")
      a.split = value();
    else if (evaluate && arg == "--json")
      a.json = value();
    else if (evaluate && arg == "--estimates")
      a.estimates = value();
    else if (evaluate && arg == "--tracks")
      a.tracks = positive(text, arg, value());
    else if (evaluate && arg == "--sources") {
      std::stringstream list(value());
      for (std::string name; std::getline(list, name, ',');)
        if (!name.empty())
          a.sources.push_back(name);
    } else if (!arg.empty() && arg[0] == '-')
      usageError(text, "unknown option '" + arg + "'");
    else if (a.artifact.empty())
      a.artifact = arg;
    else if (!evaluate)
      a.songs.push_back(arg);
    else
      usageError(text, "unexpected argument '" + arg + "'");
  }
  return a;
}

/// Opens the artifact on `device` with the weights of `weights`.
std::unique_ptr<Session> loco::openSeparation(const InferenceArguments &a,
                                              const char *text) {
  if (a.artifact.empty())
    usageError(text,
               "no separation artifact given (lococ CONFIG --mode separate "
               "-o separate.so)");
  if (a.weights.empty())
    usageError(text, "--weights is required (a model.safetensors or checkpoint "
                     "folder)");
  auto session = std::make_unique<Session>(a.artifact, a.device);
  if (!session->artifact().separate())
    throw RunError("'" + a.artifact +
                   "' has no separation step (a train.so of an earlier "
                   "lococ); compile one with `lococ CONFIG --mode separate -o "
                   "separate.so` (the same config, and --batch-segments N for "
                   "N segments per step)");
  session->loadParameters(findWeights(a.weights, "--weights"));
  return session;
}

std::vector<std::string> loco::sourceNames(Session &session) {
  std::vector<std::string> names;
  for (const ManifestTensor &out : session.artifact().separate().outputs)
    names.push_back(out.name);
  return names;
}
