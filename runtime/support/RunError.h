//===- RunError.h - A failure the user can act on ---------------*- C++ -*-===//
//
// This file declares RunError, the exception of every host library: a bad
// file, key, shape or flag, with a message that names it. The mains print
// it and exit with status 1; nothing else needs to be known to throw one.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_SUPPORT_RUNERROR_H
#define LOCO_RUNTIME_SUPPORT_RUNERROR_H

#include <stdexcept>

namespace loco {

/// A user-facing failure; locorun prints it and exits with status 1.
struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace loco

#endif // LOCO_RUNTIME_SUPPORT_RUNERROR_H
