//===- Artifact.cpp - A loaded train.so -----------------------------------===//
//
// This file implements loading a train.so: dlopen (its loco_* references
// bind to the backend library locorun is linked with), the check that it is
// a lococ artifact of this runtime ABI, and the manifest.
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Artifact.h"

#include <dlfcn.h>

using namespace loco;

int64_t ManifestTensor::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

static bool readTensors(const nlohmann::json &list,
                        std::vector<ManifestTensor> &out) {
  if (!list.is_array())
    return false;
  for (const auto &item : list) {
    ManifestTensor t;
    t.name = item.at("name").get<std::string>();
    t.shape = item.at("shape").get<std::vector<int64_t>>();
    t.offset = item.at("offset").get<int64_t>();
    t.bytes = item.at("bytes").get<int64_t>();
    if (item.contains("init"))
      t.init = item.at("init").get<std::string>();
    t.gradOffset = item.value("grad_offset", int64_t(-1));
    t.mOffset = item.value("m_offset", int64_t(-1));
    t.vOffset = item.value("v_offset", int64_t(-1));
    out.push_back(std::move(t));
  }
  return true;
}

std::unique_ptr<TrainArtifact> TrainArtifact::open(const std::string &path,
                                                   std::string &error) {
  auto artifact = std::unique_ptr<TrainArtifact>(new TrainArtifact());
  // dlopen searches the library path for a name without a slash; the user
  // means the file here.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  artifact->handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!artifact->handle) {
    error = "cannot load '" + path + "' as a lococ train.so: " + dlerror();
    return nullptr;
  }
  auto *version = static_cast<const int32_t *>(
      dlsym(artifact->handle, "loco_abi_version"));
  auto *manifest =
      static_cast<const char *>(dlsym(artifact->handle, "loco_manifest"));
  if (!version || !manifest) {
    error = "'" + path +
            "' is not a lococ artifact (it has no loco_abi_version and "
            "loco_manifest); compile one with lococ";
    return nullptr;
  }
  if (*version != LOCO_ABI_VERSION) {
    error = "'" + path + "' was compiled for runtime ABI version " +
            std::to_string(*version) + ", but this locorun supports version " +
            std::to_string(LOCO_ABI_VERSION) + "; recompile it with this lococ";
    return nullptr;
  }
  artifact->json = nlohmann::json::parse(manifest, nullptr,
                                         /*allow_exceptions=*/false);
  if (artifact->json.is_discarded() || !artifact->json.is_object() ||
      artifact->json.value("format", "") != "lococ-train-so") {
    error = "'" + path + "' has a corrupt manifest";
    return nullptr;
  }
  try {
    if (!readTensors(artifact->json.at("parameters"), artifact->params) ||
        !readTensors(artifact->json.at("inputs"), artifact->ins))
      throw std::runtime_error("tensor lists are not arrays");
    const nlohmann::json &entries = artifact->json.at("entry_points");
    auto resolve = [&](const std::string &symbol) {
      void *fn = dlsym(artifact->handle, symbol.c_str());
      if (!fn)
        throw std::runtime_error("entry point '" + symbol + "' is missing");
      return reinterpret_cast<EntryPoint::Fn>(fn);
    };
    for (auto [key, entry] : {std::pair{"train", &artifact->trainEntry},
                              std::pair{"eval", &artifact->evalEntry}}) {
      if (!entries.contains(key))
        continue;
      entry->fn = resolve(entries.at(key).at("symbol").get<std::string>());
      if (!readTensors(entries.at(key).at("outputs"), entry->outputs))
        throw std::runtime_error("outputs are not an array");
    }
    if (!artifact->trainEntry)
      throw std::runtime_error("no train entry point");
    if (entries.contains("optimizer")) {
      artifact->optimizerFn =
          resolve(entries.at("optimizer").at("symbol").get<std::string>());
      artifact->scratchOffset =
          entries.at("optimizer").at("scratch_offset").get<int64_t>();
    }
    artifact->trainingJson =
        artifact->json.value("training", nlohmann::json::object());
  } catch (const std::exception &e) {
    error = "'" + path + "' has a corrupt manifest: " + e.what();
    return nullptr;
  }
  return artifact;
}

TrainArtifact::~TrainArtifact() {
  if (handle)
    dlclose(handle);
}
