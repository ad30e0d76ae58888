//===- ConfigDocument.h - A YAML config with key locations ------*- C++ -*-===//
//
// This file declares ConfigDocument: an upstream YAML config loaded with
// yaml-cpp, `--set key.path=value` overrides applied, every key's line:col
// remembered, and typed access that reports errors as MLIR diagnostics at
// those locations. yaml-cpp's exceptions stay inside the implementation.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_CONFIGDOCUMENT_H
#define LOCO_FRONTEND_CONFIGDOCUMENT_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::loco {

class ConfigDocument {
public:
  ConfigDocument(MLIRContext *context, std::string fileName);
  ~ConfigDocument();

  /// Parses the file (at most 1 MiB of text). Syntax errors, a second YAML
  /// document and duplicate keys are reported at their line:col.
  LogicalResult load();
  /// Parses `text` as if it were the file's contents (tests, stdin).
  LogicalResult loadFromString(llvm::StringRef text);
  /// Applies `path.to.key=value` (value in YAML flow syntax). `index` is the
  /// position of the override on the command line, used in its location.
  LogicalResult applyOverride(llvm::StringRef assignment, unsigned index);

  /// Warns about unknown keys (with a did-you-mean), errors on keys of a
  /// wrong kind (a map where a value belongs); with `verbose`, remarks on
  /// keys that only the PyTorch trainer reads. Returns failure on errors.
  LogicalResult checkKeys(bool verbose);

  const std::string &fileName() const { return file; }
  MLIRContext *getContext() const { return context; }

  bool has(llvm::StringRef path) const;
  /// Whether the value at `path` is a mapping.
  bool isSection(llvm::StringRef path) const;
  /// Location of the key at `path`, else of its nearest present parent, else
  /// the file's first line.
  Location keyLoc(llvm::StringRef path) const;
  /// Every present key with its location.
  const llvm::StringMap<Location> &keyLocations() const { return locations; }

  /// Typed access. A missing key yields `fallback`, or an error "missing
  /// required key" when there is none; a value of the wrong type is an
  /// error at the key.
  FailureOr<int64_t> getInt(llvm::StringRef path,
                            std::optional<int64_t> fallback);
  FailureOr<double> getFloat(llvm::StringRef path,
                             std::optional<double> fallback);
  FailureOr<bool> getBool(llvm::StringRef path, std::optional<bool> fallback);
  FailureOr<std::string> getString(llvm::StringRef path,
                                   std::optional<std::string> fallback);
  /// A scalar or a sequence of scalars.
  FailureOr<std::vector<int64_t>>
  getIntList(llvm::StringRef path,
             std::optional<std::vector<int64_t>> fallback);
  FailureOr<std::vector<double>>
  getFloatList(llvm::StringRef path,
               std::optional<std::vector<double>> fallback);
  FailureOr<std::vector<std::string>>
  getStringList(llvm::StringRef path,
                std::optional<std::vector<std::string>> fallback);

private:
  struct Impl;
  MLIRContext *context;
  std::string file;
  std::unique_ptr<Impl> impl;
  llvm::StringMap<Location> locations;

  void indexKeys();
  LogicalResult checkDuplicateKeys();
};

} // namespace mlir::loco

#endif // LOCO_FRONTEND_CONFIGDOCUMENT_H
