//===- MpiCommunicator.cpp - Collectives over MPI (liblocorun_mpi.so) -----===//
//
// This file implements the MPI transport: MPI_Allreduce on host memory for
// the CPU backend, and the bootstrap and peer check of NCCL on CUDA.
//
// A collective starts with an arrival check: each rank posts a small
// message to every other and waits for theirs, polling against the
// deadline, so a rank that hangs or died before the collective is named
// by the others instead of stalling them forever. Once all have arrived,
// the reduction itself is MPI's blocking call. (A rank killed outright is
// also seen by mpirun, which ends the job and names it.)
//
//===----------------------------------------------------------------------===//

#include "runtime/dist/Collective.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace loco;

namespace {

constexpr int64_t kMaxChunk = int64_t(1) << 30; // MPI counts are int

/// This process's resident set, from /proc.
int64_t residentBytes() {
  long long pages = 0, resident = 0;
  if (FILE *statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%lld %lld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(statm);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator(int rank, int size, double timeout, int64_t residentBefore)
      : rankValue(rank), sizeValue(size), timeout(timeout),
        residentBefore(residentBefore) {}
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
      MPI_Finalize();
  }

  int rank() const override { return rankValue; }
  int size() const override { return sizeValue; }
  std::string describe() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, length);
    // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
    text = text.substr(0, text.find_first_of(",\n"));
    return "MPI (" + text + "), " + std::to_string(sizeValue) + " ranks";
  }

  void awaitPeers(const std::string &what) override {
    if (sizeValue == 1)
      return;
    auto start = std::chrono::steady_clock::now();
    // Tags cycle below the smallest MPI_TAG_UB the standard allows.
    int tag = static_cast<int>(sequence % 32000);
    long long mine = static_cast<long long>(sequence);
    ++sequence;
    std::vector<long long> theirs(sizeValue, -1);
    std::vector<MPI_Request> received, sent;
    std::vector<int> peers;
    for (int peer = 0; peer < sizeValue; ++peer) {
      if (peer == rankValue)
        continue;
      peers.push_back(peer);
      received.emplace_back();
      MPI_Irecv(&theirs[peer], 1, MPI_LONG_LONG, peer, tag, MPI_COMM_WORLD,
                &received.back());
    }
    for (int peer : peers) {
      sent.emplace_back();
      MPI_Isend(&mine, 1, MPI_LONG_LONG, peer, tag, MPI_COMM_WORLD,
                &sent.back());
    }
    // Polls with a growing pause (50 us to 5 ms): a rank waiting for a
    // slower one must not take the CPU from it.
    auto pause = std::chrono::microseconds(50);
    for (;;) {
      int done = 0;
      MPI_Testall(static_cast<int>(received.size()), received.data(), &done,
                  MPI_STATUSES_IGNORE);
      if (done)
        break;
      double waited = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      if (waited > timeout) {
        std::string missing;
        for (size_t i = 0; i < peers.size(); ++i) {
          int arrived = 0;
          MPI_Test(&received[i], &arrived, MPI_STATUS_IGNORE);
          if (!arrived)
            missing += (missing.empty() ? "" : ", ") + std::to_string(peers[i]);
        }
        abort("rank(s) " + missing + " did not reach " + what + " within " +
              formatSeconds(timeout) +
              " (--collective-timeout); each stopped, crashed or hangs. "
              "The newest checkpoint in --out is intact: resume from it "
              "with --resume at the same world size");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(5000));
    }
    MPI_Waitall(static_cast<int>(sent.size()), sent.data(),
                MPI_STATUSES_IGNORE);
    for (int peer : peers)
      if (theirs[peer] != mine)
        abort("rank " + std::to_string(peer) + " is at collective " +
              std::to_string(theirs[peer]) + " while this rank is at " +
              std::to_string(mine) + " (" + what +
              "): the ranks run different schedules (different train.so "
              "files or options?)");
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }

  /// What the resident set grew by over MPI_Init and the first gradient
  /// all-reduce: Open MPI's shared-memory segments and buffers.
  int64_t transportBytes() const override {
    return std::max<int64_t>(0, transport);
  }

  void allReduceMean(float *data, int64_t count,
                     const std::string &what) override {
    awaitPeers(what);
    auto start = std::chrono::steady_clock::now();
    for (int64_t first = 0; first < count; first += kMaxChunk)
      MPI_Allreduce(MPI_IN_PLACE, data + first,
                    static_cast<int>(std::min(kMaxChunk, count - first)),
                    MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (transport < 0)
      transport = std::max<int64_t>(0, residentBytes() - residentBefore);
    float scale = 1.0f / static_cast<float>(sizeValue);
    for (int64_t i = 0; i < count; ++i)
      data[i] *= scale;
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }

  void allReduceSum(double *data, int64_t count,
                    const std::string &what) override {
    awaitPeers(what);
    auto start = std::chrono::steady_clock::now();
    MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_DOUBLE,
                  MPI_SUM, MPI_COMM_WORLD);
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }

  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "locorun: error: rank %d: %s\n", rankValue,
                 message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

private:
  static std::string formatSeconds(double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g s", value);
    return text;
  }

  int rankValue, sizeValue;
  double timeout;
  uint64_t sequence = 0;
  int64_t residentBefore, transport = -1;
};

} // namespace

extern "C" Communicator *
loco_open_mpi_communicator(const LaunchInfo *launch,
                           const CommunicatorOptions *options,
                           Communicator *bootstrap, std::string *error) {
  delete bootstrap; // MPI needs none
  int64_t residentBefore = residentBytes();
  int provided = 0;
  // Only the main thread calls MPI (the batch loader never does).
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    *error = "MPI_Init_thread failed under " + launch->launcher;
    return nullptr;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank != launch->rank || size != launch->worldSize) {
    *error = "MPI says rank " + std::to_string(rank) + " of " +
             std::to_string(size) + ", but the launcher's environment says " +
             std::to_string(launch->rank) + " of " +
             std::to_string(launch->worldSize) +
             " (is locorun's MPI the launcher's? Debian's mpirun is Open MPI)";
    MPI_Finalize();
    return nullptr;
  }
  return new MpiCommunicator(rank, size, options->timeoutSeconds,
                             residentBefore);
}
