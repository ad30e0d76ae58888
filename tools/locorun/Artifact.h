//===- Artifact.h - A loaded train.so ---------------------------*- C++ -*-===//
//
// This file declares TrainArtifact: a train.so opened with dlopen, its ABI
// version checked and its manifest parsed, with the entry points resolved.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_ARTIFACT_H
#define LOCO_TOOLS_LOCORUN_ARTIFACT_H

#include "runtime/api.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace loco {

/// One tensor of the manifest: a parameter, an input or an output.
struct ManifestTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0, bytes = 0;
  std::string init;
  int64_t numElements() const;
};

class TrainArtifact {
public:
  using ForwardFn = void (*)(loco_context *, void *);

  /// Opens `path`; on failure returns null and sets `error`.
  static std::unique_ptr<TrainArtifact> open(const std::string &path,
                                             std::string &error);
  ~TrainArtifact();

  const nlohmann::json &manifest() const { return json; }
  int64_t arenaBytes() const { return json.at("arena_bytes").get<int64_t>(); }
  const std::vector<ManifestTensor> &parameters() const { return params; }
  const std::vector<ManifestTensor> &inputs() const { return ins; }
  const std::vector<ManifestTensor> &outputs() const { return outs; }
  ForwardFn forward() const { return forwardFn; }

private:
  void *handle = nullptr;
  nlohmann::json json;
  std::vector<ManifestTensor> params, ins, outs;
  ForwardFn forwardFn = nullptr;
};

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_ARTIFACT_H
