//===- ConfigKeys.h - One definition of every config key --------*- C++ -*-===//
//
// This file declares the table of every key of the upstream YAML schema:
// its path, its shape (section or value), which layer reads it, the
// ModelSpec field it fills (whose initializer is its default), whether it is
// required, its domain, the manifest entry it is serialised into, and a
// one-line meaning. The config reader (ModelSpec.cpp), the unknown-key check
// (ConfigDocument.cpp), the manifest writer (BuildTrainStep.cpp) and the key
// reference of docs/TRAINING.md (`lococ --list-config-keys`, checked by the
// docs-config-keys test) are all driven by it. Checks between keys (n_fft
// against hop_length, gain_max against gain_min, ...) are not a key's
// domain; ModelSpec.cpp states them.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_CONFIGKEYS_H
#define LOCO_FRONTEND_CONFIGKEYS_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir::loco {

/// A section (a mapping of keys), a value, or either (`augmentation: true`
/// or a mapping of overrides).
enum class KeyShape { Section, Value, Either };

/// Who reads a key.
enum class KeyReader {
  /// lococ: it shapes the compiled step.
  Compiler,
  /// locorun, from the artifact's manifest.
  Runner,
  /// Both: compiled in and carried in the manifest.
  Both,
  /// Only upstream's PyTorch trainer (DataLoader, cuDNN, allocator):
  /// accepted, ignored, remarked on with --verbose.
  TorchOnly,
  /// Neither: a label, or what locorun's flags say instead.
  Unused,
};

/// The values a key may take on its own.
struct KeyDomain {
  enum class Kind { Any, Dimension, Range, NonNegative, OneOf };
  Kind kind = Kind::Any;
  /// Dimension: 1 <= value <= limit.
  int64_t limit = 0;
  /// Range: low <= value (low < value when openLow), value < high
  /// (value <= high when closedHigh).
  double low = 0, high = INFINITY;
  bool openLow = false, closedHigh = false;
  /// OneOf: the values lococ supports, comma-separated.
  const char *choices = "";
  /// Range: why, appended to the error.
  const char *meaning = "";
  /// A list of exactly this many entries (0: any); the entries are checked
  /// only when the count is right.
  size_t count = 0;
};

/// The ModelSpec field a key fills. Each is a plain function so that nested
/// fields (the augmentation's) are reachable as well as direct ones.
template <typename T> using SpecField = T &(*)(ModelSpec &);
using KeyField = std::variant<
    std::monostate, SpecField<int64_t>, SpecField<double>, SpecField<bool>,
    SpecField<std::string>, SpecField<std::vector<int64_t>>,
    SpecField<std::vector<double>>, SpecField<std::vector<std::string>>>;

/// `field` of a const spec: the table's accessors serve the reader, which
/// writes, and the manifest and documentation, which only read.
template <typename T>
const T &readField(const ModelSpec &spec, SpecField<T> field) {
  return field(const_cast<ModelSpec &>(spec));
}

/// One key of the schema.
struct ConfigKey {
  const char *path;
  KeyShape shape = KeyShape::Value;
  KeyReader reader = KeyReader::Compiler;
  KeyField field;
  bool required = false;
  KeyDomain domain;
  /// The manifest table and key it is written to ("" when it is not).
  const char *manifestTable = "", *manifestKey = "";
  const char *meaning = "";
  /// The default's text where it is not the field's initializer (a key
  /// whose default depends on its section's form).
  const char *defaultNote = "";

  bool hasField() const { return field.index() != 0; }
  /// The type's name in the key reference ("int", "float list", ...).
  llvm::StringRef typeName() const;
  /// The default as YAML text, taken from a default-constructed ModelSpec
  /// ("required" for a required key, "" for one without a field).
  std::string defaultText() const;
  /// The domain as text ("1 to 65536", "[0, 1)", "`ft`, `tf`", ...).
  std::string domainText() const;
};

/// Every key of the schema, sections before their keys.
llvm::ArrayRef<ConfigKey> configKeys();
/// The key at `path`, or nullptr.
const ConfigKey *findConfigKey(llvm::StringRef path);

/// Writes the key reference as a Markdown table (docs/TRAINING.md holds it
/// between its config-keys markers).
void printConfigKeyTable(llvm::raw_ostream &os);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_CONFIGKEYS_H
