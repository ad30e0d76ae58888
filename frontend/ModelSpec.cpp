//===- ModelSpec.cpp - The validated model and training config ------------===//
//
// This file implements reading a ModelSpec out of a ConfigDocument with the
// upstream defaults, the checks for impossible combinations, and the
// parameter table (upstream state_dict names and shapes).
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"
#include "frontend/ConfigDocument.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::loco;

int64_t ParamInfo::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

Location ModelSpec::loc(llvm::StringRef keyPath) const {
  auto it = keyLocations.find(keyPath);
  if (it != keyLocations.end())
    return it->second;
  assert(!keyLocations.empty() && "a parsed spec has at least one key");
  // Fall back to the file itself.
  Location any = keyLocations.begin()->second;
  if (auto fileLoc = dyn_cast<FileLineColLoc>(any))
    return FileLineColLoc::get(fileLoc.getFilename(), 1, 1);
  return any;
}

std::string ModelSpec::deviceName() const {
  return device == "cuda" ? "cuda:" + std::to_string(gpuId) : device;
}

std::vector<std::string> ModelSpec::pathOrder() const {
  if (tfOrder == "tf")
    return {"frame_path", "freq_path"};
  return {"freq_path", "frame_path"};
}

int64_t ModelSpec::ffnHidden(unsigned index) const {
  // Upstream builds the FFN module list reversed: ffn.{n-1-i} comes from the
  // config's entry i.
  return ffnHiddenDims[ffnHiddenDims.size() - 1 - index];
}

/// PyTorch's default for conv and linear layers: kaiming_uniform(a=sqrt(5))
/// on the weight and U(-b, b) on the bias, both with b = 1/sqrt(fan_in),
/// where fan_in = dim 1 x kernel size (for transposed convs too).
static std::string uniformInit(int64_t fanIn) {
  return "uniform:" +
         std::to_string(1.0 / std::sqrt(static_cast<double>(fanIn)));
}

std::vector<ParamInfo> ModelSpec::parameters() const {
  std::vector<ParamInfo> params = parameterShapes();
  // Weights by name: one lookup per bias (a scan made this quadratic in
  // n_layers: minutes at 100000 layers).
  llvm::StringMap<const ParamInfo *> byName;
  for (const ParamInfo &p : params)
    byName[p.name] = &p;
  for (ParamInfo &p : params) {
    llvm::StringRef name(p.name);
    if (name.ends_with(".gamma") || name == "conv.1.weight") {
      p.init = "ones";
    } else if (name == "conv.1.bias") {
      p.init = "zeros";
    } else {
      // A bias takes the bound of the weight registered just before it.
      std::string weight = name.ends_with(".bias")
                               ? (name.drop_back(5) + ".weight").str()
                               : p.name;
      if (const ParamInfo *q = byName.lookup(weight))
        p.init = uniformInit(q->numElements() / q->shape[0]);
    }
  }
  return params;
}

std::vector<ParamInfo> ModelSpec::parameterShapes() const {
  std::vector<ParamInfo> params;
  int64_t C = embDim, S = nSources, A = attentionDim, K = conv1dKernel;
  params.push_back({"conv.0.weight", {C, 2, 3, 3}, "model.emb_dim"});
  params.push_back({"conv.0.bias", {C}, "model.emb_dim"});
  params.push_back({"conv.1.weight", {C}, "model.emb_dim"});
  params.push_back({"conv.1.bias", {C}, "model.emb_dim"});
  unsigned numFfn = ffnTypes.size();
  for (int64_t layer = 0; layer < nLayers; ++layer) {
    // Upstream registers freq_path before frame_path whatever tf_order says.
    for (const char *path : {"freq_path", "frame_path"}) {
      std::string prefix = "blocks." + std::to_string(layer) + "." + path + ".";
      for (unsigned j = 0; j < numFfn; ++j)
        params.push_back({prefix + "ffn_norm." + std::to_string(j) + ".gamma",
                          {C},
                          "model.norm_type"});
      for (unsigned j = 0; j < numFfn; ++j) {
        std::string ffn = prefix + "ffn." + std::to_string(j) + ".";
        int64_t H = ffnHidden(j);
        params.push_back(
            {ffn + "conv1d.weight", {2 * H, C, K}, "model.ffn_hidden_dim"});
        params.push_back(
            {ffn + "conv1d.bias", {2 * H}, "model.ffn_hidden_dim"});
        params.push_back(
            {ffn + "deconv1d.weight", {H, C, K}, "model.ffn_hidden_dim"});
        params.push_back({ffn + "deconv1d.bias", {C}, "model.ffn_hidden_dim"});
      }
      params.push_back({prefix + "attn_norm.gamma", {C}, "model.norm_type"});
      params.push_back(
          {prefix + "attn.qkv.weight", {3 * A, C}, "model.attention_dim"});
      params.push_back({prefix + "attn.aggregate_heads.0.weight",
                        {C, A},
                        "model.attention_dim"});
    }
  }
  params.push_back({"deconv.weight", {C, 2 * S, 3, 3}, "model.n_sources"});
  params.push_back({"deconv.bias", {2 * S}, "model.n_sources"});
  return params;
}

std::vector<std::string> ModelSpec::bufferNames() const {
  std::vector<std::string> names;
  if (posEnc != "rope")
    return names;
  for (int64_t layer = 0; layer < nLayers; ++layer)
    for (const char *path : {"freq_path", "frame_path"})
      names.push_back("blocks." + std::to_string(layer) + "." + path +
                      ".attn.rope.freqs");
  return names;
}

std::vector<float> ModelSpec::ropeFreqs() const {
  std::vector<float> freqs;
  int64_t d = headDim();
  // rotary-embedding-torch computes `1. / theta ** (arange(0, d, 2).float()
  // / d)` in float32; doing the same steps in float reproduces its values.
  for (int64_t i = 0; i < d / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(d);
    freqs.push_back(1.0f / std::pow(10000.0f, exponent));
  }
  return freqs;
}

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

/// dataset: the data and its augmentation.
void readDataset(SpecReader &r, ConfigDocument &doc, ModelSpec &spec) {
  r.readInt(spec.sampleRate, "dataset.sample_rate", 44100);
  r.readInt(spec.segmentLength, "dataset.segment_length");
  r.read(spec.sources,
         doc.getStringList(
             "dataset.sources",
             std::vector<std::string>{"vocals", "drums", "bass", "other"}));
  r.readString(spec.rootDir, "dataset.root_dir", std::string());
  r.readBool(spec.randomChunks, "dataset.random_chunks", true);
  // `augmentation: true` (upstream's defaults) or a mapping of overrides.
  ModelSpec::Augmentation &aug = spec.augmentation;
  if (doc.isSection("dataset.augmentation")) {
    r.readBool(aug.enabled, "dataset.augmentation.enabled", true);
    r.readFloat(aug.gainMin, "dataset.augmentation.gain_min", aug.gainMin);
    r.readFloat(aug.gainMax, "dataset.augmentation.gain_max", aug.gainMax);
    r.readFloat(aug.channelSwapProb, "dataset.augmentation.channel_swap_prob",
                aug.channelSwapProb);
    r.readFloat(aug.polarityProb, "dataset.augmentation.polarity_prob",
                aug.polarityProb);
    r.readFloat(aug.mp3Prob, "dataset.augmentation.mp3_prob", aug.mp3Prob);
    r.readInt(aug.mp3MinBitrate, "dataset.augmentation.mp3_min_bitrate",
              aug.mp3MinBitrate);
    r.readInt(aug.mp3MaxBitrate, "dataset.augmentation.mp3_max_bitrate",
              aug.mp3MaxBitrate);
    r.readFloat(aug.noiseProb, "dataset.augmentation.noise_prob",
                aug.noiseProb);
    r.readFloat(aug.noiseMinSnrDb, "dataset.augmentation.noise_min_snr_db",
                aug.noiseMinSnrDb);
    r.readFloat(aug.noiseMaxSnrDb, "dataset.augmentation.noise_max_snr_db",
                aug.noiseMaxSnrDb);
  } else {
    r.readBool(aug.enabled, "dataset.augmentation", false);
  }
}

/// model: the architecture.
void readModel(SpecReader &r, ConfigDocument &doc, ModelSpec &spec) {
  r.readInt(spec.nFft, "model.n_fft");
  r.readInt(spec.hopLength, "model.hop_length");
  r.readInt(spec.nSources, "model.n_sources", 4);
  r.readInt(spec.nLayers, "model.n_layers");
  r.readInt(spec.embDim, "model.emb_dim");
  r.readString(spec.normType, "model.norm_type", std::string("rmsgroupnorm"));
  r.readInt(spec.numGroups, "model.num_groups", 4);
  r.readString(spec.tfOrder, "model.tf_order", std::string("ft"));
  r.readInt(spec.nHeads, "model.n_heads");
  r.readBool(spec.flashAttention, "model.flash_attention", true);
  r.readInt(spec.attentionDim, "model.attention_dim");
  r.readString(spec.posEnc, "model.pos_enc", std::string("rope"));
  r.read(spec.ffnTypes,
         doc.getStringList(
             "model.ffn_type",
             std::vector<std::string>{"swiglu_conv1d", "swiglu_conv1d"}));
  r.read(spec.ffnHiddenDims,
         doc.getIntList("model.ffn_hidden_dim", std::nullopt));
  r.readInt(spec.conv1dKernel, "model.conv1d_kernel", 4);
  r.readInt(spec.conv1dShift, "model.conv1d_shift", 1);
  r.readFloat(spec.dropout, "model.dropout", 0.0);
  r.readFloat(spec.eps, "model.eps", 1e-5);
}

/// loss: its terms and weights.
void readLoss(SpecReader &r, ModelSpec &spec) {
  r.readString(spec.lossType, "loss.loss_type", std::string("combined"));
  r.readFloat(spec.siSdrWeight, "loss.si_sdr_weight", 1.0);
  r.readFloat(spec.l1Weight, "loss.l1_weight", 0.1);
  r.readFloat(spec.spectralWeight, "loss.spectral_weight", 0.1);
  r.readFloat(spec.lossEps, "loss.eps", 1e-8);
}

/// training: the optimizer, schedule, precision and checkpoints; the
/// device keys. The optimizer's betas are checked with the domains.
void readTraining(SpecReader &r, ConfigDocument &doc, ModelSpec &spec,
                  std::vector<double> &betas) {
  r.readInt(spec.batchSize, "training.batch_size");
  r.readInt(spec.numEpochs, "training.num_epochs", 1);
  r.readFloat(spec.gradientClip, "training.gradient_clip", 5.0);
  r.readString(spec.optimizer, "training.optimizer.type", std::string("adamw"));
  r.readFloat(spec.lr, "training.optimizer.lr", 1e-3);
  r.readFloat(spec.weightDecay, "training.optimizer.weight_decay", 0.01);
  r.readFloat(spec.adamEps, "training.optimizer.eps", 1e-8);
  r.read(betas, doc.getFloatList("training.optimizer.betas", betas));
  r.readString(spec.schedulerType, "training.scheduler.type", std::string());
  r.readString(spec.schedulerMode, "training.scheduler.mode",
               std::string("min"));
  r.readFloat(spec.schedulerFactor, "training.scheduler.factor", 0.5);
  r.readInt(spec.schedulerPatience, "training.scheduler.patience", 10);
  r.readFloat(spec.schedulerMinLr, "training.scheduler.min_lr", 0.0);
  r.readInt(spec.schedulerCooldown, "training.scheduler.cooldown", 0);
  r.readInt(spec.warmupSteps, "training.warmup_steps", 0);
  r.readFloat(spec.warmupStartLr, "training.warmup_start_lr", 0.0);
  r.readBool(spec.useAmp, "training.use_amp", false);
  r.readString(spec.ampDtype, "training.amp_dtype", std::string("bfloat16"));
  r.readInt(spec.gradientAccumulationSteps,
            "training.gradient_accumulation_steps", 1);
  r.readInt(spec.valInterval, "training.val_interval", 1);
  r.readInt(spec.saveInterval, "training.save_interval", 1);
  r.readInt(spec.keepLast, "training.keep_last", 2);
  r.readBool(spec.saveBest, "training.save_best", true);
  r.readBool(spec.earlyStopping, "training.early_stopping.enabled", false);
  r.readInt(spec.earlyStoppingPatience, "training.early_stopping.patience", 10);
  r.readFloat(spec.earlyStoppingMinDelta, "training.early_stopping.min_delta",
              0.0);
  r.readString(spec.device, "device", std::string("cpu"));
  r.readInt(spec.gpuId, "gpu_id", 0);
  r.readInt(spec.numGpu, "num_gpu", 1);
  r.readBool(spec.tf32, "performance.tf32", false);
  r.readInt(spec.seed, "seed", 42);
}

/// Dimensions: positive, and bounded so that every size derived from them
/// fits in int64 with margin (the largest shipped configs are far below).
void checkDimensions(SpecReader &r, const ModelSpec &spec) {
  struct Dimension {
    llvm::StringRef path;
    int64_t value, limit;
  };
  for (Dimension d :
       {Dimension{"dataset.sample_rate", spec.sampleRate, int64_t(1) << 20},
        {"dataset.segment_length", spec.segmentLength, int64_t(1) << 31},
        {"model.n_fft", spec.nFft, int64_t(1) << 16},
        {"model.hop_length", spec.hopLength, int64_t(1) << 16},
        {"model.n_sources", spec.nSources, 64},
        {"model.n_layers", spec.nLayers, 1024},
        {"model.emb_dim", spec.embDim, int64_t(1) << 16},
        {"model.num_groups", spec.numGroups, int64_t(1) << 16},
        {"model.n_heads", spec.nHeads, 1024},
        {"model.attention_dim", spec.attentionDim, int64_t(1) << 16},
        {"model.conv1d_kernel", spec.conv1dKernel, 1024},
        {"model.conv1d_shift", spec.conv1dShift, 1024},
        {"training.batch_size", spec.batchSize, int64_t(1) << 16},
        {"training.gradient_accumulation_steps", spec.gradientAccumulationSteps,
         int64_t(1) << 20},
        {"training.num_epochs", spec.numEpochs, int64_t(1) << 30},
        {"training.val_interval", spec.valInterval, int64_t(1) << 30},
        {"training.save_interval", spec.saveInterval, int64_t(1) << 30},
        {"training.keep_last", spec.keepLast, int64_t(1) << 20},
        {"training.early_stopping.patience", spec.earlyStoppingPatience,
         int64_t(1) << 30},
        {"num_gpu", spec.numGpu, 1 << 16}})
    r.checkDimension(d.path, d.value, d.limit);
  for (int64_t hidden : spec.ffnHiddenDims)
    r.checkDimension("model.ffn_hidden_dim", hidden, int64_t(1) << 20);
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

/// The variants lococ supports.
void checkVariants(SpecReader &r, const ModelSpec &spec) {
  r.checkOneOf("model.norm_type", spec.normType, {"rmsgroupnorm"});
  r.checkOneOf("model.tf_order", spec.tfOrder, {"ft", "tf"});
  r.checkOneOf("model.pos_enc", spec.posEnc, {"rope", "nope"});
  r.checkOneOf("loss.loss_type", spec.lossType,
               {"si_sdr", "l1", "l2", "combined"});
  r.checkOneOf("training.optimizer.type", spec.optimizer, {"adamw"});
  r.checkOneOf("training.amp_dtype", spec.ampDtype, {"bfloat16", "float16"});
  r.checkOneOf("device", spec.device, {"cpu", "cuda"});
  if (!spec.schedulerType.empty())
    r.checkOneOf("training.scheduler.type", spec.schedulerType,
                 {"reducelronplateau"});
  for (const std::string &type : spec.ffnTypes)
    r.checkOneOf("model.ffn_type", type, {"swiglu_conv1d"});
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
  for (int64_t hidden : spec.ffnHiddenDims)
    if (hidden <= 0)
      r.error("model.ffn_hidden_dim")
          << "'model.ffn_hidden_dim' entries must be positive, got " << hidden;
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

/// The augmentation's numbers in their domains.
void checkAugmentation(SpecReader &r, const ModelSpec &spec) {
  const ModelSpec::Augmentation &aug = spec.augmentation;
  llvm::StringRef prefix = "dataset.augmentation.";
  auto key = [&](llvm::StringRef leaf) { return (prefix + leaf).str(); };
  for (auto [leaf, p] : {std::pair<llvm::StringRef, double>{
                             "channel_swap_prob", aug.channelSwapProb},
                         {"polarity_prob", aug.polarityProb},
                         {"mp3_prob", aug.mp3Prob},
                         {"noise_prob", aug.noiseProb}})
    r.checkRange(key(leaf), p, 0.0, false, 1.0, true, "a probability");
  r.checkRange(key("gain_min"), aug.gainMin, 0.0, true);
  r.checkRange(key("gain_max"), aug.gainMax, aug.gainMin, false, INFINITY,
               false, "at least gain_min");
  // MPEG-1 layer III at 32 kHz and above: 32 to 320 kbps.
  r.checkRange(key("mp3_min_bitrate"), aug.mp3MinBitrate, 32, false, 320, true,
               "MPEG-1 layer III bitrates, kbps");
  r.checkRange(key("mp3_max_bitrate"), aug.mp3MaxBitrate, aug.mp3MinBitrate,
               false, 320, true, "from mp3_min_bitrate to 320 kbps");
  r.checkRange(key("noise_min_snr_db"), aug.noiseMinSnrDb, -100.0, false, 200.0,
               true);
  r.checkRange(key("noise_max_snr_db"), aug.noiseMaxSnrDb, aug.noiseMinSnrDb,
               false, 200.0, true, "from noise_min_snr_db");
  if (aug.mp3Prob > 0 && spec.sampleRate < 32000)
    r.error({"dataset.augmentation.mp3_prob", "dataset.augmentation"})
        << "MP3 augmentation encodes MPEG-1 layer III, which needs a sample "
           "rate of at least 32000 Hz; 'dataset.sample_rate' is "
        << spec.sampleRate << " (set mp3_prob: 0)";
}

/// Numbers in their domains (every float is already finite); the betas
/// into the spec.
void checkDomains(SpecReader &r, ModelSpec &spec,
                  const std::vector<double> &betas) {
  r.checkRange("model.dropout", spec.dropout, 0.0, false, 1.0);
  r.checkRange("model.eps", spec.eps, 0.0, true);
  r.checkRange("loss.eps", spec.lossEps, 0.0, true, INFINITY, false,
               "it keeps SI-SDR's logarithm and division defined");
  r.checkRange("loss.si_sdr_weight", spec.siSdrWeight, 0.0, false);
  r.checkRange("loss.l1_weight", spec.l1Weight, 0.0, false);
  r.checkRange("loss.spectral_weight", spec.spectralWeight, 0.0, false);
  r.checkRange("training.optimizer.lr", spec.lr, 0.0, true);
  r.checkRange("training.gradient_clip", spec.gradientClip, 0.0, true, INFINITY,
               false, "the max norm of clip_grad_norm_");
  r.checkRange("training.optimizer.weight_decay", spec.weightDecay, 0.0, false);
  r.checkRange("training.optimizer.eps", spec.adamEps, 0.0, true);
  r.checkRange("training.scheduler.factor", spec.schedulerFactor, 0.0, true,
               1.0);
  r.checkRange("training.scheduler.min_lr", spec.schedulerMinLr, 0.0, false);
  r.checkRange("training.warmup_start_lr", spec.warmupStartLr, 0.0, false);
  r.checkRange("training.early_stopping.min_delta", spec.earlyStoppingMinDelta,
               0.0, false);
  if (spec.augmentation.enabled)
    checkAugmentation(r, spec);
  for (auto [path, value] :
       {std::pair<llvm::StringRef, int64_t>{"training.scheduler.patience",
                                            spec.schedulerPatience},
        {"training.scheduler.cooldown", spec.schedulerCooldown},
        {"training.warmup_steps", spec.warmupSteps},
        {"gpu_id", spec.gpuId},
        {"seed", spec.seed}})
    if (value < 0)
      r.error(path) << "'" << path << "' must not be negative, got " << value;
  if (betas.size() != 2)
    r.error("training.optimizer.betas")
        << "'training.optimizer.betas' takes two numbers, got " << betas.size();
  else {
    for (double beta : betas)
      r.checkRange("training.optimizer.betas", beta, 0.0, false, 1.0);
    spec.beta1 = betas[0];
    spec.beta2 = betas[1];
  }
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
  ModelSpec spec;
  spec.configFile = doc.fileName();
  SpecReader r(doc);
  std::vector<double> betas{0.9, 0.999};
  readDataset(r, doc, spec);
  readModel(r, doc, spec);
  readLoss(r, spec);
  readTraining(r, doc, spec, betas);
  if (!r.ok)
    return std::nullopt;
  checkDimensions(r, spec);
  if (!r.ok)
    return std::nullopt;
  checkLargestTensor(r, spec);
  if (!r.ok)
    return std::nullopt;
  checkVariants(r, spec);
  checkCombinations(r, spec);
  checkDomains(r, spec, betas);
  if (!r.ok)
    return std::nullopt;

  for (auto &entry : doc.keyLocations())
    spec.keyLocations.insert({entry.getKey(), entry.getValue()});
  return spec;
}
