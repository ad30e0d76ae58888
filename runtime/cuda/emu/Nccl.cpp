//===- Nccl.cpp - NCCL for one rank on the emulated device ----------------===//
//
// This file implements Nccl.h: communicators of one rank, whose all-reduce
// is the identity (an average divides by one) put on the caller's stream.
// A non-blocking communicator answers ncclInProgress and settles on the
// second poll of ncclCommGetAsyncError after the call, so that a caller's
// polling loops run; its collectives reach their streams then, and their
// result buffers hold NaN bytes until they do.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Nccl.h"
#include "runtime/cuda/emu/Emulator.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace loco::emu {

struct NcclComm {
  bool blocking = true;
  bool initializing = false, finalizing = false, finalized = false;
  /// Polls of ncclCommGetAsyncError still answered ncclInProgress.
  int pollsLeft = 0;
  /// Collectives called but not yet on their streams.
  std::vector<std::pair<cudaStream_t, std::function<void()>>> pending;
  std::string lastError;
};

} // namespace loco::emu

using namespace loco::emu;

namespace {

/// The first bytes of every id ncclGetUniqueId makes.
constexpr char kIdMagic[] = "loco_cuda_emu NCCL id";

std::mutex mutex;
std::set<NcclComm *> live;
uint64_t idsMade = 0;
std::string lastError;

ncclResult_t failure(NcclComm *comm, ncclResult_t result,
                     const std::string &why) {
  lastError = why;
  if (comm)
    comm->lastError = why;
  return result;
}

NcclComm *find(ncclComm_t comm) { return live.count(comm) ? comm : nullptr; }

/// Puts the settled collectives on their streams.
ncclResult_t settle(NcclComm &comm) {
  comm.initializing = false;
  auto pending = std::move(comm.pending);
  comm.pending.clear();
  for (auto &[stream, work] : pending)
    if (!submit(stream, std::move(work)))
      return failure(&comm, ncclUnhandledCudaError,
                     "a collective reached a stream whose capture was "
                     "invalidated");
  if (comm.finalizing) {
    comm.finalizing = false;
    comm.finalized = true;
  }
  return ncclSuccess;
}

/// A non-blocking call: it settles on the second poll.
ncclResult_t inProgress(NcclComm &comm) {
  comm.pollsLeft = 1;
  return ncclInProgress;
}

} // namespace

const char *ncclGetErrorString(ncclResult_t result) {
  switch (result) {
  case ncclSuccess:
    return "no error";
  case ncclUnhandledCudaError:
    return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
  case ncclSystemError:
    return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
  case ncclInternalError:
    return "internal error - please report this issue to the NCCL developers";
  case ncclInvalidArgument:
    return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  case ncclInvalidUsage:
    return "invalid usage (run with NCCL_DEBUG=WARN for details)";
  case ncclRemoteError:
    return "remote process exited or there was a network error";
  case ncclInProgress:
    return "NCCL operation in progress";
  }
  return "unknown result code";
}

const char *ncclGetLastError(ncclComm_t comm) {
  std::lock_guard<std::mutex> lock(mutex);
  if (NcclComm *found = find(comm))
    return found->lastError.c_str();
  return lastError.c_str();
}

ncclResult_t ncclGetVersion(int *version) {
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  std::lock_guard<std::mutex> lock(mutex);
  std::memset(id->internal, 0, sizeof(id->internal));
  std::memcpy(id->internal, kIdMagic, sizeof(kIdMagic));
  uint64_t serial = ++idsMade;
  std::memcpy(id->internal + sizeof(kIdMagic), &serial, sizeof(serial));
  return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks,
                                    ncclUniqueId id, int rank,
                                    ncclConfig_t *config) {
  std::lock_guard<std::mutex> lock(mutex);
  *comm = nullptr;
  if (config && config->magic != 0xcafebeef)
    return failure(nullptr, ncclInvalidArgument,
                   "the configuration was not set from "
                   "NCCL_CONFIG_INITIALIZER");
  if (nranks != 1)
    return failure(nullptr, ncclInvalidUsage,
                   "the emulated device's NCCL has one rank, and " +
                       std::to_string(nranks) + " were asked for");
  if (rank != 0)
    return failure(nullptr, ncclInvalidArgument,
                   "rank " + std::to_string(rank) + " of 1");
  if (std::memcmp(id.internal, kIdMagic, sizeof(kIdMagic)) != 0)
    return failure(nullptr, ncclInvalidArgument,
                   "the unique id was not made by ncclGetUniqueId (did the "
                   "bootstrap deliver it?)");
  auto *made = new NcclComm();
  made->blocking = !config || config->blocking == NCCL_CONFIG_UNDEF_INT ||
                   config->blocking != 0;
  live.insert(made);
  *comm = made;
  if (made->blocking)
    return ncclSuccess;
  made->initializing = true;
  return inProgress(*made);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *state) {
  std::lock_guard<std::mutex> lock(mutex);
  NcclComm *found = find(comm);
  if (!found)
    return failure(nullptr, ncclInvalidArgument, "not a live communicator");
  if (found->pollsLeft > 0) {
    --found->pollsLeft;
    *state = ncclInProgress;
    return ncclSuccess;
  }
  *state = settle(*found);
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(mutex);
  NcclComm *found = find(comm);
  if (!found)
    return failure(nullptr, ncclInvalidArgument, "not a live communicator");
  // NCCL: after ncclInProgress, poll ncclCommGetAsyncError until the call
  // settles before the next call on the communicator.
  if (found->initializing || !found->pending.empty())
    return failure(found, ncclInvalidUsage,
                   std::string(found->initializing ? "the communicator's "
                                                     "initialisation"
                                                   : "the last collective") +
                       " has not settled (poll ncclCommGetAsyncError until "
                       "it does)");
  if (found->finalizing || found->finalized)
    return failure(found, ncclInvalidUsage, "the communicator is finalized");
  size_t element = datatype == ncclFloat32   ? sizeof(float)
                   : datatype == ncclFloat64 ? sizeof(double)
                                             : 0;
  if (!element)
    return failure(found, ncclInvalidArgument,
                   "the emulation reduces float32 and float64 only");
  if (op < ncclSum || op > ncclAvg)
    return failure(found, ncclInvalidArgument, "not a built-in operation");
  if (count > SIZE_MAX / element)
    return failure(found, ncclInvalidArgument,
                   std::to_string(count) + " elements overflow a size");
  size_t bytes = count * element;
  if (bytes == 0)
    return ncclSuccess;
  requireDeviceRange("ncclAllReduce", "the send buffer", sendbuff, bytes);
  requireDeviceRange("ncclAllReduce", "the receive buffer", recvbuff, bytes);
  // One rank: every operation gives the rank's values (an average divides
  // them by one, which leaves every float as it is).
  auto reduceInto = [=](void *to, const void *from) {
    if (to != from)
      std::memmove(to, from, bytes);
  };
  // A blocking call, or one a capture records, is on its stream now.
  if (found->blocking || isCapturing(stream)) {
    if (!submit(stream, [=] {
          if (!dryRun())
            reduceInto(recvbuff, sendbuff);
        }))
      return failure(found, ncclUnhandledCudaError,
                     "the stream's capture was invalidated");
    return ncclSuccess;
  }
  // Non-blocking: the values are taken now; until the collective reaches
  // its stream, the result buffer holds NaN bytes.
  auto values = std::make_shared<std::vector<char>>();
  if (!dryRun()) {
    values->resize(bytes);
    std::memcpy(values->data(), sendbuff, bytes);
    std::memset(recvbuff, 0xff, bytes);
  }
  found->pending.emplace_back(stream, [=] {
    if (!dryRun())
      reduceInto(recvbuff, values->data());
  });
  return inProgress(*found);
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  std::lock_guard<std::mutex> lock(mutex);
  NcclComm *found = find(comm);
  if (!found)
    return failure(nullptr, ncclInvalidArgument, "not a live communicator");
  if (found->finalizing || found->finalized)
    return failure(found, ncclInvalidUsage, "finalized twice");
  if (found->initializing || !found->pending.empty())
    return failure(found, ncclInvalidUsage,
                   "a call has not settled (poll ncclCommGetAsyncError until "
                   "it does)");
  found->finalizing = true;
  if (found->blocking)
    return settle(*found);
  return inProgress(*found);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!comm)
    return ncclSuccess;
  NcclComm *found = find(comm);
  if (!found)
    return failure(nullptr, ncclInvalidArgument, "not a live communicator");
  live.erase(found);
  delete found;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }
