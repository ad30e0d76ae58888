//===- PySession.cpp - lococ.Session --------------------------------------===//
//
// This file implements lococ.Session's steps on a runner session, with the
// checks of every argument that comes from Python.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PySession.h"

#include "runtime/eval/Separate.h"
#include "runtime/io/Checkpoint.h"
#include "runtime/train/StepRunner.h"

#include <pybind11/stl.h>

#include <cmath>
#include <filesystem>

using namespace loco;
using namespace loco::python;

PySession::PySession(const std::string &artifact, const std::string &device,
                     std::optional<uint64_t> seed) {
  {
    py::gil_scoped_release release;
    runner = std::make_unique<Session>(artifact, device);
  }
  TrainArtifact &art = runner->artifact();
  const TrainingManifest &hp = art.config().training;
  schedule = LrSchedule::fromTraining(hp);
  scaler.enabled = hp.loss_scaling;
  accumulation = std::max<int64_t>(1, hp.gradient_accumulation_steps);
  pieces = std::max<int64_t>(1, art.microBatches());
  trainState.seed = seed ? *seed : uint64_t(art.config().model.seed);
  trainState.lr = schedule.baseLr;
  runner->initParameters(trainState.seed);
}

std::vector<int64_t> PySession::shapeOf(const ManifestTensor &tensor) const {
  return tensor.shape;
}

py::dict PySession::views(py::handle owner, bool gradients) {
  if (runner->backend().kind != "cpu")
    throw py::value_error(
        "parameter views need the CPU backend (the arena of '" +
        runner->backend().kind +
        "' is device memory); copy them out with state_dict()");
  py::dict dict;
  for (const ManifestTensor &p : artifact().parameters()) {
    int64_t offset = gradients ? p.gradOffset : p.offset;
    if (offset < 0)
      throw py::value_error("this artifact has no gradient of '" + p.name +
                            "' (a separation artifact)");
    auto *data = reinterpret_cast<float *>(runner->arenaBase() + offset);
    dict[py::str(p.name)] = viewOf(data, shapeOf(p), owner);
  }
  return dict;
}

py::dict PySession::stateDict() {
  std::vector<F32Tensor> tensors;
  {
    py::gil_scoped_release release;
    tensors = runner->parameters(/*withBuffers=*/false);
  }
  py::dict dict;
  for (const F32Tensor &t : tensors)
    dict[py::str(t.name)] = toArray(t.values, t.shape);
  return dict;
}

py::dict PySession::parameters(py::handle owner) { return views(owner, false); }
py::dict PySession::gradients(py::handle owner) { return views(owner, true); }

std::vector<std::vector<float>> PySession::inputs(py::handle mixture,
                                                  py::handle targets) {
  const std::vector<ManifestTensor> &ins = artifact().inputs();
  int64_t B = ins.front().shape[0], N = ins.front().shape[1];
  int64_t S = static_cast<int64_t>(ins.size()) - 1;
  std::vector<std::vector<float>> values;
  values.push_back(toVector(checkedArray(mixture, "mixture", {B, N})));
  if (S == 0)
    return values;
  if (py::isinstance<py::dict>(targets)) {
    py::dict byName = py::reinterpret_borrow<py::dict>(targets);
    for (int64_t s = 1; s <= S; ++s) {
      const std::string &name = ins[s].name;
      if (!byName.contains(name))
        throw py::key_error("targets has no '" + name +
                            "' (the step takes the sources in the config's "
                            "order)");
      values.push_back(toVector(checkedArray(
          byName[py::str(name)], "targets['" + name + "']", {B, N})));
    }
    if (static_cast<int64_t>(byName.size()) != S)
      throw py::key_error("targets has " + std::to_string(byName.size()) +
                          " entries; the step takes " + std::to_string(S));
    return values;
  }
  // [B, S, N], batch first as upstream's loader yields it.
  py::array_t<float> stacked = checkedArray(targets, "targets", {B, S, N});
  const float *data = stacked.data();
  for (int64_t s = 0; s < S; ++s) {
    std::vector<float> source(B * N);
    for (int64_t b = 0; b < B; ++b)
      std::copy(data + (b * S + s) * N, data + (b * S + s + 1) * N,
                source.begin() + b * N);
    values.push_back(std::move(source));
  }
  return values;
}

static py::dict lossDict(const std::vector<std::pair<std::string, double>> &l) {
  py::dict losses;
  py::dict parts;
  for (const auto &[name, value] : l) {
    if (name == "total_loss")
      losses["loss"] = value;
    else
      parts[py::str(name)] = value;
  }
  losses["parts"] = parts;
  return losses;
}

py::dict PySession::trainStep(py::handle mixture, py::handle targets,
                              bool optimize) {
  TrainArtifact &art = artifact();
  if (!art.train())
    throw py::value_error("this artifact has no training step (compile it "
                          "with mode='train')");
  MicroStep m;
  m.inputs = inputs(mixture, targets);
  // The dropout key of locorun's trainer (Trainer::keyOf) for this
  // micro-step of optimizer step state.step + 1.
  int64_t step = trainState.step + 1;
  m.rngStep =
      static_cast<uint64_t>(step * (accumulation / pieces) + micro / pieces);
  m.replica = micro % pieces;
  AccumulatedStep run;
  {
    py::gil_scoped_release release;
    Backend const &api = runner->backend();
    api.loco_context_set_training(runner->context(), 1);
    api.loco_context_set_loss_scale(runner->context(),
                                    scaler.scale(trainState));
    run = StepRunner(*runner, trainState.seed)
              .run(art.train(), 1, [&](int64_t) { return m; }, false);
  }
  ++micro;
  lossSum += run.loss("total_loss");
  py::dict result = lossDict(run.losses);
  if (!run.nonFinite.empty())
    result["nonfinite"] = run.nonFinite;
  if (optimize && micro >= accumulation)
    for (auto item : optimizerStep())
      result[item.first] = item.second;
  return result;
}

py::dict PySession::optimizerStep() {
  if (micro == 0)
    throw py::value_error("optimizer_step(): no train_step since the last "
                          "one; nothing was accumulated");
  int64_t step = trainState.step + 1;
  double lr = schedule.lr(trainState, step);
  double loss = lossSum / static_cast<double>(micro);
  OptimizerOutcome outcome;
  {
    py::gil_scoped_release release;
    outcome = finishOptimizerStep(*runner, trainState, scaler, step, lr, loss);
  }
  micro = 0;
  lossSum = 0.0;
  py::dict result;
  result["step"] = trainState.step;
  result["lr"] = lr;
  result["grad_norm"] = outcome.gradNorm;
  result["clip_coef"] = outcome.clipCoef;
  result["skipped"] = outcome.verdict.skipped;
  if (!outcome.verdict.what.empty())
    result["nonfinite"] = outcome.verdict.what;
  if (scaler.enabled)
    result["loss_scale"] = trainState.lossScale;
  return result;
}

py::dict PySession::evalStep(py::handle mixture, py::handle targets) {
  TrainArtifact &art = artifact();
  const EntryPoint &entry = art.eval() ? art.eval() : art.train();
  if (!entry)
    throw py::value_error("this artifact has no loss step (a separation "
                          "artifact: use separate())");
  std::vector<std::vector<float>> values = inputs(mixture, targets);
  StepOutputs out;
  {
    py::gil_scoped_release release;
    runner->backend().loco_context_set_training(runner->context(), 0);
    runner->setInputs(values);
    out = runner->run(entry);
    // A training step run for its losses leaves gradients: drop them.
    if (!art.eval())
      runner->zeroGradients();
  }
  std::vector<std::pair<std::string, double>> losses(out.losses.begin(),
                                                     out.losses.end());
  py::dict result = lossDict(losses);
  py::dict tensors;
  for (const F32Tensor &t : out.tensors)
    tensors[py::str(t.name)] = toArray(t.values, t.shape);
  result["outputs"] = tensors;
  return result;
}

py::dict PySession::separate(py::handle audio, int64_t sampleRate,
                             double overlap) {
  if (!artifact().separate())
    throw py::value_error("this artifact has no separation step (a train.so "
                          "of an earlier lococ); compile it again");
  if (sampleRate < 1000 || sampleRate > 768000)
    throw py::value_error("sample_rate " + std::to_string(sampleRate) +
                          " is outside 1000..768000 Hz");
  if (!(overlap >= 0.0 && overlap < 1.0))
    throw py::value_error("overlap must be in [0, 1)");
  bool mono = py::isinstance<py::array>(audio) &&
              py::reinterpret_borrow<py::array>(audio).ndim() == 1;
  py::array_t<float> array = checkedArray(audio, "audio",
                                          mono ? std::vector<int64_t>{-1}
                                               : std::vector<int64_t>{-1, -1});
  Audio song;
  song.sampleRate = sampleRate;
  int64_t channels = array.ndim() == 1 ? 1 : array.shape(0);
  int64_t frames = array.ndim() == 1 ? array.shape(0) : array.shape(1);
  if (channels < 1 || channels > 2 || frames < 1)
    throw py::value_error("audio must be [channels, samples] with 1 or 2 "
                          "channels and at least one sample");
  for (int64_t c = 0; c < channels; ++c)
    song.channels.emplace_back(array.data() + c * frames,
                               array.data() + (c + 1) * frames);
  SeparateOptions options;
  options.overlap = overlap;
  options.progress = false;
  std::vector<Audio> stems;
  {
    py::gil_scoped_release release;
    stems = separateSong(*runner, std::move(song), options, "audio");
  }
  py::dict result;
  const std::vector<ManifestTensor> &outputs = artifact().separate().outputs;
  for (size_t s = 0; s < stems.size() && s < outputs.size(); ++s) {
    std::vector<float> planar;
    for (const std::vector<float> &channel : stems[s].channels)
      planar.insert(planar.end(), channel.begin(), channel.end());
    result[py::str(outputs[s].name)] = toArray(
        planar, {static_cast<int64_t>(stems[s].channels.size()), frames});
  }
  return result;
}

void PySession::load(const std::string &path) {
  py::gil_scoped_release release;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    runner->loadParameters(findWeights(path, "load()"));
    return;
  }
  // A checkpoint folder: the weights, moments and training state.
  trainState = runner->loadCheckpoint(path);
  micro = 0;
  lossSum = 0.0;
}

void PySession::save(const std::string &dir, int64_t keep) {
  if (keep < 1)
    throw py::value_error("keep must be at least 1");
  if (micro != 0)
    throw py::value_error(
        "save(): " + std::to_string(micro) +
        " micro-step(s) are accumulated but not applied; call "
        "optimizer_step() first (a checkpoint holds applied steps only)");
  py::gil_scoped_release release;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw RunError("save(): cannot create '" + dir + "': " + ec.message());
  runner->saveCheckpoint(dir, trainState, keep);
}
