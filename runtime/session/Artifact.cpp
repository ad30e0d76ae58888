//===- Artifact.cpp - A loaded train.so -----------------------------------===//
//
// This file implements loading a train.so: the checks before dlopen (a
// complete ELF shared object for this machine), dlopen (its loco_*
// references bind to the backend library locorun is linked with), the check
// that it is a lococ artifact of this runtime ABI, and the manifest, whose
// every region must lie inside its arena.
//
//===----------------------------------------------------------------------===//

#include "runtime/session/Artifact.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

using namespace loco;

/// a * b into `out`; true on overflow.
static bool mulOverflow(int64_t a, int64_t b, int64_t &out) {
  return __builtin_mul_overflow(a, b, &out);
}

int64_t ManifestTensor::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

/// Whether every number in `value` converts to an int64_t without undefined
/// behaviour: nlohmann's get<int64_t>() casts a float such as 1e100
/// directly (found by fuzzing the manifest).
static bool numbersInRange(const nlohmann::json &value) {
  if (value.is_number_float()) {
    double number = value.get<double>();
    return number > -9.2e18 && number < 9.2e18;
  }
  if (value.is_structured())
    for (const nlohmann::json &item : value)
      if (!numbersInRange(item))
        return false;
  return true;
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

/// Empty when `path` is a complete 64-bit ELF shared object for this
/// machine: every program and section header, and every loaded segment,
/// lies inside the file. dlopen maps a truncated file and faults (SIGBUS)
/// on the missing pages, so this is checked before it runs.
std::string loco::checkSharedObject(const std::string &path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0)
    return std::string("cannot read it: ") + std::strerror(errno);
  if (S_ISDIR(info.st_mode))
    return "it is a folder";
  if (!S_ISREG(info.st_mode))
    return "it is not a regular file";
  uint64_t size = static_cast<uint64_t>(info.st_size);
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char *>(&header), sizeof(header)))
    return "it is too short to be a shared object";
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return "it is not an ELF file";
#if defined(__x86_64__)
  constexpr uint16_t kMachine = EM_X86_64;
#elif defined(__aarch64__)
  constexpr uint16_t kMachine = EM_AARCH64;
#else
  constexpr uint16_t kMachine = EM_NONE;
#endif
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_type != ET_DYN ||
      (kMachine != EM_NONE && header.e_machine != kMachine))
    return "it is not a shared object for this machine";
  // [offset, offset + count * entry) inside the file, without overflow.
  auto inside = [&](uint64_t offset, uint64_t count, uint64_t entry) {
    return offset <= size && (entry == 0 || count <= (size - offset) / entry);
  };
  if (header.e_phentsize != sizeof(Elf64_Phdr) ||
      !inside(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr)))
    return "its program headers lie outside the file (truncated?)";
  if (header.e_shoff != 0 &&
      !inside(header.e_shoff, header.e_shnum, header.e_shentsize))
    return "its section headers lie outside the file (truncated?)";
  in.seekg(static_cast<std::streamoff>(header.e_phoff));
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    if (!in.read(reinterpret_cast<char *>(&segment), sizeof(segment)))
      return "its program headers cannot be read";
    if (segment.p_type == PT_LOAD &&
        !inside(segment.p_offset, 1, segment.p_filesz))
      return "a loaded segment lies outside the file (truncated?)";
  }
  return "";
}

/// Empty when every region the manifest names lies inside its arena;
/// else the first that does not.
static std::string checkRegions(const TrainArtifact &artifact,
                                int64_t scratchOffset) {
  int64_t arena = artifact.arenaBytes();
  if (arena <= 0)
    return "arena_bytes is " + std::to_string(arena);
  auto fits = [&](int64_t offset, int64_t bytes) {
    return offset >= 0 && bytes >= 0 && offset <= arena &&
           bytes <= arena - offset;
  };
  auto checkTensor = [&](const ManifestTensor &t) -> std::string {
    int64_t elements = 1;
    for (int64_t dim : t.shape)
      if (dim < 0 || mulOverflow(elements, dim, elements))
        return "tensor '" + t.name + "' has a bad shape";
    if (mulOverflow(elements, int64_t(4), elements) || elements != t.bytes)
      return "tensor '" + t.name + "' has " + std::to_string(t.bytes) +
             " bytes for its shape";
    auto outside = [&](int64_t offset) {
      return "tensor '" + t.name + "' at offset " + std::to_string(offset) +
             " (" + std::to_string(t.bytes) + " bytes) lies outside the " +
             std::to_string(arena) + "-byte arena";
    };
    if (!fits(t.offset, t.bytes))
      return outside(t.offset);
    // Its gradient and moments, where it has them (-1 where not).
    for (int64_t offset : {t.gradOffset, t.mOffset, t.vOffset})
      if (offset != -1 && !fits(offset, t.bytes))
        return outside(offset);
    return "";
  };
  for (const auto *list :
       {&artifact.parameters(), &artifact.inputs(), &artifact.train().outputs,
        &artifact.eval().outputs, &artifact.separate().outputs})
    for (const ManifestTensor &t : *list)
      if (std::string why = checkTensor(t); !why.empty())
        return why;
  if (!fits(artifact.workspaceOffset(), artifact.workspaceBytes()))
    return "the workspace lies outside the arena";
  if (artifact.optimizer() &&
      !fits(scratchOffset, sizeof(loco_optimizer_scratch)))
    return "the optimizer scratch lies outside the arena";
  return "";
}

nlohmann::json loco::peekManifest(const std::string &path) {
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  if (!checkSharedObject(file).empty())
    return nullptr;
  // Lazy binding: the kernels (loco_*) stay unresolved, as no backend is
  // loaded yet; only the manifest's bytes are read, and the library is
  // closed again before the real load.
  void *handle = dlopen(file.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle)
    return nullptr;
  nlohmann::json manifest;
  if (auto *text =
          static_cast<const char *>(dlsym(handle, LOCO_ARTIFACT_MANIFEST)))
    manifest = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  dlclose(handle);
  return manifest.is_object() ? manifest : nlohmann::json();
}

std::unique_ptr<TrainArtifact> TrainArtifact::open(const std::string &path,
                                                   std::string &error) {
  auto artifact = std::unique_ptr<TrainArtifact>(new TrainArtifact());
  // dlopen searches the library path for a name without a slash; the user
  // means the file here.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  if (std::string why = checkSharedObject(file); !why.empty()) {
    error = "cannot load '" + path + "' as a lococ train.so: " + why;
    return nullptr;
  }
  artifact->handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!artifact->handle) {
    error = "cannot load '" + path + "' as a lococ train.so: " + dlerror();
    return nullptr;
  }
  auto *version = static_cast<const int32_t *>(
      dlsym(artifact->handle, LOCO_ARTIFACT_ABI_VERSION));
  auto *manifest = static_cast<const char *>(
      dlsym(artifact->handle, LOCO_ARTIFACT_MANIFEST));
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
  void *handle = artifact->handle;
  artifact->handle = nullptr; // fromManifest's artifact owns it from here
  std::unique_ptr<TrainArtifact> loaded = fromManifest(
      manifest, *version,
      [handle](const std::string &symbol) {
        return dlsym(handle, symbol.c_str());
      },
      path, error);
  if (loaded) {
    loaded->handle = handle;
    loaded->hook =
        static_cast<DebugHook *>(dlsym(handle, LOCO_ARTIFACT_DEBUG_HOOK));
  } else {
    dlclose(handle);
  }
  return loaded;
}

std::string TrainArtifact::describeOp(const EntryPoint &entry,
                                      int64_t index) const {
  std::string fallback = "op " + std::to_string(index) + " of " + entry.symbol;
  const nlohmann::json *debug =
      json.contains("debug") ? &json["debug"] : nullptr;
  if (!debug || !debug->is_object() || !debug->contains("ops") ||
      !debug->contains("names"))
    return fallback;
  const nlohmann::json &ops = (*debug)["ops"], &names = (*debug)["names"];
  if (!ops.is_object() || !ops.contains(entry.symbol) || !names.is_array())
    return fallback;
  const nlohmann::json &list = ops[entry.symbol];
  if (!list.is_array() || index < 0 ||
      index >= static_cast<int64_t>(list.size()) ||
      !list[index].is_number_unsigned() ||
      list[index].get<uint64_t>() >= names.size() ||
      !names[list[index].get<uint64_t>()].is_string())
    return fallback;
  return names[list[index].get<uint64_t>()].get<std::string>();
}

std::unique_ptr<TrainArtifact> TrainArtifact::fromManifest(
    const char *manifest, int32_t version,
    const std::function<void *(const std::string &)> &symbol,
    const std::string &path, std::string &error) {
  auto artifact = std::unique_ptr<TrainArtifact>(new TrainArtifact());
  artifact->json = nlohmann::json::parse(manifest, nullptr,
                                         /*allow_exceptions=*/false);
  if (artifact->json.is_discarded() || !artifact->json.is_object() ||
      !artifact->json.contains("format") ||
      artifact->json["format"] != "lococ-train-so") {
    error = "'" + path + "' has a corrupt manifest";
    return nullptr;
  }
  if (!numbersInRange(artifact->json)) {
    error = "'" + path + "' has a corrupt manifest: a number out of range";
    return nullptr;
  }
  try {
    if (!readTensors(artifact->json.at("parameters"), artifact->params) ||
        !readTensors(artifact->json.at("inputs"), artifact->ins))
      throw std::runtime_error("tensor lists are not arrays");
    const nlohmann::json &entries = artifact->json.at("entry_points");
    auto resolve = [&](const std::string &name) {
      void *fn = symbol(name);
      if (!fn)
        throw std::runtime_error("entry point '" + name + "' is missing");
      return reinterpret_cast<EntryPoint::Fn>(fn);
    };
    for (auto [key, entry] :
         {std::pair{"train", &artifact->trainEntry},
          std::pair{"eval", &artifact->evalEntry},
          std::pair{"separate", &artifact->separateEntry}}) {
      if (!entries.contains(key))
        continue;
      entry->symbol = entries.at(key).at("symbol").get<std::string>();
      entry->fn = resolve(entry->symbol);
      if (!readTensors(entries.at(key).at("outputs"), entry->outputs))
        throw std::runtime_error("outputs are not an array");
    }
    if (!artifact->trainEntry && !artifact->separateEntry)
      throw std::runtime_error("no train or separate entry point");
    if (entries.contains("optimizer")) {
      artifact->optimizerFn =
          resolve(entries.at("optimizer").at("symbol").get<std::string>());
      artifact->scratchOffset =
          entries.at("optimizer").at("scratch_offset").get<int64_t>();
    }
    // The manifest's own ABI version (edited apart from the symbol?).
    if (artifact->json.value("abi_version", int64_t(-1)) != version)
      throw std::runtime_error(
          "its abi_version (" +
          artifact->json.value("abi_version", nlohmann::json()).dump() +
          ") is not the library's (" + std::to_string(version) + ")");
    if (!artifact->json.at("arena_bytes").is_number_integer())
      throw std::runtime_error("arena_bytes is not an integer");
    if (std::string why = checkRegions(*artifact, artifact->scratchOffset);
        !why.empty())
      throw std::runtime_error(why);
    // The config tables, typed: a key of the wrong type is refused here,
    // before any step.
    artifact->configTables = ConfigManifest::fromJson(artifact->json);
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
