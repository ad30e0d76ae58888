//===- Separate.h - Songs of any length through a segment step --*- C++ -*-===//
//
// This file declares the overlap-add of separation: a song is cut into
// segments of the compiled step's length, which overlap by a fraction; the
// step separates a batch of segments at a time; each estimate is weighted
// by a cross-fade window and added into the song's estimate. The windows
// sum to one at every sample, so a model that is exact on segments is
// exact on the song. Memory is the song's own samples and one batch.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_SEPARATE_H
#define LOCO_RUNTIME_EVAL_SEPARATE_H

#include "runtime/data/Audio.h"
#include "runtime/eval/Rescale.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace loco {
class Session;

/// Where the segments of a song of `length` samples start and how each is
/// weighted: segments of `segment` samples, consecutive ones sharing
/// `overlap` samples (hop = segment - overlap). The first starts at 0, the
/// last reaches past the end (read as zeros there).
struct SegmentPlan {
  int64_t length = 0, segment = 0, overlap = 0, count = 0;
  int64_t hop() const { return segment - overlap; }
  int64_t start(int64_t k) const { return k * hop(); }
  /// The cross-fade weight of sample `i` of segment `k`: linear fades over
  /// the overlap, (i + 0.5) / overlap in and its complement out, none at
  /// the song's ends, normalised so that the weights at every sample add
  /// up to one (whatever the overlap).
  float weight(int64_t k, int64_t i) const;
  /// Every weight of segment `k` (weight(k, i) for i < segment), from a
  /// cache: all segments whose covering neighbours are neither the first
  /// nor the last share one window, so a song costs a few windows'
  /// computation whatever its length and overlap.
  const std::vector<float> &weights(int64_t k) const;

private:
  mutable std::vector<float> interior, edge;
  mutable int64_t edgeSegment = -1;
};

/// The plan for `length` samples in segments of `segment` overlapping by
/// the fraction `overlap` (in [0, 1); rounded to whole samples).
SegmentPlan planSegments(int64_t length, int64_t segment, double overlap);

/// Separates a batch: `mixture` holds `rows` segments (row-major, [rows,
/// segment]); the step writes one [rows, segment] estimate per source into
/// `estimates`.
using SegmentStep =
    std::function<void(const std::vector<float> &mixture,
                       std::vector<std::vector<float>> &estimates)>;

/// Called after each batch with the seconds of audio done so far.
using Progress = std::function<void(double done, double total)>;

/// Overlap-adds `step` over every channel of `mixture` (each channel is a
/// mono song) in batches of `rows` segments. Returns [source][channel]
/// estimates of the mixture's length. The step's model is mono: channels
/// are separated independently, their segments sharing batches.
std::vector<std::vector<std::vector<float>>>
overlapAdd(const std::vector<std::vector<float>> &mixture, int64_t segment,
           int64_t rows, size_t numSources, double overlap,
           const SegmentStep &step, const Progress &progress = {});

/// The segment step of a separation artifact (`lococ --mode separate`)
/// loaded in `session`.
SegmentStep sessionStep(Session &session);

/// What `locorun separate` does to one song, and what evaluation reuses.
struct SeparateOptions {
  double overlap = 0.25;
  /// Average the channels first (upstream's separate.py), one output channel.
  bool mono = false;
  /// Print a progress line (to stderr).
  bool progress = true;
  /// The stems' level (Rescale.h): by default, least-squares gains for a
  /// model trained on a scale-free loss (the artifact's manifest says).
  Rescale rescale = Rescale::Auto;
};

/// Separates `song` at its own sample rate: resampled to the model's rate
/// when they differ, overlap-added, rescaled as `options.rescale` says
/// (against the mixture the model saw; what was applied goes to `report`),
/// and resampled back. Returns one Audio per source (manifest order), of
/// the song's length and rate. The song is taken by value so that its
/// samples are moved, not copied.
std::vector<Audio> separateSong(Session &session, Audio song,
                                const SeparateOptions &options,
                                const std::string &label,
                                RescaleReport *report = nullptr);

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_SEPARATE_H
