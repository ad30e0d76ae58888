//===- Trainer.cpp - locorun's training loop ------------------------------===//
//
// This file implements the training loop. Everything a step depends on is
// a function of (seed, step): the batches (Dataset.h), the dropout keys and
// the learning rate given the scheduler state, which checkpoints carry, so
// a resumed run reproduces an uninterrupted one bit for bit.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/Trainer.h"
#include "runtime/data/Loader.h"
#include "runtime/io/OutputFile.h"
#include "runtime/eval/Separate.h"
#include "runtime/observe/TensorBoard.h"
#include "runtime/eval/TrackLoss.h"

#include "runtime/SiSdr.h"
#include "runtime/io/Checkpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

using namespace loco;

namespace {

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

struct Schedule {
  double baseLr, warmupStartLr, factor, minLr;
  int64_t warmupSteps, patience, cooldownSteps;
  bool plateau;

  /// The learning rate of optimizer step `step` (1-based).
  double lr(const TrainState &state, int64_t step) const {
    if (step <= warmupSteps && warmupSteps > 0)
      return warmupStartLr + (state.lr - warmupStartLr) *
                                 static_cast<double>(step) / warmupSteps;
    return state.lr;
  }

  /// ReduceLROnPlateau (mode min, relative threshold 1e-4, as torch).
  void observe(TrainState &state, double valLoss) const {
    if (!plateau)
      return;
    if (valLoss < state.bestValLoss * (1.0 - 1e-4)) {
      state.bestValLoss = valLoss;
      state.badEpochs = 0;
    } else {
      ++state.badEpochs;
    }
    if (state.cooldown > 0) {
      --state.cooldown;
      state.badEpochs = 0;
    }
    if (state.badEpochs > patience) {
      state.lr = std::max(state.lr * factor, minLr);
      state.cooldown = cooldownSteps;
      state.badEpochs = 0;
    }
  }
};

/// --metrics: JSON lines appended to a file. A line is written whole or not
/// at all (a failed write is cut back to the line before it), and a failed
/// write warns once and ends the metrics, not the training, as the
/// TensorBoard writer does.
class MetricsLog {
public:
  explicit MetricsLog(const std::string &path) : path(path) {
    if (path.empty())
      return;
    out = std::fopen(path.c_str(), "a");
    if (!out)
      throw RunError("--metrics: cannot open '" + path +
                     "' for appending: " + std::strerror(errno));
  }
  ~MetricsLog() {
    if (out)
      std::fclose(out);
  }
  bool isOpen() const { return out != nullptr; }
  void write(const nlohmann::ordered_json &line) {
    if (!out)
      return;
    std::string text = line.dump() + "\n";
    long before = std::ftell(out);
    if (std::fwrite(text.data(), 1, text.size(), out) == text.size() &&
        std::fflush(out) == 0)
      return;
    int error = errno;
    // Cut a partial line, so that every line of the file parses.
    if (before >= 0 && ::ftruncate(fileno(out), before) == 0)
      std::fseek(out, before, SEEK_SET);
    std::fprintf(stderr,
                 "locorun: warning: cannot write --metrics %s (%s); training "
                 "goes on without metrics\n",
                 path.c_str(), std::strerror(error));
    std::fclose(out);
    out = nullptr;
  }

private:
  std::string path;
  std::FILE *out = nullptr;
};

/// SIGTERM (what Slurm and Kubernetes send before they kill a job) and
/// SIGINT, caught: the signal's number, read at each step boundary.
volatile std::sig_atomic_t stopSignal = 0;

extern "C" void onStopSignal(int signal) { stopSignal = signal; }

/// Catches SIGTERM and SIGINT for its lifetime. The handler resets itself
/// (SA_RESETHAND): a second signal ends the process at once.
class StopSignals {
public:
  StopSignals() {
    stopSignal = 0;
    struct sigaction action {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    // SA_RESTART: a read or write in flight is resumed, not failed (EINTR).
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    for (auto [signal, previous] :
         {std::pair{SIGTERM, &previousTerm}, std::pair{SIGINT, &previousInt}}) {
      sigaction(signal, nullptr, previous);
      // A signal the parent ignores (SIGINT of a background job) stays so.
      if (previous->sa_handler != SIG_IGN)
        sigaction(signal, &action, nullptr);
    }
  }
  ~StopSignals() {
    sigaction(SIGTERM, &previousTerm, nullptr);
    sigaction(SIGINT, &previousInt, nullptr);
  }

private:
  struct sigaction previousTerm {}, previousInt {};
};

} // namespace

int loco::runTraining(Session &session, const TrackSource &train,
                       const TrackSource *validation,
                       const TrainOptions &options) {
  TrainArtifact &art = session.artifact();
  if (!art.optimizer())
    throw RunError("this train.so was compiled without gradients; it cannot "
                   "train");
  const nlohmann::json &hp = art.training();
  const ManifestTensor &mixture = art.inputs().front();
  int64_t B = mixture.shape[0], N = mixture.shape[1];
  int64_t accumulation = hp.value("gradient_accumulation_steps", int64_t(1));
  Schedule schedule{hp.value("lr", 1e-3),
                    hp.value("warmup_start_lr", 0.0),
                    hp.value("scheduler_factor", 0.5),
                    hp.value("scheduler_min_lr", 0.0),
                    hp.value("warmup_steps", int64_t(0)),
                    hp.value("scheduler_patience", int64_t(10)),
                    hp.value("scheduler_cooldown", int64_t(0)),
                    hp.value("scheduler", std::string()) ==
                        "reducelronplateau"};

  // fp16 mixed precision: dynamic loss scaling with GradScaler's rules
  // (backoff 0.5 on an overflow, growth 2 after 2000 applied steps).
  bool lossScaling = hp.value("loss_scaling", false);
  constexpr int64_t kScaleGrowthInterval = 2000;
  TrainState state;
  state.lr = schedule.baseLr;
  state.seed = options.seed;
  state.lossScale = options.lossScaleInit;
  if (!options.resumeDir.empty()) {
    state = session.loadCheckpoint(options.resumeDir);
    if (state.seed != options.seed)
      std::fprintf(
          stderr,
          "locorun: warning: the checkpoint was trained with seed %llu; "
          "continuing with it\n",
          static_cast<unsigned long long>(state.seed));
  }
  uint64_t seed = state.seed;
  // Data parallelism: rank 0 speaks for the run.
  Communicator *comm = options.comm;
  int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  bool lead = rank == 0;
  if (!options.resumeDir.empty() && state.worldSize != ranks)
    throw RunError("the checkpoint in '" + options.resumeDir +
                   "' was trained on " + std::to_string(state.worldSize) +
                   " rank(s), and this run has " + std::to_string(ranks) +
                   ": the samples and dropout masks of each step depend on "
                   "the world size, so resume at " +
                   std::to_string(state.worldSize) + " (or pass --init with "
                   "its model.safetensors to start a new run from its "
                   "weights)");
  state.worldSize = ranks;
  if (comm) {
    if (lead)
      std::fprintf(stderr,
                   "locorun: data parallel over %s: effective batch %lld = "
                   "%lld per rank x %d ranks x %lld accumulation steps\n",
                   comm->describe().c_str(),
                   static_cast<long long>(B * ranks * accumulation),
                   static_cast<long long>(B), ranks,
                   static_cast<long long>(accumulation));
  }

  int64_t stepsPerEpoch =
      options.stepsPerEpoch > 0
          ? options.stepsPerEpoch
          : std::max<int64_t>(1, static_cast<int64_t>(train.numTracks()) /
                                     (B * accumulation * ranks));
  int64_t target = options.steps > 0    ? options.steps
                   : options.epochs > 0 ? options.epochs * stepsPerEpoch
                                        : stepsPerEpoch;
  int64_t valInterval =
      std::max<int64_t>(1, hp.value("val_interval", int64_t(1)));
  // Checkpoints as upstream's trainer keeps them: every save_interval
  // epochs, the newest keep_last, and best/ when save_best.
  int64_t saveInterval =
      std::max<int64_t>(1, hp.value("save_interval", int64_t(1)));
  int64_t keep = options.keepCheckpoints > 0
                     ? options.keepCheckpoints
                     : std::max<int64_t>(1, hp.value("keep_last", int64_t(2)));
  bool saveBest = hp.value("save_best", true);
  // Early stopping: no validation loss better than the best by min_delta
  // for `patience` validations in a row ends training.
  bool earlyStopping = hp.value("early_stopping", false);
  int64_t earlyPatience = hp.value("early_stopping_patience", int64_t(10));
  double earlyMinDelta = hp.value("early_stopping_min_delta", 0.0);

  // Where checkpoints go is checked before the first step, not at the first
  // save: a run must not lose its work at the end. Rank 0 writes them.
  std::string outDir = lead ? options.outDir : std::string();
  // One run per folder: another's pruning would delete this one's
  // checkpoints.
  std::unique_ptr<FolderLock> outLock;
  if (!outDir.empty()) {
    prepareCheckpointFolder(outDir, session.checkpointBytes(), "--out");
    outLock = std::make_unique<FolderLock>(outDir, "--out");
  }
  // best/ beside the latest checkpoints: room for one more.
  if (!outDir.empty() && validation && saveBest)
    prepareCheckpointFolder(outDir + "/best", session.checkpointBytes() / 2,
                            "--out");
  MetricsLog metrics(lead ? options.metricsPath : std::string());
  // TensorBoard, as upstream's trainer logs: scalars every step, and at
  // each validation its scores and a few seconds of separated audio.
  std::unique_ptr<TensorBoardWriter> board;
  if (lead && !options.tensorboardDir.empty())
    board = std::make_unique<TensorBoardWriter>(options.tensorboardDir);
  int64_t sampleRate = art.manifest()
                           .value("model", nlohmann::json::object())
                           .value("sample_rate", int64_t(44100));
  bool tty = lead && isatty(STDERR_FILENO);
  auto start = std::chrono::steady_clock::now();
  auto lastStepEnd = start;
  int64_t firstStep = state.step;
  std::vector<std::vector<float>> inputs(art.inputs().size());
  std::vector<std::string> sources;
  for (size_t i = 1; i < art.inputs().size(); ++i)
    sources.push_back(art.inputs()[i].name);

  int64_t savedStep = -1;
  auto checkpoint = [&]() {
    if (outDir.empty() || savedStep == state.step)
      return;
    session.saveCheckpoint(outDir, state, keep);
    savedStep = state.step;
  };
  int64_t badInARow = 0;

  // The batches, read and augmented ahead on a loader thread.
  LoaderPlan plan;
  plan.seed = seed;
  plan.batch = B;
  plan.segment = N;
  plan.accumulation = accumulation;
  plan.stepsPerEpoch = stepsPerEpoch;
  plan.rank = rank;
  plan.pieces = art.microBatches();
  plan.ranks = ranks;
  // The dropout key of micro-step `micro` of optimizer step `step`: each of
  // the config's accumulation steps is a batch of its own (its own key),
  // and a micro-step draws at its items' place in that batch, as it loads
  // them (LoaderPlan::placeOf): random ops draw exactly the unsplit global
  // batch's masks.
  auto setDropoutKey = [&](int64_t step, int64_t micro) {
    session.backend().loco_context_set_rng(
        session.context(), seed,
        static_cast<uint64_t>(step * plan.batches() + plan.batchOf(micro)));
    session.backend().loco_context_set_rng_replica(session.context(),
                                                   plan.placeOf(micro));
  };
  // dataset.random_chunks: a random offset in the track, else its start
  // (the key's meaning in open-unmix's MUSDB dataset, where it comes from).
  plan.randomChunks = art.manifest()
                          .value("dataset", nlohmann::json::object())
                          .value("random_chunks", true);
  plan.augment = AugmentSpec::fromManifest(art.manifest());
  plan.augment.enabled &= options.augment;
  plan.sampleRate = sampleRate;
  plan.firstStep = state.step;
  plan.lastStep = target;
  if (plan.augment.enabled && lead)
    std::fprintf(stderr,
                 "locorun: augmenting training segments (gain %.2f-%.2f, "
                 "swap p %.2f, polarity p %.2f, MP3 p %.2f at %lld-%lld kbps, "
                 "else noise p %.2f at %.0f-%.0f dB SNR)\n",
                 plan.augment.gainMin, plan.augment.gainMax,
                 plan.augment.channelSwapProb, plan.augment.polarityProb,
                 plan.augment.mp3Prob,
                 static_cast<long long>(plan.augment.mp3MinBitrate),
                 static_cast<long long>(plan.augment.mp3MaxBitrate),
                 plan.augment.noiseProb, plan.augment.noiseMinSnrDb,
                 plan.augment.noiseMaxSnrDb);
  // Two optimizer steps of micro-batches ahead: enough to hide a slow read,
  // bounded so memory does not grow with the run.
  std::unique_ptr<BatchLoader> loader;
  if (state.step < target)
    loader = std::make_unique<BatchLoader>(train, inputs.size(), plan,
                                           2 * accumulation);
  double totalLoad = 0.0, totalAugment = 0.0, totalWait = 0.0;
  double totalStepSeconds = 0.0, collectiveAtStart = comm ? comm->seconds : 0.0;

  // SIGTERM or SIGINT: the step in flight completes, is checkpointed, and
  // training ends (every rank at the same step).
  StopSignals signals;
  bool stopping = false;
  while (state.step < target) {
    int64_t step = state.step + 1;
    double lr = schedule.lr(state, step);
    session.backend().loco_context_set_training(session.context(), 1);
    nlohmann::ordered_json components = nlohmann::ordered_json::object();
    double loss = 0.0;
    std::string nonFinite; // the first non-finite tensor of this step
    double lossScale = lossScaling ? state.lossScale : 1.0;
    session.backend().loco_context_set_loss_scale(session.context(), lossScale);
    double loadSeconds = 0.0, augmentSeconds = 0.0, waitSeconds = 0.0;
    for (int64_t micro = 0; micro < accumulation; ++micro) {
      auto waitStart = std::chrono::steady_clock::now();
      LoadedBatch batch = loader->next();
      waitSeconds += std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - waitStart)
                         .count();
      if (batch.step != step || batch.micro != micro)
        throw RunError("internal: the loader delivered step " +
                       std::to_string(batch.step) + " for " +
                       std::to_string(step));
      loadSeconds += batch.loadSeconds;
      augmentSeconds += batch.augmentSeconds;
      inputs = std::move(batch.inputs);
      session.setInputs(inputs);
      setDropoutKey(step, micro);
      StepOutputs out = session.run(art.train());
      for (const auto &[name, value] : out.losses) {
        double share = value / static_cast<double>(accumulation);
        if (name == "total_loss")
          loss += share;
        else
          components[name] = components.value(name, 0.0) + share;
      }
      if (nonFinite.empty() && !std::isfinite(out.loss("total_loss")))
        nonFinite = session.firstNonFinite(inputs, out);
    }
    double collectiveBefore = comm ? comm->seconds : 0.0;
    if (comm) {
      // The step's loss is the mean over the ranks, as the global batch's
      // would be: every rank takes the same decisions from it. So does the
      // stop flag: a signal on any rank stops every rank after this step,
      // and the ranks decide from the reduced flag alone (a signal that
      // lands after the all-reduce is seen by all at the next step).
      std::vector<double> sums{loss};
      for (auto &[name, value] : components.items())
        sums.push_back(value.get<double>());
      sums.push_back(stopSignal);
      comm->allReduceSum(sums.data(), static_cast<int64_t>(sums.size()),
                         "the losses of step " + std::to_string(step));
      loss = sums[0] / ranks;
      size_t i = 1;
      for (auto &[name, value] : components.items())
        value = sums[i++] / ranks;
      stopping = stopping || sums.back() > 0;
    } else {
      stopping = stopping || stopSignal != 0;
    }
    // A non-finite loss: skip the optimizer step (its accumulators are
    // dropped). A non-finite gradient: AdamW skips the update itself.
    float gradNorm = NAN, clipCoef = NAN;
    int64_t badUpdates = 0;
    if (std::isfinite(loss)) {
      if (comm)
        session.allReduceGradients(*comm, "the gradient all-reduce of step " +
                                              std::to_string(step));
      session.optimizerStep(step - state.skippedSteps, lr);
      loco_optimizer_scratch scalars = session.optimizerScalars();
      gradNorm = scalars.grad_norm;
      clipCoef = scalars.clip_coef;
      badUpdates = scalars.nonfinite_updates;
    } else {
      session.zeroGradients();
    }
    state.step = step;
    // With loss scaling, non-finite gradients of a finite loss are the
    // scale's overflow: GradScaler skips the step and halves the scale.
    bool overflow =
        lossScaling && std::isfinite(loss) && !std::isfinite(gradNorm);
    std::string what =
        !std::isfinite(loss)       ? "the loss"
        : overflow                 ? ""
        : !std::isfinite(gradNorm) ? "the gradient norm"
        : badUpdates > 0
            ? "the update of " + std::to_string(badUpdates) + " weight(s)"
            : "";
    bool skipped = overflow || !what.empty();
    if (lossScaling) {
      if (overflow) {
        state.lossScale *= 0.5;
        state.scaleGrowthTracker = 0;
      } else if (!skipped &&
                 ++state.scaleGrowthTracker == kScaleGrowthInterval) {
        // Never to infinity: a checkpoint holds the scale, and resume
        // refuses a non-finite one.
        if (std::isfinite(state.lossScale * 2.0))
          state.lossScale *= 2.0;
        state.scaleGrowthTracker = 0;
      }
    }
    if (overflow) {
      ++state.skippedSteps;
      if (lead)
        std::fprintf(stderr,
                   "%slocorun: step %lld skipped: the gradients overflowed at "
                   "loss scale %g; the scale is now %g\n",
                   tty ? "\n" : "", static_cast<long long>(step), lossScale,
                   state.lossScale);
      // Below fp16's smallest subnormal no scale can help.
      if (state.lossScale < std::ldexp(1.0, -24))
        throw RunError("step " + std::to_string(step) +
                       ": the gradients overflow at every loss scale down to " +
                       std::to_string(lossScale) +
                       "; no checkpoint was written for these steps");
    } else if (skipped) {
      ++state.skippedSteps;
      ++badInARow;
      if (lead)
        std::fprintf(stderr,
                   "%slocorun: warning: step %lld skipped: %s is not finite%s; "
                   "the weights and moments keep their values\n",
                   tty ? "\n" : "", static_cast<long long>(step), what.c_str(),
                   nonFinite.empty() ? ""
                                     : (" (first: " + nonFinite + ")").c_str());
      std::string culprit;
      if (badInARow >= options.maxBadSteps && options.debugNonFinite) {
        // The last micro-step again, with its batch and dropout key.
        session.setInputs(inputs);
        setDropoutKey(step, accumulation - 1);
        std::string op = session.firstNonFiniteOp(art.train());
        culprit = op.empty() ? "; re-run with every op checked, all results "
                               "were finite (the non-finite value arose in "
                               "the loss or the optimizer step)"
                             : "; re-run with every op checked, the first "
                               "NaN or Inf comes from " +
                                   op;
      }
      if (badInARow >= options.maxBadSteps)
        throw RunError(
            "step " + std::to_string(step) + ": " + std::to_string(badInARow) +
            " consecutive steps were not finite (the last: " + what + ")" +
            (nonFinite.empty()
                 ? std::string()
                 : "; the first non-finite tensor is " + nonFinite) +
            " (--max-bad-steps " + std::to_string(options.maxBadSteps) +
            "); no checkpoint was written for these steps" + culprit);
    } else {
      badInARow = 0;
    }

    totalLoad += loadSeconds;
    totalAugment += augmentSeconds;
    totalWait += waitSeconds;
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - start).count();
    double stepSeconds =
        std::chrono::duration<double>(now - lastStepEnd).count();
    lastStepEnd = now;
    totalStepSeconds += stepSeconds;
    double collectiveSeconds =
        comm ? comm->seconds - collectiveBefore : 0.0;
    double rate = (state.step - firstStep) / std::max(seconds, 1e-9);
    if (board) {
      board->scalar("train/loss", loss, step);
      for (auto &[name, value] : components.items())
        board->scalar("train/" + name, value.get<double>(), step);
      board->scalar("train/lr", lr, step);
      board->scalar("train/grad_norm", gradNorm, step);
      board->scalar("train/step_seconds", stepSeconds, step);
      board->scalar("train/data_wait_seconds", waitSeconds, step);
      board->scalar("train/load_seconds", loadSeconds, step);
      board->scalar("train/augment_seconds", augmentSeconds, step);
      board->scalar("train/memory_mib", residentMiB(), step);
      if (session.backend().kind != "cpu")
        board->scalar("train/device_memory_mib",
                      session.backend().loco_context_device_memory(
                          session.context(), nullptr) /
                          1048576.0,
                      step);
      if (lossScaling)
        board->scalar("train/loss_scale", state.lossScale, step);
      board->flush();
    }
    if (metrics.isOpen()) {
      // JSON has no NaN: a skipped step's non-finite values are null.
      auto number = [](double value) {
        return std::isfinite(value) ? nlohmann::ordered_json(value)
                                    : nlohmann::ordered_json();
      };
      for (auto &[name, value] : components.items())
        value = number(value.get<double>());
      nlohmann::ordered_json line{
          {"step", step},
          {"loss", number(loss)},
          {"lr", lr},
          {"grad_norm", number(gradNorm)},
          {"clip_coef", skipped ? nlohmann::ordered_json() : number(clipCoef)},
          {"components", components},
          {"seconds", seconds},
          // Data loading (on the loader thread) and the step's wait for it.
          {"load_seconds", loadSeconds},
          {"augment_seconds", augmentSeconds},
          {"data_wait_seconds", waitSeconds},
          {"skipped", skipped},
          {"skipped_steps", state.skippedSteps}};
      if (comm) {
        // Measured: the wall time of this step's collectives, waiting for
        // the slowest rank included.
        line["allreduce_seconds"] = collectiveSeconds;
        line["ranks"] = ranks;
      }
      if (lossScaling) {
        line["loss_scale"] = lossScale;
        line["overflow"] = overflow;
      }
      metrics.write(line);
    }
    int width = 24, filled = static_cast<int>(width * state.step / target);
    char bar[256], skips[96] = "", scale[48] = "";
    if (lossScaling)
      std::snprintf(scale, sizeof(scale), " scale %g", state.lossScale);
    if (comm)
      std::snprintf(scale + std::strlen(scale), sizeof(scale) - std::strlen(scale),
                    " batch %lldx%d", static_cast<long long>(B * accumulation),
                    ranks);
    if (state.skippedSteps > 0)
      std::snprintf(skips, sizeof(skips), "%s skipped %lld", scale,
                    static_cast<long long>(state.skippedSteps));
    else
      std::snprintf(skips, sizeof(skips), "%s", scale);
    std::snprintf(
        bar, sizeof(bar),
        "step %lld/%lld [%s%s] loss %.4f lr %.2e grad %.1f %.2f step/s "
        "mem %.0f MiB (arena %.0f)%s",
        static_cast<long long>(step), static_cast<long long>(target),
        std::string(filled, '#').c_str(),
        std::string(width - filled, '.').c_str(), loss, lr, gradNorm, rate,
        residentMiB(), art.arenaBytes() / 1048576.0, skips);
    if (tty)
      std::fprintf(stderr, "\r%s", bar);
    else if (lead && (step == target ||
                      (step - firstStep) % std::max<int64_t>(1, target / 20) ==
                          0))
      std::fprintf(stderr, "%s\n", bar);

    bool epochEnd = step % stepsPerEpoch == 0, stopEarly = false;
    int64_t epoch = step / stepsPerEpoch;
    bool validate = epochEnd && validation && epoch % valInterval == 0 &&
                    (art.separate() || art.eval());
    if (validate) {
      session.backend().loco_context_set_training(session.context(), 0);
      double valLoss = 0.0, valSeconds = 0.0;
      int64_t valTracks = 0;
      std::vector<double> sdr(sources.size(), 0.0);
      if (art.separate()) {
        // Every validation track in full, separated segment by segment as
        // `locorun separate` does, and scored by the training loss (on the
        // host, term for term): what upstream's validation does.
        SegmentStep separateStep = sessionStep(session);
        LossSpec lossSpec = LossSpec::fromManifest(art.manifest());
        valTracks = static_cast<int64_t>(validation->numTracks());
        // Data parallelism: rank r scores tracks r, r + ranks, ...; the
        // per-track terms are summed over the ranks below.
        for (size_t t = rank; t < validation->numTracks(); t += ranks) {
          int64_t length = validation->trackLength(t);
          std::vector<std::vector<float>> stems;
          validation->read(t, 0, length, stems);
          auto separated = overlapAdd({stems[0]}, N, B, sources.size(), 0.25,
                                      separateStep);
          std::vector<std::vector<float>> estimates;
          std::vector<std::vector<float>> targets(stems.begin() + 1,
                                                  stems.end());
          for (auto &source : separated)
            estimates.push_back(std::move(source[0]));
          valLoss += trackLoss(lossSpec, sources, estimates, targets).total /
                     valTracks;
          valSeconds += static_cast<double>(length) / sampleRate;
          for (size_t s = 0; s < sources.size(); ++s)
            sdr[s] += siSdrDb(estimates[s].data(), targets[s].data(), length,
                              1e-8) /
                      valTracks;
          if (board && t == 0) { // the first track heard (at most 5 s)
            int64_t clip = std::min<int64_t>(length, 5 * sampleRate);
            auto head = [&](const std::vector<float> &x) {
              return std::vector<float>(x.begin(), x.begin() + clip);
            };
            board->audio("validation/mixture", head(stems[0]), sampleRate,
                         step);
            for (size_t s = 0; s < sources.size(); ++s)
              board->audio("validation/" + sources[s], head(estimates[s]),
                           sampleRate, step);
          }
        }
        if (comm) {
          std::vector<double> sums{valLoss, valSeconds};
          sums.insert(sums.end(), sdr.begin(), sdr.end());
          comm->allReduceSum(sums.data(), static_cast<int64_t>(sums.size()),
                             "the validation after step " +
                                 std::to_string(step));
          valLoss = sums[0];
          valSeconds = sums[1];
          std::copy(sums.begin() + 2, sums.end(), sdr.begin());
        }
      }
      // A train.so of an earlier lococ: centre segments of up to 4 x B
      // validation tracks through the forward step.
      int64_t batches = 0;
      if (!art.separate())
        batches = std::max<int64_t>(
            1, std::min<int64_t>(4 * B, validation->numTracks()) / B);
      for (int64_t v = 0; v < batches; ++v) {
        validationBatch(*validation, v * B, B, N, inputs);
        session.setInputs(inputs);
        StepOutputs out = session.run(art.eval());
        valLoss += out.loss("total_loss") / batches;
        // The first validation item, heard: its mixture and estimates (at
        // most 5 s).
        if (board && v == 0) {
          int64_t length = std::min<int64_t>(N, 5 * sampleRate);
          auto clip = [&](const float *samples) {
            return std::vector<float>(samples, samples + length);
          };
          board->audio("validation/mixture", clip(inputs[0].data()), sampleRate,
                       step);
          for (const F32Tensor &t : out.tensors)
            if (std::find(sources.begin(), sources.end(), t.name) !=
                sources.end())
              board->audio("validation/" + t.name, clip(t.values.data()),
                           sampleRate, step);
        }
        // SI-SDR per item (upstream's formula).
        for (size_t s = 0; s < sources.size(); ++s)
          for (const F32Tensor &t : out.tensors)
            if (t.name == sources[s])
              for (int64_t b = 0; b < B; ++b)
                sdr[s] += siSdrDb(t.values.data() + b * N,
                                  inputs[s + 1].data() + b * N, N, 1e-8) /
                          (batches * B);
      }
      bool best = valLoss < state.bestSavedValLoss;
      if (best)
        state.bestSavedValLoss = valLoss;
      schedule.observe(state, valLoss);
      if (valLoss < state.earlyStopBest - earlyMinDelta) {
        state.earlyStopBest = valLoss;
        state.earlyStopBad = 0;
      } else {
        ++state.earlyStopBad;
      }
      stopEarly = earlyStopping && state.earlyStopBad >= earlyPatience;
      // upstream's best_model.pth: the weights of the lowest validation
      // loss so far, as a checkpoint of their own.
      if (best && saveBest && !outDir.empty())
        session.saveCheckpoint(outDir + "/best", state, 1);
      if (board) {
        board->scalar("validation/loss", valLoss, step);
        for (size_t s = 0; s < sources.size(); ++s)
          board->scalar("validation/si_sdr/" + sources[s], sdr[s], step);
        board->flush();
      }
      nlohmann::ordered_json sdrJson = nlohmann::ordered_json::object();
      std::string text;
      for (size_t s = 0; s < sources.size(); ++s) {
        sdrJson[sources[s]] = sdr[s];
        char item[64];
        std::snprintf(item, sizeof(item), " %s %.2f dB", sources[s].c_str(),
                      sdr[s]);
        text += item;
      }
      if (lead)
        std::fprintf(stderr,
                   "%svalidation after epoch %lld: loss %.4f, SI-SDR%s%s%s\n",
                   tty ? "\n" : "", static_cast<long long>(epoch), valLoss,
                   text.c_str(),
                   valTracks ? (" (" + std::to_string(valTracks) +
                                " whole tracks)")
                                   .c_str()
                             : "",
                   best && !outDir.empty() ? "; best so far" : "");
      metrics.write(nlohmann::ordered_json{{"type", "validation"},
                                           {"step", step},
                                           {"epoch", epoch},
                                           {"val_loss", valLoss},
                                           {"val_si_sdr", sdrJson},
                                           {"val_tracks", valTracks},
                                           {"val_seconds", valSeconds},
                                           {"best", best},
                                           {"lr", state.lr}});
    }
    if ((options.saveEvery > 0 && step % options.saveEvery == 0) ||
        (options.saveEvery == 0 && epochEnd && epoch % saveInterval == 0))
      checkpoint();
    if (stopEarly) {
      if (lead)
        std::fprintf(stderr,
                   "%slocorun: early stopping after epoch %lld: no validation "
                   "loss below %.6g - %g for %lld validations "
                   "(training.early_stopping)\n",
                   tty ? "\n" : "", static_cast<long long>(epoch),
                   state.earlyStopBest, earlyMinDelta,
                   static_cast<long long>(state.earlyStopBad));
      break;
    }
    if (stopping)
      break;
  }
  if (tty)
    std::fprintf(stderr, "\n");
  if (state.step > firstStep && lead)
    std::fprintf(stderr,
                 "data: %.2f s reading and augmenting on the loader thread "
                 "(augmentation %.2f s); the steps waited %.2f s for it\n",
                 totalLoad, totalAugment, totalWait);
  if (state.step > firstStep && lead && comm) {
    double collective = comm->seconds - collectiveAtStart;
    std::fprintf(stderr,
                 "all-reduce: %.3f s of %.3f s in %lld steps (%.1f%%; "
                 "measured on rank 0, waiting for the slowest rank "
                 "included), %s\n",
                 collective, totalStepSeconds,
                 static_cast<long long>(state.step - firstStep),
                 100.0 * collective / std::max(totalStepSeconds, 1e-9),
                 comm->describe().c_str());
  }
  checkpoint();
  if (!stopping)
    return 0;
  // Whichever rank was signalled, all stop; the number is the signal this
  // rank saw, else SIGTERM's (a launcher's stop).
  int signal = stopSignal ? static_cast<int>(stopSignal) : SIGTERM;
  if (lead)
    std::fprintf(stderr,
                 "locorun: stopped by %s after step %lld of %lld: %s\n",
                 signal == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<long long>(state.step),
                 static_cast<long long>(target),
                 outDir.empty()
                     ? "no --out, so nothing was saved"
                     : ("checkpoint saved; continue with --resume " + outDir)
                           .c_str());
  return signal;
}
