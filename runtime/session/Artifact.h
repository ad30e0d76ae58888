//===- Artifact.h - A loaded train.so ---------------------------*- C++ -*-===//
//
// This file declares TrainArtifact: a train.so opened with dlopen, its ABI
// version checked and its manifest parsed, with the entry points resolved.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SESSION_ARTIFACT_H
#define LOCO_RUNTIME_SESSION_ARTIFACT_H

#include "runtime/abi/Manifest.h"
#include "runtime/abi/api.h"

#include <nlohmann/json.hpp>

#include <functional>
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
  /// Parameters of a training artifact: gradient accumulator and AdamW
  /// moments (-1 when absent).
  int64_t gradOffset = -1, mOffset = -1, vOffset = -1;
  int64_t numElements() const;
};

/// One compiled step: its symbol and the outputs it writes.
struct EntryPoint {
  using Fn = void (*)(loco_context *, void *);
  Fn fn = nullptr;
  std::string symbol;
  std::vector<ManifestTensor> outputs;
  explicit operator bool() const { return fn != nullptr; }
};

/// Empty when `path` is a complete 64-bit ELF shared object for this
/// machine (checked before dlopen, which faults on a truncated file); else
/// why not.
std::string checkSharedObject(const std::string &path);

/// The manifest of the artifact at `path`, read before any backend is
/// loaded (to choose one: the config's device); null when it is not a
/// loadable lococ artifact (TrainArtifact::open then says why).
nlohmann::json peekManifest(const std::string &path);

class TrainArtifact {
public:
  /// Opens `path`; on failure returns null and sets `error`.
  static std::unique_ptr<TrainArtifact> open(const std::string &path,
                                             std::string &error);
  /// The artifact of manifest text `manifest` from a library of ABI
  /// `version`, its entry points found by `symbol` (dlsym); every field and
  /// region is checked. `path` names it in errors. (open() and the manifest
  /// fuzzer build on it.)
  static std::unique_ptr<TrainArtifact>
  fromManifest(const char *manifest, int32_t version,
               const std::function<void *(const std::string &)> &symbol,
               const std::string &path, std::string &error);
  ~TrainArtifact();

  const nlohmann::json &manifest() const { return json; }
  int64_t arenaBytes() const { return json.at("arena_bytes").get<int64_t>(); }
  int64_t workspaceOffset() const {
    return json.value("workspace_offset", int64_t(0));
  }
  int64_t workspaceBytes() const {
    return json.value("workspace_bytes", int64_t(0));
  }
  int64_t lowerBoundBytes() const {
    return json.value("lower_bound_bytes", int64_t(0));
  }
  const std::vector<ManifestTensor> &parameters() const { return params; }
  const std::vector<ManifestTensor> &inputs() const { return ins; }
  /// Forward pass and loss (no gradients); may be absent.
  const EntryPoint &eval() const { return evalEntry; }
  /// Forward, loss, backward, gradients added into the accumulators.
  const EntryPoint &train() const { return trainEntry; }
  /// Inference: the mixture's segments to one estimate per source. The
  /// only entry point of a separation artifact (`lococ --mode separate`);
  /// a train.so has one too, at its micro-batch, for validation on whole
  /// tracks (absent from train.so files of lococ before it).
  const EntryPoint &separate() const { return separateEntry; }
  /// A separation artifact: inference only, no training step.
  bool isSeparation() const { return separateEntry && !trainEntry; }
  /// Clip + AdamW on the accumulators, which it zeroes; may be absent.
  EntryPoint::Fn optimizer() const { return optimizerFn; }
  int64_t optimizerScratchOffset() const { return scratchOffset; }
  /// The config's tables (model, loss, training, dataset, hardware),
  /// typed (runtime/abi/Manifest.h), checked when the artifact loads.
  const ConfigManifest &config() const { return configTables; }
  /// The micro-batches lococ split the config's batch into (1: none); the
  /// training dictionary's gradient_accumulation_steps counts them too.
  int64_t microBatches() const {
    return json.value("micro_batching", nlohmann::json::object())
        .value("micro_batches", int64_t(1));
  }
  /// The address of train.so's `loco_debug_hook` (a function pointer it
  /// calls after every op with the op's index and each result), or null
  /// for an artifact without one.
  using DebugHook = void (*)(loco_context *, int64_t op, void *result,
                             int64_t bytes, int64_t dtype);
  DebugHook *debugHook() const { return hook; }
  /// "loco.conv1d in blocks.0.freq_path.ffn.0.conv1d (tiny.yaml:23:3)": op
  /// `index` of `entry` as the manifest describes it (or "op N").
  std::string describeOp(const EntryPoint &entry, int64_t index) const;

private:
  void *handle = nullptr;
  nlohmann::json json;
  ConfigManifest configTables;
  std::vector<ManifestTensor> params, ins;
  EntryPoint evalEntry, trainEntry, separateEntry;
  EntryPoint::Fn optimizerFn = nullptr;
  int64_t scratchOffset = -1;
  DebugHook *hook = nullptr;
};

} // namespace loco

#endif // LOCO_RUNTIME_SESSION_ARTIFACT_H
