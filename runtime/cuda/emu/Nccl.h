//===- Nccl.h - NCCL for one rank, emulated ---------------------*- C++ -*-===//
//
// This file declares the part of NCCL (nccl.h) that the NCCL transport
// (runtime/dist/NcclCommunicator.cpp) calls, for the emulated device: one
// rank per communicator, blocking or non-blocking. Nccl.cpp does what NCCL
// documents for a non-blocking communicator (config.blocking = 0): its
// initialisation, collectives and finalization return ncclInProgress, and
// settle only when ncclCommGetAsyncError is polled. A collective is put on
// its stream when it settles, so work enqueued on that stream in between
// runs before it; until then its result buffer holds NaN bytes, so that a
// reader ordered before the collective finds no result (on a GPU it would
// find the rank's own values, missing the other ranks').
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_CUDA_EMU_NCCL_H
#define LOCO_RUNTIME_CUDA_EMU_NCCL_H

#include "runtime/cuda/emu/Runtime.h"

#include <climits>
#include <cstddef>

/// The API version followed (NCCL 2.28, as the CUDA toolkit ships it).
#define NCCL_MAJOR 2
#define NCCL_MINOR 28
#define NCCL_PATCH 9
#define NCCL_VERSION(X, Y, Z) ((X) * 10000 + (Y) * 100 + (Z))
#define NCCL_VERSION_CODE NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH)

enum ncclResult_t {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
};

enum ncclRedOp_t {
  ncclSum = 0,
  ncclProd = 1,
  ncclMax = 2,
  ncclMin = 3,
  ncclAvg = 4
};

enum ncclDataType_t {
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
};

#define NCCL_UNIQUE_ID_BYTES 128
struct ncclUniqueId {
  char internal[NCCL_UNIQUE_ID_BYTES];
};

namespace loco::emu {
struct NcclComm;
}
using ncclComm_t = loco::emu::NcclComm *;

/// NCCL's configuration (the fields the emulation reads: blocking).
struct ncclConfig_t {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking;
};
#define NCCL_CONFIG_UNDEF_INT INT_MIN
#define NCCL_CONFIG_INITIALIZER                                                \
  {sizeof(ncclConfig_t), 0xcafebeef, NCCL_VERSION_CODE, NCCL_CONFIG_UNDEF_INT}

const char *ncclGetErrorString(ncclResult_t result);
/// Why the last call on `comm` (or, with null, any call) failed.
const char *ncclGetLastError(ncclComm_t comm);
ncclResult_t ncclGetVersion(int *version);
ncclResult_t ncclGetUniqueId(ncclUniqueId *id);
ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks,
                                    ncclUniqueId id, int rank,
                                    ncclConfig_t *config);
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *state);
ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclCommFinalize(ncclComm_t comm);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclCommAbort(ncclComm_t comm);

#endif // LOCO_RUNTIME_CUDA_EMU_NCCL_H
