//===- TrainCommand.cpp - locorun TRAIN.so: training ----------------------===//
//
// This file implements locorun's training command line: training as the
// config says (its dataset folder, device, augmentation and length; each
// flag overrides one), or one step on given or synthetic inputs (OneStep.h),
// under a launcher as one rank of a data-parallel run.
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Dataset.h"
#include "runtime/observe/Profile.h"
#include "runtime/session/Artifact.h"
#include "runtime/session/Session.h"
#include "runtime/train/Trainer.h"
#include "tools/locorun/Flags.h"
#include "tools/locorun/OneStep.h"

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace loco;

namespace {

const char *kUsage =
    "usage: locorun TRAIN.so [options]\n"
    "       locorun separate SEPARATE.so --weights W SONG... -o DIR\n"
    "       locorun evaluate SEPARATE.so --weights W --data DIR [--json F]\n"
    "       locorun make-synthetic DIR [--tracks N] [--test-tracks N]\n"
    "               [--seconds S] [--sample-rate R] [--seed S]\n"
    "       locorun make-dataset DIR [--songs N] [--midi PATH]... (rendered)\n"
    "\n"
    "Trains as the config says: on its dataset.root_dir, on its device\n"
    "(device, gpu_id), with its augmentation, for its num_epochs; the flags\n"
    "below override each. --one-step (or --batch, --dump, --eval) instead\n"
    "runs one training step (forward, loss, backward, clip + AdamW) on\n"
    "--batch or synthetic input; --eval runs the forward pass only; --dump\n"
    "DIR writes outputs.safetensors, loss.json, grads.safetensors and\n"
    "weights_after_step.safetensors.\n"
    "\n"
    "options:\n"
    "  --device D               cpu, cuda, cuda:N, or cuda-emu (the CUDA\n"
    "                           backend emulated on the CPU; default: the\n"
    "                           config's)\n"
    "  --init W.safetensors     start from these weights (upstream names)\n"
    "  --one-step               one step on synthetic input, then stop\n"
    "  --dry-run                with --device cuda-emu: one step whose host\n"
    "                           code, launch limits and copy bounds run at\n"
    "                           full size while kernels, copies and library\n"
    "                           calls do not (docs/CUDA_EMULATION.md)\n"
    "  --batch IN.safetensors   inputs of a single step (mixture + sources)\n"
    "  --data DIR               train on this MUSDB18-HQ-layout folder\n"
    "                           (default: the config's dataset.root_dir)\n"
    "  --synthetic              train on generated tracks instead\n"
    "  --no-augment             no augmentation, whatever the config says\n"
    "  --steps N | --epochs N   how long to train (total, counting a resume;\n"
    "                           default: the config's training.num_epochs)\n"
    "  --steps-per-epoch N      default: training tracks / (batch x accum)\n"
    "  --metrics FILE           append one JSON object per step\n"
    "  --tensorboard DIR        TensorBoard event files: losses, lr, gradient\n"
    "                           norm, step time, memory; validation scores\n"
    "                           and a few seconds of separated audio\n"
    "  --out DIR                checkpoints: DIR/step-N/{model,optimizer}\n"
    "                           .safetensors, DIR/latest -> the newest\n"
    "  --resume DIR             continue from DIR's newest complete "
    "checkpoint\n"
    "  --save-every N           checkpoint every N steps (default: every\n"
    "                           training.save_interval epochs)\n"
    "  --keep-checkpoints N     keep the newest N checkpoints (default: the\n"
    "                           config's training.keep_last, else 2)\n"
    "  --max-bad-steps N        stop after N consecutive steps with a NaN/Inf\n"
    "                           loss or gradient (skipped; default 10)\n"
    "  --debug-nonfinite        then re-run the step checking every op, and\n"
    "                           name the first that made a NaN or Inf\n"
    "  --loss-scale-init S      fp16 (amp_dtype float16): the first dynamic\n"
    "                           loss scale (default 65536, as GradScaler)\n"
    "  --seed N                 default: the config's seed\n"
    "  --collective-timeout S   data parallelism: seconds a rank waits for\n"
    "                           the others at a collective before the run\n"
    "                           stops naming the missing rank (default 300)\n"
    "  --report-memory          print the arena and the process's peak RSS\n"
    "  --verbose                print the backend before the first step:\n"
    "                           its GEMM library, kernel ISA and measured\n"
    "                           rate, FFT library and threads; and after the\n"
    "                           last, what the device did (CUDA graphs)\n"
    "  --profile FILE           time every kernel call: a Chrome/Perfetto\n"
    "                           trace (one slice per call: op, module path,\n"
    "                           flops, bytes), and a summary by op kind\n"
    "                           (time, share, GFLOP/s, GB/s) at the end\n"
    "\n"
    "Data parallelism: under `mpirun -np N`, `srun` (Slurm) or torchrun's\n"
    "variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT),\n"
    "each process trains on its block of a global batch of batch x N items,\n"
    "and gradients are averaged before clip and AdamW: MPI on the CPU\n"
    "backend, NCCL on CUDA (--device cuda means cuda:LOCAL_RANK). Rank 0\n"
    "writes checkpoints and metrics. See docs/DISTRIBUTED.md.\n";

struct Options {
  std::string artifact, init, batch, dump, data, device, profile;
  TrainOptions train;
  bool seedGiven = false, synthetic = false, eval = false, oneStep = false,
       reportMemory = false, verbose = false, dryRun = false;
  double collectiveTimeout = 300.0;
};

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usageError(kUsage, "option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--init")
      o.init = value();
    else if (arg == "--batch")
      o.batch = value();
    else if (arg == "--dump")
      o.dump = value();
    else if (arg == "--data")
      o.data = value();
    else if (arg == "--device")
      o.device = value();
    else if (arg == "--synthetic")
      o.synthetic = true;
    else if (arg == "--one-step")
      o.oneStep = true;
    else if (arg == "--dry-run")
      o.dryRun = true;
    else if (arg == "--no-augment")
      o.train.augment = false;
    else if (arg == "--eval")
      o.eval = true;
    else if (arg == "--report-memory")
      o.reportMemory = true;
    else if (arg == "--verbose")
      o.verbose = true;
    else if (arg == "--debug-nonfinite")
      o.train.debugNonFinite = true;
    else if (arg == "--steps")
      o.train.steps = parsePositive(kUsage, arg, value());
    else if (arg == "--epochs")
      o.train.epochs = parsePositive(kUsage, arg, value());
    else if (arg == "--steps-per-epoch")
      o.train.stepsPerEpoch = parsePositive(kUsage, arg, value());
    else if (arg == "--max-bad-steps")
      o.train.maxBadSteps = parsePositive(kUsage, arg, value());
    else if (arg == "--profile")
      o.profile = value();
    else if (arg == "--collective-timeout")
      o.collectiveTimeout = parsePositiveReal(kUsage, arg, value());
    else if (arg == "--loss-scale-init")
      o.train.lossScaleInit = parsePositiveReal(kUsage, arg, value());
    else if (arg == "--keep-checkpoints")
      o.train.keepCheckpoints = parsePositive(kUsage, arg, value());
    else if (arg == "--save-every")
      o.train.saveEvery = parseCount(kUsage, arg, value());
    else if (arg == "--metrics")
      o.train.metricsPath = value();
    else if (arg == "--tensorboard")
      o.train.tensorboardDir = value();
    else if (arg == "--out")
      o.train.outDir = value();
    else if (arg == "--resume")
      o.train.resumeDir = value();
    else if (arg == "--seed") {
      o.train.seed = parseCount(kUsage, arg, value());
      o.seedGiven = true;
    } else if (!arg.empty() && arg[0] == '-')
      usageError(kUsage, "unknown option '" + arg + "'");
    else if (o.artifact.empty())
      o.artifact = arg;
    else
      usageError(kUsage, "more than one train.so given ('" + o.artifact +
                             "', '" + arg + "')");
  }
  if (o.artifact.empty())
    usageError(kUsage, "no train.so given");
  if (!o.data.empty() && o.synthetic)
    usageError(kUsage,
               "--data and --synthetic both name the training data; give one");
  return o;
}

/// --report-memory: the arena against its lower bound and the peak RSS; on
/// a device, what it reports this context holds against the plan.
void reportMemory(Session &session, Communicator *comm) {
  if (comm)
    std::fprintf(stderr,
                 "communication: %lld bytes outside the arena (%s; "
                 "measured around its initialisation and first "
                 "all-reduce)\n",
                 static_cast<long long>(comm->transportBytes()),
                 comm->describe().c_str());
  TrainArtifact &art = session.artifact();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::fprintf(stderr,
               "memory: arena %lld bytes (workspace %lld of them), lower bound "
               "%lld bytes; peak RSS %lld MiB\n",
               static_cast<long long>(art.arenaBytes()),
               static_cast<long long>(art.workspaceBytes()),
               static_cast<long long>(art.lowerBoundBytes()),
               static_cast<long long>(usage.ru_maxrss / 1024));
  // On a device: what the device reports this context holds, against the
  // plan (the arena plus the backend's fixed workspace).
  int64_t peak = 0;
  int64_t now =
      session.backend().loco_context_device_memory(session.context(), &peak);
  if (session.backend().kind != "cpu") {
    int64_t fixed = art.manifest().value("device_fixed_bytes", int64_t(0));
    int64_t plan = art.arenaBytes() + fixed;
    auto ratio = [&](int64_t bytes) {
      return plan ? static_cast<double>(bytes) / plan : 0.0;
    };
    std::fprintf(stderr,
                 "device memory: peak %lld bytes (now %lld); plan %lld bytes "
                 "(arena %lld + fixed workspace %lld); peak / plan = %.4f\n",
                 static_cast<long long>(peak), static_cast<long long>(now),
                 static_cast<long long>(plan),
                 static_cast<long long>(art.arenaBytes()),
                 static_cast<long long>(fixed), ratio(peak));
    const DeviceMemoryTrace &trace = session.deviceMemory();
    if (!trace.separated()) {
      std::fprintf(stderr,
                   "device libraries: not separated (they are measured "
                   "after %lld optimizer steps of warm-up; run at least "
                   "%lld)\n",
                   static_cast<long long>(DeviceMemoryTrace::kWarmupSteps),
                   static_cast<long long>(DeviceMemoryTrace::kWarmupSteps + 1));
      return;
    }
    std::fprintf(stderr,
                 "device libraries: %lld bytes outside the plan after "
                 "warm-up (CUDA kernel images, cuBLASLt and cuFFT plan "
                 "data, graph executables)\n",
                 static_cast<long long>(trace.libraryBytes(plan)));
    int64_t rest = trace.peakLessLibraries(plan);
    std::fprintf(stderr,
                 "device memory less libraries: peak %lld bytes after "
                 "warm-up; peak / plan = %.4f\n",
                 static_cast<long long>(rest), ratio(rest));
  }
}

/// What the train.so's manifest asks for, read before any backend is
/// loaded (the device picks the backend), with the checks of the flags
/// against it.
struct RunPlan {
  std::string config; ///< the config file the train.so was compiled from
  std::string device; ///< the device to open
  bool oneStep = false;
};

RunPlan planRun(const Options &o, const LaunchInfo &launch) {
  // A file that is no artifact has no manifest here; opening the session
  // says why.
  nlohmann::json peeked = peekManifest(o.artifact);
  if (!peeked.is_object())
    peeked = nlohmann::json::object();
  RunPlan run;
  run.config = peeked.value("config", o.artifact);
  // A dry run takes a separation artifact's forward step too.
  if (peeked.value("mode", "train") == "separate" && !o.dryRun)
    throw RunError("'" + o.artifact +
                   "' is a separation artifact (lococ --mode separate): "
                   "use `locorun separate` or `locorun evaluate` with it, "
                   "and compile a train.so (lococ CONFIG -o train.so) to "
                   "train");
  run.oneStep =
      o.oneStep || o.eval || o.dryRun || !o.batch.empty() || !o.dump.empty();
  if (o.dryRun && !o.dump.empty())
    usageError(kUsage, "--dry-run computes no values: drop --dump");
  if (run.oneStep &&
      (o.train.steps >= 0 || o.train.epochs >= 0 || !o.data.empty()))
    usageError(kUsage, "--one-step, --batch, --dump and --eval take a single "
                       "step; drop --steps, --epochs and --data");
  if (run.oneStep && launch.launched())
    throw RunError("--one-step, --batch, --dump and --eval run one process's "
                   "step, and " +
                   launch.launcher +
                   " started this one as "
                   "rank " +
                   std::to_string(launch.rank) + " of " +
                   std::to_string(launch.worldSize) +
                   "; run them without a launcher");
  // Read again, typed and checked, when the session opens the artifact.
  HardwareManifest hardware = HardwareManifest::fromJson(
      peeked.value("hardware", nlohmann::json::object()));
  run.device = o.device.empty() ? hardware.device : o.device;
  // One process per GPU: under a launcher, `cuda` (or the config's gpu_id)
  // means the local rank's device.
  if (launch.launched() && Backend::kindOfDevice(run.device) == "cuda" &&
      (o.device.empty() || o.device == "cuda"))
    run.device = "cuda:" + std::to_string(launch.localRank);
  if (o.dryRun && Backend::kindOfDevice(run.device) != "cuda_emu")
    usageError(kUsage, "--dry-run runs on the emulated CUDA device only: "
                       "add --device cuda-emu (the device is '" +
                           run.device + "')");
  int64_t numGpu = hardware.num_gpu;
  if (numGpu > 1 && !run.oneStep && !launch.launched())
    std::fprintf(stderr,
                 "locorun: warning: %s asks for num_gpu: %lld, and this "
                 "process was started without a launcher, so it trains on %s "
                 "alone; start one process per GPU with `mpirun -np %lld "
                 "locorun ...`, srun or torchrun (docs/DISTRIBUTED.md)\n",
                 run.config.c_str(), static_cast<long long>(numGpu),
                 run.device.c_str(), static_cast<long long>(numGpu));
  return run;
}

std::unique_ptr<Session> openSession(const Options &o, const RunPlan &run) {
  try {
    return std::make_unique<Session>(o.artifact, run.device);
  } catch (const RunError &e) {
    // No silent fall-back to the CPU when the config asks for a GPU.
    if (!o.device.empty() || run.device == "cpu")
      throw;
    throw RunError(std::string(e.what()) + "\n  " + run.config +
                   " asks for device '" + run.device +
                   "' (its keys device and gpu_id); pass --device cpu to run "
                   "on the CPU instead");
  }
}

std::unique_ptr<Communicator> openRanks(const Session &session,
                                        const RunPlan &run,
                                        const LaunchInfo &launch,
                                        double timeoutSeconds) {
  CommunicatorOptions options;
  options.backendKind = session.backend().kind;
  size_t colon = run.device.find(':');
  options.device = colon == std::string::npos
                       ? 0
                       : std::atoi(run.device.c_str() + colon + 1);
  options.timeoutSeconds = timeoutSeconds;
  return openCommunicator(launch, options);
}

/// The training data's folder: --data, else (without --synthetic) the
/// config's dataset.root_dir, checked before the first step. Empty: train
/// on generated tracks.
std::string trainingFolder(const Options &o, const RunPlan &run,
                           TrainArtifact &art, const LaunchInfo &launch) {
  if (run.oneStep || !o.data.empty() || o.synthetic)
    return o.data;
  std::string root = art.config().dataset.root_dir;
  if (root.empty())
    throw RunError(run.config +
                   " sets no dataset.root_dir, so there is no training "
                   "data; pass --data DIR (a MUSDB18-HQ-layout folder) "
                   "or --synthetic (generated tracks)");
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec))
    throw RunError("dataset.root_dir '" + root + "' (" + run.config +
                   ") is not a folder; pass --data DIR to train on a "
                   "MUSDB18-HQ-layout folder elsewhere, or --synthetic "
                   "to train on generated tracks");
  if (launch.rank == 0)
    std::fprintf(stderr, "locorun: training on %s (dataset.root_dir of %s)\n",
                 root.c_str(), run.config.c_str());
  return root;
}

/// The training and validation tracks: the folder's train/ and test/
/// splits, or generated tracks.
std::pair<std::unique_ptr<TrackSource>, std::unique_ptr<TrackSource>>
openTracks(TrainArtifact &art, const std::string &dataDir, uint64_t seed,
           bool lead) {
  int64_t N = art.inputs().front().shape[1];
  int64_t rate = art.config().model.sample_rate;
  std::vector<std::string> sources;
  for (size_t i = 1; i < art.inputs().size(); ++i)
    sources.push_back(art.inputs()[i].name);
  std::unique_ptr<TrackSource> train, validation;
  if (dataDir.empty()) {
    train = makeSyntheticTracks(16, 2 * N, rate, sources.size(), seed);
    validation =
        makeSyntheticTracks(4, 2 * N, rate, sources.size(), seed + 1000);
    return {std::move(train), std::move(validation)};
  }
  train = openMusdbFolder(dataDir, "train", sources, rate, N);
  if (std::filesystem::is_directory(dataDir + "/test"))
    validation = openMusdbFolder(dataDir, "test", sources, rate, N);
  else if (lead)
    std::fprintf(stderr, "locorun: warning: %s/test not found; no validation\n",
                 dataDir.c_str());
  return {std::move(train), std::move(validation)};
}

/// Everything after the flags: returns the exit status, or throws.
int train(Options &o, const LaunchInfo &launch,
          std::unique_ptr<Communicator> &comm) {
  RunPlan run = planRun(o, launch);
  // The emulated device reads this when it starts (docs/CUDA_EMULATION.md).
  if (o.dryRun)
    setenv("LOCO_CUDA_EMU_DRY_RUN", "1", 1);
  std::unique_ptr<Session> opened = openSession(o, run);
  Session &session = *opened;
  TrainArtifact &art = session.artifact();
  if (launch.launched()) {
    comm = openRanks(session, run, launch, o.collectiveTimeout);
    o.train.comm = comm.get();
  }
  std::string dataDir = trainingFolder(o, run, art, launch);
  uint64_t seed =
      o.seedGiven ? o.train.seed : uint64_t(art.config().model.seed);
  o.train.seed = seed;
  if (!o.init.empty())
    session.loadParameters(o.init);
  else
    session.initParameters(seed);

  bool lead = launch.rank == 0;
  if (o.verbose && lead)
    std::fprintf(stderr, "locorun: backend %s\n",
                 describeBackend(session).c_str());
  // Rank 0's steps, under a launcher.
  std::unique_ptr<Profiler> profiler;
  if (!o.profile.empty() && lead)
    profiler = std::make_unique<Profiler>(session, o.profile);
  int stopped = 0;
  if (run.oneStep) {
    runOneStep(session, {o.artifact, o.batch, o.dump, o.eval, o.dryRun}, seed);
  } else {
    if (o.train.steps < 0 && o.train.epochs < 0)
      o.train.epochs = std::max<int64_t>(1, art.config().training.num_epochs);
    auto [trainTracks, validation] = openTracks(art, dataDir, seed, lead);
    stopped = runTraining(session, *trainTracks, validation.get(), o.train);
    // What the device did (on CUDA: graphs captured and replayed).
    if (o.verbose && lead)
      std::fprintf(stderr, "locorun: after training: %s\n",
                   session.backend().loco_context_describe(session.context()));
  }
  if (profiler)
    profiler->finish();
  if (o.reportMemory && lead)
    reportMemory(session, comm.get());
  return stopped ? 128 + stopped : 0; // as the shell reports a signal's end
}

} // namespace

int loco::runTrainCommand(int argc, char **argv) {
  Options o = parseOptions(argc, argv);
  // Data parallelism (Collective.h): set when a launcher started us.
  LaunchInfo launch;
  std::unique_ptr<Communicator> comm;
  try {
    launch = detectLaunch();
    return train(o, launch, comm);
  } catch (const std::exception &e) {
    // RunError, or not ours (a library's, such as a manifest field of the
    // wrong JSON type): still an error message and exit status 1, never an
    // abort. Under a launcher the error names the rank, and ends the
    // others at once rather than at their collective timeout.
    if (comm)
      comm->abort(e.what());
    if (launch.worldSize > 1)
      std::fprintf(stderr, "locorun: error: rank %d: %s\n", launch.rank,
                   e.what());
    else
      std::fprintf(stderr, "locorun: error: %s\n", e.what());
    return 1;
  }
}
