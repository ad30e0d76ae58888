//===- EvaluateFolder.h - Scores of a MUSDB-layout folder -------*- C++ -*-===//
//
// This file declares evaluateFolder: every track of a split separated by a
// session (or read from a folder of estimates) and scored with BSSEval v4
// and SI-SDR, as `locorun evaluate` and lococ.evaluate report them.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_EVALUATEFOLDER_H
#define LOCO_RUNTIME_EVAL_EVALUATEFOLDER_H

#include "runtime/eval/Rescale.h"
#include "runtime/eval/Separate.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace loco {

class Session;

struct FolderEvaluation {
  std::string data;           ///< a MUSDB18-HQ layout: <split>/<track>/
  std::string split = "test"; ///< the split scored
  int64_t tracks = 0;         ///< the first N tracks by name (0: all)
  /// Score the stems of this folder (<track>/<source>.wav) instead of
  /// separating.
  std::string estimates;
  /// The sources (a session's outputs; else these, or MUSDB's four).
  std::vector<std::string> names;
  SeparateOptions separation;      ///< overlap, mono, progress
  Rescale rescale = Rescale::Auto; ///< as asked for
  bool print = true;               ///< the score table on stdout
};

/// Scores the tracks of `e.data`/`e.split`, separating them with `session`
/// (null: `e.estimates`). Returns the document `locorun evaluate --json`
/// writes ("complete": true). When a track fails after others were scored,
/// `onPartial` receives the document of those ("complete": false, with the
/// error) before the error propagates. Throws RunError.
nlohmann::ordered_json evaluateFolder(
    Session *session, const FolderEvaluation &e,
    const std::function<void(const nlohmann::ordered_json &)> &onPartial = {});

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_EVALUATEFOLDER_H
