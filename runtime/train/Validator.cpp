//===- Validator.cpp - Validation during training -------------------------===//
//
// This file implements Validator.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/Validator.h"

#include "runtime/SiSdr.h"
#include "runtime/eval/Separate.h"
#include "runtime/eval/TrackLoss.h"

#include <algorithm>

using namespace loco;

namespace {
/// The first seconds of a clip that validation lets observers hear.
constexpr int64_t kHeardSeconds = 5;

void hear(const std::vector<TrainingObserver *> &listeners,
          const std::string &tag, const float *samples, int64_t length,
          int64_t sampleRate, int64_t step) {
  std::vector<float> clip(samples, samples + length);
  for (TrainingObserver *o : listeners)
    o->onAudio(tag, clip, sampleRate, step);
}
} // namespace

Validator::Validator(Session &session, const TrackSource &tracks,
                     Communicator *comm)
    : session(session), tracks(tracks), comm(comm) {
  TrainArtifact &art = session.artifact();
  for (size_t i = 1; i < art.inputs().size(); ++i)
    sources.push_back(art.inputs()[i].name);
  batch = art.inputs().front().shape[0];
  segment = art.inputs().front().shape[1];
  sampleRate = art.config().model.sample_rate;
}

ValidationRecord
Validator::run(int64_t step, const std::vector<TrainingObserver *> &observers) {
  std::vector<TrainingObserver *> listeners;
  for (TrainingObserver *o : observers)
    if (o->wantsAudio())
      listeners.push_back(o);
  session.backend().loco_context_set_training(session.context(), 0);
  ValidationRecord record;
  record.step = step;
  std::vector<double> sdr(sources.size(), 0.0);
  if (session.artifact().separate())
    wholeTracks(step, record, sdr, listeners);
  else
    evalSegments(step, record, sdr, listeners);
  for (size_t s = 0; s < sources.size(); ++s)
    record.siSdr.emplace_back(sources[s], sdr[s]);
  return record;
}

void Validator::wholeTracks(int64_t step, ValidationRecord &record,
                            std::vector<double> &sdr,
                            const std::vector<TrainingObserver *> &listeners) {
  TrainArtifact &art = session.artifact();
  SegmentStep separateStep = sessionStep(session);
  LossSpec lossSpec = LossSpec::fromManifest(art.manifest());
  int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  record.tracks = static_cast<int64_t>(tracks.numTracks());
  // Data parallelism: rank r scores tracks r, r + ranks, ...; the
  // per-track terms are summed over the ranks below.
  for (size_t t = rank; t < tracks.numTracks(); t += ranks) {
    int64_t length = tracks.trackLength(t);
    std::vector<std::vector<float>> stems;
    tracks.read(t, 0, length, stems);
    auto separated = overlapAdd({stems[0]}, segment, batch, sources.size(),
                                0.25, separateStep);
    std::vector<std::vector<float>> estimates;
    std::vector<std::vector<float>> targets(stems.begin() + 1, stems.end());
    for (auto &source : separated)
      estimates.push_back(std::move(source[0]));
    record.loss +=
        trackLoss(lossSpec, sources, estimates, targets).total / record.tracks;
    record.seconds += static_cast<double>(length) / sampleRate;
    for (size_t s = 0; s < sources.size(); ++s)
      sdr[s] += siSdrDb(estimates[s].data(), targets[s].data(), length, 1e-8) /
                record.tracks;
    if (t == 0 && !listeners.empty()) { // the first track heard
      int64_t clip = std::min<int64_t>(length, kHeardSeconds * sampleRate);
      hear(listeners, "validation/mixture", stems[0].data(), clip, sampleRate,
           step);
      for (size_t s = 0; s < sources.size(); ++s)
        hear(listeners, "validation/" + sources[s], estimates[s].data(), clip,
             sampleRate, step);
    }
  }
  if (comm) {
    std::vector<double> sums{record.loss, record.seconds};
    sums.insert(sums.end(), sdr.begin(), sdr.end());
    comm->allReduceSum(sums.data(), static_cast<int64_t>(sums.size()),
                       "the validation after step " + std::to_string(step));
    record.loss = sums[0];
    record.seconds = sums[1];
    std::copy(sums.begin() + 2, sums.end(), sdr.begin());
  }
}

void Validator::evalSegments(int64_t step, ValidationRecord &record,
                             std::vector<double> &sdr,
                             const std::vector<TrainingObserver *> &listeners) {
  TrainArtifact &art = session.artifact();
  int64_t B = batch, N = segment;
  // Centre segments of up to 4 x B validation tracks through the forward
  // step.
  int64_t batches =
      std::max<int64_t>(1, std::min<int64_t>(4 * B, tracks.numTracks()) / B);
  std::vector<std::vector<float>> inputs(art.inputs().size());
  for (int64_t v = 0; v < batches; ++v) {
    validationBatch(tracks, v * B, B, N, inputs);
    session.setInputs(inputs);
    StepOutputs out = session.run(art.eval());
    record.loss += out.loss("total_loss") / batches;
    // The first validation item, heard: its mixture and estimates.
    if (v == 0 && !listeners.empty()) {
      int64_t length = std::min<int64_t>(N, kHeardSeconds * sampleRate);
      hear(listeners, "validation/mixture", inputs[0].data(), length,
           sampleRate, step);
      for (const F32Tensor &t : out.tensors)
        if (std::find(sources.begin(), sources.end(), t.name) != sources.end())
          hear(listeners, "validation/" + t.name, t.values.data(), length,
               sampleRate, step);
    }
    // SI-SDR per item (upstream's formula).
    for (size_t s = 0; s < sources.size(); ++s)
      for (const F32Tensor &t : out.tensors)
        if (t.name == sources[s])
          for (int64_t b = 0; b < B; ++b)
            sdr[s] += siSdrDb(t.values.data() + b * N,
                              inputs[s + 1].data() + b * N, N, 1e-8) /
                      (batches * B);
  }
}
