//===- OutputFile.h - Outputs checked before the work, written after ------===//
//
// This file declares the outputs of a run that are checked at its start and
// written at its end (evaluate --json), and the lock that keeps two runs out
// of one output folder.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_IO_OUTPUTFILE_H
#define LOCO_RUNTIME_IO_OUTPUTFILE_H

#include "runtime/Safetensors.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace loco {

/// A file written once, at the end of a run, and checked at its start (the
/// constructor throws RunError naming `option` and the path when it cannot
/// be written), so that a run never does its work and then loses it.
///
/// A regular file (or a new one) is written to a temporary file in its
/// folder and renamed over it: the previous contents stay until the new
/// ones are complete. A link is resolved, so the file it points to is
/// replaced and the link kept. Anything else (/dev/stdout, a pipe) is
/// written in place.
class OutputFile {
public:
  OutputFile(const std::string &path, const std::string &option);
  ~OutputFile();
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  /// Writes `text` as the file's whole contents; throws RunError on
  /// failure (the previous contents of a regular file then stay).
  void write(const std::string &text);

private:
  std::string path, option, target, temporary;
  std::FILE *stream = nullptr;
};

/// An exclusive lock on an output folder for the life of the object
/// (flock on DIR/.locorun.lock, which holds the holder's pid and command).
/// Throws RunError naming the holder when another process has it.
class FolderLock {
public:
  FolderLock(const std::string &dir, const std::string &option);
  ~FolderLock();
  FolderLock(const FolderLock &) = delete;
  FolderLock &operator=(const FolderLock &) = delete;

private:
  int fd = -1;
};

/// The index of the first NaN or Inf in `values`, or -1: the check before
/// anything is written (no checkpoint or output ever holds one).
int64_t firstNonFiniteIndex(const std::vector<float> &values);

/// Writes `tensors` to `path` through a temporary file and a rename.
void writeSafetensorsAtomically(const std::string &path,
                                const std::vector<F32Tensor> &tensors,
                                const std::map<std::string, std::string> &meta);

} // namespace loco

#endif // LOCO_RUNTIME_IO_OUTPUTFILE_H
