//===- locorun.cpp - Run and train a compiled lococ step ------------------===//
//
// This file implements locorun's main: the process settings every
// subcommand wants, then the subcommand. Training (TrainCommand.cpp) is the
// default; `separate`, `evaluate` (SeparateCommand.cpp,
// EvaluateCommand.cpp) and `make-synthetic` (MakeSyntheticCommand.cpp)
// name theirs.
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Flags.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

using namespace loco;

int main(int argc, char **argv) {
  // Past `ulimit -f`, a write fails with EFBIG (and says so) instead of the
  // process dying of SIGXFSZ without a word.
  std::signal(SIGXFSZ, SIG_IGN);
  // The CPU backend's OpenMP threads spin about 1000 iterations at the end
  // of a parallel region, then sleep: libgomp's default of 300k keeps a
  // core busy for milliseconds after every region, which another process
  // sharing the machine pays for (and we then wait for a descheduled
  // thread). Measured by bench/threads.sh (docs/BENCHMARKS.md). libgomp
  // reads this when it loads, which is with the backend (locorun itself
  // links no OpenMP; with an OpenMP build of OpenBLAS behind LAPACKE it
  // would already be loaded, and this would change nothing). OMP_WAIT_POLICY
  // or GOMP_SPINCOUNT in the environment decide instead.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    setenv("GOMP_SPINCOUNT", "1000", /*overwrite=*/0);
  const char *command = argc >= 2 ? argv[1] : "";
  if (std::strcmp(command, "separate") == 0)
    return runSeparateCommand(argc, argv);
  if (std::strcmp(command, "evaluate") == 0)
    return runEvaluateCommand(argc, argv);
  if (std::strcmp(command, "make-synthetic") == 0)
    return runMakeSyntheticCommand(argc, argv);
  if (std::strcmp(command, "make-dataset") == 0)
    return runMakeDatasetCommand(argc, argv);
  return runTrainCommand(argc, argv);
}
