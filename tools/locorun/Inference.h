//===- Inference.h - What locorun separate and evaluate share ---*- C++ -*-===//
//
// This file declares the flags and the session setup that the separation
// and evaluation commands share (SeparateCommand.cpp, EvaluateCommand.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_INFERENCE_H
#define LOCO_TOOLS_LOCORUN_INFERENCE_H

#include "runtime/eval/Rescale.h"
#include "runtime/session/Session.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace loco {

/// The flags of `locorun separate` and `locorun evaluate`.
struct InferenceArguments {
  std::string artifact, weights, out, data, split = "test", json, estimates,
                                            device = "cpu", format = "wav";
  Rescale rescale = Rescale::Auto;
  std::vector<std::string> songs, sources;
  double overlap = 0.25;
  int64_t batchSegments = 0, tracks = 0;
  bool mono = false, quiet = false, overwrite = false;
};

/// Parses argv[2...] of either command; `text` is its usage, printed with
/// every usage error; `evaluate` picks which flags exist.
InferenceArguments parseInferenceArguments(int argc, char **argv,
                                           const char *text, bool evaluate);

/// Opens the artifact on its device with the weights of --weights.
std::unique_ptr<Session> openSeparation(const InferenceArguments &a,
                                        const char *text);

/// The artifact's sources, in output order.
std::vector<std::string> sourceNames(Session &session);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_INFERENCE_H
