//===- ConfigDocument.cpp - A YAML config with key locations --------------===//
//
// This file implements ConfigDocument on top of yaml-cpp, and the schema of
// the upstream config keys: which ones lococ reads, which ones only the
// PyTorch trainer reads, and the did-you-mean for everything else.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConfigDocument.h"
#include "frontend/ConfigKeys.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

#include <yaml-cpp/yaml.h>

#include <yaml-cpp/eventhandler.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

using namespace mlir;
using namespace mlir::loco;

//===----------------------------------------------------------------------===//
// Schema
//===----------------------------------------------------------------------===//

// The schema is the key table of ConfigKeys.h. `TorchOnly` keys steer only
// upstream's PyTorch trainer (data loader workers, cuDNN flags, allocator
// settings) and are accepted and ignored.
static const ConfigKey *findKey(llvm::StringRef path) {
  return findConfigKey(path);
}

static llvm::StringRef parentOf(llvm::StringRef path) {
  size_t dot = path.rfind('.');
  return dot == llvm::StringRef::npos ? llvm::StringRef()
                                      : path.take_front(dot);
}

/// The known key among `path`'s siblings closest to it, if any is close.
static std::optional<std::string> suggestKey(llvm::StringRef path) {
  llvm::StringRef parent = parentOf(path);
  llvm::StringRef leaf =
      parent.empty() ? path : path.drop_front(parent.size() + 1);
  std::optional<std::string> best;
  unsigned bestDistance = std::max<unsigned>(2, leaf.size() / 3) + 1;
  for (const ConfigKey &spec : configKeys()) {
    llvm::StringRef candidate(spec.path);
    if (parentOf(candidate) != parent)
      continue;
    llvm::StringRef candidateLeaf =
        parent.empty() ? candidate : candidate.drop_front(parent.size() + 1);
    unsigned distance = leaf.edit_distance(candidateLeaf, true, bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = spec.path;
    }
  }
  return best;
}

//===----------------------------------------------------------------------===//
// ConfigDocument
//===----------------------------------------------------------------------===//

struct ConfigDocument::Impl {
  YAML::Node root;
  /// Paths set by `--set`, which take their location from the command line.
  llvm::StringMap<Location> overrides;
};

ConfigDocument::ConfigDocument(MLIRContext *context, std::string fileName)
    : context(context), file(std::move(fileName)),
      impl(std::make_unique<Impl>()) {}

ConfigDocument::~ConfigDocument() = default;

static Location fileLoc(MLIRContext *context, llvm::StringRef file,
                        const YAML::Mark &mark) {
  // yaml-cpp counts from 0; diagnostics count from 1.
  unsigned line = mark.line < 0 ? 1 : mark.line + 1;
  unsigned column = mark.column < 0 ? 1 : mark.column + 1;
  return FileLineColLoc::get(context, file, line, column);
}

namespace {
/// Records where the parser's events are, nothing more.
class DocumentStarts : public YAML::EventHandler {
public:
  std::optional<YAML::Mark> start;
  void OnDocumentStart(const YAML::Mark &mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t,
                const std::string &) override {}
  void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

/// Where a second document of `text` starts, if it has one. The parser is
/// asked for two documents at most: yaml-cpp 0.7's LoadAll never returns
/// on some inputs (a lone ','; found by fuzzing), because the parser keeps
/// reporting a document without consuming anything.
std::optional<YAML::Mark> secondDocument(const std::string &text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts events;
  if (!parser.HandleNextDocument(events))
    return std::nullopt;
  events.start.reset();
  if (!parser.HandleNextDocument(events))
    return std::nullopt;
  return events.start ? events.start : YAML::Mark();
}
} // namespace

/// Configs are a few kilobytes; anything far larger is not one (a device
/// such as /dev/zero would otherwise be read until memory runs out).
constexpr size_t kMaxConfigBytes = 1 << 20;

LogicalResult ConfigDocument::loadFromString(llvm::StringRef text) {
  // yaml-cpp 0.7 loops, allocating without end, on some inputs with a NUL
  // byte (found by fuzzing); YAML text has none.
  if (text.contains('\0'))
    return emitError(UnknownLoc::get(context))
           << "'" << file << "' holds a NUL byte; a config is YAML text";
  std::optional<YAML::Mark> second;
  try {
    impl->root = YAML::Load(text.str());
    second = secondDocument(text.str());
  } catch (const YAML::Exception &e) {
    return emitError(fileLoc(context, file, e.mark))
           << "invalid YAML: " << e.msg;
  }
  // One document: PyYAML's safe_load, which upstream uses, refuses more.
  if (second)
    return emitError(fileLoc(context, file, *second))
           << "a second YAML document starts here (after '---', or text "
              "the parser reads as one); a config is one document";
  if (!impl->root.IsMap())
    return emitError(FileLineColLoc::get(context, file, 1, 1))
           << "expects a YAML mapping of config sections at the top level";
  if (failed(checkDuplicateKeys()))
    return failure();
  indexKeys();
  return success();
}

LogicalResult ConfigDocument::load() {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return emitError(UnknownLoc::get(context))
           << "'" << file << "' is a folder, not a config file";
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return emitError(UnknownLoc::get(context))
           << "cannot read config file '" << file << "'";
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    return emitError(UnknownLoc::get(context))
           << "cannot read config file '" << file << "'";
  text.resize(static_cast<size_t>(in.gcount()));
  // No file location here: the diagnostic handler would read the whole
  // file to quote its line.
  if (text.size() > kMaxConfigBytes)
    return emitError(UnknownLoc::get(context))
           << "'" << file << "' is larger than " << (kMaxConfigBytes >> 20)
           << " MiB; a config is a few kilobytes of YAML";
  return loadFromString(text);
}

namespace {
/// A key that appears twice in one mapping of a YAML tree.
struct DuplicateKey {
  std::string path;
  YAML::Mark first, second;
};

/// Every duplicate key of the mappings under `node` (whose own path is
/// `prefix`), in document order.
std::vector<DuplicateKey> findDuplicateKeys(const YAML::Node &node,
                                            const std::string &prefix) {
  std::vector<DuplicateKey> found;
  std::function<void(const YAML::Node &, const std::string &)> walk =
      [&](const YAML::Node &node, const std::string &prefix) {
        if (!node.IsMap())
          return;
        llvm::StringMap<YAML::Mark> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
          std::string key = it->first.Scalar();
          std::string path = prefix.empty() ? key : prefix + "." + key;
          auto [entry, fresh] = seen.try_emplace(key, it->first.Mark());
          if (!fresh)
            found.push_back({path, entry->second, it->first.Mark()});
          walk(it->second, path);
        }
      };
  walk(node, prefix);
  return found;
}

constexpr const char *kDuplicateAdvice =
    "; yaml-cpp would use the first value and PyYAML, upstream's loader, the "
    "last: keep one";
} // namespace

LogicalResult ConfigDocument::checkDuplicateKeys() {
  // yaml-cpp keeps both entries and answers lookups with the first; PyYAML
  // keeps the last. The same file would build two models: refuse it.
  std::vector<DuplicateKey> duplicates = findDuplicateKeys(impl->root, "");
  for (const DuplicateKey &duplicate : duplicates)
    emitError(fileLoc(context, file, duplicate.second))
        << "duplicate key '" << duplicate.path << "' (first at line "
        << duplicate.first.line + 1 << ")" << kDuplicateAdvice;
  return success(duplicates.empty());
}

void ConfigDocument::indexKeys() {
  locations.clear();
  std::function<void(const YAML::Node &, const std::string &)> walk =
      [&](const YAML::Node &node, const std::string &prefix) {
        if (!node.IsMap())
          return;
        for (auto it = node.begin(); it != node.end(); ++it) {
          std::string path = prefix.empty() ? it->first.Scalar()
                                            : prefix + "." + it->first.Scalar();
          locations.insert_or_assign(path,
                                     fileLoc(context, file, it->first.Mark()));
          walk(it->second, path);
        }
      };
  walk(impl->root, "");
  // An override's value, and every key inside it (a mapping such as
  // `--set 'dataset.augmentation={mp3_prob: 0}'`), is located at the
  // override: the marks inside it count from the start of its value text.
  for (auto &entry : impl->overrides) {
    std::string prefix = (entry.getKey() + ".").str();
    for (auto &located : locations)
      if (located.getKey().starts_with(prefix))
        located.getValue() = entry.getValue();
    locations.insert_or_assign(entry.getKey(), entry.getValue());
  }
}

LogicalResult ConfigDocument::applyOverride(llvm::StringRef assignment,
                                            unsigned index) {
  Location loc = FileLineColLoc::get(context, "--set", index, 1);
  auto [path, value] = assignment.split('=');
  path = path.trim();
  if (path.empty() || assignment.find('=') == llvm::StringRef::npos)
    return emitError(loc) << "expects --set key.path=value, got '" << assignment
                          << "'";
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value.str());
  } catch (const YAML::Exception &e) {
    return emitError(loc) << "invalid YAML value in --set " << path << ": "
                          << e.msg;
  }
  // A mapping given inline (`--set 'dataset.augmentation={a: 1, a: 2}'`)
  // is held to the config file's rule.
  std::vector<DuplicateKey> duplicates = findDuplicateKeys(parsed, path.str());
  for (const DuplicateKey &duplicate : duplicates)
    emitError(loc) << "duplicate key '" << duplicate.path << "' in --set "
                   << path << " (at columns " << duplicate.first.column + 1
                   << " and " << duplicate.second.column + 1 << " of its value)"
                   << kDuplicateAdvice;
  if (!duplicates.empty())
    return failure();
  llvm::SmallVector<llvm::StringRef> parts;
  path.split(parts, '.');
  try {
    YAML::Node node = impl->root;
    for (llvm::StringRef part : llvm::ArrayRef(parts).drop_back()) {
      if (node[part.str()] && !node[part.str()].IsMap())
        return emitError(loc)
               << "--set " << path << ": '" << part << "' is not a section";
      node.reset(node[part.str()]);
    }
    node[parts.back().str()] = parsed;
  } catch (const YAML::Exception &e) {
    return emitError(loc) << "cannot apply --set " << path << ": " << e.msg;
  }
  impl->overrides.insert_or_assign(path, loc);
  indexKeys();
  return success();
}

LogicalResult ConfigDocument::checkKeys(bool verbose) {
  bool ok = true;
  for (auto &entry : locations) {
    llvm::StringRef path = entry.getKey();
    const ConfigKey *spec = findKey(path);
    if (!spec) {
      // Report the outermost unknown key only.
      llvm::StringRef parent = parentOf(path);
      if (!parent.empty() && !findKey(parent))
        continue;
      InFlightDiagnostic diag = emitWarning(entry.getValue())
                                << "unknown key '" << path << "' is ignored";
      if (std::optional<std::string> suggestion = suggestKey(path))
        diag << "; did you mean '" << *suggestion << "'?";
      continue;
    }
    bool isMap = isSection(path);
    if (spec->shape == KeyShape::Section && !isMap) {
      emitError(entry.getValue()) << "expects '" << path << "' to be a section";
      ok = false;
    } else if (spec->shape == KeyShape::Value && isMap) {
      emitError(entry.getValue())
          << "expects '" << path << "' to be a value, not a section";
      ok = false;
    } else if (verbose && spec->reader == KeyReader::TorchOnly &&
               (spec->shape == KeyShape::Value || !findKey(parentOf(path)) ||
                findKey(parentOf(path))->reader != KeyReader::TorchOnly)) {
      emitRemark(entry.getValue())
          << "'" << path << "' only affects the PyTorch trainer; ignored";
    }
  }
  return success(ok);
}

bool ConfigDocument::isSection(llvm::StringRef path) const {
  try {
    YAML::Node node = impl->root;
    llvm::SmallVector<llvm::StringRef> parts;
    path.split(parts, '.');
    for (llvm::StringRef part : parts) {
      if (!node.IsMap())
        return false;
      node.reset(node[part.str()]);
    }
    return node.IsMap();
  } catch (const YAML::Exception &) {
    return false;
  }
}

bool ConfigDocument::has(llvm::StringRef path) const {
  return locations.count(path);
}

Location ConfigDocument::keyLoc(llvm::StringRef path) const {
  for (llvm::StringRef p = path; !p.empty(); p = parentOf(p)) {
    auto it = locations.find(p);
    if (it != locations.end())
      return it->second;
  }
  return FileLineColLoc::get(context, file, 1, 1);
}

namespace {
/// Looks up `path` and converts its value with `convert`, which may throw
/// yaml-cpp exceptions; reports missing and mistyped values.
template <typename T, typename Convert>
FailureOr<T> getTyped(ConfigDocument &doc, const YAML::Node &root,
                      llvm::StringRef path, std::optional<T> fallback,
                      llvm::StringRef expected, Convert convert) {
  YAML::Node node;
  try {
    node.reset(root);
    llvm::SmallVector<llvm::StringRef> parts;
    path.split(parts, '.');
    for (llvm::StringRef part : parts) {
      if (!node.IsMap()) {
        node.reset(YAML::Node(YAML::NodeType::Undefined));
        break;
      }
      YAML::Node child = node[part.str()];
      node.reset(child);
    }
  } catch (const YAML::Exception &) {
    node.reset(YAML::Node(YAML::NodeType::Undefined));
  }
  if (!node.IsDefined() || node.IsNull()) {
    if (fallback)
      return *fallback;
    emitError(doc.keyLoc(path)) << "missing required key '" << path << "'";
    return failure();
  }
  try {
    return convert(node);
  } catch (const YAML::Exception &) {
  }
  std::string text = node.IsScalar()     ? "'" + node.Scalar() + "'"
                     : node.IsSequence() ? std::string("a list")
                                         : std::string("a section");
  emitError(doc.keyLoc(path))
      << "'" << path << "' expects " << expected << ", got " << text;
  return failure();
}

template <typename T> std::vector<T> scalarOrList(const YAML::Node &node) {
  std::vector<T> values;
  if (node.IsSequence()) {
    for (const YAML::Node &item : node)
      values.push_back(item.as<T>());
    return values;
  }
  if (!node.IsScalar())
    throw YAML::TypedBadConversion<T>(node.Mark());
  values.push_back(node.as<T>());
  return values;
}
} // namespace

FailureOr<int64_t> ConfigDocument::getInt(llvm::StringRef path,
                                          std::optional<int64_t> fallback) {
  return getTyped<int64_t>(*this, impl->root, path, fallback, "an integer",
                           [](const YAML::Node &n) { return n.as<int64_t>(); });
}

FailureOr<double> ConfigDocument::getFloat(llvm::StringRef path,
                                           std::optional<double> fallback) {
  return getTyped<double>(*this, impl->root, path, fallback, "a number",
                          [](const YAML::Node &n) { return n.as<double>(); });
}

FailureOr<bool> ConfigDocument::getBool(llvm::StringRef path,
                                        std::optional<bool> fallback) {
  return getTyped<bool>(*this, impl->root, path, fallback, "true or false",
                        [](const YAML::Node &n) { return n.as<bool>(); });
}

FailureOr<std::string>
ConfigDocument::getString(llvm::StringRef path,
                          std::optional<std::string> fallback) {
  return getTyped<std::string>(
      *this, impl->root, path, fallback, "a string", [](const YAML::Node &n) {
        if (!n.IsScalar())
          throw YAML::TypedBadConversion<std::string>(n.Mark());
        return n.Scalar();
      });
}

FailureOr<std::vector<int64_t>>
ConfigDocument::getIntList(llvm::StringRef path,
                           std::optional<std::vector<int64_t>> fallback) {
  return getTyped<std::vector<int64_t>>(*this, impl->root, path, fallback,
                                        "an integer or a list of integers",
                                        scalarOrList<int64_t>);
}

FailureOr<std::vector<double>>
ConfigDocument::getFloatList(llvm::StringRef path,
                             std::optional<std::vector<double>> fallback) {
  return getTyped<std::vector<double>>(*this, impl->root, path, fallback,
                                       "a number or a list of numbers",
                                       scalarOrList<double>);
}

FailureOr<std::vector<std::string>> ConfigDocument::getStringList(
    llvm::StringRef path, std::optional<std::vector<std::string>> fallback) {
  return getTyped<std::vector<std::string>>(*this, impl->root, path, fallback,
                                            "a string or a list of strings",
                                            scalarOrList<std::string>);
}
