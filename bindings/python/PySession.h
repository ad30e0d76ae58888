//===- PySession.h - lococ.Session ------------------------------*- C++ -*-===//
//
// This file declares the state behind lococ.Session: a runner session on
// one device, the training state that locorun's checkpoints carry (step,
// schedule, loss scale), and the micro-steps accumulated since the last
// optimizer step. Steps are those of locorun: the same dropout keys
// (Trainer::keyOf), the same learning rate (LrSchedule) and the same
// optimizer step (finishOptimizerStep).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_BINDINGS_PYTHON_PYSESSION_H
#define LOCO_BINDINGS_PYTHON_PYSESSION_H

#include "bindings/python/PyArrays.h"

#include "runtime/io/TrainState.h"
#include "runtime/session/Session.h"
#include "runtime/train/LossScaler.h"
#include "runtime/train/LrSchedule.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace loco::python {

class PySession {
public:
  PySession(const std::string &artifact, const std::string &device,
            std::optional<uint64_t> seed);

  Session &session() { return *runner; }
  TrainArtifact &artifact() { return runner->artifact(); }
  TrainState &state() { return trainState; }

  /// Upstream state_dict names to float32 views into the arena (the CPU
  /// backend), kept alive by `owner` (the Python session).
  py::dict parameters(py::handle owner);
  py::dict gradients(py::handle owner);
  /// Copies of the parameters, from any device.
  py::dict stateDict();

  /// The step's inputs from a mixture [B, N] and targets [B, S, N] (or a
  /// dict of [B, N] per source), checked, in the manifest's order.
  std::vector<std::vector<float>> inputs(py::handle mixture,
                                         py::handle targets);

  /// One micro-step of forward and backward; with `optimize`, the optimizer
  /// step once the config's accumulation count is reached.
  py::dict trainStep(py::handle mixture, py::handle targets, bool optimize);
  /// Clip and AdamW on what was accumulated since the last one.
  py::dict optimizerStep();
  /// The forward pass and losses, no gradients.
  py::dict evalStep(py::handle mixture, py::handle targets);
  /// A whole song [channels, samples] (or [samples]) at `sampleRate` to
  /// one array per source, as locorun separate does it.
  py::dict separate(py::handle audio, int64_t sampleRate, double overlap);

  /// A checkpoint folder (locorun's layout, its training state too) or a
  /// weights file (model.safetensors, upstream names).
  void load(const std::string &path);
  /// A checkpoint of the current step in `dir`, keeping the newest `keep`.
  void save(const std::string &dir, int64_t keep);

  /// The micro-steps since the last optimizer step.
  int64_t pendingMicroSteps() const { return micro; }

private:
  std::vector<int64_t> shapeOf(const ManifestTensor &tensor) const;
  py::dict views(py::handle owner, bool gradients);

  std::unique_ptr<Session> runner;
  TrainState trainState;
  LrSchedule schedule;
  LossScaler scaler;
  int64_t accumulation = 1, pieces = 1;
  /// Micro-steps since the last optimizer step, and their total loss sum.
  int64_t micro = 0;
  double lossSum = 0.0;
};

} // namespace loco::python

#endif // LOCO_BINDINGS_PYTHON_PYSESSION_H
