//===- PyTrain.cpp - lococ.train and its callbacks ------------------------===//
//
// This file implements lococ.train over the runner's Trainer: the batches
// of a MUSDB-layout folder (the config's loader and augmentation) or of a
// Python iterable (a BatchSource that takes the GIL for each micro-step),
// and the callbacks: Python callables that receive the dicts --metrics
// writes, and the runner's own progress line, JSON lines and TensorBoard
// writers. The GIL is released while steps run.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PyBindings.h"
#include "bindings/python/PySession.h"

#include "runtime/data/Dataset.h"
#include "runtime/train/Observers.h"
#include "runtime/train/Trainer.h"

#include <pybind11/stl.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

using namespace loco;
using namespace loco::python;

namespace {

/// One of the runner's observers, held for Python (lococ.ProgressBar,
/// lococ.JsonLines, lococ.TensorBoard).
struct NativeCallback {
  std::unique_ptr<TrainingObserver> observer;
};

/// A Python callable, called with each step's and each validation's
/// metrics dict (validation dicts have "type": "validation").
class PythonCallback final : public TrainingObserver {
public:
  explicit PythonCallback(py::object callable)
      : callable(std::move(callable)) {}
  ~PythonCallback() override {
    py::gil_scoped_acquire gil;
    callable = py::object();
  }
  void onStep(const StepRecord &record) override {
    call(stepMetrics(record).dump());
  }
  void onValidation(const ValidationRecord &record) override {
    call(validationMetrics(record).dump());
  }
  /// A callable with an `on_message` attribute receives the trainer's
  /// messages too.
  void onMessage(const std::string &line) override {
    py::gil_scoped_acquire gil;
    if (py::hasattr(callable, "on_message"))
      callable.attr("on_message")(line);
  }

private:
  void call(const std::string &json) {
    py::gil_scoped_acquire gil;
    // An exception here ends training (the Trainer checkpoints the last
    // completed step first) and reaches the caller of lococ.train.
    callable(py::module_::import("json").attr("loads")(json));
  }
  py::object callable;
};

/// Micro-batches from a Python iterable of (mixture, targets), taken one
/// at a time when the trainer asks (never ahead: an iterator that blocks
/// after the last batch asked for does not hang, and one continued by a
/// later train() loses nothing).
class PythonBatches final : public BatchSource {
public:
  PythonBatches(PySession &session, py::handle iterable)
      : session(session), iterator(py::iter(iterable)) {}
  ~PythonBatches() override {
    py::gil_scoped_acquire gil;
    iterator = py::object();
  }
  std::vector<std::vector<float>> next(int64_t step, int64_t micro) override {
    py::gil_scoped_acquire gil;
    py::object item =
        py::reinterpret_steal<py::object>(PyIter_Next(iterator.ptr()));
    if (!item) {
      if (PyErr_Occurred())
        throw py::error_already_set();
      throw RunError("the data ended before micro-step " +
                     std::to_string(micro) + " of step " +
                     std::to_string(step) +
                     "; give steps= no more than it holds");
    }
    if (!py::isinstance<py::tuple>(item) && !py::isinstance<py::list>(item))
      throw py::type_error("each batch must be a (mixture, targets) pair");
    py::sequence pair = py::reinterpret_borrow<py::sequence>(item);
    if (pair.size() != 2)
      throw py::type_error("each batch must be a (mixture, targets) pair, "
                           "got " +
                           std::to_string(pair.size()) + " items");
    return session.inputs(pair[0], pair[1]);
  }

private:
  PySession &session;
  py::object iterator;
};

/// The trainer's messages (a skipped step, a checkpoint before an error,
/// why training stopped) on stderr when there is no progress line.
class MessagePrinter final : public TrainingObserver {
public:
  void onMessage(const std::string &line) override {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
};

/// The options of lococ.train, as Python passes them.
struct TrainArguments {
  std::string folder;
  py::object batches;
  int64_t steps = -1, epochs = -1, stepsPerEpoch = -1, saveEvery = 0;
  int64_t keep = -1;
  std::string out, resume, metrics, tensorboard, validation;
  bool augment = true, progress = true;
  py::list callbacks;
};

py::dict train(PySession &session, const TrainArguments &a) {
  TrainArtifact &art = session.artifact();
  TrainOptions o;
  o.steps = a.steps;
  o.epochs = a.epochs;
  o.stepsPerEpoch = a.stepsPerEpoch;
  o.saveEvery = a.saveEvery;
  o.keepCheckpoints = a.keep;
  o.outDir = a.out;
  o.resumeDir = a.resume;
  o.augment = a.augment;
  o.seed = session.state().seed;
  o.state = &session.state();
  // The runner's own writers first, then the caller's callbacks.
  o.defaultObservers = false;
  std::vector<std::unique_ptr<TrainingObserver>> owned;
  if (session.pendingMicroSteps() != 0)
    throw py::value_error(
        "train(): " + std::to_string(session.pendingMicroSteps()) +
        " micro-step(s) of train_step(optimize=False) are accumulated; call "
        "optimizer_step() first");
  if (a.progress)
    owned.push_back(std::make_unique<ConsoleObserver>(isatty(STDERR_FILENO)));
  else
    owned.push_back(std::make_unique<MessagePrinter>());
  if (!a.metrics.empty())
    owned.push_back(std::make_unique<MetricsLog>(a.metrics));
  if (!a.tensorboard.empty())
    owned.push_back(std::make_unique<TensorBoardObserver>(a.tensorboard));
  for (const auto &observer : owned)
    o.observers.push_back(observer.get());
  for (py::handle callback : a.callbacks) {
    if (py::isinstance<NativeCallback>(callback)) {
      NativeCallback &native = callback.cast<NativeCallback &>();
      if (!native.observer)
        throw py::value_error("this callback was already used by a run");
      owned.push_back(std::move(native.observer));
    } else if (PyCallable_Check(callback.ptr())) {
      owned.push_back(std::make_unique<PythonCallback>(
          py::reinterpret_borrow<py::object>(callback)));
    } else {
      throw py::type_error("callbacks must be callables or lococ's own "
                           "(ProgressBar, JsonLines, TensorBoard)");
    }
    o.observers.push_back(owned.back().get());
  }
  const ManifestTensor &mixture = art.inputs().front();
  int64_t N = mixture.shape[1], rate = art.config().model.sample_rate;
  std::vector<std::string> sources;
  for (size_t i = 1; i < art.inputs().size(); ++i)
    sources.push_back(art.inputs()[i].name);
  std::unique_ptr<TrackSource> tracks, validation;
  std::string validationDir =
      !a.validation.empty() ? a.validation
      : !a.folder.empty() && std::filesystem::is_directory(a.folder + "/test")
          ? a.folder
          : std::string();
  std::unique_ptr<PythonBatches> batches;
  int stopped = 0;
  {
    py::gil_scoped_release release;
    if (!validationDir.empty())
      validation = openMusdbFolder(validationDir, "test", sources, rate, N);
    if (!a.folder.empty()) {
      tracks = openMusdbFolder(a.folder, "train", sources, rate, N);
      if (o.steps < 0 && o.epochs < 0)
        o.epochs = std::max<int64_t>(1, art.config().training.num_epochs);
      stopped = runTraining(session.session(), *tracks, validation.get(), o);
    } else {
      {
        py::gil_scoped_acquire gil;
        batches = std::make_unique<PythonBatches>(session, a.batches);
      }
      stopped = runTraining(session.session(), *batches, validation.get(), o);
    }
  }
  py::dict result;
  result["step"] = session.state().step;
  result["stopped_by_signal"] = stopped;
  return result;
}

} // namespace

void loco::python::defineTraining(py::module_ &m) {
  py::class_<NativeCallback>(m, "_NativeCallback");
  m.def(
      "_progress_bar",
      [] {
        return NativeCallback{
            std::make_unique<ConsoleObserver>(isatty(STDERR_FILENO))};
      },
      "The progress line locorun prints on stderr.");
  m.def(
      "_json_lines",
      [](const std::string &path) {
        return NativeCallback{std::make_unique<MetricsLog>(path)};
      },
      "Appends locorun's --metrics lines to `path`.");
  m.def(
      "_tensorboard",
      [](const std::string &dir) {
        return NativeCallback{std::make_unique<TensorBoardObserver>(dir)};
      },
      "Writes TensorBoard event files into `dir`, as --tensorboard.");
  m.def("_train", [](PySession &session, std::string folder, py::object batches,
                     int64_t steps, int64_t epochs, int64_t stepsPerEpoch,
                     std::string out, std::string resume, py::list callbacks,
                     std::string validation, bool augment, std::string metrics,
                     std::string tensorboard, bool progress, int64_t saveEvery,
                     int64_t keep) {
    TrainArguments a;
    a.folder = std::move(folder);
    a.batches = std::move(batches);
    a.steps = steps;
    a.epochs = epochs;
    a.stepsPerEpoch = stepsPerEpoch;
    a.out = std::move(out);
    a.resume = std::move(resume);
    a.callbacks = std::move(callbacks);
    a.validation = std::move(validation);
    a.augment = augment;
    a.metrics = std::move(metrics);
    a.tensorboard = std::move(tensorboard);
    a.progress = progress;
    a.saveEvery = saveEvery;
    a.keep = keep;
    return train(session, a);
  });
}
