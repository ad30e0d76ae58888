//===- Checkpoint.cpp - Checkpoints as one transaction --------------------===//
//
// This file implements the checkpoint folder (see Checkpoint.h): staged
// writes, fsync of files and folders, the atomic switch of `latest`,
// verification by size and CRC-32 (zlib), pruning, and the fault points.
//
//===----------------------------------------------------------------------===//

#include "runtime/io/Checkpoint.h"

#include "runtime/support/RunError.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace loco;
namespace fs = std::filesystem;

namespace {

constexpr const char *kManifest = "checkpoint.json";
constexpr const char *kLatest = "latest";

/// The filesystem operations of saves so far in this process, and the one
/// at which LOCO_CHECKPOINT_FAULT asks the process to end.
int64_t operations = 0;

int64_t faultAt() {
  static const int64_t at = [] {
    const char *value = std::getenv("LOCO_CHECKPOINT_FAULT");
    return value ? std::atoll(value) : int64_t(0);
  }();
  return at;
}

/// Counts one operation of a save; at the injected fault, ends the process
/// as a kill would, leaving `torn` (a file just written) half written.
void faultPoint(const std::string &torn = "") {
  if (++operations != faultAt())
    return;
  if (!torn.empty()) {
    std::error_code ec;
    uintmax_t size = fs::file_size(torn, ec);
    if (!ec && ::truncate(torn.c_str(), static_cast<off_t>(size / 2)) != 0)
      std::perror("locorun: LOCO_CHECKPOINT_FAULT truncate");
  }
  std::fprintf(stderr,
               "locorun: LOCO_CHECKPOINT_FAULT: stopping at "
               "checkpoint operation %lld\n",
               static_cast<long long>(operations));
  std::_Exit(86);
}

[[noreturn]] void ioError(const std::string &what, const std::string &path,
                          int error = errno) {
  throw RunError("cannot " + what + " '" + path + "': " + std::strerror(error));
}

/// fsync of a file or folder.
void syncPath(const std::string &path) {
  faultPoint();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    ioError("open", path);
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    ioError("fsync", path, error);
  }
  ::close(fd);
}

void renamePath(const std::string &from, const std::string &to) {
  faultPoint();
  if (::rename(from.c_str(), to.c_str()) != 0)
    ioError("rename '" + from + "' to", to);
}

void removeTree(const fs::path &path) {
  faultPoint();
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    throw RunError("cannot remove '" + path.string() + "': " + ec.message());
}

/// The size and CRC-32 of a file, or false when it cannot be read.
bool measure(const std::string &path, uint64_t &bytes, uint32_t &crc) {
  // A checkpoint's files are regular files (a link to /dev/zero would
  // never end).
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return false;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::vector<char> buffer(1 << 20);
  uLong sum = crc32(0L, Z_NULL, 0);
  bytes = 0;
  while (in) {
    in.read(buffer.data(), buffer.size());
    std::streamsize got = in.gcount();
    if (got <= 0)
      break;
    sum = crc32(sum, reinterpret_cast<const Bytef *>(buffer.data()),
                static_cast<uInt>(got));
    bytes += static_cast<uint64_t>(got);
  }
  if (in.bad())
    return false;
  crc = static_cast<uint32_t>(sum);
  return true;
}

/// The step of a folder named step-N, or -1.
int64_t stepOf(const std::string &name) {
  if (name.size() <= 5 || name.compare(0, 5, "step-") != 0)
    return -1;
  int64_t step = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || step > (INT64_MAX - 9) / 10)
      return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

/// The step-N folders of `root`, newest first.
std::vector<std::pair<int64_t, fs::path>> stepFolders(const fs::path &root) {
  std::vector<std::pair<int64_t, fs::path>> folders;
  std::error_code ec;
  for (const fs::directory_entry &entry : fs::directory_iterator(root, ec))
    // A step folder that is a link could lead anywhere: not ours.
    if (int64_t step = stepOf(entry.path().filename().string());
        step >= 0 && !entry.is_symlink(ec) && entry.is_directory(ec))
      folders.emplace_back(step, entry.path());
  std::sort(folders.begin(), folders.end(),
            [](const auto &a, const auto &b) { return a.first > b.first; });
  return folders;
}

/// Empty when `folder` is a complete checkpoint (of `step`, its name's, or
/// of any step when `step` is negative); else why not. May throw
/// nlohmann::json::exception (see verify).
std::string verifyFiles(const fs::path &folder, int64_t step) {
  std::ifstream in(folder / kManifest);
  if (!in)
    return "no " + std::string(kManifest);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() ||
      doc.value("format", "") != "lococ-checkpoint")
    return std::string(kManifest) + " is corrupt";
  if (!doc.contains("step") || !doc["step"].is_number_integer() ||
      (step >= 0 && doc["step"].get<int64_t>() != step))
    return std::string(kManifest) + " is not of step " + std::to_string(step);
  const nlohmann::json &files = doc.value("files", nlohmann::json::object());
  for (const char *name : {"model.safetensors", "optimizer.safetensors"}) {
    if (!files.contains(name) || !files[name].is_object())
      return std::string(kManifest) + " does not list " + name;
    // Whole numbers only: nlohmann casts a float such as 1e100 to an
    // integer type with undefined behaviour.
    for (const char *field : {"bytes", "crc32"})
      if (!files[name].contains(field) ||
          !files[name][field].is_number_unsigned())
        return std::string(kManifest) + " is corrupt";
    uint64_t bytes = 0;
    uint32_t crc = 0;
    if (!measure((folder / name).string(), bytes, crc))
      return std::string(name) + " cannot be read";
    if (files[name].value("bytes", uint64_t(0)) != bytes)
      return std::string(name) + " has " + std::to_string(bytes) +
             " bytes, not the " +
             std::to_string(files[name].value("bytes", uint64_t(0))) +
             " written";
    if (files[name].value("crc32", uint64_t(0)) != crc)
      return std::string(name) + " fails its CRC-32 check";
  }
  return "";
}

/// Empty when `folder` is a complete checkpoint (of `step`); else why not.
std::string verify(const fs::path &folder, int64_t step) {
  // A field of another JSON type throws (value() included): corrupt.
  try {
    return verifyFiles(folder, step);
  } catch (const nlohmann::json::exception &) {
    return std::string(kManifest) + " is corrupt";
  }
}

} // namespace

std::string loco::checkpointName(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld",
                static_cast<long long>(step));
  return name;
}

void loco::prepareCheckpointFolder(const std::string &dir, int64_t bytes,
                                   const std::string &option) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw RunError(option + " '" + dir + "' exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec)
    throw RunError(option + ": cannot create '" + dir + "': " + ec.message());
  // Writable: a probe file, written, synced and removed.
  std::string probe = dir + "/.locorun-probe-" + std::to_string(::getpid());
  int fd =
      ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw RunError(option + ": cannot write in '" + dir +
                   "': " + std::strerror(errno));
  char block[4096] = {0};
  bool ok = ::write(fd, block, sizeof(block)) ==
                static_cast<ssize_t>(sizeof(block)) &&
            ::fsync(fd) == 0;
  int error = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!ok)
    throw RunError(option + ": cannot write in '" + dir +
                   "': " + std::strerror(error));
  // A file size limit (ulimit -f) below a checkpoint's largest file would
  // fail the first save. `bytes` is the model and its two moments: the
  // optimizer file, the largest, is about two thirds of it.
  struct rlimit limit{};
  int64_t largest = bytes / 3 * 2;
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY &&
      static_cast<long double>(largest) > limit.rlim_cur)
    throw RunError(option +
                   ": a checkpoint's optimizer.safetensors is "
                   "about " +
                   std::to_string(largest) +
                   " bytes, above the "
                   "file size limit of " +
                   std::to_string(limit.rlim_cur) + " bytes (ulimit -f)");
  // Room for the new checkpoint while the previous one is still kept.
  struct statvfs info{};
  if (::statvfs(dir.c_str(), &info) != 0)
    return;
  long double available =
      static_cast<long double>(info.f_bavail) * info.f_frsize;
  long double needed = 2.0L * bytes + (1 << 20);
  if (available < needed) {
    char text[256];
    std::snprintf(text, sizeof(text),
                  "%s: '%s' has %.1Lf MiB free; a checkpoint needs %.1Lf MiB "
                  "and the new one is written before the old one is removed "
                  "(%.1Lf MiB)",
                  option.c_str(), dir.c_str(), available / 1048576.0L,
                  bytes / 1048576.0L, needed / 1048576.0L);
    throw RunError(text);
  }
}

void loco::writeCheckpoint(const std::string &dir, int64_t step,
                           const std::vector<CheckpointFile> &files,
                           int64_t keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw RunError("cannot create '" + dir + "': " + ec.message());
  std::string name = checkpointName(step);
  fs::path root(dir), staged = root / (name + ".tmp"), final = root / name;
  if (fs::exists(staged, ec))
    removeTree(staged);
  faultPoint();
  if (!fs::create_directory(staged, ec) || ec)
    throw RunError("cannot create '" + staged.string() +
                   "': " + (ec ? ec.message() : "it exists"));

  nlohmann::ordered_json listing = nlohmann::ordered_json::object();
  for (const CheckpointFile &file : files) {
    std::string path = (staged / file.name).string(), error;
    faultPoint();
    if (!writeSafetensors(path, file.tensors, file.metadata, error))
      throw RunError(error);
    faultPoint(path);
    syncPath(path);
    uint64_t bytes = 0;
    uint32_t crc = 0;
    if (!measure(path, bytes, crc))
      ioError("read back", path);
    listing[file.name] = {{"bytes", bytes}, {"crc32", crc}};
  }
  std::string manifest = (staged / kManifest).string();
  {
    faultPoint();
    std::ofstream out(manifest);
    out << nlohmann::ordered_json{{"format", "lococ-checkpoint"},
                                  {"step", step},
                                  {"files", listing}}
               .dump(1)
        << "\n";
    if (!out.flush())
      ioError("write", manifest);
  }
  faultPoint(manifest);
  syncPath(manifest);
  syncPath(staged.string());

  // The same step saved again (a final save after a periodic one): the old
  // folder steps aside first; `latest` may name a missing folder for a
  // moment, and loading then falls back to the previous checkpoint.
  fs::path previous = root / (name + ".old");
  if (fs::exists(final, ec)) {
    if (fs::exists(previous, ec))
      removeTree(previous);
    renamePath(final.string(), previous.string());
  }
  renamePath(staged.string(), final.string());
  syncPath(dir);

  // Switch `latest`: a new link renamed over the old one.
  fs::path link = root / kLatest, pending = root / "latest.tmp";
  ::unlink(pending.c_str());
  faultPoint();
  if (::symlink(name.c_str(), pending.c_str()) != 0)
    ioError("create the link", pending.string());
  renamePath(pending.string(), link.string());
  syncPath(dir);

  // Keep the newest `keep` checkpoints; drop leftovers of interrupted saves
  // (step-N.tmp, step-N.old).
  std::vector<std::pair<int64_t, fs::path>> complete = stepFolders(root);
  for (size_t i = 0; i < complete.size(); ++i)
    if (static_cast<int64_t>(i) >= std::max<int64_t>(keep, 1) &&
        complete[i].first != step)
      removeTree(complete[i].second);
  std::vector<fs::path> leftovers;
  for (const fs::directory_entry &entry : fs::directory_iterator(root, ec)) {
    fs::path file = entry.path().filename();
    std::string extension = file.extension().string();
    if ((extension == ".tmp" || extension == ".old") &&
        stepOf(file.stem().string()) >= 0)
      leftovers.push_back(entry.path());
  }
  for (const fs::path &path : leftovers)
    removeTree(path);
}

std::string loco::findCheckpoint(const std::string &dir,
                                 const std::string &option) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw RunError(option + ": '" + dir + "' is not a folder");
  fs::path root(dir);
  std::vector<std::pair<int64_t, fs::path>> candidates;
  // `latest` first, then every step folder, newest first. `latest` names a
  // step folder beside it; a link anywhere else is not followed.
  fs::path link = root / kLatest;
  std::string latest;
  if (fs::is_symlink(link, ec)) {
    fs::path target = fs::read_symlink(link, ec);
    if (target.has_parent_path() || stepOf(target.string()) < 0)
      std::fprintf(stderr,
                   "locorun: warning: '%s' points to '%s', not to a step "
                   "folder beside it; not followed\n",
                   link.string().c_str(), target.string().c_str());
    else if (fs::is_symlink(root / target, ec))
      std::fprintf(stderr, "locorun: warning: '%s' is a link; not followed\n",
                   (root / target).string().c_str());
    else
      latest = target.string();
    if (!latest.empty())
      candidates.emplace_back(stepOf(latest), root / latest);
  }
  for (auto &folder : stepFolders(root))
    if (folder.second.filename() != latest)
      candidates.push_back(std::move(folder));
  for (const auto &[step, folder] : candidates) {
    std::string why = verify(folder, step);
    if (why.empty())
      return folder.string();
    std::fprintf(stderr,
                 "locorun: warning: checkpoint '%s' is incomplete or corrupt "
                 "(%s); trying the previous one\n",
                 folder.string().c_str(), why.c_str());
  }
  if (fs::exists(root / "model.safetensors", ec) &&
      fs::exists(root / "optimizer.safetensors", ec))
    return dir; // the earlier layout: one checkpoint, directly in `dir`
  throw RunError(option + ": '" + dir + "' holds no complete checkpoint");
}

std::string loco::findWeights(const std::string &path,
                              const std::string &option) {
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    return path;
  fs::path dir(path);
  // One checkpoint folder, given by name: it must verify (there is no
  // earlier one to fall back to that the user asked for).
  if (fs::exists(dir / kManifest, ec)) {
    std::string why = verify(dir, stepOf(dir.filename().string()));
    if (!why.empty())
      throw RunError(option + ": checkpoint '" + path +
                     "' is incomplete or corrupt (" + why + ")");
    return (dir / "model.safetensors").string();
  }
  // Weights on their own (pth2safetensors, or copied out of a checkpoint).
  if (fs::exists(dir / "model.safetensors", ec))
    return (dir / "model.safetensors").string();
  // A run's --out (or its best/): the newest complete checkpoint.
  bool steps = !stepFolders(dir).empty() || fs::is_symlink(dir / kLatest, ec);
  if (!steps)
    throw RunError(option + ": '" + path +
                   "' is a folder without model.safetensors or checkpoints");
  return findCheckpoint(path, option) + "/model.safetensors";
}
