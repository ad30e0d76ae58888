//===- Profile.cpp - locorun --profile: a measured kernel profile ---------===//
//
// This file implements Profiler.
//
//===----------------------------------------------------------------------===//

#include "runtime/observe/Profile.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

using namespace loco;

std::string loco::describeBackend(Session &session) {
  const Backend &api = session.backend();
  std::string text = api.loco_context_describe(session.context());
  if (text.rfind("cpu", 0) != 0)
    return text;
  char error[256] = {};
  loco_context *ctx = api.loco_context_create("cpu", error, sizeof(error));
  if (!ctx)
    return text;
  constexpr int64_t M = 8192, K = 64, N = 192;
  std::vector<float> x(M * K, 0.5f), w(N * K, 0.25f), out(M * N);
  api.loco_linear(ctx, x.data(), w.data(), out.data(), M, K, N); // warm-up
  // The best of 10 windows of 20 ms: a process's first 0.1 s or so is
  // shared with the idle threads OpenBLAS starts at load (they spin before
  // they sleep), which would show as a slow kernel.
  double best = 0.0;
  for (int window = 0; window < 10; ++window) {
    int64_t calls = 0;
    double seconds = 0.0;
    auto start = std::chrono::steady_clock::now();
    while (seconds < 0.02) {
      api.loco_linear(ctx, x.data(), w.data(), out.data(), M, K, N);
      ++calls;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              start)
                    .count();
    }
    best = std::max(best, 2.0 * M * N * K * calls / seconds * 1e-9);
  }
  api.loco_context_destroy(ctx);
  char rate[96];
  std::snprintf(rate, sizeof(rate),
                "; linear %lldx%lld by %lldx%lld: %.0f GFLOP/s",
                static_cast<long long>(M), static_cast<long long>(K),
                static_cast<long long>(K), static_cast<long long>(N), best);
  return text + rate;
}

namespace {
/// The profiler whose hook train.so calls (one session per process).
Profiler *active = nullptr;
const Backend *activeBackend = nullptr;

/// Slices kept in the trace; the summary counts every call.
constexpr int64_t kMaxSlices = 2'000'000;

/// "loco.conv1d in blocks.0... (tiny.yaml:23:3)" -> "loco.conv1d".
std::string kindOf(const std::string &name) {
  size_t end = std::min(name.find(" in "), name.find(" ("));
  return name.substr(0, end);
}
} // namespace

Profiler::Profiler(Session &session, std::string path)
    : session(session), path(std::move(path)) {
  TrainArtifact::DebugHook *slot = session.artifact().debugHook();
  debug =
      session.artifact().manifest().value("debug", nlohmann::json::object());
  if (!slot || !debug.contains("costs"))
    throw RunError("--profile needs a train.so that reports its kernel calls "
                   "(loco_debug_hook and the manifest's debug costs); "
                   "recompile it with this lococ");
  if (active)
    throw RunError("internal: a second profiler");
  active = this;
  activeBackend = &session.backend();
  *slot = &Profiler::hook;
  session.backend().loco_context_profile(session.context(), 1);
  origin = std::chrono::steady_clock::now();
  session.setObserver(this);
}

Profiler::~Profiler() {
  if (TrainArtifact::DebugHook *slot = session.artifact().debugHook())
    *slot = nullptr;
  session.backend().loco_context_profile(session.context(), 0);
  session.setObserver(nullptr);
  active = nullptr;
}

void Profiler::hook(loco_context *ctx, int64_t op, void *, int64_t, int64_t) {
  // One mark per kernel call: its first reported result.
  if (!active || op == active->lastOp)
    return;
  active->lastOp = op;
  ++active->marks;
  activeBackend->loco_context_profile_mark(ctx);
}

void Profiler::begin(const std::string &entry) {
  symbol = entry;
  lastOp = -1;
  marks = 1;
  callStart = std::chrono::steady_clock::now();
  session.backend().loco_context_profile_mark(session.context());
}

void Profiler::end() {
  auto callEnd = std::chrono::steady_clock::now();
  times.resize(static_cast<size_t>(marks));
  int64_t count = session.backend().loco_context_profile_read(
      session.context(), times.data(), marks);
  // The entry's rows of the manifest's tables, by reference: a long step
  // has 10^5 of them.
  static const nlohmann::json none = nlohmann::json::array();
  auto rows = [&](const char *table) -> const nlohmann::json & {
    auto found = debug.find(table);
    if (found == debug.end())
      return none;
    auto entry = found->find(symbol);
    return entry == found->end() ? none : *entry;
  };
  const nlohmann::json &names = debug["names"];
  const nlohmann::json &ops = rows("ops");
  const nlohmann::json &costs = rows("costs");
  if (count != marks || count - 1 > static_cast<int64_t>(ops.size()))
    throw RunError("--profile: " + symbol + " reported " +
                   std::to_string(count - 1) +
                   " kernel calls, and its "
                   "manifest lists " +
                   std::to_string(ops.size()));
  double base = std::chrono::duration<double>(callStart - origin).count() * 1e6;
  double wall = std::chrono::duration<double>(callEnd - callStart).count();
  ++entryCalls;
  wallSeconds += wall;
  auto keep = [&] {
    if (static_cast<int64_t>(events.size()) < kMaxSlices)
      return true;
    ++droppedSlices;
    return false;
  };
  if (keep())
    events.push_back({{"name", symbol},
                      {"cat", "step"},
                      {"ph", "X"},
                      {"pid", 0},
                      {"tid", 0},
                      {"ts", base},
                      {"dur", wall * 1e6}});
  for (int64_t k = 1; k < count; ++k) {
    double seconds = times[k] - times[k - 1];
    std::string name = names.at(ops.at(k - 1).get<size_t>());
    int64_t flops = costs.at(k - 1).at(0), bytes = costs.at(k - 1).at(1);
    std::string kindName = kindOf(name);
    Kind &kind = kinds[kindName];
    ++kind.calls;
    kind.seconds += seconds;
    kind.flops += flops;
    kind.bytes += bytes;
    kernelSeconds += seconds;
    ++kernelCalls;
    if (keep())
      events.push_back({{"name", kindName},
                        {"cat", "kernel"},
                        {"ph", "X"},
                        {"pid", 0},
                        {"tid", 1},
                        {"ts", base + times[k - 1] * 1e6},
                        {"dur", seconds * 1e6},
                        {"args",
                         {{"op", name},
                          {"entry", symbol},
                          {"call", k - 1},
                          {"flops", flops},
                          {"bytes", bytes}}}});
  }
}

void Profiler::finish() {
  if (finished)
    return;
  finished = true;
  nlohmann::json trace{
      {"traceEvents", std::move(events)},
      {"displayTimeUnit", "ms"},
      {"otherData",
       {{"backend", session.backend().loco_context_describe(session.context())},
        {"entry_calls", entryCalls},
        {"kernel_calls", kernelCalls},
        {"kernel_seconds", kernelSeconds},
        {"wall_seconds", wallSeconds},
        {"dropped_slices", droppedSlices}}}};
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << trace.dump() << "\n";
    if (!out)
      throw RunError("cannot write the profile '" + path + "'");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    throw RunError("cannot move '" + temporary + "' to '" + path + "'");

  std::vector<std::pair<std::string, Kind>> sorted(kinds.begin(), kinds.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
    return a.second.seconds > b.second.seconds;
  });
  std::fprintf(stderr, "profile: backend %s\n",
               describeBackend(session).c_str());
  std::fprintf(stderr,
               "profile: %lld kernel calls in %lld step calls; kernels %.3f s "
               "of %.3f s wall (%.1f%%); trace %s\n",
               static_cast<long long>(kernelCalls),
               static_cast<long long>(entryCalls), kernelSeconds, wallSeconds,
               100.0 * kernelSeconds / std::max(wallSeconds, 1e-12),
               path.c_str());
  std::fprintf(stderr, "  %-34s %8s %10s %7s %9s %8s\n", "op kind", "calls",
               "time (s)", "share", "GFLOP/s", "GB/s");
  for (const auto &[name, kind] : sorted) {
    double seconds = std::max(kind.seconds, 1e-12);
    std::fprintf(stderr, "  %-34s %8lld %10.4f %6.1f%% %9.2f %8.2f\n",
                 name.c_str(), static_cast<long long>(kind.calls), kind.seconds,
                 100.0 * kind.seconds / std::max(kernelSeconds, 1e-12),
                 kind.flops / seconds * 1e-9, kind.bytes / seconds * 1e-9);
  }
}
