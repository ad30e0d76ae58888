//===- ConfigKeys.cpp - One definition of every config key ----------------===//
//
// This file holds the table of every key of the upstream YAML schema (the
// five upstream configs' keys and lococ's own) and its Markdown rendering.
// A key's default is the initializer of its ModelSpec field.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConfigKeys.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::loco;

namespace {

/// Builds one row: the path, the field (or none), the meaning, then the
/// optional properties in any order.
class Key {
public:
  Key(const char *path, KeyField field, const char *meaning) {
    key.path = path;
    key.field = field;
    key.meaning = meaning;
  }
  Key &required() {
    key.required = true;
    return *this;
  }
  Key &readBy(KeyReader reader) {
    key.reader = reader;
    return *this;
  }
  Key &shape(KeyShape shape) {
    key.shape = shape;
    return *this;
  }
  Key &dimension(int64_t limit) {
    key.domain.kind = KeyDomain::Kind::Dimension;
    key.domain.limit = limit;
    return *this;
  }
  Key &range(double low, bool openLow, double high = INFINITY,
             bool closedHigh = false, const char *meaning = "") {
    key.domain.kind = KeyDomain::Kind::Range;
    key.domain.low = low;
    key.domain.openLow = openLow;
    key.domain.high = high;
    key.domain.closedHigh = closedHigh;
    key.domain.meaning = meaning;
    return *this;
  }
  Key &probability() { return range(0.0, false, 1.0, true, "a probability"); }
  Key &count(size_t entries) {
    key.domain.count = entries;
    return *this;
  }
  Key &nonNegative() {
    key.domain.kind = KeyDomain::Kind::NonNegative;
    return *this;
  }
  Key &oneOf(const char *choices) {
    key.domain.kind = KeyDomain::Kind::OneOf;
    key.domain.choices = choices;
    return *this;
  }
  Key &defaultNote(const char *text) {
    key.defaultNote = text;
    return *this;
  }
  /// Written to the manifest's `table` as `name`.
  Key &manifest(const char *table, const char *name) {
    key.manifestTable = table;
    key.manifestKey = name;
    return *this;
  }
  operator ConfigKey() const { return key; }

private:
  ConfigKey key;
};

Key section(const char *path, KeyReader reader = KeyReader::Compiler) {
  return Key(path, std::monostate(), "")
      .shape(KeyShape::Section)
      .readBy(reader);
}
/// A key lococ accepts and does not read.
Key ignored(const char *path, KeyReader reader, const char *meaning) {
  return Key(path, std::monostate(), meaning).readBy(reader);
}

} // namespace

/// The ModelSpec member `member`, as a KeyField.
#define LOCO_FIELD(member) +[](ModelSpec &s) -> auto & { return s.member; }

using R = KeyReader;
constexpr int64_t k64K = int64_t(1) << 16, k1G = int64_t(1) << 30;

/// Keys of the data, its sources and its augmentation.
static void addDatasetKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("dataset"),
          ignored("dataset.name", R::TorchOnly, "a label"),
          Key("dataset.root_dir", LOCO_FIELD(rootDir),
              "the training data: `root_dir/train/<track>/<stem>.wav|flac`, "
              "validation on `root_dir/test`")
              .readBy(R::Runner)
              .manifest("dataset", "root_dir"),
          Key("dataset.sample_rate", LOCO_FIELD(sampleRate),
              "the data's sample rate, in Hz")
              .readBy(R::Both)
              .dimension(int64_t(1) << 20)
              .manifest("model", "sample_rate"),
          Key("dataset.segment_length", LOCO_FIELD(segmentLength),
              "samples per training segment (N)")
              .required()
              .readBy(R::Both)
              .dimension(int64_t(1) << 31)
              .manifest("model", "segment_length"),
          Key("dataset.sources", LOCO_FIELD(sources),
              "the stems, in output order; each a file name of a track")
              .readBy(R::Both),
          Key("dataset.augmentation", LOCO_FIELD(augmentation.enabled),
              "`true`: upstream's augmentation with its defaults; a mapping "
              "overrides them")
              .shape(KeyShape::Either)
              .readBy(R::Runner)
              .manifest("dataset", "augmentation"),
          Key("dataset.augmentation.enabled", LOCO_FIELD(augmentation.enabled),
              "in a mapping, whether it runs")
              .readBy(R::Runner)
              .defaultNote("true (in a mapping)"),
          Key("dataset.augmentation.gain_min", LOCO_FIELD(augmentation.gainMin),
              "per-stem gain, drawn uniformly from [gain_min, gain_max]")
              .readBy(R::Runner)
              .range(0.0, true)
              .manifest("dataset", "gain_min"),
          Key("dataset.augmentation.gain_max", LOCO_FIELD(augmentation.gainMax),
              "at least gain_min")
              .readBy(R::Runner)
              .manifest("dataset", "gain_max"),
          Key("dataset.augmentation.channel_swap_prob",
              LOCO_FIELD(augmentation.channelSwapProb),
              "probability of swapping left and right (all stems)")
              .readBy(R::Runner)
              .probability()
              .manifest("dataset", "channel_swap_prob"),
          Key("dataset.augmentation.polarity_prob",
              LOCO_FIELD(augmentation.polarityProb),
              "probability of inverting the polarity (all stems)")
              .readBy(R::Runner)
              .probability()
              .manifest("dataset", "polarity_prob"),
          Key("dataset.augmentation.mp3_prob", LOCO_FIELD(augmentation.mp3Prob),
              "probability of an MP3 round trip of the mixture")
              .readBy(R::Runner)
              .probability()
              .manifest("dataset", "mp3_prob"),
          Key("dataset.augmentation.mp3_min_bitrate",
              LOCO_FIELD(augmentation.mp3MinBitrate),
              "lowest MP3 bitrate, kbps")
              .readBy(R::Runner)
              .range(32, false, 320, true, "MPEG-1 layer III bitrates, kbps")
              .manifest("dataset", "mp3_min_bitrate"),
          Key("dataset.augmentation.mp3_max_bitrate",
              LOCO_FIELD(augmentation.mp3MaxBitrate),
              "highest MP3 bitrate, kbps, from mp3_min_bitrate to 320")
              .readBy(R::Runner)
              .manifest("dataset", "mp3_max_bitrate"),
          Key("dataset.augmentation.noise_prob",
              LOCO_FIELD(augmentation.noiseProb),
              "probability of white noise on the mixture, when MP3 did not run")
              .readBy(R::Runner)
              .probability()
              .manifest("dataset", "noise_prob"),
          Key("dataset.augmentation.noise_min_snr_db",
              LOCO_FIELD(augmentation.noiseMinSnrDb), "lowest noise SNR, dB")
              .readBy(R::Runner)
              .range(-100.0, false, 200.0, true)
              .manifest("dataset", "noise_min_snr_db"),
          Key("dataset.augmentation.noise_max_snr_db",
              LOCO_FIELD(augmentation.noiseMaxSnrDb),
              "highest noise SNR, dB, from noise_min_snr_db to 200")
              .readBy(R::Runner)
              .manifest("dataset", "noise_max_snr_db"),
          Key("dataset.random_chunks", LOCO_FIELD(randomChunks),
              "`true`: segments start at a random offset; `false`: at the "
              "track's start")
              .readBy(R::Runner)
              .manifest("dataset", "random_chunks"),
      });
}

/// Keys of the architecture.
static void addModelKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("model"),
          Key("model.n_fft", LOCO_FIELD(nFft), "STFT size (even)")
              .required()
              .readBy(R::Both)
              .dimension(k64K)
              .manifest("model", "n_fft"),
          Key("model.hop_length", LOCO_FIELD(hopLength),
              "STFT hop, at most n_fft / 2")
              .required()
              .readBy(R::Both)
              .dimension(k64K)
              .manifest("model", "hop_length"),
          Key("model.n_sources", LOCO_FIELD(nSources),
              "number of stems; equals the length of dataset.sources")
              .dimension(64),
          Key("model.n_layers", LOCO_FIELD(nLayers), "TF-Locoformer blocks")
              .required()
              .dimension(1024),
          Key("model.emb_dim", LOCO_FIELD(embDim), "channels (C)")
              .required()
              .dimension(k64K),
          Key("model.norm_type", LOCO_FIELD(normType), "the block's norm")
              .oneOf("rmsgroupnorm"),
          Key("model.num_groups", LOCO_FIELD(numGroups),
              "RMSGroupNorm groups (G); divides emb_dim")
              .dimension(k64K),
          Key("model.tf_order", LOCO_FIELD(tfOrder),
              "which path runs first: frequency (`ft`) or time (`tf`)")
              .oneOf("ft,tf"),
          Key("model.n_heads", LOCO_FIELD(nHeads),
              "attention heads; divide attention_dim")
              .required()
              .dimension(1024),
          Key("model.flash_attention", LOCO_FIELD(flashAttention),
              "upstream's SDPA switch; lococ always fuses attention"),
          Key("model.attention_dim", LOCO_FIELD(attentionDim),
              "query/key/value width (A)")
              .required()
              .dimension(k64K),
          Key("model.pos_enc", LOCO_FIELD(posEnc),
              "rotary position encoding, or none")
              .oneOf("rope,nope"),
          Key("model.ffn_type", LOCO_FIELD(ffnTypes),
              "one or two FFNs per path; two make the block macaron")
              .oneOf("swiglu_conv1d"),
          Key("model.ffn_hidden_dim", LOCO_FIELD(ffnHiddenDims),
              "hidden width of each FFN, as many as ffn_type")
              .required()
              .dimension(int64_t(1) << 20),
          Key("model.conv1d_kernel", LOCO_FIELD(conv1dKernel),
              "the FFN's convolution kernel")
              .dimension(1024),
          Key("model.conv1d_shift", LOCO_FIELD(conv1dShift),
              "the FFN convolution's shift, at most conv1d_kernel")
              .dimension(1024),
          Key("model.dropout", LOCO_FIELD(dropout), "dropout probability")
              .readBy(R::Both)
              .range(0.0, false, 1.0)
              .manifest("training", "dropout"),
          Key("model.eps", LOCO_FIELD(eps), "the norms' epsilon")
              .range(0.0, true),
      });
}

/// Keys of the loss terms and weights.
static void addLossKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("loss"),
          Key("loss.loss_type", LOCO_FIELD(lossType),
              "the training loss (docs/MODEL.md)")
              .readBy(R::Both)
              .oneOf("si_sdr,l1,l2,combined")
              .manifest("loss", "loss_type"),
          Key("loss.si_sdr_weight", LOCO_FIELD(siSdrWeight),
              "weight of the SI-SDR term")
              .readBy(R::Both)
              .range(0.0, false)
              .manifest("loss", "si_sdr_weight"),
          Key("loss.l1_weight", LOCO_FIELD(l1Weight), "weight of the L1 term")
              .readBy(R::Both)
              .range(0.0, false)
              .manifest("loss", "l1_weight"),
          Key("loss.spectral_weight", LOCO_FIELD(spectralWeight),
              "weight of the multi-resolution spectral term")
              .readBy(R::Both)
              .range(0.0, false)
              .manifest("loss", "spectral_weight"),
          Key("loss.eps", LOCO_FIELD(lossEps), "SI-SDR's epsilon")
              .readBy(R::Both)
              .range(0.0, true, INFINITY, false,
                     "it keeps SI-SDR's logarithm and division defined")
              .manifest("loss", "eps"),
      });
}

/// Keys of the step's batch and clip, and the DataLoader keys lococ ignores.
static void addTrainingKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("training"),
          Key("training.batch_size", LOCO_FIELD(batchSize),
              "segments per micro-step (B)")
              .required()
              .readBy(R::Both)
              .dimension(k64K)
              .manifest("model", "batch_size"),
          Key("training.num_epochs", LOCO_FIELD(numEpochs),
              "the length of a run without --steps/--epochs")
              .readBy(R::Runner)
              .dimension(k1G)
              .manifest("training", "num_epochs"),
          Key("training.gradient_clip", LOCO_FIELD(gradientClip),
              "max norm of clip_grad_norm_")
              .readBy(R::Both)
              .range(0.0, true, INFINITY, false,
                     "the max norm of clip_grad_norm_")
              .manifest("training", "gradient_clip"),
          ignored("training.num_workers", R::TorchOnly,
                  "DataLoader setting; locorun's loader thread does its job"),
          ignored("training.pin_memory", R::TorchOnly, "DataLoader setting"),
          ignored("training.prefetch_factor", R::TorchOnly,
                  "DataLoader setting"),
          ignored("training.persistent_workers", R::TorchOnly,
                  "DataLoader setting"),
          ignored("training.gradient_checkpointing", R::TorchOnly,
                  "lococ chooses recomputation itself, to fit --memory-budget"),
      });
}

/// Keys of AdamW.
static void addOptimizerKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("training.optimizer"),
          Key("training.optimizer.type", LOCO_FIELD(optimizer), "the optimizer")
              .oneOf("adamw"),
          Key("training.optimizer.lr", LOCO_FIELD(lr),
              "learning rate after warmup")
              .readBy(R::Both)
              .range(0.0, true)
              .manifest("training", "lr"),
          Key("training.optimizer.weight_decay", LOCO_FIELD(weightDecay),
              "AdamW's decoupled weight decay")
              .readBy(R::Both)
              .range(0.0, false)
              .manifest("training", "weight_decay"),
          Key("training.optimizer.eps", LOCO_FIELD(adamEps), "AdamW's epsilon")
              .readBy(R::Both)
              .range(0.0, true)
              .manifest("training", "eps"),
          Key("training.optimizer.betas", LOCO_FIELD(betas),
              "AdamW's two betas, each in [0, 1)")
              .readBy(R::Both)
              .range(0.0, false, 1.0),
          ignored(
              "training.optimizer.fused", R::TorchOnly,
              "an implementation choice of torch's AdamW; the update is the "
              "same"),
      });
}

/// Keys of the learning-rate schedule, precision, checkpoints and early
/// stopping.
static void addScheduleKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("training.scheduler"),
          Key("training.scheduler.type", LOCO_FIELD(schedulerType),
              "after warmup: ReduceLROnPlateau on the validation loss, or a "
              "constant rate when absent")
              .readBy(R::Runner)
              .oneOf("reducelronplateau")
              .manifest("training", "scheduler"),
          Key("training.scheduler.mode", LOCO_FIELD(schedulerMode),
              "ReduceLROnPlateau's mode")
              .readBy(R::Runner)
              .oneOf("min,max")
              .manifest("training", "scheduler_mode"),
          Key("training.scheduler.factor", LOCO_FIELD(schedulerFactor),
              "the rate's factor on a plateau")
              .readBy(R::Runner)
              .range(0.0, true, 1.0)
              .manifest("training", "scheduler_factor"),
          Key("training.scheduler.patience", LOCO_FIELD(schedulerPatience),
              "validations without improvement before a reduction")
              .readBy(R::Runner)
              .nonNegative()
              .manifest("training", "scheduler_patience"),
          Key("training.scheduler.min_lr", LOCO_FIELD(schedulerMinLr),
              "the lowest rate")
              .readBy(R::Runner)
              .range(0.0, false)
              .manifest("training", "scheduler_min_lr"),
          Key("training.scheduler.cooldown", LOCO_FIELD(schedulerCooldown),
              "validations after a reduction before counting again")
              .readBy(R::Runner)
              .nonNegative()
              .manifest("training", "scheduler_cooldown"),
          Key("training.warmup_steps", LOCO_FIELD(warmupSteps),
              "optimizer steps of linear warmup")
              .readBy(R::Runner)
              .nonNegative()
              .manifest("training", "warmup_steps"),
          Key("training.warmup_start_lr", LOCO_FIELD(warmupStartLr),
              "the rate warmup starts from")
              .readBy(R::Runner)
              .range(0.0, false)
              .manifest("training", "warmup_start_lr"),
          Key("training.use_amp", LOCO_FIELD(useAmp),
              "mixed precision (docs/MIXED_PRECISION.md)"),
          Key("training.amp_dtype", LOCO_FIELD(ampDtype),
              "mixed precision's type; `float16` scales the loss")
              .oneOf("bfloat16,float16"),
          Key("training.gradient_accumulation_steps",
              LOCO_FIELD(gradientAccumulationSteps),
              "micro-steps per optimizer step")
              .readBy(R::Both)
              .dimension(int64_t(1) << 20)
              .manifest("training", "gradient_accumulation_steps"),
          Key("training.save_interval", LOCO_FIELD(saveInterval),
              "a checkpoint every N epochs, and always at the end")
              .readBy(R::Runner)
              .dimension(k1G)
              .manifest("training", "save_interval"),
          Key("training.keep_last", LOCO_FIELD(keepLast),
              "the newest N checkpoints are kept")
              .readBy(R::Runner)
              .dimension(int64_t(1) << 20)
              .manifest("training", "keep_last"),
          Key("training.save_best", LOCO_FIELD(saveBest),
              "`--out DIR/best/` holds the weights of the lowest validation "
              "loss")
              .readBy(R::Runner)
              .manifest("training", "save_best"),
          ignored("training.save_optimizer", R::Unused,
                  "locorun always saves the optimizer state; resume needs it"),
          Key("training.val_interval", LOCO_FIELD(valInterval),
              "validate every N epochs, on every test track in full")
              .readBy(R::Runner)
              .dimension(k1G)
              .manifest("training", "val_interval"),
          section("training.early_stopping"),
          Key("training.early_stopping.enabled", LOCO_FIELD(earlyStopping),
              "stop when validation stops improving")
              .readBy(R::Runner)
              .manifest("training", "early_stopping"),
          Key("training.early_stopping.patience",
              LOCO_FIELD(earlyStoppingPatience),
              "validations in a row without improvement before stopping")
              .readBy(R::Runner)
              .dimension(k1G)
              .manifest("training", "early_stopping_patience"),
          Key("training.early_stopping.min_delta",
              LOCO_FIELD(earlyStoppingMinDelta),
              "how far below the best a loss must be to count as improvement")
              .readBy(R::Runner)
              .range(0.0, false)
              .manifest("training", "early_stopping_min_delta"),
      });
}

/// Keys of evaluation and paths, which locorun's flags replace.
static void addOutputsKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          section("evaluation", R::Unused),
          ignored("evaluation.batch_size", R::Unused,
                  "`locorun evaluate` flags say what to score"),
          ignored("evaluation.save_outputs", R::Unused,
                  "`locorun separate` writes the stems"),
          ignored("evaluation.metrics", R::Unused,
                  "`locorun evaluate` reports SDR, SIR, SAR and SI-SDR"),
          section("paths", R::Unused),
          ignored("paths.output_dir", R::Unused, "locorun's --out"),
          ignored("paths.checkpoint_dir", R::Unused, "locorun's --out"),
          ignored("paths.log_dir", R::Unused, "locorun's --tensorboard"),
      });
}

/// Keys of the seed, the device, and the PyTorch performance and allocator
/// keys.
static void addHardwareKeys(std::vector<ConfigKey> &table) {
  table.insert(
      table.end(),
      {
          Key("seed", LOCO_FIELD(seed),
              "initialisation and dropout keys; locorun's --seed overrides it")
              .readBy(R::Both)
              .nonNegative()
              .manifest("model", "seed"),
          Key("device", LOCO_FIELD(device),
              "locorun's default device (`cuda` with gpu_id is `cuda:N`)")
              .readBy(R::Runner)
              .oneOf("cpu,cuda"),
          Key("num_gpu", LOCO_FIELD(numGpu),
              "above 1, locorun warns that it trains on one device")
              .readBy(R::Runner)
              .dimension(k64K)
              .manifest("hardware", "num_gpu"),
          Key("gpu_id", LOCO_FIELD(gpuId), "the GPU of `device: cuda`")
              .readBy(R::Runner)
              .nonNegative(),

          section("performance", R::TorchOnly),
          ignored("performance.cudnn_benchmark", R::TorchOnly,
                  "a cuDNN setting"),
          ignored("performance.cudnn_deterministic", R::TorchOnly,
                  "a cuDNN setting"),
          Key("performance.tf32", LOCO_FIELD(tf32),
              "TF32 matrix products (without use_amp)"),
          ignored("performance.compile_model", R::TorchOnly,
                  "torch.compile; lococ is the compiler"),
          ignored("performance.channels_last", R::TorchOnly,
                  "a memory format of PyTorch"),
          section("performance.cuda", R::TorchOnly),
          ignored("performance.cuda.allow_tf32_matmul", R::TorchOnly,
                  "PyTorch's switch; lococ reads performance.tf32"),
          ignored("performance.cuda.allow_tf32_conv", R::TorchOnly,
                  "PyTorch's switch; lococ reads performance.tf32"),
          ignored("performance.cuda.max_split_size_mb", R::TorchOnly,
                  "a caching-allocator setting; lococ plans one arena"),
          section("memory", R::TorchOnly),
          ignored("memory.clear_cache_every", R::TorchOnly,
                  "a caching-allocator setting"),
          ignored("memory.clear_before_validation", R::TorchOnly,
                  "a caching-allocator setting"),
          ignored("memory.non_blocking_transfer", R::TorchOnly,
                  "a host-to-device copy setting"),
          ignored("memory.set_to_none", R::TorchOnly,
                  "zero_grad's setting; lococ writes gradients in place"),
      });
}

static const std::vector<ConfigKey> &keyTable() {
  static const std::vector<ConfigKey> table = [] {
    std::vector<ConfigKey> table;
    addDatasetKeys(table);
    addModelKeys(table);
    addLossKeys(table);
    addTrainingKeys(table);
    addOptimizerKeys(table);
    addScheduleKeys(table);
    addOutputsKeys(table);
    addHardwareKeys(table);
    return table;
  }();
  return table;
}

#undef LOCO_FIELD

llvm::ArrayRef<ConfigKey> mlir::loco::configKeys() { return keyTable(); }

const ConfigKey *mlir::loco::findConfigKey(llvm::StringRef path) {
  for (const ConfigKey &key : keyTable())
    if (path == key.path)
      return &key;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Text
//===----------------------------------------------------------------------===//

static std::string number(double value) {
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

namespace {
/// Renders a value of any field type as YAML flow text.
struct ValueText {
  std::string operator()(int64_t v) const { return std::to_string(v); }
  std::string operator()(double v) const { return number(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const std::string &v) const {
    return v.empty() ? "\"\"" : v;
  }
  template <typename T> std::string operator()(const std::vector<T> &v) const {
    std::string text = "[";
    for (size_t i = 0; i < v.size(); ++i)
      text += (i ? ", " : "") + (*this)(v[i]);
    return text + "]";
  }
};
} // namespace

llvm::StringRef ConfigKey::typeName() const {
  static const char *const names[] = {
      "", "int", "float", "bool", "str", "int list", "float list", "str list"};
  if (shape == KeyShape::Section)
    return "section";
  if (shape == KeyShape::Either)
    return "bool or section";
  return names[field.index()];
}

std::string ConfigKey::defaultText() const {
  if (required)
    return "required";
  if (*defaultNote)
    return defaultNote;
  return std::visit(
      [](auto field) -> std::string {
        if constexpr (std::is_same_v<decltype(field), std::monostate>) {
          return "";
        } else {
          return ValueText()(readField(ModelSpec(), field));
        }
      },
      field);
}

std::string ConfigKey::domainText() const {
  switch (domain.kind) {
  case KeyDomain::Kind::Any:
    return "";
  case KeyDomain::Kind::Dimension:
    return "1 to " + std::to_string(domain.limit);
  case KeyDomain::Kind::NonNegative:
    return ">= 0";
  case KeyDomain::Kind::Range:
    return (domain.count ? std::to_string(domain.count) + " of " : "") +
           (domain.openLow ? "(" : "[") + number(domain.low) + ", " +
           number(domain.high) +
           (domain.closedHigh && !std::isinf(domain.high) ? "]" : ")");
  case KeyDomain::Kind::OneOf: {
    llvm::SmallVector<llvm::StringRef> choices;
    llvm::StringRef(domain.choices).split(choices, ',');
    std::string text;
    for (llvm::StringRef choice : choices)
      text += (text.empty() ? "`" : ", `") + choice.str() + "`";
    return text;
  }
  }
  return "";
}

static llvm::StringRef readerName(KeyReader reader) {
  switch (reader) {
  case KeyReader::Compiler:
    return "lococ";
  case KeyReader::Runner:
    return "locorun";
  case KeyReader::Both:
    return "lococ, locorun";
  case KeyReader::TorchOnly:
    return "ignored (PyTorch trainer)";
  case KeyReader::Unused:
    return "ignored";
  }
  return "";
}

void mlir::loco::printConfigKeyTable(llvm::raw_ostream &os) {
  os << "| key | type | default | domain | read by | manifest | meaning |\n"
     << "| --- | --- | --- | --- | --- | --- | --- |\n";
  // A `|` inside a cell would end it.
  auto cell = [](llvm::StringRef text, bool code = false) {
    if (text.empty())
      return std::string("—");
    std::string escaped;
    for (char c : text)
      escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    return code ? "`" + escaped + "`" : escaped;
  };
  for (const ConfigKey &key : keyTable()) {
    std::string manifest = *key.manifestTable ? std::string(key.manifestTable) +
                                                    "." + key.manifestKey
                                              : "";
    os << "| `" << key.path << "` | " << cell(key.typeName()) << " | "
       << cell(key.defaultText(), !key.required) << " | "
       << cell(key.domainText()) << " | " << readerName(key.reader) << " | "
       << cell(manifest, true) << " | " << cell(key.meaning) << " |\n";
  }
}
