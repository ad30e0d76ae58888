//===- Backend.cpp - A runtime backend loaded at run time -----------------===//
//
// This file implements Backend::open: finding a backend library, opening it
// and resolving the whole ABI from it.
//
//===----------------------------------------------------------------------===//

#include "runtime/Backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

using namespace loco;

namespace {
/// The directory of the running executable, or empty.
std::filesystem::path executableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}
} // namespace

Backend::~Backend() {
  // The library stays loaded: a train.so bound to it may outlive this
  // table, and CUDA's runtime does not support being unloaded and reloaded.
}

std::string Backend::kindOfDevice(const std::string &device) {
  if (device == "cpu")
    return "cpu";
  if (device == "cuda" || device.rfind("cuda:", 0) == 0)
    return "cuda";
  // The CUDA backend compiled for the CPU (docs/CUDA_EMULATION.md).
  if (device == "cuda-emu" || device.rfind("cuda-emu:", 0) == 0)
    return "cuda_emu";
  return "";
}

std::vector<std::string> Backend::libraryCandidates(const std::string &file) {
  std::vector<std::string> candidates;
  if (const char *dir = std::getenv("LOCO_BACKEND_DIR"))
    candidates.push_back((std::filesystem::path(dir) / file).string());
  std::filesystem::path exeDir = executableDir();
  if (!exeDir.empty()) {
    candidates.push_back((exeDir.parent_path() / "lib" / file).string());
    candidates.push_back((exeDir / file).string());
  }
  return candidates;
}

std::unique_ptr<Backend> Backend::open(const std::string &kind, bool global,
                                       std::string &error) {
  std::string file = "libloco_" + kind + ".so";
  std::vector<std::string> candidates = libraryCandidates(file);
  std::unique_ptr<Backend> backend(new Backend());
  backend->kind = kind;
  std::string tried;
  int flags = RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL);
  for (const std::string &path : candidates) {
    if (!std::filesystem::exists(path)) {
      tried += "\n  " + path + " (absent)";
      continue;
    }
    backend->handle = dlopen(path.c_str(), flags);
    if (backend->handle) {
      backend->path = path;
      break;
    }
    tried += "\n  " + path + ": " + dlerror();
  }
  if (!backend->handle) {
    // Last, the dynamic linker's own search (LD_LIBRARY_PATH, the cache).
    backend->handle = dlopen(file.c_str(), flags);
    if (!backend->handle) {
      tried +=
          std::string("\n  ") + file + " on the library path: " + dlerror();
      error =
          "cannot load the " + kind + " backend (" + file + ")" +
          (kind == "cuda" ? "; was lococ built with CUDA (LOCO_CUDA)?" : "") +
          " Tried:" + tried;
      return nullptr;
    }
    backend->path = file;
  }
#define LOCO_BACKEND_RESOLVE(name)                                             \
  backend->name =                                                              \
      reinterpret_cast<decltype(&::name)>(dlsym(backend->handle, #name));      \
  if (!backend->name) {                                                        \
    error = backend->path + " is not a lococ backend of ABI version " +        \
            std::to_string(LOCO_ABI_VERSION) + ": it lacks " #name;            \
    return nullptr;                                                            \
  }
  LOCO_ABI_FUNCTIONS(LOCO_BACKEND_RESOLVE)
#undef LOCO_BACKEND_RESOLVE
  return backend;
}
