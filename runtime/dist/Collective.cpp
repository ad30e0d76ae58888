//===- Collective.cpp - Data-parallel launch and collectives --------------===//
//
// This file implements launch detection and the opening of the transport
// plugins.
//
//===----------------------------------------------------------------------===//

#include "runtime/dist/Collective.h"
#include "runtime/Backend.h"
#include "runtime/support/RunError.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

using namespace loco;

namespace {

/// The variable `name` as a number in [min, max], or `fallback` when unset.
int64_t readInt(const char *name, int64_t min, int64_t max, int64_t fallback) {
  const char *text = std::getenv(name);
  if (!text || !*text)
    return fallback;
  char *end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < min || value > max)
    throw RunError("the launcher's environment variable " + std::string(name) +
                   "='" + text + "' is not a number in [" +
                   std::to_string(min) + ", " + std::to_string(max) + "]");
  return value;
}

bool isSet(const char *name) {
  const char *text = std::getenv(name);
  return text && *text;
}

/// Fills rank, size and local rank from one launcher's three variables.
void readTriple(LaunchInfo &info, const char *rank, const char *size,
                const char *localRank) {
  info.worldSize = static_cast<int>(readInt(size, 1, 1 << 24, 1));
  info.rank = static_cast<int>(readInt(rank, 0, info.worldSize - 1, 0));
  info.localRank =
      static_cast<int>(readInt(localRank, 0, info.worldSize - 1, info.rank));
}

} // namespace

LaunchInfo loco::detectLaunch() {
  LaunchInfo info;
  if (isSet("OMPI_COMM_WORLD_SIZE")) { // Open MPI's mpirun (or srun + PMIx)
    info.launcher = "mpirun";
    readTriple(info, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
               "OMPI_COMM_WORLD_LOCAL_RANK");
  } else if (isSet("PMI_SIZE") && isSet("PMI_RANK")) { // MPICH's Hydra
    info.launcher = "mpirun";
    readTriple(info, "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID");
  } else if (isSet("SLURM_STEP_NUM_TASKS") && isSet("SLURM_PROCID")) {
    // Inside an srun step (a batch script alone sets no step variables).
    info.launcher = "srun";
    readTriple(info, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID");
  } else if (isSet("WORLD_SIZE") && isSet("RANK")) { // torchrun
    info.launcher = "torchrun";
    readTriple(info, "RANK", "WORLD_SIZE", "LOCAL_RANK");
    if (const char *addr = std::getenv("MASTER_ADDR"))
      info.masterAddr = addr;
    info.masterPort = static_cast<int>(readInt("MASTER_PORT", 1, 65535, 0));
  }
  return info;
}

std::unique_ptr<Communicator>
loco::openCommunicator(const LaunchInfo &launch,
                       const CommunicatorOptions &options) {
  // The emulated device has its own NCCL (one rank), in its own plugin.
  bool emulated = options.backendKind == "cuda_emu";
  bool cuda = options.backendKind == "cuda" || emulated;
  bool mpi = launch.launcher == "mpirun" || launch.launcher == "srun";
  if (!cuda && !mpi)
    throw RunError("the CPU backend's collectives run over MPI, and " +
                   launch.launcher +
                   " starts no MPI job; launch with `mpirun -np N locorun "
                   "...` or `srun --mpi=pmix locorun ...` (torchrun's "
                   "rendezvous serves NCCL, on --device cuda)");
  // The plugins live beside the backends, and are looked for as they are.
  auto open = [&](const std::string &file,
                  const char *symbol) -> LocoOpenCommunicatorFn {
    std::vector<std::string> candidates = Backend::libraryCandidates(file);
    candidates.push_back(file); // the dynamic linker's own search
    std::string tried;
    for (const std::string &path : candidates) {
      if (path != file && !std::filesystem::exists(path))
        continue;
      void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        tried += "\n  " + path + ": " + dlerror();
        continue;
      }
      if (void *fn = dlsym(handle, symbol))
        return reinterpret_cast<LocoOpenCommunicatorFn>(fn);
      tried += "\n  " + path + " lacks " + symbol;
    }
    throw RunError("data-parallel training under " + launch.launcher +
                   " needs " + file + " (built when " +
                   (emulated ? "-DLOCO_CUDA_EMULATION=ON"
                    : cuda   ? "CUDA with NCCL"
                             : "Open MPI, libopenmpi-dev,") +
                   " is found); tried:" + tried);
  };
  std::string error;
  std::unique_ptr<Communicator> bootstrap;
  if (mpi) {
    LocoOpenCommunicatorFn openMpi =
        open("liblocorun_mpi.so", "loco_open_mpi_communicator");
    bootstrap.reset(openMpi(&launch, &options, nullptr, &error));
    if (!bootstrap)
      throw RunError(error);
    if (!cuda)
      return bootstrap;
  }
  LocoOpenCommunicatorFn openNccl =
      open(emulated ? "liblocorun_nccl_emu.so" : "liblocorun_nccl.so",
           "loco_open_nccl_communicator");
  // NCCL keeps the MPI communicator (it owns it from here on).
  Communicator *nccl = openNccl(&launch, &options, bootstrap.release(), &error);
  if (!nccl)
    throw RunError(error);
  return std::unique_ptr<Communicator>(nccl);
}
