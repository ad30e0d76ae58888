//===- TrainState.cpp - What a checkpoint carries besides weights ---------===//
//
// This file implements TrainState's encoding as checkpoint metadata.
//
//===----------------------------------------------------------------------===//

#include "runtime/io/TrainState.h"

#include "runtime/support/RunError.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

using namespace loco;

namespace {
std::string real(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}
} // namespace

std::map<std::string, std::string>
loco::trainStateMetadata(const TrainState &state) {
  return {{"format", "lococ-optimizer"},
          {"step", std::to_string(state.step)},
          {"lr", real(state.lr)},
          {"best_val_loss", real(state.bestValLoss)},
          {"best_saved_val_loss", real(state.bestSavedValLoss)},
          {"early_stop_best", real(state.earlyStopBest)},
          {"early_stop_bad", std::to_string(state.earlyStopBad)},
          {"bad_epochs", std::to_string(state.badEpochs)},
          {"cooldown", std::to_string(state.cooldown)},
          {"seed", std::to_string(state.seed)},
          {"skipped_steps", std::to_string(state.skippedSteps)},
          {"loss_scale", real(state.lossScale)},
          {"scale_growth_tracker", std::to_string(state.scaleGrowthTracker)},
          {"world_size", std::to_string(state.worldSize)}};
}

TrainState loco::readTrainState(const std::map<std::string, std::string> &meta,
                                const std::string &path) {
  // Counters: whole decimal numbers in range, or the file is refused.
  auto integer = [&](const char *key, int64_t low) {
    auto it = meta.find(key);
    if (it == meta.end())
      throw RunError(path + ": metadata '" + key + "' is missing");
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(it->second, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    if (used == 0 || used != it->second.size() || value < low)
      throw RunError(path + ": metadata '" + key + "' is '" + it->second +
                     "'; expected an integer >= " + std::to_string(low));
    return static_cast<int64_t>(value);
  };
  auto real = [&](const char *key) {
    auto it = meta.find(key);
    if (it == meta.end())
      throw RunError(path + ": metadata '" + key + "' is missing");
    char *end = nullptr;
    double value = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end || std::isnan(value))
      throw RunError(path + ": metadata '" + key + "' is '" + it->second +
                     "'; expected a number");
    return value;
  };
  TrainState state;
  state.step = integer("step", 0);
  state.lr = real("lr");
  if (!std::isfinite(state.lr) || state.lr < 0)
    throw RunError(path + ": metadata 'lr' must be a finite number >= 0");
  state.bestValLoss = real("best_val_loss");
  // Checkpoints before best/ existed: the next validation is the best.
  if (meta.count("best_saved_val_loss"))
    state.bestSavedValLoss = real("best_saved_val_loss");
  // Checkpoints before early stopping: its count starts again.
  if (meta.count("early_stop_best")) {
    state.earlyStopBest = real("early_stop_best");
    state.earlyStopBad = integer("early_stop_bad", 0);
  }
  state.badEpochs = integer("bad_epochs", 0);
  state.cooldown = integer("cooldown", 0);
  state.seed = static_cast<uint64_t>(integer("seed", 0));
  state.skippedSteps = meta.count("skipped_steps")
                           ? integer("skipped_steps", 0)
                           : 0; // checkpoints before skipping existed
  if (state.skippedSteps > state.step)
    throw RunError(path + ": metadata 'skipped_steps' exceeds 'step'");
  // Checkpoints before loss scaling existed keep GradScaler's defaults.
  if (meta.count("loss_scale")) {
    state.lossScale = real("loss_scale");
    if (!std::isfinite(state.lossScale) || !(state.lossScale > 0))
      throw RunError(path +
                     ": metadata 'loss_scale' must be a finite number > 0");
    state.scaleGrowthTracker = integer("scale_growth_tracker", 0);
  }
  // Checkpoints before data parallelism: one process.
  state.worldSize = meta.count("world_size") ? integer("world_size", 1) : 1;
  return state;
}
