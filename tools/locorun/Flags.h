//===- Flags.h - locorun's command-line values ------------------*- C++ -*-===//
//
// This file declares what every locorun subcommand parses its flags with:
// a usage error (the message, then the subcommand's usage text, exit status
// 1) and checked numbers.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TOOLS_LOCORUN_FLAGS_H
#define LOCO_TOOLS_LOCORUN_FLAGS_H

#include <cstdint>
#include <string>

namespace loco {

/// Prints "locorun: error: MESSAGE" and `usage` to stderr; exits with 1.
[[noreturn]] void usageError(const char *usage, const std::string &message);

/// A whole number >= 0 (parseCount), > 0 (parsePositive); a finite
/// number > 0 (parsePositiveReal). Anything else is a usage error naming
/// `option` and the value.
int64_t parseCount(const char *usage, const std::string &option,
                   const std::string &value);
int64_t parsePositive(const char *usage, const std::string &option,
                      const std::string &value);
double parsePositiveReal(const char *usage, const std::string &option,
                         const std::string &value);

/// The subcommands (each in its own file); argv[1] names the subcommand,
/// except for training, where it is the train.so. Each returns the exit
/// status.
int runTrainCommand(int argc, char **argv);
int runMakeSyntheticCommand(int argc, char **argv);
int runMakeDatasetCommand(int argc, char **argv);
int runSeparateCommand(int argc, char **argv);
int runEvaluateCommand(int argc, char **argv);

} // namespace loco

#endif // LOCO_TOOLS_LOCORUN_FLAGS_H
