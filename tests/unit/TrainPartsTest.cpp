//===- TrainPartsTest.cpp - The training loop's parts, one by one ---------===//
//
// The schedule, loss scaler, early stopping and checkpoint policy against
// sequences worked out by hand from torch's definitions
// (torch.optim.lr_scheduler.ReduceLROnPlateau, torch.cuda.amp.GradScaler)
// and upstream's trainer; the metrics log and the progress line against
// their formats; the train state against its metadata round trip.
//
//===----------------------------------------------------------------------===//

#include "runtime/io/TrainState.h"
#include "runtime/support/RunError.h"
#include "runtime/train/CheckpointPolicy.h"
#include "runtime/train/EarlyStopping.h"
#include "runtime/train/LossScaler.h"
#include "runtime/train/LrSchedule.h"
#include "runtime/train/Observers.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace loco;

namespace {
/// A manifest's training table (the keys lococ writes).
TrainingManifest hp(const nlohmann::json &table) {
  return TrainingManifest::fromJson(table);
}
} // namespace

TEST(LrSchedule, WarmupIsLinearFromTheStartRate) {
  LrSchedule s = LrSchedule::fromTraining(
      hp({{"lr", 1e-3}, {"warmup_steps", 4}, {"warmup_start_lr", 1e-4}}));
  TrainState state;
  state.lr = s.baseLr;
  // step k of 4: 1e-4 + (1e-3 - 1e-4) * k / 4; the base rate after.
  EXPECT_DOUBLE_EQ(s.lr(state, 1), 1e-4 + 9e-4 * 0.25);
  EXPECT_DOUBLE_EQ(s.lr(state, 2), 1e-4 + 9e-4 * 0.5);
  EXPECT_DOUBLE_EQ(s.lr(state, 4), 1e-3);
  EXPECT_DOUBLE_EQ(s.lr(state, 5), 1e-3);
}

TEST(LrSchedule, PlateauAsTorchReduceLROnPlateau) {
  // patience 1, cooldown 1, factor 0.5, min_lr 0.3: torch reduces after
  // more than `patience` bad epochs (threshold rel 1e-4), then skips
  // `cooldown` epochs of counting.
  LrSchedule s =
      LrSchedule::fromTraining(hp({{"lr", 1.0},
                                   {"scheduler", "reducelronplateau"},
                                   {"scheduler_patience", 1},
                                   {"scheduler_cooldown", 1},
                                   {"scheduler_factor", 0.5},
                                   {"scheduler_min_lr", 0.3}}));
  TrainState state;
  state.lr = 1.0;
  std::vector<double> losses{1.0, 0.99995, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  // By hand: 1.0 best; 0.99995 is not below 1.0*(1-1e-4): bad 1; 1.0 bad 2
  // > 1 -> lr 0.5, cooldown 1; 0.5 best (cooldown eats it: bad 0,
  // cooldown 0); 0.6 bad 1; 0.7 bad 2 -> lr 0.3 (min), cooldown 1; 0.8
  // bad 1 -> cooldown 0, bad 0; 0.9 bad 1; 1.0 bad 2 -> lr max(0.15, 0.3).
  std::vector<double> expected{1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3};
  for (size_t i = 0; i < losses.size(); ++i) {
    s.observe(state, losses[i]);
    EXPECT_DOUBLE_EQ(state.lr, expected[i]) << "after validation " << i;
  }
  EXPECT_DOUBLE_EQ(state.bestValLoss, 0.5);
}

TEST(LrSchedule, NoPlateauWithoutTheScheduler) {
  LrSchedule s = LrSchedule::fromTraining(hp({{"lr", 2e-3}}));
  TrainState state;
  state.lr = s.baseLr;
  for (int i = 0; i < 30; ++i)
    s.observe(state, 1.0);
  EXPECT_DOUBLE_EQ(state.lr, 2e-3);
}

TEST(LossScaler, OverflowHalvesAndGrowthDoublesAfterTheInterval) {
  LossScaler scaler;
  scaler.enabled = true;
  TrainState state;
  state.lossScale = 1024.0;
  StepVerdict v = scaler.judge(state, 1.0, NAN, 0);
  EXPECT_TRUE(v.overflow);
  EXPECT_TRUE(v.skipped);
  EXPECT_TRUE(v.what.empty());
  EXPECT_DOUBLE_EQ(state.lossScale, 512.0);
  EXPECT_EQ(state.skippedSteps, 1);
  for (int64_t i = 1; i < LossScaler::kGrowthInterval; ++i)
    EXPECT_FALSE(scaler.judge(state, 1.0, 2.0, 0).skipped);
  EXPECT_DOUBLE_EQ(state.lossScale, 512.0);
  scaler.judge(state, 1.0, 2.0, 0); // the 2000th applied step
  EXPECT_DOUBLE_EQ(state.lossScale, 1024.0);
  EXPECT_EQ(state.scaleGrowthTracker, 0);
  // Never to infinity.
  state.lossScale = 1e308;
  state.scaleGrowthTracker = LossScaler::kGrowthInterval - 1;
  scaler.judge(state, 1.0, 2.0, 0);
  EXPECT_DOUBLE_EQ(state.lossScale, 1e308);
  state.lossScale = std::ldexp(1.0, -25);
  EXPECT_TRUE(LossScaler::exhausted(state));
}

TEST(LossScaler, WithoutScalingNonFiniteValuesAreNamed) {
  LossScaler scaler; // fp32/bf16: no scaling
  TrainState state;
  EXPECT_EQ(scaler.scale(state), 1.0);
  EXPECT_EQ(scaler.judge(state, NAN, NAN, 0).what, "the loss");
  EXPECT_EQ(scaler.judge(state, 1.0, INFINITY, 0).what, "the gradient norm");
  EXPECT_EQ(scaler.judge(state, 1.0, 1.0, 3).what, "the update of 3 weight(s)");
  StepVerdict fine = scaler.judge(state, 1.0, 1.0, 0);
  EXPECT_FALSE(fine.skipped);
  EXPECT_FALSE(fine.overflow);
  EXPECT_EQ(state.skippedSteps, 3);
  EXPECT_DOUBLE_EQ(state.lossScale, TrainState().lossScale);
}

TEST(EarlyStopping, StopsAfterPatienceValidationsWithoutMinDelta) {
  EarlyStopping e =
      EarlyStopping::fromTraining(hp({{"early_stopping", true},
                                      {"early_stopping_patience", 2},
                                      {"early_stopping_min_delta", 0.1}}));
  TrainState state;
  EXPECT_FALSE(e.observe(state, 1.0));  // best 1.0
  EXPECT_FALSE(e.observe(state, 0.95)); // not below 0.9: bad 1
  EXPECT_FALSE(e.observe(state, 0.85)); // below 0.9: best, bad 0
  EXPECT_FALSE(e.observe(state, 0.80)); // bad 1
  EXPECT_TRUE(e.observe(state, 0.80));  // bad 2: stop
  EXPECT_DOUBLE_EQ(state.earlyStopBest, 0.85);
  // Disabled, it still counts (a resume that enables it continues).
  EarlyStopping off = EarlyStopping::fromTraining(hp(nlohmann::json::object()));
  TrainState counted;
  for (int i = 0; i < 20; ++i)
    EXPECT_FALSE(off.observe(counted, 1.0));
  EXPECT_EQ(counted.earlyStopBad, 19);
}

TEST(CheckpointPolicy, EpochsIntervalsAndSteps) {
  CheckpointPolicy byEpoch = CheckpointPolicy::fromTraining(
      hp({{"save_interval", 2}, {"keep_last", 3}}), 0, -1);
  EXPECT_EQ(byEpoch.keep, 3);
  // 5 steps per epoch: epochs 2, 4, ... end at steps 10, 20, ...
  for (int64_t step = 1; step <= 20; ++step)
    EXPECT_EQ(byEpoch.due(step, 5), step == 10 || step == 20) << step;
  CheckpointPolicy bySteps =
      CheckpointPolicy::fromTraining(hp({{"keep_last", 0}}), 3, 7);
  EXPECT_EQ(bySteps.keep, 7);
  EXPECT_TRUE(bySteps.due(6, 5));
  EXPECT_FALSE(bySteps.due(5, 5));
  EXPECT_EQ(CheckpointPolicy::fromTraining(hp({{"keep_last", 0}}), 0, -1).keep,
            1);
}

TEST(TrainState, MetadataRoundTripsEveryField) {
  TrainState s;
  s.step = 41;
  s.lr = 0.1 + 0.2; // not a short decimal: %.17g must keep its bits
  s.bestValLoss = -3.25;
  s.bestSavedValLoss = 1.0 / 3.0;
  s.badEpochs = 2;
  s.cooldown = 1;
  s.earlyStopBest = 2.0 / 7.0;
  s.earlyStopBad = 4;
  s.seed = 9223372036854775807ull; // the largest --seed or config seed
  s.skippedSteps = 5;
  s.lossScale = 8192.0;
  s.scaleGrowthTracker = 17;
  s.worldSize = 4;
  auto meta = trainStateMetadata(s);
  EXPECT_EQ(meta.at("format"), "lococ-optimizer");
  TrainState r = readTrainState(meta, "optimizer.safetensors");
  EXPECT_EQ(r.step, s.step);
  EXPECT_EQ(r.lr, s.lr);
  EXPECT_EQ(r.bestValLoss, s.bestValLoss);
  EXPECT_EQ(r.bestSavedValLoss, s.bestSavedValLoss);
  EXPECT_EQ(r.badEpochs, s.badEpochs);
  EXPECT_EQ(r.cooldown, s.cooldown);
  EXPECT_EQ(r.earlyStopBest, s.earlyStopBest);
  EXPECT_EQ(r.earlyStopBad, s.earlyStopBad);
  EXPECT_EQ(r.seed, s.seed);
  EXPECT_EQ(r.skippedSteps, s.skippedSteps);
  EXPECT_EQ(r.lossScale, s.lossScale);
  EXPECT_EQ(r.scaleGrowthTracker, s.scaleGrowthTracker);
  EXPECT_EQ(r.worldSize, s.worldSize);
  meta["skipped_steps"] = "42";
  EXPECT_THROW(readTrainState(meta, "x"), RunError);
}

TEST(Observers, MetricsLinesAndTheProgressLine) {
  std::string path = ::testing::TempDir() + "/train-parts-metrics.jsonl";
  std::filesystem::remove(path);
  StepRecord r;
  r.step = 3;
  r.target = 8;
  r.loss = 0.5;
  r.components = {{"sisdr", 0.25}, {"l1", NAN}};
  r.lr = 1e-3;
  r.gradNorm = NAN;
  r.clipCoef = 1.0;
  r.skipped = true;
  r.skippedSteps = 1;
  r.seconds = 2.0;
  r.residentMiB = 100.0;
  r.arenaMiB = 50.0;
  ValidationRecord v;
  v.step = 3;
  v.epoch = 1;
  v.loss = -4.5;
  v.siSdr = {{"vocals", 4.5}};
  {
    MetricsLog log(path);
    log.onStep(r);
    log.onValidation(v);
  }
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  auto step = nlohmann::json::parse(first);
  EXPECT_EQ(step["step"], 3);
  EXPECT_TRUE(step["grad_norm"].is_null());
  EXPECT_TRUE(step["clip_coef"].is_null()); // a skipped step has none
  EXPECT_EQ(step["components"]["sisdr"], 0.25);
  EXPECT_TRUE(step["components"]["l1"].is_null());
  EXPECT_FALSE(step.contains("allreduce_seconds"));
  EXPECT_EQ(nlohmann::ordered_json::parse(first).begin().key(), "step");
  auto val = nlohmann::json::parse(second);
  EXPECT_EQ(val["type"], "validation");
  EXPECT_EQ(val["val_si_sdr"]["vocals"], 4.5);
  EXPECT_THROW(MetricsLog("/nonexistent-dir/metrics.jsonl"), RunError);

  // 3 of 8 steps: 24 * 3 / 8 = 9 of 24 marks; 2 steps in 2 s.
  r.firstStep = 1;
  EXPECT_EQ(ConsoleObserver::progressLine(r),
            "step 3/8 [#########...............] loss 0.5000 lr 1.00e-03 "
            "grad nan 1.00 step/s mem 100 MiB (arena 50) skipped 1");
}

TEST(Observers, ValidationLineIsWholeForManySources) {
  ValidationRecord v;
  v.epoch = 2;
  v.loss = -7.25;
  v.tracks = 3;
  v.best = v.savedBest = true;
  for (int s = 0; s < 64; ++s)
    v.siSdr.emplace_back("source_with_a_long_name_" + std::to_string(s), 1.5);
  ConsoleObserver console(/*terminal=*/false);
  ::testing::internal::CaptureStderr();
  console.onValidation(v);
  std::string line = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(line.rfind("validation after epoch 2: loss -7.2500, SI-SDR "
                       "source_with_a_long_name_0 1.50 dB",
                       0),
            0u);
  EXPECT_NE(line.find("source_with_a_long_name_63 1.50 dB (3 whole tracks); "
                      "best so far\n"),
            std::string::npos)
      << line.size() << " bytes";
}
