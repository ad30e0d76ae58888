//===- Metrics.h - Separation quality as MUSDB papers report it -*- C++ -*-===//
//
// This file declares the metrics of `locorun evaluate`:
//  - BSSEval v4 (museval.metrics.bss_eval with framewise_filters=False and
//    bsseval_sources_version=False, i.e. the "images" criteria with one set
//    of distortion filters per track): SDR, ISR, SIR and SAR per source and
//    frame;
//  - SI-SDR, as the training loss defines it (runtime/SiSdr.h);
//  - uSDR, the whole-song SDR of the Music Demixing challenges.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_EVAL_METRICS_H
#define LOCO_RUNTIME_EVAL_METRICS_H

#include <cstdint>
#include <vector>

namespace loco {

/// Signals of one track: [source][channel][sample].
using SourceImages = std::vector<std::vector<std::vector<float>>>;

/// BSSEval v4 criteria, [source][frame], in dB. A frame in which any
/// reference or any estimate is silent is NaN (museval's convention); a
/// zero error energy is +Inf.
struct BssEval {
  std::vector<std::vector<double>> sdr, isr, sir, sar;
};

/// museval's bss_eval(references, estimates, window, hop, filters_len=512,
/// framewise_filters=False, bsseval_sources_version=False,
/// compute_permutation=False). The distortion filters are least-squares
/// projections on `filtersLen` delays of the references (LAPACK's LU
/// solve, regularised by machine epsilon as museval does), computed once
/// on the whole track. Throws RunError when the shapes differ or a whole
/// reference or estimate is silent (museval refuses those too).
BssEval bssEvalV4(const SourceImages &references, const SourceImages &estimates,
                  int64_t window, int64_t hop, int64_t filtersLen = 512);

/// Upstream's SI-SDR (eps 1e-8), channel by channel, averaged over channels.
double siSdr(const std::vector<std::vector<float>> &reference,
             const std::vector<std::vector<float>> &estimate);

/// 10 log10((1e-7 + sum ref^2) / (1e-7 + sum (ref - est)^2)) over every
/// channel and sample (the MDX challenges' "global SDR").
double uSdr(const std::vector<std::vector<float>> &reference,
            const std::vector<std::vector<float>> &estimate);

/// The median of the values that are not NaN (numpy's nanmedian); NaN when
/// there are none.
double nanMedian(std::vector<double> values);

} // namespace loco

#endif // LOCO_RUNTIME_EVAL_METRICS_H
