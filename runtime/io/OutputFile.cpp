//===- OutputFile.cpp - Outputs checked before the work, written after ----===//
//
// This file implements OutputFile (a result file checked at the start of a
// run, replaced atomically at its end, or written in place when it is a
// stream) and FolderLock (flock on an output folder, naming the holder).
//
//===----------------------------------------------------------------------===//

#include "runtime/io/OutputFile.h"
#include "runtime/support/RunError.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

using namespace loco;
namespace fs = std::filesystem;

OutputFile::OutputFile(const std::string &path, const std::string &option)
    : path(path), option(option) {
  // What the path names, links followed.
  struct stat info{};
  bool exists = ::stat(path.c_str(), &info) == 0;
  if (exists && S_ISDIR(info.st_mode))
    throw RunError(option + " " + path + ": is a folder");
  // This process's own output (/dev/stdout while stdout goes to a file):
  // the file is shared with the table and whatever else the shell writes
  // there, so it is appended to in place, never replaced.
  auto isStandardStream = [&] {
    std::string normal = fs::path(path).lexically_normal().string();
    if (normal.rfind("/dev/", 0) == 0 || normal.rfind("/proc/", 0) == 0)
      return true;
    for (int stream : {STDOUT_FILENO, STDERR_FILENO}) {
      struct stat own{};
      if (exists && ::fstat(stream, &own) == 0 && own.st_dev == info.st_dev &&
          own.st_ino == info.st_ino)
        return true;
    }
    return false;
  };
  if (exists && (!S_ISREG(info.st_mode) || isStandardStream())) {
    // A terminal, /dev/stdout, a pipe: written in place (appended to, where
    // it is a file others write too).
    target = path;
    stream = std::fopen(path.c_str(), S_ISREG(info.st_mode) ? "a" : "w");
    if (!stream)
      throw RunError(option + " " + path +
                     ": cannot write: " + std::strerror(errno));
    return;
  }
  // A link to a file (or to one not written yet): the file it points to is
  // replaced, and the link stays a link.
  std::error_code ec;
  fs::path resolved = path;
  for (int hops = 0; fs::is_symlink(fs::symlink_status(resolved, ec)); ++hops) {
    if (hops == 40)
      throw RunError(option + " " + path + ": too many levels of links");
    fs::path next = fs::read_symlink(resolved, ec);
    if (ec)
      throw RunError(option + " " + path +
                     ": cannot read the link: " + ec.message());
    resolved = next.is_absolute() ? next : resolved.parent_path() / next;
  }
  target = resolved.string();
  // A regular file: a temporary one beside it now, which proves the folder
  // exists and is writable, renamed over it at the end.
  fs::path folder =
      resolved.parent_path().empty() ? fs::path(".") : resolved.parent_path();
  temporary = (folder / ("." + resolved.filename().string() + ".partial-" +
                         std::to_string(::getpid())))
                  .string();
  stream = std::fopen(temporary.c_str(), "w");
  if (!stream)
    throw RunError(option + " " + path + ": cannot write in '" +
                   folder.string() + "': " + std::strerror(errno));
}

OutputFile::~OutputFile() {
  if (stream)
    std::fclose(stream);
  if (!temporary.empty())
    ::unlink(temporary.c_str());
}

void OutputFile::write(const std::string &text) {
  if (!stream)
    throw RunError(option + " " + path + ": already written");
  bool ok = std::fwrite(text.data(), 1, text.size(), stream) == text.size();
  ok = std::fflush(stream) == 0 && ok;
  int error = errno;
  if (ok && !temporary.empty()) {
    ok = ::fsync(fileno(stream)) == 0;
    error = errno;
  }
  ok = std::fclose(stream) == 0 && ok;
  stream = nullptr;
  if (ok && !temporary.empty()) {
    ok = std::rename(temporary.c_str(), target.c_str()) == 0;
    error = errno;
    if (ok)
      temporary.clear();
  }
  if (!ok)
    throw RunError(option + " " + path +
                   ": cannot write: " + std::strerror(error));
}

FolderLock::FolderLock(const std::string &dir, const std::string &option) {
  std::string file = (fs::path(dir) / ".locorun.lock").string();
  // Never through a link: the lock file is written (the holder's pid).
  fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw RunError(option + ": cannot create '" + file +
                   "': " + std::strerror(errno));
  int error = ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
  if (error && error != EWOULDBLOCK) {
    // A filesystem without locks (some network mounts): run unguarded.
    std::fprintf(stderr,
                 "locorun: warning: cannot lock '%s' (%s); make sure no "
                 "other run writes to %s\n",
                 file.c_str(), std::strerror(error), dir.c_str());
    return;
  }
  if (error == EWOULDBLOCK) {
    char holder[256] = {0};
    ssize_t got = ::pread(fd, holder, sizeof(holder) - 1, 0);
    std::string who = got > 0 ? std::string(holder, got) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == '\0'))
      who.pop_back();
    ::close(fd);
    fd = -1;
    throw RunError(option + ": '" + dir + "' is in use by " + who +
                   "; two runs in one folder would prune each other's "
                   "checkpoints: give this run its own folder, or wait");
  }
  // Who holds it, for the next one to name.
  std::string line = "locorun (pid " + std::to_string(::getpid()) + ")\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) !=
                                     static_cast<ssize_t>(line.size()))
    std::fprintf(stderr,
                 "locorun: warning: cannot record the holder in "
                 "'%s'\n",
                 file.c_str());
}

FolderLock::~FolderLock() {
  if (fd >= 0)
    ::close(fd); // releases the lock; the file stays for the next run
}

int64_t loco::firstNonFiniteIndex(const std::vector<float> &values) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      return static_cast<int64_t>(i);
  return -1;
}

void loco::writeSafetensorsAtomically(
    const std::string &path, const std::vector<F32Tensor> &tensors,
    const std::map<std::string, std::string> &meta) {
  std::string temporary = path + ".tmp";
  std::string error;
  if (!writeSafetensors(temporary, tensors, meta, error))
    throw RunError(error);
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    throw RunError("cannot move " + temporary + " to " + path + ": " +
                   ec.message());
}
