//===- Inference.h - locorun separate and locorun evaluate ------*- C++ -*-===//
//
// This file declares the two inference commands of locorun: separating
// songs into stems with a separation artifact (`lococ --mode separate`),
// and evaluating separations of a MUSDB18-layout folder with BSSEval v4,
// SI-SDR and uSDR.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_INFERENCE_H
#define LOCO_TOOLS_LOCORUN_INFERENCE_H

namespace loco {

/// `locorun separate ARTIFACT --weights W SONG... -o DIR [options]`; argv[1]
/// is "separate". Returns the exit status.
int runSeparateCommand(int argc, char **argv);

/// `locorun evaluate (ARTIFACT --weights W | --estimates DIR) --data DIR
/// [options]`; argv[1] is "evaluate". Returns the exit status.
int runEvaluateCommand(int argc, char **argv);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_INFERENCE_H
