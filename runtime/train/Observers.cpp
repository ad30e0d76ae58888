//===- Observers.cpp - Progress line, JSON lines, TensorBoard -------------===//
//
// This file implements the observers of Observers.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/Observers.h"

#include "runtime/support/RunError.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

using namespace loco;

//===----------------------------------------------------------------------===//
// ConsoleObserver
//===----------------------------------------------------------------------===//

ConsoleObserver::~ConsoleObserver() {
  if (lineOpen)
    std::fprintf(stderr, "\n");
}

std::string ConsoleObserver::progressLine(const StepRecord &r) {
  int width = 24;
  int filled =
      static_cast<int>(width * r.step / std::max<int64_t>(r.target, 1));
  char bar[256], skips[96] = "", scale[48] = "";
  if (r.lossScaling)
    std::snprintf(scale, sizeof(scale), " scale %g", r.nextLossScale);
  if (r.distributed)
    std::snprintf(scale + std::strlen(scale),
                  sizeof(scale) - std::strlen(scale), " batch %lldx%d",
                  static_cast<long long>(r.batch), r.ranks);
  if (r.skippedSteps > 0)
    std::snprintf(skips, sizeof(skips), "%s skipped %lld", scale,
                  static_cast<long long>(r.skippedSteps));
  else
    std::snprintf(skips, sizeof(skips), "%s", scale);
  double rate = (r.step - r.firstStep) / std::max(r.seconds, 1e-9);
  std::snprintf(bar, sizeof(bar),
                "step %lld/%lld [%s%s] loss %.4f lr %.2e grad %.1f %.2f step/s "
                "mem %.0f MiB (arena %.0f)%s",
                static_cast<long long>(r.step),
                static_cast<long long>(r.target),
                std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), r.loss, r.lr,
                r.gradNorm, rate, r.residentMiB, r.arenaMiB, skips);
  return bar;
}

void ConsoleObserver::onStep(const StepRecord &r) {
  std::string line = progressLine(r);
  if (terminal) {
    std::fprintf(stderr, "\r%s", line.c_str());
    lineOpen = true;
  } else if (r.step == r.target ||
             (r.step - r.firstStep) % std::max<int64_t>(1, r.target / 20) ==
                 0) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void ConsoleObserver::onValidation(const ValidationRecord &r) {
  std::string text;
  for (const auto &[source, db] : r.siSdr) {
    char item[64];
    std::snprintf(item, sizeof(item), " %s %.2f dB", source.c_str(), db);
    text += item;
  }
  char head[96];
  std::snprintf(head, sizeof(head), "validation after epoch %lld: loss %.4f",
                static_cast<long long>(r.epoch), r.loss);
  // Sources of any number: the line is not cut at a buffer's size.
  std::string line = head + (", SI-SDR" + text);
  if (r.tracks)
    line += " (" + std::to_string(r.tracks) + " whole tracks)";
  if (r.best && r.savedBest)
    line += "; best so far";
  onMessage(line);
}

void ConsoleObserver::onMessage(const std::string &line) {
  std::fprintf(stderr, "%s%s\n", lineOpen ? "\n" : "", line.c_str());
  lineOpen = false;
}

//===----------------------------------------------------------------------===//
// MetricsLog
//===----------------------------------------------------------------------===//

namespace {
/// JSON has no NaN: non-finite values are null.
nlohmann::ordered_json number(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value)
                              : nlohmann::ordered_json();
}
} // namespace

MetricsLog::MetricsLog(const std::string &path) : path(path) {
  out = std::fopen(path.c_str(), "a");
  if (!out)
    throw RunError("--metrics: cannot open '" + path +
                   "' for appending: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (out)
    std::fclose(out);
}

nlohmann::ordered_json loco::stepMetrics(const StepRecord &r) {
  nlohmann::ordered_json components = nlohmann::ordered_json::object();
  for (const auto &[name, value] : r.components)
    components[name] = number(value);
  nlohmann::ordered_json line{
      {"step", r.step},
      {"loss", number(r.loss)},
      {"lr", r.lr},
      {"grad_norm", number(r.gradNorm)},
      {"clip_coef", r.skipped ? nlohmann::ordered_json() : number(r.clipCoef)},
      {"components", components},
      {"seconds", r.seconds},
      // Data loading (on the loader thread) and the step's wait for it.
      {"load_seconds", r.loadSeconds},
      {"augment_seconds", r.augmentSeconds},
      {"data_wait_seconds", r.waitSeconds},
      {"skipped", r.skipped},
      {"skipped_steps", r.skippedSteps}};
  if (r.distributed) {
    // Measured: the wall time of this step's collectives, waiting for the
    // slowest rank included.
    line["allreduce_seconds"] = r.collectiveSeconds;
    line["ranks"] = r.ranks;
  }
  if (r.lossScaling) {
    line["loss_scale"] = r.lossScale;
    line["overflow"] = r.overflow;
  }
  return line;
}

nlohmann::ordered_json loco::validationMetrics(const ValidationRecord &r) {
  nlohmann::ordered_json sdr = nlohmann::ordered_json::object();
  for (const auto &[source, db] : r.siSdr)
    sdr[source] = db;
  return nlohmann::ordered_json{
      {"type", "validation"},     {"step", r.step},    {"epoch", r.epoch},
      {"val_loss", r.loss},       {"val_si_sdr", sdr}, {"val_tracks", r.tracks},
      {"val_seconds", r.seconds}, {"best", r.best},    {"lr", r.lr}};
}

void MetricsLog::onStep(const StepRecord &r) { write(stepMetrics(r).dump()); }

void MetricsLog::onValidation(const ValidationRecord &r) {
  write(validationMetrics(r).dump());
}

void MetricsLog::write(const std::string &line) {
  if (!out)
    return;
  std::string text = line + "\n";
  long before = std::ftell(out);
  if (std::fwrite(text.data(), 1, text.size(), out) == text.size() &&
      std::fflush(out) == 0)
    return;
  int error = errno;
  // Cut a partial line, so that every line of the file parses.
  if (before >= 0 && ::ftruncate(fileno(out), before) == 0)
    std::fseek(out, before, SEEK_SET);
  std::fprintf(stderr,
               "locorun: warning: cannot write --metrics %s (%s); training "
               "goes on without metrics\n",
               path.c_str(), std::strerror(error));
  std::fclose(out);
  out = nullptr;
}

//===----------------------------------------------------------------------===//
// TensorBoardObserver
//===----------------------------------------------------------------------===//

void TensorBoardObserver::onStep(const StepRecord &r) {
  writer.scalar("train/loss", r.loss, r.step);
  for (const auto &[name, value] : r.components)
    writer.scalar("train/" + name, value, r.step);
  writer.scalar("train/lr", r.lr, r.step);
  writer.scalar("train/grad_norm", r.gradNorm, r.step);
  writer.scalar("train/step_seconds", r.stepSeconds, r.step);
  writer.scalar("train/data_wait_seconds", r.waitSeconds, r.step);
  writer.scalar("train/load_seconds", r.loadSeconds, r.step);
  writer.scalar("train/augment_seconds", r.augmentSeconds, r.step);
  writer.scalar("train/memory_mib", r.residentMiB, r.step);
  if (r.deviceMiB >= 0)
    writer.scalar("train/device_memory_mib", r.deviceMiB, r.step);
  if (r.lossScaling)
    writer.scalar("train/loss_scale", r.nextLossScale, r.step);
  writer.flush();
}

void TensorBoardObserver::onValidation(const ValidationRecord &r) {
  writer.scalar("validation/loss", r.loss, r.step);
  for (const auto &[source, db] : r.siSdr)
    writer.scalar("validation/si_sdr/" + source, db, r.step);
  writer.flush();
}

void TensorBoardObserver::onAudio(const std::string &tag,
                                  const std::vector<float> &samples,
                                  int64_t sampleRate, int64_t step) {
  writer.audio(tag, samples, sampleRate, step);
}
