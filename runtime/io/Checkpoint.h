//===- Checkpoint.h - Checkpoints as one transaction ------------*- C++ -*-===//
//
// This file declares locorun's checkpoint folder. `--out DIR` holds
//
//   DIR/step-00000040/model.safetensors       upstream state_dict names
//   DIR/step-00000040/optimizer.safetensors   AdamW moments, counters
//   DIR/step-00000040/checkpoint.json         step, each file's bytes, CRC-32
//   DIR/latest -> step-00000040               the newest complete one
//
// A checkpoint is written into DIR/step-N.tmp, every file and both folders
// are fsynced, the folder is renamed to DIR/step-N, and only then is the
// `latest` link switched (a new link renamed over the old one, atomic). A
// process killed at any point leaves `latest` naming a complete checkpoint.
// Loading verifies the step and every file's size and CRC-32, and falls
// back to the newest earlier checkpoint that verifies, with a warning.
//
// Every filesystem operation of a save is counted; with the environment
// variable LOCO_CHECKPOINT_FAULT=K, the K-th ends the process (exit status
// 86) instead, a write leaving half its file behind, so that tests can kill
// a save at each point.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_IO_CHECKPOINT_H
#define LOCO_RUNTIME_IO_CHECKPOINT_H

#include "runtime/Safetensors.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loco {

/// One safetensors file of a checkpoint.
struct CheckpointFile {
  std::string name; ///< "model.safetensors", "optimizer.safetensors"
  std::vector<F32Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Creates `dir` if needed and checks, before any step runs, that a
/// checkpoint of about `bytes` can be written there: the folder is writable
/// (a probe file is written, fsynced and removed) and its filesystem has
/// room for two checkpoints (the new one is complete before the oldest is
/// removed). Throws RunError naming `option` and the folder otherwise.
void prepareCheckpointFolder(const std::string &dir, int64_t bytes,
                             const std::string &option);

/// Writes `files` as checkpoint `step` of `dir`, switches `dir/latest` to
/// it, and removes all but the newest `keep` step folders (and leftovers of
/// interrupted saves). Throws RunError on I/O failure; `latest` then still
/// names the previous checkpoint.
void writeCheckpoint(const std::string &dir, int64_t step,
                     const std::vector<CheckpointFile> &files, int64_t keep);

/// The folder of the newest complete checkpoint of `dir`: `dir/latest` when
/// it verifies, else the newest `dir/step-N` that does (warning on stderr
/// about each that does not). A folder of the earlier layout (model and
/// optimizer files directly in `dir`) is returned as is. Throws RunError
/// when there is none.
/// `option` names the flag in errors. A `latest` that points anywhere but
/// to a step folder beside it, and step folders that are links, are not
/// followed.
std::string findCheckpoint(const std::string &dir,
                           const std::string &option = "--resume");

/// The model.safetensors that `--weights path` means: `path` itself when
/// it is a file; in a checkpoint folder (one with checkpoint.json) its
/// model, when the folder verifies (sizes and CRC-32s); in a folder of bare
/// weights its model.safetensors; in a run's --out (or its best/) the
/// model of findCheckpoint, with its fallback to the previous complete
/// checkpoint. Throws RunError naming `option` otherwise.
std::string findWeights(const std::string &path, const std::string &option);

/// The folder name of checkpoint `step` ("step-00000040").
std::string checkpointName(int64_t step);

} // namespace loco

#endif // LOCO_RUNTIME_IO_CHECKPOINT_H
