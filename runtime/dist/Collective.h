//===- Collective.h - Data-parallel launch and collectives ------*- C++ -*-===//
//
// This file declares what locorun needs to train one model on several
// processes: where this process stands in a launch (mpirun, srun or
// torchrun's environment), and a Communicator over the ranks. The
// transports are the ones clusters run: MPI (Open MPI from Debian) on the
// CPU backend and NCCL on CUDA. Each lives in a plugin that locorun opens
// only under a launcher (liblocorun_mpi.so, liblocorun_nccl.so beside the
// backends), so a single process never loads, let alone initialises, MPI.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_DIST_COLLECTIVE_H
#define LOCO_RUNTIME_DIST_COLLECTIVE_H

#include <cstdint>
#include <memory>
#include <string>

namespace loco {

/// This process's place in a launch, from the launcher's environment.
struct LaunchInfo {
  /// "mpirun" (Open MPI, MPICH), "srun" (Slurm), "torchrun", or empty for
  /// a process started on its own.
  std::string launcher;
  int rank = 0, worldSize = 1, localRank = 0;
  /// torchrun's rendezvous (MASTER_ADDR, MASTER_PORT).
  std::string masterAddr;
  int masterPort = 0;
  bool launched() const { return !launcher.empty(); }
};

/// Reads the environment of mpirun (OMPI_COMM_WORLD_*, PMI_*), srun
/// (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID) and torchrun (RANK,
/// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Throws RunError,
/// naming the variable, on a value that is not a number in range.
LaunchInfo detectLaunch();

/// Collectives over the ranks of a data-parallel run. Every rank calls the
/// same collectives in the same order. A rank that does not arrive within
/// the timeout makes the others stop with an error naming it (and the
/// launcher then ends the job): never a silent hang.
class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "MPI (Open MPI v4.1.4), 2 ranks".
  virtual std::string describe() const = 0;
  /// Averages `count` floats at `data` over the ranks, in place: host
  /// memory on the CPU backend, device memory on CUDA. `what` names the
  /// collective in a timeout's error ("the gradients of step 12").
  virtual void allReduceMean(float *data, int64_t count,
                             const std::string &what) = 0;
  /// Returns once every rank has reached collective `what`; after the
  /// timeout, ends the run with an error naming the ranks that did not.
  virtual void awaitPeers(const std::string &what) = 0;
  /// Sums `count` doubles in host memory over the ranks, in place.
  virtual void allReduceSum(double *data, int64_t count,
                            const std::string &what) = 0;
  /// Device or pinned bytes the transport holds outside the arena (NCCL's
  /// channels and buffers, measured around its initialisation).
  virtual int64_t transportBytes() const { return 0; }
  /// Reports `message` as this rank's error and ends every rank.
  [[noreturn]] virtual void abort(const std::string &message) = 0;

  /// Wall seconds spent in collectives so far (waiting included).
  double seconds = 0.0;
};

struct CommunicatorOptions {
  /// "cpu" or "cuda": MPI or NCCL.
  std::string backendKind;
  /// The CUDA device of this rank.
  int device = 0;
  /// --collective-timeout: seconds a rank waits for the others.
  double timeoutSeconds = 300.0;
};

/// Opens the transport of `options.backendKind` for `launch` (which must be
/// launched). Throws RunError when the plugin or its library is missing or
/// the launch cannot carry it (the CPU backend under torchrun alone).
std::unique_ptr<Communicator>
openCommunicator(const LaunchInfo &launch, const CommunicatorOptions &options);

} // namespace loco

// The plugins' entry points (C linkage, resolved with dlsym). Each returns
// a Communicator the caller owns, or null with `error` set. NCCL takes the
// MPI communicator of an mpirun or srun launch as `bootstrap` (its unique id
// travels over it, and it names a rank that does not arrive); under
// torchrun alone `bootstrap` is null and the id goes over a TCP rendezvous
// at MASTER_ADDR:MASTER_PORT.
extern "C" {
typedef loco::Communicator *(*LocoOpenCommunicatorFn)(
    const loco::LaunchInfo *launch, const loco::CommunicatorOptions *options,
    loco::Communicator *bootstrap, std::string *error);
loco::Communicator *
loco_open_mpi_communicator(const loco::LaunchInfo *launch,
                           const loco::CommunicatorOptions *options,
                           loco::Communicator *bootstrap, std::string *error);
loco::Communicator *
loco_open_nccl_communicator(const loco::LaunchInfo *launch,
                            const loco::CommunicatorOptions *options,
                            loco::Communicator *bootstrap, std::string *error);
}

#endif // LOCO_RUNTIME_DIST_COLLECTIVE_H
