//===- ReadModelSpec.cpp - A ModelSpec from a config ----------------------===//
//
// This file implements reading a ModelSpec out of a ConfigDocument by the
// key table (ConfigKeys.h): each key read with its field's default, checked
// against its domain, then the checks between keys.
//
//===----------------------------------------------------------------------===//

#include "frontend/ReadModelSpec.h"
#include "frontend/ConfigDocument.h"
#include "frontend/ConfigKeys.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::loco;

namespace {
/// The largest magnitude of a floating-point config value (see readFloat).
constexpr double kMaxConfigNumber = 1e18;

/// Collects typed values from the document, remembering whether any failed
/// so that every error in a config is reported in one run.
class SpecReader {
public:
  explicit SpecReader(ConfigDocument &doc) : doc(doc) {}

  template <typename T> void read(T &out, FailureOr<T> value) {
    if (failed(value))
      ok = false;
    else
      out = *value;
  }
  void readInt(int64_t &out, llvm::StringRef path,
               std::optional<int64_t> fallback = std::nullopt) {
    read(out, doc.getInt(path, fallback));
  }
  /// A float, which must be finite (YAML's .nan and .inf are numbers).
  void readFloat(double &out, llvm::StringRef path,
                 std::optional<double> fallback = std::nullopt) {
    read(out, doc.getFloat(path, fallback));
    if (!std::isfinite(out))
      error(path) << "'" << path << "' must be a finite number, got "
                  << (std::isnan(out) ? "NaN"
                      : out > 0       ? "Inf"
                                      : "-Inf");
    // The artifact's manifest carries the value, and locorun refuses a
    // manifest number beyond 9.2e18 (it could not be read back as an
    // integer); nothing in a config needs more than 1e18 (as a clip norm
    // or a patience, 1e18 already means never).
    else if (std::abs(out) > kMaxConfigNumber)
      error(path) << "'" << path << "' is " << out
                  << "; a number in a config is at most 1e18 in magnitude "
                     "(1e18 already means no limit)";
  }
  void readBool(bool &out, llvm::StringRef path, bool fallback) {
    read(out, doc.getBool(path, fallback));
  }
  void readString(std::string &out, llvm::StringRef path,
                  std::optional<std::string> fallback = std::nullopt) {
    read(out, doc.getString(path, fallback));
  }
  /// Reports an impossible value or combination at `path`.
  InFlightDiagnostic error(llvm::StringRef path) {
    ok = false;
    return emitError(doc.keyLoc(path));
  }
  /// Reports a conflict between keys at the first of `paths` that the config
  /// spells out (the others may be defaults).
  InFlightDiagnostic error(std::initializer_list<llvm::StringRef> paths) {
    for (llvm::StringRef path : paths)
      if (doc.has(path))
        return error(path);
    return error(*paths.begin());
  }
  /// Requires `value` to be one of `allowed`.
  void checkOneOf(llvm::StringRef path, llvm::StringRef value,
                  llvm::ArrayRef<llvm::StringRef> allowed) {
    if (llvm::is_contained(allowed, value))
      return;
    error(path) << "'" << path << "' is '" << value << "'; lococ supports "
                << llvm::join(allowed, ", ");
  }
  /// Requires 1 <= value <= limit. The limits are far above any model
  /// that trains and keep every size the compiler computes in int64.
  void checkDimension(llvm::StringRef path, int64_t value, int64_t limit) {
    if (value <= 0)
      error(path) << "'" << path << "' must be positive, got " << value;
    else if (value > limit)
      error(path) << "'" << path << "' is " << value
                  << "; lococ supports at most " << limit;
  }
  /// Requires low <= value (or low < value when `open`) and value < high
  /// (or value <= high when `closedHigh`).
  void checkRange(llvm::StringRef path, double value, double low, bool open,
                  double high = INFINITY, bool closedHigh = false,
                  llvm::StringRef meaning = "") {
    bool above = open ? value > low : value >= low;
    bool below = closedHigh ? value <= high : value < high;
    if (above && below)
      return;
    auto number = [](double v) {
      char text[32];
      std::snprintf(text, sizeof(text), "%g", v);
      return std::string(text);
    };
    InFlightDiagnostic diag = error(path);
    diag << "'" << path << "' must be in " << (open ? "(" : "[") << number(low)
         << ", "
         << (std::isinf(high) ? std::string("inf)")
                              : number(high) + (closedHigh ? "]" : ")"))
         << ", got " << number(value);
    if (!meaning.empty())
      diag << " (" << meaning << ")";
  }

  ConfigDocument &doc;
  bool ok = true;
};

/// Whether `key` lies under a key that may be a value or a section
/// (`dataset.augmentation`) and is a value in this config: its keys are then
/// neither read nor checked.
bool underValueOfEither(const ConfigDocument &doc, const ConfigKey &key) {
  llvm::StringRef path = key.path;
  size_t dot = path.rfind('.');
  if (dot == llvm::StringRef::npos)
    return false;
  llvm::StringRef parent = path.take_front(dot);
  const ConfigKey *parentKey = findConfigKey(parent);
  return parentKey && parentKey->shape == KeyShape::Either &&
         !doc.isSection(parent);
}

/// Reads every key of the table that fills a field: an absent key keeps the
/// field's initializer (its default), a required one is an error.
void readKeys(SpecReader &r, ConfigDocument &doc, ModelSpec &spec) {
  for (const ConfigKey &key : configKeys()) {
    if (!key.hasField() || underValueOfEither(doc, key))
      continue;
    llvm::StringRef path = key.path;
    if (key.shape == KeyShape::Either && doc.isSection(path)) {
      // A mapping of overrides turns the feature on unless its `enabled`
      // key says otherwise.
      std::get<SpecField<bool>>(key.field)(spec) = true;
      continue;
    }
    auto fallback = [&](const auto &current) {
      using T = std::decay_t<decltype(current)>;
      return key.required ? std::optional<T>() : std::optional<T>(current);
    };
    std::visit(
        [&](auto field) {
          using F = decltype(field);
          if constexpr (std::is_same_v<F, SpecField<int64_t>>)
            r.read(field(spec), doc.getInt(path, fallback(field(spec))));
          else if constexpr (std::is_same_v<F, SpecField<double>>)
            r.readFloat(field(spec), path, fallback(field(spec)));
          else if constexpr (std::is_same_v<F, SpecField<bool>>)
            r.read(field(spec), doc.getBool(path, fallback(field(spec))));
          else if constexpr (std::is_same_v<F, SpecField<std::string>>)
            r.read(field(spec), doc.getString(path, fallback(field(spec))));
          else if constexpr (std::is_same_v<F, SpecField<std::vector<int64_t>>>)
            r.read(field(spec), doc.getIntList(path, fallback(field(spec))));
          else if constexpr (std::is_same_v<F, SpecField<std::vector<double>>>)
            r.read(field(spec), doc.getFloatList(path, fallback(field(spec))));
          else if constexpr (std::is_same_v<
                                 F, SpecField<std::vector<std::string>>>)
            r.read(field(spec), doc.getStringList(path, fallback(field(spec))));
        },
        key.field);
  }
}

/// Checks one value against its key's domain.
void checkValue(SpecReader &r, const ConfigKey &key, int64_t value) {
  const KeyDomain &d = key.domain;
  if (d.kind == KeyDomain::Kind::Dimension)
    r.checkDimension(key.path, value, d.limit);
  else if (d.kind == KeyDomain::Kind::NonNegative && value < 0)
    r.error(key.path) << "'" << key.path << "' must not be negative, got "
                      << value;
  else if (d.kind == KeyDomain::Kind::Range)
    r.checkRange(key.path, value, d.low, d.openLow, d.high, d.closedHigh,
                 d.meaning);
}
void checkValue(SpecReader &r, const ConfigKey &key, double value) {
  const KeyDomain &d = key.domain;
  if (d.kind == KeyDomain::Kind::Range)
    r.checkRange(key.path, value, d.low, d.openLow, d.high, d.closedHigh,
                 d.meaning);
}
void checkValue(SpecReader &r, const ConfigKey &key, const std::string &value) {
  if (key.domain.kind != KeyDomain::Kind::OneOf)
    return;
  llvm::SmallVector<llvm::StringRef> choices;
  llvm::StringRef(key.domain.choices).split(choices, ',');
  r.checkOneOf(key.path, value, choices);
}
void checkValue(SpecReader &, const ConfigKey &, bool) {}
template <typename T>
void checkValue(SpecReader &r, const ConfigKey &key,
                const std::vector<T> &values) {
  static const char *const words[] = {"no", "one", "two", "three", "four"};
  size_t count = key.domain.count;
  if (count && values.size() != count) {
    r.error(key.path) << "'" << key.path << "' takes "
                      << (count < std::size(words) ? words[count]
                                                   : std::to_string(count))
                      << " numbers, got " << values.size();
    return;
  }
  for (const T &value : values)
    checkValue(r, key, value);
}

/// Checks the keys whose domain is one of `kinds`, each entry of a list on
/// its own. A default is always in its key's domain, so an optional key
/// left at its default (an absent scheduler's type "") passes.
void checkKeyDomains(SpecReader &r, ModelSpec &spec,
                     std::initializer_list<KeyDomain::Kind> kinds) {
  const ModelSpec defaults;
  for (const ConfigKey &key : configKeys()) {
    if (!key.hasField() || !llvm::is_contained(kinds, key.domain.kind) ||
        underValueOfEither(r.doc, key))
      continue;
    // The augmentation's numbers matter only when it runs.
    if (llvm::StringRef(key.path).starts_with("dataset.augmentation.") &&
        !spec.augmentation.enabled)
      continue;
    std::visit(
        [&](auto field) {
          using F = decltype(field);
          if constexpr (!std::is_same_v<F, std::monostate>) {
            auto &value = field(spec);
            if (key.required || value != readField(defaults, field))
              checkValue(r, key, value);
          }
        },
        key.field);
  }
}

/// The largest tensors of the step: [B, C, T, F] activations and the FFN's
/// [B x F, T, hidden] (or [B x T, F, hidden]), in elements, with checked
/// arithmetic. 2^40 elements (4 TiB in fp32) keeps any sum of the step's
/// tensor sizes far from overflow.
void checkLargestTensor(SpecReader &r, const ModelSpec &spec) {
  constexpr int64_t kMaxElements = int64_t(1) << 40;
  int64_t widest = spec.embDim;
  for (int64_t hidden : spec.ffnHiddenDims)
    widest = std::max(widest, 2 * hidden);
  widest = std::max({widest, spec.attentionDim, 2 * spec.nSources});
  int64_t elements = 1;
  bool overflow = false;
  for (int64_t factor : {spec.batchSize, spec.frames(), spec.bins(), widest})
    overflow |= llvm::MulOverflow(elements, factor, elements);
  if (overflow || elements > kMaxElements)
    r.error({"dataset.segment_length", "training.batch_size", "model.emb_dim",
             "model.ffn_hidden_dim", "model.n_fft"})
        << "the step's largest tensor ([batch " << spec.batchSize << ", frames "
        << spec.frames() << ", bins " << spec.bins() << ", width " << widest
        << "]) has "
        << (overflow ? std::string("more than 2^63") : std::to_string(elements))
        << " elements; lococ supports at most 2^40";
}

/// Impossible combinations of keys.
void checkCombinations(SpecReader &r, const ModelSpec &spec) {
  if (spec.nFft % 2 != 0)
    r.error("model.n_fft") << "'model.n_fft' must be even, got " << spec.nFft;
  if (spec.hopLength > spec.nFft)
    r.error({"model.hop_length", "model.n_fft"})
        << "'model.hop_length' (" << spec.hopLength
        << ") must not exceed 'model.n_fft' (" << spec.nFft << ")";
  else if (2 * spec.hopLength > spec.nFft)
    r.error("model.hop_length")
        << "'model.hop_length' (" << spec.hopLength << ") above n_fft / 2 ("
        << spec.nFft / 2
        << ") leaves the inverse STFT too little window overlap; lococ needs "
           "hop_length <= n_fft / 2";
  if (spec.segmentLength <= spec.nFft / 2)
    r.error("dataset.segment_length")
        << "'dataset.segment_length' (" << spec.segmentLength
        << ") must exceed n_fft / 2 = " << spec.nFft / 2
        << " for the centered STFT's reflection padding";
  if (spec.hasSpectral() && spec.segmentLength <= 1024)
    r.error("dataset.segment_length")
        << "'dataset.segment_length' (" << spec.segmentLength
        << ") must exceed 1024 for the spectral loss (n_fft 2048)";
  if (spec.attentionDim % spec.nHeads != 0)
    r.error({"model.n_heads", "model.attention_dim"})
        << "'model.attention_dim' (" << spec.attentionDim
        << ") must be divisible by 'model.n_heads' (" << spec.nHeads << ")";
  else if (spec.posEnc == "rope" && spec.headDim() % 2 != 0)
    r.error({"model.n_heads", "model.attention_dim"})
        << "RoPE needs an even head dim; attention_dim / "
           "n_heads = "
        << spec.headDim();
  if (spec.embDim % spec.numGroups != 0)
    r.error({"model.num_groups", "model.emb_dim"})
        << "'model.emb_dim' (" << spec.embDim
        << ") must be divisible by 'model.num_groups' (" << spec.numGroups
        << ")";
  if (spec.ffnTypes.empty() || spec.ffnTypes.size() > 2)
    r.error("model.ffn_type")
        << "'model.ffn_type' takes one or two entries, got "
        << spec.ffnTypes.size();
  else if (spec.ffnHiddenDims.size() != spec.ffnTypes.size())
    r.error({"model.ffn_hidden_dim", "model.ffn_type"})
        << "'model.ffn_hidden_dim' has " << spec.ffnHiddenDims.size()
        << " entries but 'model.ffn_type' has " << spec.ffnTypes.size();
  if (spec.conv1dShift > spec.conv1dKernel)
    r.error({"model.conv1d_shift", "model.conv1d_kernel"})
        << "'model.conv1d_shift' (" << spec.conv1dShift
        << ") must not exceed 'model.conv1d_kernel' (" << spec.conv1dKernel
        << ")";
  if (static_cast<int64_t>(spec.sources.size()) != spec.nSources)
    r.error({"model.n_sources", "dataset.sources"})
        << "'model.n_sources' is " << spec.nSources
        << " but 'dataset.sources' names " << spec.sources.size()
        << " sources (" << llvm::join(spec.sources, ", ") << ")";
}

/// The augmentation's bounds between keys (each key's own domain is in the
/// table).
void checkAugmentation(SpecReader &r, const ModelSpec &spec) {
  const ModelSpec::Augmentation &aug = spec.augmentation;
  llvm::StringRef prefix = "dataset.augmentation.";
  auto key = [&](llvm::StringRef leaf) { return (prefix + leaf).str(); };
  r.checkRange(key("gain_max"), aug.gainMax, aug.gainMin, false, INFINITY,
               false, "at least gain_min");
  r.checkRange(key("mp3_max_bitrate"), aug.mp3MaxBitrate, aug.mp3MinBitrate,
               false, 320, true, "from mp3_min_bitrate to 320 kbps");
  r.checkRange(key("noise_max_snr_db"), aug.noiseMaxSnrDb, aug.noiseMinSnrDb,
               false, 200.0, true, "from noise_min_snr_db");
  if (aug.mp3Prob > 0 && spec.sampleRate < 32000)
    r.error({"dataset.augmentation.mp3_prob", "dataset.augmentation"})
        << "MP3 augmentation encodes MPEG-1 layer III, which needs a sample "
           "rate of at least 32000 Hz; 'dataset.sample_rate' is "
        << spec.sampleRate << " (set mp3_prob: 0)";
}

/// Repetitions that no single value shows.
void checkLists(SpecReader &r, const ModelSpec &spec) {
  // Each source names one output: a repeated name would overwrite another.
  for (size_t i = 0; i < spec.sources.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (spec.sources[i] == spec.sources[j])
        r.error("dataset.sources")
            << "'dataset.sources' names '" << spec.sources[i]
            << "' twice; each source is one output";
}

} // namespace

std::optional<ModelSpec> mlir::loco::parseModelSpec(ConfigDocument &doc) {
  using Kind = KeyDomain::Kind;
  ModelSpec spec;
  spec.configFile = doc.fileName();
  SpecReader r(doc);
  readKeys(r, doc, spec);
  if (!r.ok)
    return std::nullopt;
  // Sizes first: the checks after them compute with the sizes.
  checkKeyDomains(r, spec, {Kind::Dimension});
  if (!r.ok)
    return std::nullopt;
  checkLargestTensor(r, spec);
  if (!r.ok)
    return std::nullopt;
  checkKeyDomains(r, spec, {Kind::OneOf});
  checkCombinations(r, spec);
  checkKeyDomains(r, spec, {Kind::Range, Kind::NonNegative});
  checkLists(r, spec);
  if (spec.augmentation.enabled)
    checkAugmentation(r, spec);
  if (!r.ok)
    return std::nullopt;

  for (auto &entry : doc.keyLocations())
    spec.keyLocations.insert({entry.getKey(), entry.getValue()});
  return spec;
}

std::optional<ModelSpec>
mlir::loco::loadModelSpec(MLIRContext *context, llvm::StringRef file,
                          llvm::ArrayRef<std::string> overrides, bool verbose) {
  ConfigDocument doc(context, file.str());
  if (failed(doc.load()))
    return std::nullopt;
  for (auto [index, assignment] : llvm::enumerate(overrides))
    if (failed(doc.applyOverride(assignment, index + 1)))
      return std::nullopt;
  if (failed(doc.checkKeys(verbose)))
    return std::nullopt;
  return parseModelSpec(doc);
}
