//===- NcclCommunicator.cpp - Collectives over NCCL (liblocorun_nccl.so) --===//
//
// This file implements the NCCL transport of the CUDA backend: one process
// per GPU, gradients averaged in place in the arena (ncclAvg) on a stream
// of their own. The communicator's unique id travels over MPI under mpirun
// or srun, or over a TCP rendezvous under torchrun (rank 0 listens on
// LOCO_RENDEZVOUS_PORT, by default MASTER_PORT + 1, because torchrun's own
// store holds MASTER_PORT). Every wait polls against --collective-timeout;
// on expiry the communicator is aborted (ncclCommAbort) and the run ends
// with an error. Under MPI, the MPI arrival check before each collective
// names a rank that does not come.
//
//===----------------------------------------------------------------------===//

#include "runtime/dist/Collective.h"
#include "runtime/dist/StagedAllReduce.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

using namespace loco;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// NCCL's text for `result`, and what it last said went wrong on `comm`
/// (or anywhere, for a communicator not made yet).
std::string ncclText(ncclResult_t result, ncclComm_t comm) {
  std::string text = ncclGetErrorString(result);
  const char *detail = ncclGetLastError(comm);
  if (detail && *detail)
    text += std::string(": ") + detail;
  return text;
}

/// Sends or receives exactly `bytes` over `fd`.
bool transfer(int fd, void *data, size_t bytes, bool send) {
  char *cursor = static_cast<char *>(data);
  while (bytes > 0) {
    ssize_t n = send ? ::send(fd, cursor, bytes, MSG_NOSIGNAL)
                     : ::recv(fd, cursor, bytes, 0);
    if (n <= 0)
      return false;
    cursor += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

/// torchrun's launch: rank 0 serves the id to the other ranks over TCP.
bool rendezvous(const LaunchInfo &launch, double timeout, ncclUniqueId &id,
                std::string &error) {
  int port = launch.masterPort + 1;
  if (const char *text = std::getenv("LOCO_RENDEZVOUS_PORT"))
    port = std::atoi(text);
  if (launch.masterAddr.empty() || port <= 0 || port > 65535) {
    error = "torchrun's rendezvous needs MASTER_ADDR and MASTER_PORT (or "
            "LOCO_RENDEZVOUS_PORT)";
    return false;
  }
  auto start = Clock::now();
  std::string where = launch.masterAddr + ":" + std::to_string(port);
  if (launch.rank == 0) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(server, reinterpret_cast<sockaddr *>(&address), sizeof(address)) ||
        listen(server, launch.worldSize)) {
      error = "rank 0 cannot listen on port " + std::to_string(port) + ": " +
              std::strerror(errno) + " (set LOCO_RENDEZVOUS_PORT)";
      close(server);
      return false;
    }
    for (int joined = 1; joined < launch.worldSize; ++joined) {
      timeval wait{static_cast<time_t>(std::max(1.0, timeout - since(start))),
                   0};
      setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
      int peer = accept(server, nullptr, nullptr);
      if (peer < 0 || !transfer(peer, &id, sizeof(id), true)) {
        error = "only " + std::to_string(joined) + " of " +
                std::to_string(launch.worldSize) +
                " ranks joined the "
                "rendezvous at " +
                where + " within the collective timeout";
        if (peer >= 0)
          close(peer);
        close(server);
        return false;
      }
      close(peer);
    }
    close(server);
    return true;
  }
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(launch.masterAddr.c_str(), std::to_string(port).c_str(),
                  &hints, &found) != 0 ||
      !found) {
    error = "cannot resolve MASTER_ADDR '" + launch.masterAddr + "'";
    return false;
  }
  // Rank 0 may not listen yet: retry until the timeout.
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
      bool ok = transfer(fd, &id, sizeof(id), false);
      close(fd);
      freeaddrinfo(found);
      if (!ok)
        error = "the rendezvous at " + where + " closed before the id came";
      return ok;
    }
    close(fd);
    if (since(start) > timeout) {
      freeaddrinfo(found);
      error = "rank 0 did not open the rendezvous at " + where +
              " within the collective timeout";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

class NcclCommunicator final : public Communicator {
public:
  NcclCommunicator(const LaunchInfo &launch, double timeout,
                   Communicator *bootstrap)
      : launch(launch), timeout(timeout), peers(bootstrap) {}
  ~NcclCommunicator() override {
    if (comm && !ready) {
      // Its initialisation never settled: nothing to flush.
      ncclCommAbort(comm);
    } else if (comm) {
      // A non-blocking communicator is finalized (its outstanding work
      // flushed, polled against the timeout) before it is destroyed.
      std::string error;
      ncclResult_t result = ncclCommFinalize(comm);
      if ((result == ncclSuccess || result == ncclInProgress) &&
          settle("NCCL's finalization", error))
        ncclCommDestroy(comm);
      else
        ncclCommAbort(comm);
    }
    if (stream)
      cudaStreamDestroy(stream);
    if (staging)
      cudaFree(staging);
    if (hostStaging)
      cudaFreeHost(hostStaging);
  }

  /// Creates the communicator (non-blocking, polled against the timeout)
  /// and measures what it allocated on the device.
  bool init(int device, std::string &error) {
    if (cudaSetDevice(device) != cudaSuccess) {
      error = "cannot select CUDA device " + std::to_string(device);
      return false;
    }
    size_t freeBefore = 0, total = 0;
    cudaMemGetInfo(&freeBefore, &total);
    ncclUniqueId id{};
    if (launch.rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) {
      error = "ncclGetUniqueId failed";
      return false;
    }
    if (peers) {
      // A broadcast over MPI as a sum of bytes: rank 0's, and zeros.
      double bytes[sizeof(id.internal)];
      for (size_t i = 0; i < sizeof(id.internal); ++i)
        bytes[i] =
            launch.rank == 0 ? static_cast<unsigned char>(id.internal[i]) : 0.0;
      peers->allReduceSum(bytes, sizeof(id.internal), "NCCL's bootstrap");
      for (size_t i = 0; i < sizeof(id.internal); ++i)
        id.internal[i] =
            static_cast<char>(static_cast<unsigned char>(bytes[i]));
    } else if (!rendezvous(launch, timeout, id, error)) {
      return false;
    }
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) !=
        cudaSuccess) {
      error = "cannot create the all-reduce stream";
      return false;
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclResult_t result = ncclCommInitRankConfig(&comm, launch.worldSize, id,
                                                 launch.rank, &config);
    if (result != ncclSuccess && result != ncclInProgress) {
      error = "ncclCommInitRankConfig: " + ncclText(result, comm);
      return false;
    }
    if (!settle("NCCL's initialisation", error))
      return false;
    ready = true;
    size_t freeAfter = 0;
    cudaMemGetInfo(&freeAfter, &total);
    bytes = freeBefore > freeAfter
                ? static_cast<int64_t>(freeBefore - freeAfter)
                : 0;
    return true;
  }

  int rank() const override { return launch.rank; }
  int size() const override { return launch.worldSize; }
  std::string describe() const override {
    int version = 0;
    ncclGetVersion(&version);
    return "NCCL " + std::to_string(version / 10000) + "." +
           std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100) + " (bootstrap over " +
           (peers ? "MPI" : "a TCP rendezvous") + "), " +
           std::to_string(launch.worldSize) + " ranks";
  }
  int64_t transportBytes() const override { return bytes; }

  void awaitPeers(const std::string &what) override {
    if (peers)
      peers->awaitPeers(what);
  }

  void allReduceMean(float *data, int64_t count,
                     const std::string &what) override {
    awaitPeers(what);
    auto start = Clock::now();
    size_t freeBefore = 0, total = 0;
    if (first)
      cudaMemGetInfo(&freeBefore, &total);
    ncclResult_t result = ncclAllReduce(data, data, static_cast<size_t>(count),
                                        ncclFloat, ncclAvg, comm, stream);
    finish(result, what);
    if (first) {
      // NCCL connects its channels at the first collective.
      size_t freeAfter = 0;
      cudaMemGetInfo(&freeAfter, &total);
      if (freeBefore > freeAfter)
        bytes += static_cast<int64_t>(freeBefore - freeAfter);
      first = false;
    }
    seconds += since(start);
  }

  void allReduceSum(double *data, int64_t count,
                    const std::string &what) override {
    awaitPeers(what);
    auto start = Clock::now();
    size_t size = static_cast<size_t>(count) * sizeof(double);
    if (size > stagingBytes) {
      if (staging)
        cudaFree(staging);
      if (hostStaging)
        cudaFreeHost(hostStaging);
      staging = hostStaging = nullptr;
      // Pinned host memory: a copy to pageable memory blocks the thread
      // until it is done, out of reach of the timeout and of abort.
      if (cudaMalloc(&staging, size) != cudaSuccess ||
          cudaMallocHost(&hostStaging, size) != cudaSuccess)
        abort("cannot allocate " + std::to_string(size) + " bytes to reduce " +
              what);
      stagingBytes = size;
    }
    std::memcpy(hostStaging, data, size);
    // The copy back is enqueued only once the collective is on the stream
    // (StagedAllReduce.h says why).
    struct Steps {
      NcclCommunicator &self;
      size_t size, count;
      const std::string &what;
      Clock::time_point start = Clock::now();
      bool copy(void *to, const void *from, cudaMemcpyKind kind) {
        cudaError_t status = cudaMemcpyAsync(to, from, size, kind, self.stream);
        if (status != cudaSuccess)
          self.abort(what +
                     ": a staging copy failed: " + cudaGetErrorString(status));
        return true;
      }
      bool copyIn() {
        return copy(self.staging, self.hostStaging, cudaMemcpyHostToDevice);
      }
      CollectiveState reduce() {
        return state(ncclAllReduce(self.staging, self.staging, count,
                                   ncclFloat64, ncclSum, self.comm,
                                   self.stream));
      }
      CollectiveState poll() {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        ncclResult_t async = ncclSuccess;
        ncclCommGetAsyncError(self.comm, &async);
        return state(async);
      }
      CollectiveState state(ncclResult_t result) {
        if (result == ncclInProgress)
          return CollectiveState::InProgress;
        if (result != ncclSuccess)
          self.abort("NCCL failed in " + what + ": " +
                     ncclText(result, self.comm));
        return CollectiveState::Done;
      }
      bool expired() {
        if (since(start) > self.timeout)
          self.abort(what + " was not enqueued within the collective "
                            "timeout (a rank did not join)");
        return false;
      }
      bool copyOut() {
        return copy(self.hostStaging, self.staging, cudaMemcpyDeviceToHost);
      }
      bool wait() {
        self.finish(ncclSuccess, what);
        return true;
      }
    } steps{*this, size, static_cast<size_t>(count), what};
    stagedAllReduce(steps);
    std::memcpy(data, hostStaging, size);
    seconds += since(start);
  }
  [[noreturn]] void abort(const std::string &message) override {
    if (comm)
      ncclCommAbort(comm);
    comm = nullptr;
    if (peers)
      peers->abort(message); // MPI_Abort: the launcher ends every rank
    std::fprintf(stderr, "locorun: error: rank %d: %s\n", launch.rank,
                 message.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }

private:
  /// Polls an in-progress NCCL call until it settles or the timeout ends.
  bool settle(const std::string &what, std::string &error) {
    auto start = Clock::now();
    for (;;) {
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(comm, &state);
      if (state == ncclSuccess)
        return true;
      if (state != ncclInProgress) {
        error = what + ": " + ncclText(state, comm);
        return false;
      }
      if (since(start) > timeout) {
        error = what + " did not complete within the collective timeout "
                       "(a rank did not join)";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Waits for the stream's collective, against the timeout.
  void finish(ncclResult_t result, const std::string &what) {
    std::string error;
    if (result != ncclSuccess && result != ncclInProgress)
      abort("NCCL failed in " + what + ": " + ncclText(result, comm));
    if (!settle(what, error))
      abort(error);
    auto start = Clock::now();
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      cudaError_t done = cudaStreamQuery(stream);
      if (done == cudaSuccess)
        return;
      if (done != cudaErrorNotReady)
        abort(what + ": " + cudaGetErrorString(done));
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(comm, &state);
      if (state != ncclSuccess && state != ncclInProgress)
        abort("NCCL failed in " + what + ": " + ncclText(state, comm));
      if (since(start) > timeout)
        abort(what + " did not complete within " + std::to_string(timeout) +
              " s (--collective-timeout): a rank stopped, crashed or hangs. "
              "The newest checkpoint in --out is intact: resume from it "
              "with --resume at the same world size");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(2000));
    }
  }

  LaunchInfo launch;
  double timeout;
  std::unique_ptr<Communicator> peers;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void *staging = nullptr, *hostStaging = nullptr;
  size_t stagingBytes = 0;
  int64_t bytes = 0;
  bool first = true;
  /// The communicator's initialisation settled (finalize, else abort).
  bool ready = false;
};

} // namespace

extern "C" Communicator *
loco_open_nccl_communicator(const LaunchInfo *launch,
                            const CommunicatorOptions *options,
                            Communicator *bootstrap, std::string *error) {
  auto communicator = std::make_unique<NcclCommunicator>(
      *launch, options->timeoutSeconds, bootstrap);
  // (locorun's error names the rank.)
  if (!communicator->init(options->device, *error))
    return nullptr;
  return communicator.release();
}
