//===- OneStep.cpp - locorun --one-step, --batch, --dump, --eval ----------===//
//
// This file implements the single step of OneStep.h.
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/OneStep.h"

#include "runtime/data/Dataset.h"
#include "runtime/io/OutputFile.h"
#include "runtime/train/StepRunner.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace loco;

namespace {

void printLosses(const StepOutputs &out) {
  for (const auto &[name, value] : out.losses)
    std::printf("  %-22s %.6f\n", name.c_str(), value);
}

} // namespace

void loco::runOneStep(Session &session, const OneStepOptions &o,
                      uint64_t seed) {
  TrainArtifact &art = session.artifact();
  const ManifestTensor &mixture = art.inputs().front();
  int64_t microBatch = mixture.shape[0], N = mixture.shape[1];
  int64_t micro = art.microBatches();
  int64_t rows = microBatch * micro;
  std::vector<std::vector<float>> inputs(art.inputs().size());
  if (!o.batch.empty()) {
    inputs = session.readBatch(o.batch, rows);
  } else {
    auto tracks = makeSyntheticTracks(std::max<int64_t>(4, rows), N,
                                      art.config().model.sample_rate,
                                      art.inputs().size() - 1, seed);
    sampleBatch(*tracks, seed, 0, 0, rows, N, true, inputs);
  }
  bool train = !o.eval && art.optimizer();
  // A separation artifact (a dry run's) has its forward pass only.
  const EntryPoint &entry = train            ? art.train()
                            : art.eval()     ? art.eval()
                            : art.separate() ? art.separate()
                                             : art.train();
  session.backend().loco_context_set_training(session.context(), train ? 1 : 0);
  auto start = std::chrono::steady_clock::now();
  // Micro-batch k draws its dropout masks at its place in the batch, as a
  // data-parallel replica does: the step's masks are the unsplit batch's.
  auto next = [&](int64_t k) {
    MicroStep m;
    for (const std::vector<float> &input : inputs)
      m.inputs.emplace_back(input.begin() + k * microBatch * N,
                            input.begin() + (k + 1) * microBatch * N);
    m.rngStep = 0;
    m.replica = k;
    return m;
  };
  AccumulatedStep run = StepRunner(session, seed)
                            .run(entry, micro, next,
                                 /*keepTensors=*/true);
  StepOutputs out;
  for (const auto &[name, value] : run.losses)
    out.losses.emplace_back(name, static_cast<float>(value));
  out.tensors = std::move(run.tensors);
  session.backend().loco_context_set_rng_replica(session.context(), 0);
  bool dump = !o.dump.empty();
  if (dump) {
    std::error_code ec;
    std::filesystem::create_directories(o.dump, ec);
    if (ec)
      throw RunError("cannot create '" + o.dump + "': " + ec.message());
    writeSafetensorsAtomically(o.dump + "/outputs.safetensors", out.tensors,
                               {{"format", "pt"}});
    // The accumulators hold this step's gradients until the update.
    if (train)
      writeSafetensorsAtomically(o.dump + "/grads.safetensors",
                                 session.gradients(), {{"format", "pt"}});
  }
  double lr = art.config().training.lr;
  if (train)
    session.optimizerStep(1, lr);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const char *what = train ? "training step (forward, loss, backward, AdamW)"
                     : &entry == &art.separate() ? "separation step (forward)"
                                                 : "forward + loss";
  if (o.dryRun) {
    std::printf("%s: dry run of a %s on %s, arena %.1f MiB: the host code, "
                "every launch's limits and every copy's bounds ran in "
                "%.3f s; kernels, copies and library calls did not, so "
                "there are no values\n",
                o.artifact.c_str(), what,
                session.backend().loco_context_describe(session.context()),
                art.arenaBytes() / 1048576.0, seconds);
    return;
  }
  std::printf("%s: %s in %.3f s on %s, arena %.1f MiB\n", o.artifact.c_str(),
              what, seconds,
              session.backend().loco_context_describe(session.context()),
              art.arenaBytes() / 1048576.0);
  printLosses(out);
  if (train)
    std::printf("  %-22s %.6f\n", "grad_norm_before_clip", session.gradNorm());
  if (!dump)
    return;

  nlohmann::ordered_json doc;
  doc["total_loss"] = out.loss("total_loss");
  nlohmann::ordered_json components;
  for (const auto &[name, value] : out.losses)
    if (name != "total_loss")
      components[name] = value;
  doc["components"] = components;
  if (train) {
    doc["grad_norm_before_clip"] = session.gradNorm();
    doc["clip_coef_applied"] = session.clipCoef();
    doc["lr"] = lr;
    writeSafetensorsAtomically(o.dump + "/weights_after_step.safetensors",
                               session.parameters(/*withBuffers=*/true),
                               {{"format", "pt"}});
  }
  std::ofstream lossFile(o.dump + "/loss.json");
  lossFile << doc.dump(1) << "\n";
  if (!lossFile)
    throw RunError("cannot write '" + o.dump + "/loss.json'");
}
