//===- locorun.cpp - Run a compiled lococ training step -------------------===//
//
// This file implements locorun: it loads a train.so, creates a context on
// the backend, allocates the arena once, fills parameters (from a
// safetensors file with upstream state_dict names, or PyTorch's default
// initialisation) and inputs (from a safetensors batch, or synthetic
// sources), runs the step, and reports or dumps the outputs.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "runtime/api.h"
#include "tools/locorun/Artifact.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace loco;

namespace {

struct Options {
  std::string artifact, init, batch, dump, device = "cpu";
  uint64_t seed = 0;
  bool seedGiven = false;
};

const char *kUsage =
    "usage: locorun TRAIN.so [--device cpu] [--init WEIGHTS.safetensors]\n"
    "               [--batch BATCH.safetensors | --synthetic] [--seed N]\n"
    "               [--dump OUTDIR]\n"
    "\n"
    "Runs the compiled step once: the forward pass and the loss. Without\n"
    "--init, parameters get PyTorch's default initialisation (seeded); without\n"
    "--batch, the inputs are synthetic sources (sums of sinusoids). --dump\n"
    "writes OUTDIR/outputs.safetensors (the estimates) and OUTDIR/loss.json.\n";

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "locorun: error: %s\n", message.c_str());
  std::exit(1);
}

Options parseOptions(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--init") {
      options.init = value();
    } else if (arg == "--batch") {
      options.batch = value();
    } else if (arg == "--synthetic") {
      options.batch.clear();
    } else if (arg == "--dump") {
      options.dump = value();
    } else if (arg == "--device") {
      options.device = value();
    } else if (arg == "--seed") {
      options.seed = std::stoull(value());
      options.seedGiven = true;
    } else if (!arg.empty() && arg[0] == '-') {
      fail("unknown option '" + arg + "'\n" + kUsage);
    } else if (options.artifact.empty()) {
      options.artifact = arg;
    } else {
      fail("more than one train.so given ('" + options.artifact + "', '" +
           arg + "')");
    }
  }
  if (options.artifact.empty())
    fail(std::string("no train.so given\n") + kUsage);
  return options;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Copies the tensor `name` of `file` into the arena at `t`, checking dtype
/// and shape.
void loadTensor(loco_context *ctx, char *arena, const SafetensorsFile &file,
                const std::string &path, const ManifestTensor &t) {
  const TensorEntry *entry = file.find(t.name);
  if (!entry)
    fail(path + ": missing tensor '" + t.name + "' " + shapeString(t.shape));
  if (entry->dtype != "F32")
    fail(path + ": tensor '" + t.name + "' is " + entry->dtype +
         "; lococ expects F32");
  if (entry->shape != t.shape)
    fail(path + ": tensor '" + t.name + "' has shape " +
         shapeString(entry->shape) + ", the model expects " +
         shapeString(t.shape));
  loco_copy_to_device(ctx, arena + t.offset, file.data(*entry), t.bytes);
}

/// PyTorch's default initialisation as the manifest describes it.
void initParameter(loco_context *ctx, char *arena, const ManifestTensor &t,
                   std::mt19937_64 &gen) {
  std::vector<float> values(t.numElements());
  if (t.init == "ones") {
    std::fill(values.begin(), values.end(), 1.0f);
  } else if (t.init.rfind("uniform:", 0) == 0) {
    float bound = std::stof(t.init.substr(8));
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (float &v : values)
      v = dist(gen);
  } // "zeros" and unknown kinds stay zero.
  loco_copy_to_device(ctx, arena + t.offset, values.data(), t.bytes);
}

/// Synthetic sources: per source a sum of sinusoids in its own band with a
/// little noise (as the golden sets' inputs); the mixture is their sum.
void synthesiseBatch(loco_context *ctx, char *arena,
                     const std::vector<ManifestTensor> &inputs,
                     double sampleRate, std::mt19937_64 &gen) {
  const ManifestTensor &mixture = inputs.front();
  int64_t B = mixture.shape[0], N = mixture.shape[1];
  std::vector<float> mix(B * N, 0.0f);
  std::normal_distribution<float> noise(0.0f, 0.01f);
  const double bands[][2] = {{220, 880}, {60, 5000}, {41, 110}, {523, 1318}};
  for (size_t s = 1; s < inputs.size(); ++s) {
    std::vector<float> source(B * N);
    const double *band = bands[(s - 1) % 4];
    for (int64_t b = 0; b < B; ++b) {
      double shift = 1.0 + 0.03 * b;
      for (int64_t n = 0; n < N; ++n) {
        double t = n / sampleRate, v = 0.0;
        for (int k = 0; k < 4; ++k) {
          double f = (band[0] + (band[1] - band[0]) * k / 3.0) * shift;
          v += 0.1 * std::sin(2 * M_PI * f * t + k);
        }
        source[b * N + n] = static_cast<float>(v) + noise(gen);
      }
    }
    for (int64_t i = 0; i < B * N; ++i)
      mix[i] += source[i];
    loco_copy_to_device(ctx, arena + inputs[s].offset, source.data(),
                        inputs[s].bytes);
  }
  loco_copy_to_device(ctx, arena + mixture.offset, mix.data(), mixture.bytes);
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  std::string error;
  std::unique_ptr<TrainArtifact> artifact =
      TrainArtifact::open(options.artifact, error);
  if (!artifact)
    fail(error);
  const nlohmann::json &manifest = artifact->manifest();
  const nlohmann::json model = manifest.value("model", nlohmann::json::object());
  uint64_t seed = options.seedGiven ? options.seed : model.value("seed", 0);

  char message[512] = {0};
  loco_context *ctx =
      loco_context_create(options.device.c_str(), message, sizeof(message));
  if (!ctx)
    fail(message);
  loco_context_set_rng(ctx, seed, 0);
  char *arena = static_cast<char *>(loco_arena_alloc(ctx, artifact->arenaBytes()));
  if (!arena)
    fail(loco_context_error(ctx));

  // Parameters.
  std::mt19937_64 gen(seed);
  if (!options.init.empty()) {
    auto weights = SafetensorsFile::open(options.init, error);
    if (!weights)
      fail(error);
    std::set<std::string> known;
    for (const ManifestTensor &p : artifact->parameters()) {
      loadTensor(ctx, arena, *weights, options.init, p);
      known.insert(p.name);
    }
    for (const auto &buffer : manifest.value("buffers", nlohmann::json::array()))
      known.insert(buffer.at("name").get<std::string>());
    for (const TensorEntry &entry : weights->tensors())
      if (!known.count(entry.name))
        fail(options.init + ": unexpected tensor '" + entry.name +
             "', which is not in this model's state_dict");
  } else {
    for (const ManifestTensor &p : artifact->parameters())
      initParameter(ctx, arena, p, gen);
  }

  // Inputs.
  if (!options.batch.empty()) {
    auto batch = SafetensorsFile::open(options.batch, error);
    if (!batch)
      fail(error);
    for (const ManifestTensor &input : artifact->inputs())
      loadTensor(ctx, arena, *batch, options.batch, input);
  } else {
    synthesiseBatch(ctx, arena, artifact->inputs(),
                    model.value("sample_rate", 44100), gen);
  }

  auto start = std::chrono::steady_clock::now();
  loco_context_set_training(ctx, 0);
  artifact->forward()(ctx, arena);
  loco_synchronize(ctx);
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (const char *kernelError = loco_context_error(ctx))
    fail(kernelError);

  // Outputs: scalars are loss terms, the rest estimates.
  nlohmann::ordered_json loss;
  std::vector<F32Tensor> estimates;
  for (const ManifestTensor &out : artifact->outputs()) {
    std::vector<float> values(out.numElements());
    loco_copy_to_host(ctx, values.data(), arena + out.offset, out.bytes);
    if (out.shape.empty())
      loss[out.name] = values[0];
    else
      estimates.push_back({out.name, out.shape, std::move(values)});
  }
  std::printf("%s: forward + loss in %.3f s on %s, arena %.1f MiB\n",
              options.artifact.c_str(), seconds, loco_context_describe(ctx),
              artifact->arenaBytes() / 1048576.0);
  for (auto &[name, value] : loss.items())
    std::printf("  %-22s %.6f\n", name.c_str(), value.get<double>());

  if (!options.dump.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.dump, ec);
    if (ec)
      fail("cannot create '" + options.dump + "': " + ec.message());
    if (!writeSafetensors(options.dump + "/outputs.safetensors", estimates,
                          {{"format", "pt"}}, error))
      fail(error);
    std::ofstream lossFile(options.dump + "/loss.json");
    nlohmann::ordered_json doc;
    doc["total_loss"] = loss.value("total_loss", 0.0);
    nlohmann::ordered_json components;
    for (auto &[name, value] : loss.items())
      if (name != "total_loss")
        components[name] = value;
    doc["components"] = components;
    lossFile << doc.dump(1) << "\n";
    if (!lossFile)
      fail("cannot write '" + options.dump + "/loss.json'");
  }
  loco_arena_free(ctx, arena);
  loco_context_destroy(ctx);
  return 0;
}
