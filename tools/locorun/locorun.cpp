//===- locorun.cpp - Run and train a compiled lococ step ------------------===//
//
// This file implements locorun's command line: training as the config
// says (its dataset folder, device, augmentation and length; each flag
// overrides one), one step on given or synthetic inputs (printing, or
// dumping, the loss, outputs, gradients and the weights after one optimizer
// step), and `make-synthetic`, which writes a MUSDB18-HQ-layout folder.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Artifact.h"
#include "runtime/data/Dataset.h"
#include "tools/locorun/Inference.h"
#include "runtime/observe/Profile.h"
#include "runtime/session/Session.h"
#include "runtime/train/Trainer.h"

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
    "  --device D               cpu, cuda or cuda:N (default: the config's)\n"
    "  --init W.safetensors     start from these weights (upstream names)\n"
    "  --one-step               one step on synthetic input, then stop\n"
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
    "                           rate, FFT library and threads\n"
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
       reportMemory = false, verbose = false;
  double collectiveTimeout = 300.0;
};

[[noreturn]] void usageError(const std::string &message) {
  std::fprintf(stderr, "locorun: error: %s\n%s", message.c_str(), kUsage);
  std::exit(1);
}

int64_t parseCount(const std::string &option, const std::string &value) {
  try {
    size_t used = 0;
    long long n = std::stoll(value, &used);
    if (used == value.size() && n >= 0)
      return n;
  } catch (const std::exception &) {
  }
  usageError(option + " expects a non-negative integer, got '" + value + "'");
}

/// A finite number > 0.
double parsePositiveReal(const std::string &option, const std::string &value) {
  char *end = nullptr;
  double x = std::strtod(value.c_str(), &end);
  if (value.empty() || *end || !std::isfinite(x) || !(x > 0))
    usageError(option + " expects a finite number > 0, got '" + value + "'");
  return x;
}

int64_t parsePositive(const std::string &option, const std::string &value) {
  int64_t n = parseCount(option, value);
  if (n == 0)
    usageError(option + " expects a positive integer, got '" + value + "'");
  return n;
}

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usageError("option " + arg + " needs a value");
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
      o.train.steps = parsePositive(arg, value());
    else if (arg == "--epochs")
      o.train.epochs = parsePositive(arg, value());
    else if (arg == "--steps-per-epoch")
      o.train.stepsPerEpoch = parsePositive(arg, value());
    else if (arg == "--max-bad-steps")
      o.train.maxBadSteps = parsePositive(arg, value());
    else if (arg == "--profile")
      o.profile = value();
    else if (arg == "--collective-timeout")
      o.collectiveTimeout = parsePositiveReal(arg, value());
    else if (arg == "--loss-scale-init")
      o.train.lossScaleInit = parsePositiveReal(arg, value());
    else if (arg == "--keep-checkpoints")
      o.train.keepCheckpoints = parsePositive(arg, value());
    else if (arg == "--save-every")
      o.train.saveEvery = parseCount(arg, value());
    else if (arg == "--metrics")
      o.train.metricsPath = value();
    else if (arg == "--tensorboard")
      o.train.tensorboardDir = value();
    else if (arg == "--out")
      o.train.outDir = value();
    else if (arg == "--resume")
      o.train.resumeDir = value();
    else if (arg == "--seed") {
      o.train.seed = parseCount(arg, value());
      o.seedGiven = true;
    } else if (!arg.empty() && arg[0] == '-')
      usageError("unknown option '" + arg + "'");
    else if (o.artifact.empty())
      o.artifact = arg;
    else
      usageError("more than one train.so given ('" + o.artifact + "', '" + arg +
                 "')");
  }
  if (o.artifact.empty())
    usageError("no train.so given");
  if (!o.data.empty() && o.synthetic)
    usageError("--data and --synthetic both name the training data; give one");
  return o;
}

const char *kSyntheticUsage =
    "usage: locorun make-synthetic DIR [--tracks N] [--test-tracks N]\n"
    "                              [--seconds S] [--sample-rate R] [--seed S]\n"
    "\n"
    "Writes a MUSDB18-HQ-layout folder of generated tracks (tones and noise\n"
    "per source): DIR/train/track_N/ and DIR/test/track_N/, each with\n"
    "mixture.wav and vocals, drums, bass, other .wav (16-bit stereo), for\n"
    "trying training, separation and evaluation without a dataset.\n"
    "\n"
    "options:\n"
    "  --tracks N               training tracks (default 8)\n"
    "  --test-tracks N          test tracks (default 2)\n"
    "  --seconds S              length of each track (default 3, at most 3600)\n"
    "  --sample-rate R          1000 to 384000 Hz (default 44100)\n"
    "  --seed S                 the tracks' random seed (default 0)\n";

int makeSynthetic(int argc, char **argv) {
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kSyntheticUsage, stdout);
      return 0;
    }
  if (argc < 3 || argv[2][0] == '-') {
    std::fprintf(stderr, "locorun: error: make-synthetic needs a folder "
                         "first\n%s",
                 kSyntheticUsage);
    return 1;
  }
  std::string dir = argv[2];
  int64_t tracks = 8, testTracks = 2, rate = 44100, seed = 0;
  double seconds = 3.0;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      usageError("option " + arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--tracks")
      tracks = parseCount(arg, value);
    else if (arg == "--test-tracks")
      testTracks = parseCount(arg, value);
    else if (arg == "--sample-rate")
      rate = parseCount(arg, value);
    else if (arg == "--seed")
      seed = parseCount(arg, value);
    else if (arg == "--seconds") {
      char *end = nullptr;
      seconds = std::strtod(value.c_str(), &end);
      // An hour of audio per stem is far beyond a test folder; the bound
      // keeps the sample count (and the memory) reasonable.
      if (value.empty() || *end || !(seconds > 0.0 && seconds <= 3600.0))
        usageError("--seconds expects a number in (0, 3600], got '" + value +
                   "'");
    } else
      usageError("unknown option '" + arg + "'");
  }
  // The rates locorun reads back (Audio.cpp's bounds, 384 kHz at most).
  if (rate < 1000 || rate > 384000)
    usageError("--sample-rate expects 1000 to 384000, got " +
               std::to_string(rate));
  if (tracks > 10000 || testTracks > 10000)
    usageError("--tracks and --test-tracks expect at most 10000");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_directory(dir, ec))
    throw RunError("make-synthetic: '" + dir + "' exists and is not a folder");
  writeSyntheticFolder(dir, tracks, testTracks, seconds, rate,
                       {"vocals", "drums", "bass", "other"}, seed);
  std::printf("wrote %lld training and %lld test tracks of %.1f s to %s\n",
              static_cast<long long>(tracks),
              static_cast<long long>(testTracks), seconds, dir.c_str());
  return 0;
}

void printLosses(const StepOutputs &out) {
  for (const auto &[name, value] : out.losses)
    std::printf("  %-22s %.6f\n", name.c_str(), value);
}

/// One step on --batch or synthetic inputs, with the optional dump. A
/// train.so that lococ micro-batched runs the config's batch as its
/// micro-batches, accumulating their gradients, as the trainer does.
void singleStep(Session &session, const Options &o, uint64_t seed) {
  TrainArtifact &art = session.artifact();
  const ManifestTensor &mixture = art.inputs().front();
  int64_t microBatch = mixture.shape[0], N = mixture.shape[1];
  int64_t micro = art.microBatches();
  int64_t rows = microBatch * micro;
  std::vector<std::vector<float>> inputs(art.inputs().size());
  if (!o.batch.empty()) {
    inputs = session.readBatch(o.batch, rows);
  } else {
    auto tracks =
        makeSyntheticTracks(std::max<int64_t>(4, rows), N,
                            art.manifest()
                                .value("model", nlohmann::json::object())
                                .value("sample_rate", 44100),
                            art.inputs().size() - 1, seed);
    sampleBatch(*tracks, seed, 0, 0, rows, N, true, inputs);
  }
  bool train = !o.eval && art.optimizer();
  const EntryPoint &entry =
      train ? art.train() : (art.eval() ? art.eval() : art.train());
  session.backend().loco_context_set_training(session.context(), train ? 1 : 0);
  auto start = std::chrono::steady_clock::now();
  StepOutputs out;
  for (int64_t k = 0; k < micro; ++k) {
    std::vector<std::vector<float>> slice;
    for (const std::vector<float> &input : inputs)
      slice.emplace_back(input.begin() + k * microBatch * N,
                         input.begin() + (k + 1) * microBatch * N);
    session.setInputs(slice);
    // Micro-batch k draws its dropout masks at its place in the batch, as
    // a data-parallel replica does: the step's masks are the unsplit
    // batch's.
    session.backend().loco_context_set_rng(session.context(), seed, 0);
    session.backend().loco_context_set_rng_replica(session.context(), k);
    StepOutputs part = session.run(entry);
    // Losses are batch means: the step's is the mean of the micro-steps';
    // estimates stack along the batch.
    if (k == 0) {
      out = std::move(part);
      for (auto &[name, value] : out.losses)
        value /= static_cast<float>(micro);
      for (F32Tensor &tensor : out.tensors)
        tensor.shape[0] *= micro;
      continue;
    }
    for (size_t i = 0; i < out.losses.size(); ++i)
      out.losses[i].second += part.losses[i].second / static_cast<float>(micro);
    for (size_t i = 0; i < out.tensors.size(); ++i)
      out.tensors[i].values.insert(out.tensors[i].values.end(),
                                   part.tensors[i].values.begin(),
                                   part.tensors[i].values.end());
  }
  session.backend().loco_context_set_rng_replica(session.context(), 0);
  bool dump = !o.dump.empty();
  if (dump) {
    std::error_code ec;
    std::filesystem::create_directories(o.dump, ec);
    if (ec)
      throw RunError("cannot create '" + o.dump + "': " + ec.message());
    writeSafetensorsAtomically(o.dump + "/outputs.safetensors", out.tensors,
                               {{"format", "pt"}});
    // The accumulators hold this step's gradients until the update.
    if (train)
      writeSafetensorsAtomically(o.dump + "/grads.safetensors",
                                 session.gradients(), {{"format", "pt"}});
  }
  double lr = art.training().value("lr", 1e-3);
  if (train)
    session.optimizerStep(1, lr);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%s: %s in %.3f s on %s, arena %.1f MiB\n", o.artifact.c_str(),
              train ? "training step (forward, loss, backward, AdamW)"
                    : "forward + loss",
              seconds,
              session.backend().loco_context_describe(session.context()),
              art.arenaBytes() / 1048576.0);
  printLosses(out);
  if (train)
    std::printf("  %-22s %.6f\n", "grad_norm_before_clip", session.gradNorm());
  if (!dump)
    return;

  nlohmann::ordered_json doc;
  doc["total_loss"] = out.loss("total_loss");
  nlohmann::ordered_json components;
  for (const auto &[name, value] : out.losses)
    if (name != "total_loss")
      components[name] = value;
  doc["components"] = components;
  if (train) {
    doc["grad_norm_before_clip"] = session.gradNorm();
    doc["clip_coef_applied"] = session.clipCoef();
    doc["lr"] = lr;
    writeSafetensorsAtomically(o.dump + "/weights_after_step.safetensors",
                               session.parameters(/*withBuffers=*/true),
                               {{"format", "pt"}});
  }
  std::ofstream lossFile(o.dump + "/loss.json");
  lossFile << doc.dump(1) << "\n";
  if (!lossFile)
    throw RunError("cannot write '" + o.dump + "/loss.json'");
}

} // namespace

int main(int argc, char **argv) {
  // Past `ulimit -f`, a write fails with EFBIG (and says so) instead of the
  // process dying of SIGXFSZ without a word.
  std::signal(SIGXFSZ, SIG_IGN);
  // The CPU backend's OpenMP threads spin about 1000 iterations at the end
  // of a parallel region, then sleep: libgomp's default of 300k keeps a
  // core busy for milliseconds after every region, which another process
  // sharing the machine pays for (and we then wait for a descheduled
  // thread). Measured by bench/threads.sh (docs/BENCHMARKS.md). libgomp
  // reads this when it loads, which is with the backend (locorun itself
  // links no OpenMP; with an OpenMP build of OpenBLAS behind LAPACKE it
  // would already be loaded, and this would change nothing). OMP_WAIT_POLICY
  // or GOMP_SPINCOUNT in the environment decide instead.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    setenv("GOMP_SPINCOUNT", "1000", /*overwrite=*/0);
  if (argc >= 2 && std::strcmp(argv[1], "separate") == 0)
    return runSeparateCommand(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "evaluate") == 0)
    return runEvaluateCommand(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "make-synthetic") == 0) {
    try {
      return makeSynthetic(argc, argv);
    } catch (const std::exception &e) { // RunError, or a library's
      std::fprintf(stderr, "locorun: error: %s\n", e.what());
      return 1;
    }
  }
  Options o = parseOptions(argc, argv);
  // Data parallelism (Collective.h): set when a launcher started us.
  LaunchInfo launch;
  std::unique_ptr<Communicator> comm;
  auto reportMemory = [&](Session &session) {
    if (!o.reportMemory || launch.rank != 0)
      return;
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
    std::fprintf(
        stderr,
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
        std::fprintf(
            stderr,
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
  };
  try {
    launch = detectLaunch();
    // What the config asks for, read before any backend is loaded: the
    // device picks the backend. (A file that is no artifact has no
    // manifest here; opening the session says why.)
    nlohmann::json peeked = peekManifest(o.artifact);
    if (!peeked.is_object())
      peeked = nlohmann::json::object();
    std::string config = peeked.value("config", o.artifact);
    if (peeked.value("mode", "train") == "separate")
      throw RunError("'" + o.artifact +
                     "' is a separation artifact (lococ --mode separate): "
                     "use `locorun separate` or `locorun evaluate` with it, "
                     "and compile a train.so (lococ CONFIG -o train.so) to "
                     "train");
    bool oneStep = o.oneStep || o.eval || !o.batch.empty() || !o.dump.empty();
    if (oneStep && (o.train.steps >= 0 || o.train.epochs >= 0 ||
                    !o.data.empty()))
      usageError("--one-step, --batch, --dump and --eval take a single step; "
                 "drop --steps, --epochs and --data");
    if (oneStep && launch.launched())
      throw RunError("--one-step, --batch, --dump and --eval run one process's "
                     "step, and " + launch.launcher + " started this one as "
                     "rank " + std::to_string(launch.rank) + " of " +
                     std::to_string(launch.worldSize) +
                     "; run them without a launcher");
    nlohmann::json hardware =
        peeked.value("hardware", nlohmann::json::object());
    std::string device =
        o.device.empty() ? hardware.value("device", "cpu") : o.device;
    // One process per GPU: under a launcher, `cuda` (or the config's
    // gpu_id) means the local rank's device.
    if (launch.launched() && Backend::kindOfDevice(device) == "cuda" &&
        (o.device.empty() || o.device == "cuda"))
      device = "cuda:" + std::to_string(launch.localRank);
    int64_t numGpu = hardware.value("num_gpu", int64_t(1));
    if (numGpu > 1 && !oneStep && !launch.launched())
      std::fprintf(stderr,
                   "locorun: warning: %s asks for num_gpu: %lld, and this "
                   "process was started without a launcher, so it trains "
                   "on %s alone; start one process per GPU with `mpirun -np "
                   "%lld locorun ...`, srun or torchrun "
                   "(docs/DISTRIBUTED.md)\n",
                   config.c_str(), static_cast<long long>(numGpu),
                   device.c_str(), static_cast<long long>(numGpu));

    std::unique_ptr<Session> opened;
    try {
      opened = std::make_unique<Session>(o.artifact, device);
    } catch (const RunError &e) {
      // No silent fall-back to the CPU when the config asks for a GPU.
      if (!o.device.empty() || device == "cpu")
        throw;
      throw RunError(std::string(e.what()) + "\n  " + config +
                     " asks for device '" + device +
                     "' (its keys device and gpu_id); pass --device cpu to "
                     "run on the CPU instead");
    }
    Session &session = *opened;
    TrainArtifact &art = session.artifact();
    if (launch.launched()) {
      CommunicatorOptions options;
      options.backendKind = session.backend().kind;
      size_t colon = device.find(':');
      options.device =
          colon == std::string::npos ? 0 : std::atoi(device.c_str() + colon + 1);
      options.timeoutSeconds = o.collectiveTimeout;
      comm = openCommunicator(launch, options);
      o.train.comm = comm.get();
    }
    // The training data: --data, --synthetic, else the config's folder,
    // checked before the first step.
    std::string dataDir = o.data;
    nlohmann::json dataset =
        art.manifest().value("dataset", nlohmann::json::object());
    if (!oneStep && dataDir.empty() && !o.synthetic) {
      std::string root = dataset.value("root_dir", "");
      if (root.empty())
        throw RunError(config +
                       " sets no dataset.root_dir, so there is no training "
                       "data; pass --data DIR (a MUSDB18-HQ-layout folder) "
                       "or --synthetic (generated tracks)");
      std::error_code ec;
      if (!std::filesystem::is_directory(root, ec))
        throw RunError("dataset.root_dir '" + root + "' (" + config +
                       ") is not a folder; pass --data DIR to train on a "
                       "MUSDB18-HQ-layout folder elsewhere, or --synthetic "
                       "to train on generated tracks");
      dataDir = root;
      if (launch.rank == 0)
        std::fprintf(stderr,
                     "locorun: training on %s (dataset.root_dir of %s)\n",
                     root.c_str(), config.c_str());
    }

    uint64_t seed = o.seedGiven ? o.train.seed
                                : art.manifest()
                                      .value("model", nlohmann::json::object())
                                      .value("seed", 0);
    o.train.seed = seed;
    if (!o.init.empty())
      session.loadParameters(o.init);
    else
      session.initParameters(seed);

    if (o.verbose && launch.rank == 0)
      std::fprintf(stderr, "locorun: backend %s\n",
                   describeBackend(session).c_str());
    // Rank 0's steps, under a launcher.
    std::unique_ptr<Profiler> profiler;
    if (!o.profile.empty() && launch.rank == 0)
      profiler = std::make_unique<Profiler>(session, o.profile);
    if (oneStep) {
      singleStep(session, o, seed);
      if (profiler)
        profiler->finish();
      reportMemory(session);
      return 0;
    }
    if (o.train.steps < 0 && o.train.epochs < 0)
      o.train.epochs = std::max<int64_t>(
          1, art.training().value("num_epochs", int64_t(1)));
    const ManifestTensor &mixture = art.inputs().front();
    int64_t N = mixture.shape[1];
    int64_t rate = art.manifest()
                       .value("model", nlohmann::json::object())
                       .value("sample_rate", 44100);
    std::vector<std::string> sources;
    for (size_t i = 1; i < art.inputs().size(); ++i)
      sources.push_back(art.inputs()[i].name);
    std::unique_ptr<TrackSource> train, validation;
    if (!dataDir.empty()) {
      train = openMusdbFolder(dataDir, "train", sources, rate, N);
      if (std::filesystem::is_directory(dataDir + "/test"))
        validation = openMusdbFolder(dataDir, "test", sources, rate, N);
      else if (launch.rank == 0)
        std::fprintf(stderr,
                     "locorun: warning: %s/test not found; no validation\n",
                     dataDir.c_str());
    } else {
      train = makeSyntheticTracks(16, 2 * N, rate, sources.size(), seed);
      validation =
          makeSyntheticTracks(4, 2 * N, rate, sources.size(), seed + 1000);
    }
    int stopped = runTraining(session, *train, validation.get(), o.train);
    if (profiler)
      profiler->finish();
    reportMemory(session);
    if (stopped)
      return 128 + stopped; // as the shell reports a signal's end
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
  return 0;
}
