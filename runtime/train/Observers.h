//===- Observers.h - Progress line, JSON lines, TensorBoard -----*- C++ -*-===//
//
// This file declares the three observers locorun attaches to a training
// run (rank 0 only): the progress line and messages on stderr, --metrics
// JSON lines, and --tensorboard event files.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_TRAIN_OBSERVERS_H
#define LOCO_RUNTIME_TRAIN_OBSERVERS_H

#include "runtime/observe/TensorBoard.h"
#include "runtime/train/TrainingObserver.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace loco {

/// The progress line (redrawn in place on a terminal, else every 5% of the
/// run) and the messages, on stderr.
class ConsoleObserver final : public TrainingObserver {
public:
  explicit ConsoleObserver(bool terminal) : terminal(terminal) {}
  ~ConsoleObserver() override;
  void onStep(const StepRecord &record) override;
  void onValidation(const ValidationRecord &record) override;
  void onMessage(const std::string &line) override;

  /// The progress line of `record` ("step 3/8 [#########...] loss ...").
  static std::string progressLine(const StepRecord &record);

private:
  bool terminal;
  bool lineOpen = false; ///< a progress line without its newline yet
};

/// --metrics: JSON lines appended to a file, one per step and one per
/// validation. A line is written whole or not at all (a failed write is
/// cut back to the line before it), and a failed write warns once and ends
/// the metrics, not the training, as the TensorBoard writer does. JSON has
/// no NaN: a skipped step's non-finite values are null.
/// The JSON object of one step, and of one validation, as --metrics writes
/// them (one per line); non-finite values are null.
nlohmann::ordered_json stepMetrics(const StepRecord &record);
nlohmann::ordered_json validationMetrics(const ValidationRecord &record);

class MetricsLog final : public TrainingObserver {
public:
  /// Throws RunError naming --metrics when `path` cannot be opened.
  explicit MetricsLog(const std::string &path);
  ~MetricsLog() override;
  void onStep(const StepRecord &record) override;
  void onValidation(const ValidationRecord &record) override;

private:
  void write(const std::string &line);
  std::string path;
  std::FILE *out = nullptr;
};

/// --tensorboard: scalars every step, and at each validation its scores and
/// a few seconds of separated audio, as upstream's trainer logs.
class TensorBoardObserver final : public TrainingObserver {
public:
  explicit TensorBoardObserver(const std::string &dir) : writer(dir) {}
  void onStep(const StepRecord &record) override;
  void onValidation(const ValidationRecord &record) override;
  void onAudio(const std::string &tag, const std::vector<float> &samples,
               int64_t sampleRate, int64_t step) override;
  bool wantsAudio() const override { return true; }
  bool wantsDeviceMemory() const override { return true; }

private:
  TensorBoardWriter writer;
};

} // namespace loco

#endif // LOCO_RUNTIME_TRAIN_OBSERVERS_H
