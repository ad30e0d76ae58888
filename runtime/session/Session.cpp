//===- Session.cpp - A train.so with its context and arena ----------------===//
//
// This file implements Session. Everything the user can get wrong (files,
// names, shapes, checkpoints) is checked and reported as a RunError naming
// the file and the tensor.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Session.h"

#include "runtime/io/Checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <set>

using namespace loco;

namespace {
std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::unique_ptr<SafetensorsFile> openOrThrow(const std::string &path) {
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  if (!file)
    throw RunError(error);
  return file;
}

/// The F32 tensor `name` of `file` with `shape`, or a RunError.
std::vector<float> tensorOrThrow(const SafetensorsFile &file,
                                 const std::string &path,
                                 const std::string &name,
                                 const std::vector<int64_t> &shape) {
  const TensorEntry *entry = file.find(name);
  if (!entry)
    throw RunError(path + ": missing tensor '" + name + "' " +
                   shapeString(shape));
  if (entry->dtype != "F32")
    throw RunError(path + ": tensor '" + name + "' is " + entry->dtype +
                   "; lococ expects F32");
  if (entry->shape != shape)
    throw RunError(path + ": tensor '" + name + "' has shape " +
                   shapeString(entry->shape) + ", the model expects " +
                   shapeString(shape));
  return file.floats(*entry);
}

/// tensorOrThrow, and every value finite: nothing trains from a NaN or Inf.
std::vector<float> finiteTensorOrThrow(const SafetensorsFile &file,
                                       const std::string &path,
                                       const std::string &name,
                                       const std::vector<int64_t> &shape) {
  std::vector<float> values = tensorOrThrow(file, path, name, shape);
  if (int64_t bad = firstNonFiniteIndex(values); bad >= 0)
    throw RunError(path + ": tensor '" + name +
                   "' holds a NaN or Inf "
                   "(element " +
                   std::to_string(bad) +
                   "); nothing trains "
                   "from non-finite weights");
  return values;
}
} // namespace

float StepOutputs::loss(const std::string &name) const {
  for (const auto &[key, value] : losses)
    if (key == name)
      return value;
  return 0.0f;
}

Session::Session(const std::string &artifactPath, const std::string &device) {
  std::string kind = Backend::kindOfDevice(device), error;
  if (kind.empty())
    throw RunError("unknown device '" + device +
                   "' (expected cpu, cuda, cuda:N or cuda-emu)");
  // The backend first, globally: train.so's loco_* references bind to it.
  api = Backend::open(kind, /*global=*/true, error);
  if (!api)
    throw RunError(error);
  art = TrainArtifact::open(artifactPath, error);
  if (!art)
    throw RunError(error);
  std::string target = art->manifest().value("target", "cpu");
  // The emulated CUDA backend runs what was compiled for CUDA.
  if (target != (kind == "cuda_emu" ? "cuda" : kind))
    std::fprintf(stderr,
                 "locorun: note: %s was compiled for target %s; running it on "
                 "%s\n",
                 artifactPath.c_str(), target.c_str(), device.c_str());
  char message[512] = {0};
  ctx = api->loco_context_create(device.c_str(), message, sizeof(message));
  if (!ctx)
    throw RunError(message);
  arena = static_cast<char *>(api->loco_arena_alloc(ctx, art->arenaBytes()));
  if (!arena)
    throw RunError(api->loco_context_error(ctx));
  // Kernel scratch comes from the arena's workspace region, never the heap.
  api->loco_context_set_workspace(ctx, arena + art->workspaceOffset(),
                                  art->workspaceBytes());
  // The precision of matrix products the config asks for (AMP, TF32).
  const std::string &math = art->config().training.matmul_precision;
  static const std::map<std::string, int> kMath = {{"fp32", LOCO_MATMUL_FP32},
                                                   {"tf32", LOCO_MATMUL_TF32},
                                                   {"bf16", LOCO_MATMUL_BF16},
                                                   {"fp16", LOCO_MATMUL_FP16}};
  if (!kMath.count(math))
    throw RunError(artifactPath + ": unknown matmul_precision '" + math + "'");
  api->loco_context_set_matmul_precision(ctx, kMath.at(math));
}

Session::~Session() {
  if (arena)
    api->loco_arena_free(ctx, arena);
  if (ctx)
    api->loco_context_destroy(ctx);
}

std::vector<float> Session::read(int64_t offset, int64_t count) const {
  std::vector<float> values(count);
  api->loco_copy_to_host(ctx, values.data(), arena + offset,
                         count * sizeof(float));
  return values;
}

void Session::write(int64_t offset, const std::vector<float> &values) {
  api->loco_copy_to_device(ctx, arena + offset, values.data(),
                           values.size() * sizeof(float));
}

void Session::initParameters(uint64_t seed) {
  std::mt19937_64 gen(seed);
  for (const ManifestTensor &p : art->parameters()) {
    std::vector<float> values(p.numElements(), 0.0f);
    if (p.init == "ones") {
      std::fill(values.begin(), values.end(), 1.0f);
    } else if (p.init.rfind("uniform:", 0) == 0) {
      float bound = std::stof(p.init.substr(8));
      std::uniform_real_distribution<float> dist(-bound, bound);
      for (float &v : values)
        v = dist(gen);
    }
    write(p.offset, values);
    std::vector<float> zeros(p.numElements(), 0.0f);
    for (int64_t slot : {p.gradOffset, p.mOffset, p.vOffset})
      if (slot >= 0)
        write(slot, zeros);
  }
}

void Session::loadParameters(const std::string &path) {
  auto file = openOrThrow(path);
  std::set<std::string> known;
  for (const ManifestTensor &p : art->parameters()) {
    write(p.offset, finiteTensorOrThrow(*file, path, p.name, p.shape));
    known.insert(p.name);
    std::vector<float> zeros(p.numElements(), 0.0f);
    for (int64_t slot : {p.gradOffset, p.mOffset, p.vOffset})
      if (slot >= 0)
        write(slot, zeros);
  }
  for (const auto &buffer :
       art->manifest().value("buffers", nlohmann::json::array()))
    known.insert(buffer.at("name").get<std::string>());
  for (const TensorEntry &entry : file->tensors())
    if (!known.count(entry.name))
      throw RunError(path + ": unexpected tensor '" + entry.name +
                     "', which is not in this model's state_dict");
}

std::vector<std::vector<float>> Session::readBatch(const std::string &path,
                                                   int64_t rows) const {
  auto file = openOrThrow(path);
  std::vector<std::vector<float>> inputs;
  for (const ManifestTensor &input : art->inputs())
    inputs.push_back(
        tensorOrThrow(*file, path, input.name, {rows, input.shape.at(1)}));
  return inputs;
}

void Session::setInputs(const std::vector<std::vector<float>> &inputs) {
  if (inputs.size() > art->inputs().size())
    throw RunError("more inputs than the artifact has");
  for (size_t i = 0; i < inputs.size(); ++i)
    write(art->inputs()[i].offset, inputs[i]);
}

void Session::finishStep(bool optimizerStep) {
  api->loco_synchronize(ctx);
  if (const char *error = api->loco_context_error(ctx))
    throw RunError(error);
  if (api->kind != "cpu")
    memory.sample(api->loco_context_device_memory(ctx, nullptr), optimizerStep);
}

StepOutputs Session::run(const EntryPoint &entry) {
  if (observer)
    observer->begin(entry.symbol);
  api->loco_run_step(ctx, entry.fn, arena);
  finishStep(/*optimizerStep=*/false);
  if (observer)
    observer->end();
  StepOutputs outputs;
  for (const ManifestTensor &out : entry.outputs) {
    std::vector<float> values = read(out.offset, out.numElements());
    if (out.shape.empty())
      outputs.losses.emplace_back(out.name, values[0]);
    else
      outputs.tensors.push_back({out.name, out.shape, std::move(values)});
  }
  return outputs;
}

void Session::allReduceGradients(Communicator &comm, const std::string &what,
                                 int64_t bucketBytes) {
  int64_t begin = std::numeric_limits<int64_t>::max(), end = 0, used = 0;
  for (const ManifestTensor &p : art->parameters())
    if (p.gradOffset >= 0) {
      begin = std::min(begin, p.gradOffset);
      end = std::max(end, p.gradOffset + p.bytes);
      used += p.bytes;
    }
  if (end <= begin)
    return;
  // The region holds accumulators and their alignment padding only: an
  // artifact whose accumulators interleave with other buffers (a layout
  // lococ never makes) would have its other buffers averaged too.
  if (end - begin > used + 256 * static_cast<int64_t>(art->parameters().size()))
    throw RunError("this train.so's gradient accumulators are not one "
                   "region; recompile it with this lococ");
  // Buckets: DDP's 25 MiB by default, at float boundaries.
  int64_t step = std::max<int64_t>(4, bucketBytes / 4 * 4);
  for (int64_t offset = begin; offset < end; offset += step)
    comm.allReduceMean(reinterpret_cast<float *>(arena + offset),
                       std::min(step, end - offset) / 4, what);
}

void Session::zeroGradients() {
  for (const ManifestTensor &p : art->parameters())
    if (p.gradOffset >= 0)
      write(p.gradOffset, std::vector<float>(p.numElements(), 0.0f));
}

std::string
Session::firstNonFinite(const std::vector<std::vector<float>> &inputs,
                        const StepOutputs &outputs) const {
  for (size_t i = 0; i < inputs.size() && i < art->inputs().size(); ++i)
    if (firstNonFiniteIndex(inputs[i]) >= 0)
      return "input '" + art->inputs()[i].name + "'";
  for (const ManifestTensor &p : art->parameters())
    if (firstNonFiniteIndex(read(p.offset, p.numElements())) >= 0)
      return "parameter '" + p.name + "'";
  // The estimates come before the losses computed from them.
  for (const F32Tensor &tensor : outputs.tensors)
    if (firstNonFiniteIndex(tensor.values) >= 0)
      return "output '" + tensor.name + "'";
  for (const auto &[name, value] : outputs.losses)
    if (!std::isfinite(value))
      return "output '" + name + "'";
  return "";
}

namespace {
/// What the debug hook checks against, for the re-run in progress.
struct NonFiniteSearch {
  const Backend *api = nullptr;
  std::vector<float> values;
  std::vector<uint16_t> halves;
  int64_t first = -1;
};
NonFiniteSearch *search = nullptr;

/// Whether the 16-bit pattern `h` of a bf16 (f16) element is Inf or NaN:
/// its exponent bits are all ones.
bool nonFiniteHalf(uint16_t h, int64_t dtype) {
  return dtype == LOCO_DTYPE_BF16 ? (h & 0x7f80u) == 0x7f80u
                                  : (h & 0x7c00u) == 0x7c00u;
}

void checkOpResult(loco_context *ctx, int64_t op, void *result, int64_t bytes,
                   int64_t dtype) {
  if (!search || search->first >= 0 || bytes <= 0)
    return;
  if (dtype == LOCO_DTYPE_F32) {
    search->values.resize(static_cast<size_t>(bytes) / sizeof(float));
    search->api->loco_copy_to_host(ctx, search->values.data(), result, bytes);
    if (firstNonFiniteIndex(search->values) >= 0)
      search->first = op;
    return;
  }
  search->halves.resize(static_cast<size_t>(bytes) / sizeof(uint16_t));
  search->api->loco_copy_to_host(ctx, search->halves.data(), result, bytes);
  for (uint16_t h : search->halves)
    if (nonFiniteHalf(h, dtype)) {
      search->first = op;
      return;
    }
}
} // namespace

std::string Session::firstNonFiniteOp(const EntryPoint &entry) {
  TrainArtifact::DebugHook *hook = art->debugHook();
  if (!hook)
    return "";
  NonFiniteSearch state;
  state.api = api.get();
  search = &state;
  TrainArtifact::DebugHook previous = *hook; // a profiler's, say
  *hook = checkOpResult;
  entry.fn(ctx, arena);
  api->loco_synchronize(ctx);
  *hook = previous;
  search = nullptr;
  zeroGradients();
  api->loco_context_clear_error(ctx);
  return state.first < 0 ? "" : art->describeOp(entry, state.first);
}

void Session::optimizerStep(int64_t step, double lr) {
  if (!art->optimizer())
    throw RunError("this train.so has no optimizer step (compiled without "
                   "gradients)");
  api->loco_context_set_optimizer(ctx, step, lr);
  if (observer)
    observer->begin(LOCO_ARTIFACT_OPTIMIZER_STEP);
  api->loco_run_step(ctx, art->optimizer(), arena);
  finishStep(/*optimizerStep=*/true);
  if (observer)
    observer->end();
}

loco_optimizer_scratch Session::optimizerScalars() const {
  loco_optimizer_scratch scratch;
  api->loco_copy_to_host(ctx, &scratch, arena + art->optimizerScratchOffset(),
                         sizeof(scratch));
  return scratch;
}

std::vector<F32Tensor> Session::parameters(bool withBuffers) const {
  std::vector<F32Tensor> tensors;
  for (const ManifestTensor &p : art->parameters())
    tensors.push_back({p.name, p.shape, read(p.offset, p.numElements())});
  if (withBuffers)
    for (const auto &buffer :
         art->manifest().value("buffers", nlohmann::json::array()))
      tensors.push_back({buffer.at("name").get<std::string>(),
                         buffer.at("shape").get<std::vector<int64_t>>(),
                         buffer.at("values").get<std::vector<float>>()});
  return tensors;
}

std::vector<F32Tensor> Session::gradients() const {
  std::vector<F32Tensor> tensors;
  for (const ManifestTensor &p : art->parameters())
    if (p.gradOffset >= 0)
      tensors.push_back({p.name, p.shape, read(p.gradOffset, p.numElements())});
  return tensors;
}

void Session::saveCheckpoint(const std::string &dir, const TrainState &state,
                             int64_t keep) const {
  CheckpointFile model{
      "model.safetensors", parameters(true), {{"format", "pt"}}};
  CheckpointFile optimizer{"optimizer.safetensors", {}, {}};
  for (const ManifestTensor &p : art->parameters()) {
    if (p.mOffset < 0)
      continue;
    optimizer.tensors.push_back(
        {"exp_avg." + p.name, p.shape, read(p.mOffset, p.numElements())});
    optimizer.tensors.push_back(
        {"exp_avg_sq." + p.name, p.shape, read(p.vOffset, p.numElements())});
  }
  // The invariant: nothing non-finite is ever written.
  for (const CheckpointFile *file : {&model, &optimizer})
    for (const F32Tensor &tensor : file->tensors)
      if (int64_t bad = firstNonFiniteIndex(tensor.values); bad >= 0)
        throw RunError("refusing to write checkpoint step " +
                       std::to_string(state.step) + " to '" + dir + "': '" +
                       tensor.name + "' holds a NaN or Inf (element " +
                       std::to_string(bad) + ")");
  optimizer.metadata = trainStateMetadata(state);
  writeCheckpoint(dir, state.step, {model, optimizer}, keep);
}

int64_t Session::checkpointBytes() const {
  int64_t bytes = 0;
  for (const ManifestTensor &p : art->parameters())
    bytes += 3 * p.bytes;
  return bytes + (1 << 16); // headers and the manifest
}

TrainState Session::loadCheckpoint(const std::string &dir) {
  std::string folder = findCheckpoint(dir);
  loadParameters(folder + "/model.safetensors");
  std::string path = folder + "/optimizer.safetensors";
  auto file = openOrThrow(path);
  const auto &meta = file->metadata();
  if (!meta.count("format") || meta.at("format") != "lococ-optimizer")
    throw RunError(path + ": not a lococ optimizer state (no "
                          "format=lococ-optimizer metadata)");
  for (const ManifestTensor &p : art->parameters()) {
    if (p.mOffset < 0)
      continue;
    for (auto [prefix, offset] : {std::pair{"exp_avg.", p.mOffset},
                                  std::pair{"exp_avg_sq.", p.vOffset}})
      write(offset, finiteTensorOrThrow(*file, path, prefix + p.name, p.shape));
  }
  return readTrainState(meta, path);
}
