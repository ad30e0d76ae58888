//===- Session.h - A train.so with its context and arena --------*- C++ -*-===//
//
// This file declares Session: a loaded train.so, a backend context and the
// one arena, with the operations locorun builds on: filling parameters and
// inputs, running the compiled steps, reading outputs, gradients and the
// optimizer's scalars, and saving and restoring checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SESSION_SESSION_H
#define LOCO_RUNTIME_SESSION_SESSION_H

#include "runtime/Backend.h"
#include "runtime/Safetensors.h"
#include "runtime/dist/Collective.h"
#include "runtime/io/OutputFile.h"
#include "runtime/io/TrainState.h"
#include "runtime/session/Artifact.h"
#include "runtime/session/DeviceMemory.h"
#include "runtime/support/RunError.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace loco {

/// What a step returned: scalar loss terms (in manifest order) and tensors.
struct StepOutputs {
  std::vector<std::pair<std::string, float>> losses;
  std::vector<F32Tensor> tensors;
  float loss(const std::string &name) const;
};

/// Told of every entry call a Session makes (locorun --profile's
/// Profiler, Profile.h), so that the session knows no observer's type.
class EntryObserver {
public:
  virtual ~EntryObserver() = default;
  /// Before and after one call of entry point `symbol`.
  virtual void begin(const std::string &symbol) = 0;
  virtual void end() = 0;
};

class Session {
public:
  /// Opens the backend of `device` ("cpu", "cuda", "cuda:N"), then the
  /// train.so (whose loco_* references bind to that backend), a context and
  /// the arena.
  Session(const std::string &artifactPath, const std::string &device);
  ~Session();

  TrainArtifact &artifact() { return *art; }
  /// Told of every entry call (locorun --profile); null detaches.
  void setObserver(EntryObserver *attached) { observer = attached; }
  /// Device memory after each step (device backends only).
  const DeviceMemoryTrace &deviceMemory() const { return memory; }
  const Backend &backend() const { return *api; }
  loco_context *context() { return ctx; }
  char *arenaBase() { return arena; }

  /// PyTorch's default initialisation from `seed`; zero optimizer state.
  void initParameters(uint64_t seed);
  /// Upstream state_dict names; every parameter must be there with its
  /// shape, and nothing but parameters and known buffers.
  void loadParameters(const std::string &path);
  /// The inputs of a --batch file with `rows` samples each ([rows, N]), in
  /// manifest order, for a step that runs them as several micro-batches.
  std::vector<std::vector<float>> readBatch(const std::string &path,
                                            int64_t rows) const;
  /// Inputs in manifest order (mixture first), each [B, N] row-major: the
  /// first inputs.size() of them (the separation step reads the mixture
  /// alone, also from a train.so).
  void setInputs(const std::vector<std::vector<float>> &inputs);

  StepOutputs run(const EntryPoint &entry);
  /// Zeroes the gradient accumulators: a step that is skipped before its
  /// optimizer step (whose AdamW would have zeroed them).
  void zeroGradients();
  /// The first of the step's inputs (manifest order), the parameters and
  /// the step's `outputs` that holds a NaN or Inf, named for an error
  /// ("input 'mixture'", "parameter 'x'", "output 'total_loss'"); empty when
  /// all are finite.
  std::string firstNonFinite(const std::vector<std::vector<float>> &inputs,
                             const StepOutputs &outputs) const;
  /// Runs `entry` once more (eagerly, not as a captured graph) with a check
  /// of every op's results, and describes the first op whose result holds
  /// a NaN or Inf ("loco.conv1d in blocks.0... (tiny.yaml:23:3)"); empty when
  /// every result is finite. Gradients it accumulates are dropped.
  std::string firstNonFiniteOp(const EntryPoint &entry);
  /// Averages the gradient accumulators over the ranks of `comm`, in
  /// place, before the optimizer step. lococ lays the accumulators out as
  /// one region (PlanMemory), reduced in buckets of at most `bucketBytes`.
  void allReduceGradients(Communicator &comm, const std::string &what,
                          int64_t bucketBytes = int64_t(25) << 20);
  /// Clip and AdamW with the accumulated gradients (then zeroed).
  void optimizerStep(int64_t step, double lr);
  /// The last optimizer step's scalars: gradient norm before clipping, the
  /// clip coefficient, and the elements whose update it found non-finite
  /// (the step was then skipped whole). One copy from the device.
  loco_optimizer_scratch optimizerScalars() const;
  float gradNorm() const { return optimizerScalars().grad_norm; }
  float clipCoef() const { return optimizerScalars().clip_coef; }

  /// Current parameters (upstream names), optionally with the RoPE buffers
  /// so that the key set is exactly upstream's state_dict.
  std::vector<F32Tensor> parameters(bool withBuffers) const;
  /// The gradient accumulators.
  std::vector<F32Tensor> gradients() const;

  /// Checkpoint `state.step` of `dir` (Checkpoint.h: model.safetensors with
  /// upstream names, optimizer.safetensors, one transaction), keeping the
  /// newest `keep`. Refuses (RunError) when a parameter or moment holds a
  /// NaN or Inf: no checkpoint ever does.
  void saveCheckpoint(const std::string &dir, const TrainState &state,
                      int64_t keep) const;
  /// The newest complete checkpoint of `dir` (or a folder of the earlier
  /// single-checkpoint layout).
  TrainState loadCheckpoint(const std::string &dir);
  /// About how many bytes one checkpoint takes (weights and two moments).
  int64_t checkpointBytes() const;

private:
  /// Synchronises after a step, samples device memory and throws the
  /// context's error, if any.
  void finishStep(bool optimizerStep);
  std::vector<float> read(int64_t offset, int64_t count) const;
  void write(int64_t offset, const std::vector<float> &values);

  std::unique_ptr<Backend> api;
  std::unique_ptr<TrainArtifact> art;
  loco_context *ctx = nullptr;
  char *arena = nullptr;
  DeviceMemoryTrace memory;
  EntryObserver *observer = nullptr;
};

} // namespace loco

#endif // LOCO_RUNTIME_SESSION_SESSION_H
