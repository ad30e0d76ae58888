//===- Profile.h - locorun --profile: a measured kernel profile -*- C++ -*-===//
//
// This file declares Profiler: with it attached, every step of a Session
// records a mark after each kernel call (train.so reports each call to its
// `loco_debug_hook`; the backend times the mark: the wall clock on the CPU,
// an event on the stream on CUDA, where steps then run without graphs), and
// the marks become one slice per kernel call, named by the manifest (op,
// module path, config line) with its flops and bytes. At the end it writes
// a Chrome/Perfetto trace and prints a summary by op kind: time, share,
// GFLOP/s and GB/s. `lococ --trace` stays the plan's picture; this is the
// run's.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_OBSERVE_PROFILE_H
#define LOCO_RUNTIME_OBSERVE_PROFILE_H

#include "runtime/abi/api.h"
#include "runtime/session/Session.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loco {

/// The backend's description and, on the CPU, the rate of its linear kernel
/// measured now (0.2 s, a fresh context) on a [8192 x 64] x [64 x 192]
/// product, a small config's shape: what --verbose and --profile print, so
/// that a slow GEMM path shows.
std::string describeBackend(Session &session);

class Profiler final : public EntryObserver {
public:
  /// Attaches to `session` (its train.so must have a debug hook) and writes
  /// the trace to `path` at finish().
  Profiler(Session &session, std::string path);
  ~Profiler() override;
  Profiler(const Profiler &) = delete;
  Profiler &operator=(const Profiler &) = delete;

  /// Around one call of entry point `symbol` (Session::run and
  /// optimizerStep call them): the first mark, then the slices.
  void begin(const std::string &symbol) override;
  void end() override;

  /// Writes the trace and prints the summary table to stderr.
  void finish();

  struct Kind {
    int64_t calls = 0, flops = 0, bytes = 0;
    double seconds = 0.0;
  };

private:
  static void hook(loco_context *ctx, int64_t op, void *result, int64_t bytes,
                   int64_t dtype);

  Session &session;
  std::string path;
  nlohmann::json debug; ///< the manifest's "debug" table
  std::chrono::steady_clock::time_point origin, callStart;
  std::string symbol;
  int64_t lastOp = -1, marks = 0;
  std::vector<double> times;
  nlohmann::json events = nlohmann::json::array();
  std::map<std::string, Kind> kinds;
  double kernelSeconds = 0.0, wallSeconds = 0.0;
  int64_t entryCalls = 0, kernelCalls = 0, droppedSlices = 0;
  bool finished = false;
};

} // namespace loco

#endif // LOCO_RUNTIME_OBSERVE_PROFILE_H
