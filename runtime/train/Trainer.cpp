//===- Trainer.cpp - locorun's training loop ------------------------------===//
//
// This file implements the training loop over its parts: the loader
// (Loader.h), the schedule, loss scaler, early stopping and checkpoint
// policy (TrainPolicies.cpp), the validator and the observers. Everything a
// step depends on is a function of (seed, step): the batches (Dataset.h),
// the dropout keys and the learning rate given the scheduler state, which
// checkpoints carry, so a resumed run reproduces an uninterrupted one bit
// for bit.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/Trainer.h"

#include "runtime/data/Loader.h"
#include "runtime/io/Checkpoint.h"
#include "runtime/io/OutputFile.h"
#include "runtime/train/CheckpointPolicy.h"
#include "runtime/train/EarlyStopping.h"
#include "runtime/train/LossScaler.h"
#include "runtime/train/LrSchedule.h"
#include "runtime/train/Observers.h"
#include "runtime/train/StepRunner.h"
#include "runtime/train/StopSignals.h"
#include "runtime/train/Validator.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <optional>

using namespace loco;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Resident set size of this process, from /proc.
double residentMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0.0;
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  // Measured first: a message names paths and tensors of any length.
  va_list args, again;
  va_start(args, fmt);
  va_copy(again, args);
  int length = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string text(std::max(length, 0), '\0');
  std::vsnprintf(text.data(), text.size() + 1, fmt, again);
  va_end(again);
  return text;
}

/// One training run: the state it carries between steps.
class Trainer {
public:
  /// Exactly one of `train` and `batches` is given.
  Trainer(Session &session, const TrackSource *train, BatchSource *batches,
          const TrackSource *validation, const TrainOptions &options);
  /// The run; 0, or the number of the signal that stopped it.
  int run();

private:
  void restoreState();
  void planSteps();
  void prepareOutputs();
  /// --metrics and --tensorboard, opened after the checks of the run's
  /// outputs (a failed start leaves no stray files).
  void attachFileObservers();
  void startLoader();
  /// The inputs of micro-step `micro` of `step`, from the loader or the
  /// batch source, into `m`.
  void loadMicroStep(int64_t step, int64_t micro, StepRecord &r, MicroStep &m);
  /// The loop itself.
  void trainSteps();
  /// After an exception: the gradients dropped, the caller's state, and a
  /// checkpoint when the caller's code failed.
  void failed();
  /// Runs the caller's code (a batch source, an observer), noting when it
  /// throws: such an error leaves the completed steps sound, and the last
  /// one is checkpointed before it propagates. (The runner's own errors,
  /// too many non-finite steps say, write nothing more.)
  template <typename F> auto callerCode(F &&f) -> decltype(f()) {
    try {
      return f();
    } catch (...) {
      callerFailed = true;
      throw;
    }
  }
  /// The dropout key of micro-step `micro` of optimizer step `step`.
  MicroStep keyOf(int64_t step, int64_t micro) const;
  /// Micro-steps, the losses' all-reduce, the optimizer step and its
  /// verdict; returns the step's record.
  StepRecord trainStep(int64_t step);
  /// Reports a skipped step and throws when too many were in a row.
  void checkSkipped(const StepRecord &record, const StepVerdict &verdict,
                    const std::string &nonFinite);
  /// Validates after `step` when an epoch ends there; true: stop early.
  bool maybeValidate(int64_t step);
  void checkpoint();
  void summarise();
  int stopReport();
  void say(const std::string &line);

  Session &session;
  TrainArtifact &art;
  const TrackSource *train;
  BatchSource *batches;
  const TrackSource *validation;
  const TrainOptions &options;
  const TrainingManifest &hp;
  Communicator *comm;
  int rank, ranks;
  bool lead;

  LrSchedule schedule;
  LossScaler scaler;
  EarlyStopping earlyStopping;
  CheckpointPolicy policy;
  TrainState state;
  int64_t B, N, accumulation, stepsPerEpoch = 1, target = 0, valInterval = 1;
  int64_t firstStep = 0, savedStep = -1, badInARow = 0;

  std::string outDir;
  std::unique_ptr<FolderLock> outLock;
  std::vector<std::unique_ptr<TrainingObserver>> owned;
  std::vector<TrainingObserver *> observers;
  std::optional<Validator> validator;

  LoaderPlan plan;
  std::unique_ptr<BatchLoader> loader;
  std::vector<std::vector<float>> inputs;
  bool stopping = false, callerFailed = false, restored = false;

  Clock::time_point start, lastStepEnd;
  double totalLoad = 0.0, totalAugment = 0.0, totalWait = 0.0;
  double totalStepSeconds = 0.0, collectiveAtStart = 0.0;
};

Trainer::Trainer(Session &session, const TrackSource *train,
                 BatchSource *batches, const TrackSource *validation,
                 const TrainOptions &options)
    : session(session), art(session.artifact()), train(train), batches(batches),
      validation(validation), options(options), hp(art.config().training),
      comm(options.comm) {
  if (!art.optimizer())
    throw RunError("this train.so was compiled without gradients; it cannot "
                   "train");
  rank = comm ? comm->rank() : 0;
  ranks = comm ? comm->size() : 1;
  lead = rank == 0;
  const ManifestTensor &mixture = art.inputs().front();
  B = mixture.shape[0];
  N = mixture.shape[1];
  accumulation = hp.gradient_accumulation_steps;
  schedule = LrSchedule::fromTraining(hp);
  // fp16 mixed precision: dynamic loss scaling (LossScaler.h).
  scaler.enabled = hp.loss_scaling;
  earlyStopping = EarlyStopping::fromTraining(hp);
  policy = CheckpointPolicy::fromTraining(hp, options.saveEvery,
                                          options.keepCheckpoints);
  valInterval = std::max<int64_t>(1, hp.val_interval);
  inputs.resize(art.inputs().size());
  // Data parallelism: rank 0 speaks for the run. The console first (it
  // only prints); the observers that write files once the run's outputs
  // are checked (attachFileObservers).
  if (lead) {
    if (options.defaultObservers) {
      owned.push_back(std::make_unique<ConsoleObserver>(isatty(STDERR_FILENO)));
      observers.push_back(owned.back().get());
    }
    observers.insert(observers.end(), options.observers.begin(),
                     options.observers.end());
  }
}

void Trainer::attachFileObservers() {
  if (!lead || !options.defaultObservers)
    return;
  std::vector<TrainingObserver *> files;
  if (!options.metricsPath.empty()) {
    owned.push_back(std::make_unique<MetricsLog>(options.metricsPath));
    files.push_back(owned.back().get());
  }
  // TensorBoard, as upstream's trainer logs: scalars every step, and at
  // each validation its scores and a few seconds of separated audio.
  if (!options.tensorboardDir.empty()) {
    owned.push_back(
        std::make_unique<TensorBoardObserver>(options.tensorboardDir));
    files.push_back(owned.back().get());
  }
  // After the console, before a binding's own observers.
  observers.insert(observers.begin() + 1, files.begin(), files.end());
}

void Trainer::say(const std::string &line) {
  for (TrainingObserver *o : observers)
    o->onMessage(line);
}

void Trainer::restoreState() {
  state.lr = schedule.baseLr;
  state.seed = options.seed;
  state.lossScale = options.lossScaleInit;
  if (options.state && options.resumeDir.empty())
    state = *options.state;
  if (!options.resumeDir.empty()) {
    state = session.loadCheckpoint(options.resumeDir);
    restored = true; // the session holds the checkpoint's weights now
    if (state.seed != options.seed)
      say(format("locorun: warning: the checkpoint was trained with seed "
                 "%llu; continuing with it",
                 static_cast<unsigned long long>(state.seed)));
    if (state.worldSize != ranks)
      throw RunError(
          "the checkpoint in '" + options.resumeDir + "' was trained on " +
          std::to_string(state.worldSize) + " rank(s), and this run has " +
          std::to_string(ranks) +
          ": the samples and dropout masks of each step depend on the world "
          "size, so resume at " +
          std::to_string(state.worldSize) +
          " (or pass --init with its model.safetensors to start a new run "
          "from its weights)");
  }
  state.worldSize = ranks;
  firstStep = state.step;
  if (comm)
    say(format("locorun: data parallel over %s: effective batch %lld = %lld "
               "per rank x %d ranks x %lld accumulation steps",
               comm->describe().c_str(),
               static_cast<long long>(B * ranks * accumulation),
               static_cast<long long>(B), ranks,
               static_cast<long long>(accumulation)));
}

void Trainer::planSteps() {
  if (!train && options.stepsPerEpoch <= 0 && options.steps <= 0)
    throw RunError("training from a batch source needs its length: a number "
                   "of steps, or epochs and the steps of one");
  stepsPerEpoch =
      options.stepsPerEpoch > 0 ? options.stepsPerEpoch
      : !train                  ? options.steps
               : std::max<int64_t>(1, static_cast<int64_t>(train->numTracks()) /
                                          (B * accumulation * ranks));
  target = options.steps > 0    ? options.steps
           : options.epochs > 0 ? options.epochs * stepsPerEpoch
                                : stepsPerEpoch;
}

void Trainer::prepareOutputs() {
  // Where checkpoints go is checked before the first step, not at the first
  // save: a run must not lose its work at the end. Rank 0 writes them.
  outDir = lead ? options.outDir : std::string();
  if (outDir.empty())
    return;
  prepareCheckpointFolder(outDir, session.checkpointBytes(), "--out");
  // One run per folder: another's pruning would delete this one's
  // checkpoints.
  outLock = std::make_unique<FolderLock>(outDir, "--out");
  // best/ beside the latest checkpoints: room for one more.
  if (validation && policy.saveBest)
    prepareCheckpointFolder(outDir + "/best", session.checkpointBytes() / 2,
                            "--out");
}

void Trainer::startLoader() {
  // The batches' plan, which the dropout keys follow too (keyOf), whoever
  // makes the batches.
  plan.seed = state.seed;
  plan.batch = B;
  plan.segment = N;
  plan.accumulation = accumulation;
  plan.stepsPerEpoch = stepsPerEpoch;
  plan.rank = rank;
  plan.pieces = art.microBatches();
  plan.ranks = ranks;
  if (!train)
    return; // the batch source makes the batches
  // The batches, read and augmented ahead on a loader thread.
  // dataset.random_chunks: a random offset in the track, else its start
  // (the key's meaning in open-unmix's MUSDB dataset, where it comes from).
  plan.randomChunks = art.config().dataset.random_chunks;
  plan.augment = AugmentSpec::fromManifest(art.manifest());
  plan.augment.enabled &= options.augment;
  plan.sampleRate = art.config().model.sample_rate;
  plan.firstStep = state.step;
  plan.lastStep = target;
  const AugmentSpec &a = plan.augment;
  if (a.enabled)
    say(format("locorun: augmenting training segments (gain %.2f-%.2f, swap "
               "p %.2f, polarity p %.2f, MP3 p %.2f at %lld-%lld kbps, else "
               "noise p %.2f at %.0f-%.0f dB SNR)",
               a.gainMin, a.gainMax, a.channelSwapProb, a.polarityProb,
               a.mp3Prob, static_cast<long long>(a.mp3MinBitrate),
               static_cast<long long>(a.mp3MaxBitrate), a.noiseProb,
               a.noiseMinSnrDb, a.noiseMaxSnrDb));
  // Two optimizer steps of micro-batches ahead: enough to hide a slow read,
  // bounded so memory does not grow with the run.
  if (state.step < target)
    loader = std::make_unique<BatchLoader>(*train, inputs.size(), plan,
                                           2 * accumulation);
}

void Trainer::loadMicroStep(int64_t step, int64_t micro, StepRecord &r,
                            MicroStep &m) {
  auto waitStart = Clock::now();
  if (batches) {
    m.inputs = callerCode([&] { return batches->next(step, micro); });
    r.waitSeconds += secondsSince(waitStart);
    const std::vector<ManifestTensor> &expected = art.inputs();
    if (m.inputs.size() != expected.size())
      throw RunError(format("the batch of step %lld has %zu inputs; the step "
                            "takes %zu (the mixture, then each source)",
                            static_cast<long long>(step), m.inputs.size(),
                            expected.size()));
    for (size_t i = 0; i < expected.size(); ++i)
      if (static_cast<int64_t>(m.inputs[i].size()) != expected[i].numElements())
        throw RunError(
            format("input '%s' of the batch of step %lld has %zu "
                   "values; the step takes %lld ([%lld, %lld])",
                   expected[i].name.c_str(), static_cast<long long>(step),
                   m.inputs[i].size(), static_cast<long long>(B * N),
                   static_cast<long long>(B), static_cast<long long>(N)));
    return;
  }
  LoadedBatch batch = loader->next();
  r.waitSeconds += secondsSince(waitStart);
  if (batch.step != step || batch.micro != micro)
    throw RunError("internal: the loader delivered step " +
                   std::to_string(batch.step) + " for " + std::to_string(step));
  r.loadSeconds += batch.loadSeconds;
  r.augmentSeconds += batch.augmentSeconds;
  m.inputs = std::move(batch.inputs);
}

MicroStep Trainer::keyOf(int64_t step, int64_t micro) const {
  // Each of the config's accumulation steps is a batch of its own (its own
  // key), and a micro-step draws at its items' place in that batch, as it
  // loads them (LoaderPlan::placeOf): random ops draw exactly the unsplit
  // global batch's masks.
  MicroStep m;
  m.rngStep =
      static_cast<uint64_t>(step * plan.batches() + plan.batchOf(micro));
  m.replica = plan.placeOf(micro);
  return m;
}

StepRecord Trainer::trainStep(int64_t step) {
  StepRecord r;
  r.step = step;
  r.target = target;
  r.firstStep = firstStep;
  r.lr = schedule.lr(state, step);
  r.lossScaling = scaler.enabled;
  r.lossScale = scaler.scale(state);
  session.backend().loco_context_set_training(session.context(), 1);
  session.backend().loco_context_set_loss_scale(session.context(), r.lossScale);
  // The micro-steps, their batches from the loader thread (or the batch
  // source).
  auto next = [&](int64_t micro) {
    MicroStep m = keyOf(step, micro);
    loadMicroStep(step, micro, r, m);
    return m;
  };
  AccumulatedStep run = StepRunner(session, state.seed)
                            .run(art.train(), accumulation, next,
                                 /*keepTensors=*/false);
  inputs = std::move(run.lastInputs);
  for (const auto &[name, value] : run.losses) {
    if (name == "total_loss")
      r.loss = value;
    else
      r.components.emplace_back(name, value);
  }
  const std::string &nonFinite = run.nonFinite;
  double collectiveBefore = comm ? comm->seconds : 0.0;
  if (comm) {
    // The step's loss is the mean over the ranks, as the global batch's
    // would be: every rank takes the same decisions from it. So does the
    // stop flag: a signal on any rank stops every rank after this step,
    // and the ranks decide from the reduced flag alone (a signal that
    // lands after the all-reduce is seen by all at the next step).
    std::vector<double> sums{r.loss};
    for (const auto &c : r.components)
      sums.push_back(c.second);
    sums.push_back(StopSignals::caught());
    comm->allReduceSum(sums.data(), static_cast<int64_t>(sums.size()),
                       "the losses of step " + std::to_string(step));
    r.loss = sums[0] / ranks;
    for (size_t i = 0; i < r.components.size(); ++i)
      r.components[i].second = sums[i + 1] / ranks;
    stopping = stopping || sums.back() > 0;
  } else {
    stopping = stopping || StopSignals::caught() != 0;
  }
  OptimizerOutcome outcome =
      finishOptimizerStep(session, state, scaler, step, r.lr, r.loss, [&] {
        if (comm)
          session.allReduceGradients(*comm, "the gradient all-reduce of step " +
                                                std::to_string(step));
      });
  r.gradNorm = outcome.gradNorm;
  r.clipCoef = outcome.clipCoef;
  const StepVerdict &verdict = outcome.verdict;
  r.skipped = verdict.skipped;
  r.overflow = verdict.overflow;
  r.skippedSteps = state.skippedSteps;
  r.nextLossScale = state.lossScale;
  checkSkipped(r, verdict, nonFinite);

  auto now = Clock::now();
  r.seconds = std::chrono::duration<double>(now - start).count();
  r.stepSeconds = std::chrono::duration<double>(now - lastStepEnd).count();
  lastStepEnd = now;
  totalLoad += r.loadSeconds;
  totalAugment += r.augmentSeconds;
  totalWait += r.waitSeconds;
  totalStepSeconds += r.stepSeconds;
  r.ranks = ranks;
  r.distributed = comm != nullptr;
  r.collectiveSeconds = comm ? comm->seconds - collectiveBefore : 0.0;
  r.batch = B * accumulation;
  r.residentMiB = residentMiB();
  r.arenaMiB = art.arenaBytes() / 1048576.0;
  bool wantsDevice =
      std::any_of(observers.begin(), observers.end(),
                  [](TrainingObserver *o) { return o->wantsDeviceMemory(); });
  if (wantsDevice && session.backend().kind != "cpu")
    r.deviceMiB = session.backend().loco_context_device_memory(
                      session.context(), nullptr) /
                  1048576.0;
  return r;
}

void Trainer::checkSkipped(const StepRecord &r, const StepVerdict &verdict,
                           const std::string &nonFinite) {
  if (verdict.overflow) {
    say(format("locorun: step %lld skipped: the gradients overflowed at loss "
               "scale %g; the scale is now %g",
               static_cast<long long>(r.step), r.lossScale, state.lossScale));
    if (LossScaler::exhausted(state))
      throw RunError("step " + std::to_string(r.step) +
                     ": the gradients overflow at every loss scale down to " +
                     std::to_string(r.lossScale) +
                     "; no checkpoint was written for these steps");
    return;
  }
  if (!verdict.skipped) {
    badInARow = 0;
    return;
  }
  ++badInARow;
  say(format("locorun: warning: step %lld skipped: %s is not finite%s; the "
             "weights and moments keep their values",
             static_cast<long long>(r.step), verdict.what.c_str(),
             nonFinite.empty() ? "" : (" (first: " + nonFinite + ")").c_str()));
  if (badInARow < options.maxBadSteps)
    return;
  std::string culprit;
  if (options.debugNonFinite) {
    // The last micro-step again, with its batch and dropout key.
    session.setInputs(inputs);
    StepRunner(session, state.seed).setKey(keyOf(r.step, accumulation - 1));
    std::string op = session.firstNonFiniteOp(art.train());
    culprit = op.empty() ? "; re-run with every op checked, all results were "
                           "finite (the non-finite value arose in the loss "
                           "or the optimizer step)"
                         : "; re-run with every op checked, the first NaN or "
                           "Inf comes from " +
                               op;
  }
  throw RunError(
      "step " + std::to_string(r.step) + ": " + std::to_string(badInARow) +
      " consecutive steps were not finite (the last: " + verdict.what + ")" +
      (nonFinite.empty() ? std::string()
                         : "; the first non-finite tensor is " + nonFinite) +
      " (--max-bad-steps " + std::to_string(options.maxBadSteps) +
      "); no checkpoint was written for these steps" + culprit);
}

bool Trainer::maybeValidate(int64_t step) {
  int64_t epoch = step / stepsPerEpoch;
  if (step % stepsPerEpoch != 0 || !validator || epoch % valInterval != 0 ||
      !(art.separate() || art.eval()))
    return false;
  ValidationRecord record = validator->run(step, observers);
  record.epoch = epoch;
  record.best = record.loss < state.bestSavedValLoss;
  if (record.best)
    state.bestSavedValLoss = record.loss;
  schedule.observe(state, record.loss);
  bool stop = earlyStopping.observe(state, record.loss);
  // upstream's best_model.pth: the weights of the lowest validation loss so
  // far, as a checkpoint of their own.
  if (record.best && policy.saveBest && !outDir.empty())
    session.saveCheckpoint(outDir + "/best", state, 1);
  record.savedBest = !outDir.empty();
  record.lr = state.lr;
  for (TrainingObserver *o : observers)
    callerCode([&] { o->onValidation(record); });
  if (stop)
    say(format("locorun: early stopping after epoch %lld: no validation loss "
               "below %.6g - %g for %lld validations "
               "(training.early_stopping)",
               static_cast<long long>(epoch), state.earlyStopBest,
               earlyStopping.minDelta,
               static_cast<long long>(state.earlyStopBad)));
  return stop;
}

void Trainer::checkpoint() {
  if (outDir.empty() || savedStep == state.step)
    return;
  session.saveCheckpoint(outDir, state, policy.keep);
  savedStep = state.step;
}

void Trainer::summarise() {
  if (state.step == firstStep)
    return;
  say(format("data: %.2f s reading and augmenting on the loader thread "
             "(augmentation %.2f s); the steps waited %.2f s for it",
             totalLoad, totalAugment, totalWait));
  if (comm) {
    double collective = comm->seconds - collectiveAtStart;
    say(format("all-reduce: %.3f s of %.3f s in %lld steps (%.1f%%; measured "
               "on rank 0, waiting for the slowest rank included), %s",
               collective, totalStepSeconds,
               static_cast<long long>(state.step - firstStep),
               100.0 * collective / std::max(totalStepSeconds, 1e-9),
               comm->describe().c_str()));
  }
}

int Trainer::stopReport() {
  // Whichever rank was signalled, all stop; the number is the signal this
  // rank saw, else SIGTERM's (a launcher's stop).
  int signal = StopSignals::caught() ? StopSignals::caught() : SIGTERM;
  say(format(
      "locorun: stopped by %s after step %lld of %lld: %s",
      signal == SIGINT ? "SIGINT" : "SIGTERM",
      static_cast<long long>(state.step), static_cast<long long>(target),
      outDir.empty()
          ? "no --out, so nothing was saved"
          : ("checkpoint saved; continue with --resume " + outDir).c_str()));
  return signal;
}

int Trainer::run() {
  try {
    restoreState();
    restored = true;
    planSteps();
    prepareOutputs();
    attachFileObservers();
    if (validation)
      validator.emplace(session, *validation, comm);
    start = lastStepEnd = Clock::now();
    startLoader();
    collectiveAtStart = comm ? comm->seconds : 0.0;
    trainSteps();
  } catch (...) {
    failed();
    throw;
  }
  summarise();
  checkpoint();
  if (options.state)
    *options.state = state;
  return stopping ? stopReport() : 0;
}

void Trainer::failed() {
  // A step cut short leaves its micro-steps' gradients: the session's next
  // step must not add them in.
  try {
    session.zeroGradients();
  } catch (const std::exception &) {
  }
  // The caller's state is the session's: a resumed checkpoint's weights
  // came with its step.
  if (options.state && restored)
    *options.state = state;
  // Nothing completed is lost to the caller's error: the last finished
  // step is saved, then the error goes on.
  if (callerFailed && !outDir.empty() && state.step > firstStep &&
      savedStep != state.step) {
    try {
      checkpoint();
      say(format("locorun: step %lld checkpointed in %s before the error",
                 static_cast<long long>(state.step), outDir.c_str()));
    } catch (const std::exception &e) {
      say(std::string("locorun: could not checkpoint before the error: ") +
          e.what());
    }
  }
}

void Trainer::trainSteps() {
  // SIGTERM or SIGINT: the step in flight completes, is checkpointed, and
  // training ends (every rank at the same step).
  StopSignals signals;
  while (state.step < target) {
    int64_t step = state.step + 1;
    StepRecord record = trainStep(step);
    for (TrainingObserver *o : observers)
      callerCode([&] { o->onStep(record); });
    bool stopEarly = maybeValidate(step);
    if (policy.due(step, stepsPerEpoch))
      checkpoint();
    if (stopEarly || stopping)
      break;
  }
}

} // namespace

int loco::runTraining(Session &session, const TrackSource &train,
                      const TrackSource *validation,
                      const TrainOptions &options) {
  return Trainer(session, &train, nullptr, validation, options).run();
}

int loco::runTraining(Session &session, BatchSource &batches,
                      const TrackSource *validation,
                      const TrainOptions &options) {
  return Trainer(session, nullptr, &batches, validation, options).run();
}
