//===- ModelSpec.h - The validated model and training config ----*- C++ -*-===//
//
// This file declares ModelSpec, the plain, validated description of a
// TF-Locoformer model, its loss and its training step that the frontend reads
// from an upstream YAML config, and the parameter table derived from it.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_MODELSPEC_H
#define LOCO_FRONTEND_MODELSPEC_H

#include "mlir/IR/Location.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::loco {

/// One trainable parameter: its upstream state_dict name, its shape, and the
/// config key whose value made it (for locations).
struct ParamInfo {
  std::string name;
  llvm::SmallVector<int64_t, 4> shape;
  std::string key;
  /// Initialisation when no weights are given, PyTorch's defaults:
  /// "ones", "zeros" or "uniform:<bound>" (bound 1/sqrt(fan_in)).
  std::string init = {};
  int64_t numElements() const;
};

/// The validated model, loss and training settings of one config. Field
/// comments name the YAML key; see docs/MODEL.md for the semantics. A
/// field's initializer is its key's default (ConfigKeys.h maps the keys to
/// the fields).
struct ModelSpec {
  std::string configFile;

  // dataset:
  int64_t sampleRate = 44100; ///< dataset.sample_rate
  int64_t segmentLength = 0;  ///< dataset.segment_length (N)
  /// dataset.sources, in output order
  std::vector<std::string> sources{"vocals", "drums", "bass", "other"};
  std::string rootDir;      ///< dataset.root_dir ("" if absent)
  bool randomChunks = true; ///< dataset.random_chunks
  /// dataset.augmentation: `true` takes upstream's defaults (these), a
  /// mapping overrides them (docs/TRAINING.md lists its keys).
  struct Augmentation {
    bool enabled = false;
    double gainMin = 0.7, gainMax = 1.3; ///< per-stem gain, uniform
    double channelSwapProb = 0.5;
    double polarityProb = 0.1;
    double mp3Prob = 0.2;                            ///< of the mixture
    int64_t mp3MinBitrate = 96, mp3MaxBitrate = 192; ///< kbps
    double noiseProb = 0.1;                          ///< when MP3 did not run
    double noiseMinSnrDb = 25.0, noiseMaxSnrDb = 40.0;
  } augmentation;

  // model:
  int64_t nFft = 0, hopLength = 0; ///< model.n_fft, model.hop_length
  int64_t nSources = 4;            ///< model.n_sources
  int64_t nLayers = 0;             ///< model.n_layers
  int64_t embDim = 0;              ///< model.emb_dim (C)
  std::string normType = "rmsgroupnorm";
  int64_t numGroups = 4;       ///< model.num_groups (G)
  std::string tfOrder = "ft";  ///< model.tf_order
  int64_t nHeads = 0;          ///< model.n_heads (h)
  int64_t attentionDim = 0;    ///< model.attention_dim (A)
  std::string posEnc = "rope"; ///< model.pos_enc
  bool flashAttention = true;  ///< model.flash_attention (lococ always fuses)
  /// model.ffn_type and model.ffn_hidden_dim in config order; with two
  /// entries the block is macaron and entry 0 runs first (as `ffn.1`).
  std::vector<std::string> ffnTypes{"swiglu_conv1d", "swiglu_conv1d"};
  std::vector<int64_t> ffnHiddenDims;
  int64_t conv1dKernel = 4, conv1dShift = 1;
  double dropout = 0.0; ///< model.dropout
  double eps = 1e-5;    ///< model.eps

  // loss:
  std::string lossType = "combined";
  double siSdrWeight = 1.0, l1Weight = 0.1, spectralWeight = 0.1;
  double lossEps = 1e-8;

  // training:
  int64_t batchSize = 1;
  int64_t numEpochs = 1;
  double gradientClip = 5.0;
  std::string optimizer = "adamw";
  double lr = 1e-3, weightDecay = 0.01, adamEps = 1e-8;
  std::vector<double> betas{0.9, 0.999}; ///< two, checked
  double beta1() const { return betas[0]; }
  double beta2() const { return betas[1]; }
  std::string schedulerType; ///< empty: constant LR after warmup
  std::string schedulerMode = "min";
  double schedulerFactor = 0.5, schedulerMinLr = 0.0;
  int64_t schedulerPatience = 10, schedulerCooldown = 0;
  int64_t warmupSteps = 0;
  double warmupStartLr = 0.0;
  bool useAmp = false;
  std::string ampDtype = "bfloat16";
  /// loco-autocast's lower element type: "bf16" or "f16" under
  /// training.use_amp, "" (all f32) without it.
  std::string autocastType() const {
    return useAmp ? (ampDtype == "float16" ? "f16" : "bf16") : "";
  }
  int64_t gradientAccumulationSteps = 1;
  int64_t valInterval = 1;
  int64_t saveInterval = 1;           ///< training.save_interval (epochs)
  int64_t keepLast = 2;               ///< training.keep_last
  bool saveBest = true;               ///< training.save_best
  bool earlyStopping = false;         ///< training.early_stopping.enabled
  int64_t earlyStoppingPatience = 10; ///< ... .patience (validations)
  double earlyStoppingMinDelta = 0.0; ///< ... .min_delta
  bool tf32 = false;                  ///< performance.tf32
  int64_t seed = 42;

  // hardware:
  std::string device = "cpu"; ///< device ("cpu" or "cuda")
  int64_t gpuId = 0;          ///< gpu_id
  int64_t numGpu = 1;         ///< num_gpu
  /// "cpu" or "cuda:<gpu_id>": locorun's default --device.
  std::string deviceName() const;

  /// Location of every key present in the config (and of `--set` overrides),
  /// keyed by dotted path.
  llvm::StringMap<Location> keyLocations;

  /// The location of `keyPath`, or of the config file when it is absent.
  Location loc(llvm::StringRef keyPath) const;

  int64_t frames() const { return 1 + segmentLength / hopLength; } ///< T
  int64_t bins() const { return nFft / 2 + 1; }                    ///< F
  int64_t headDim() const { return attentionDim / nHeads; }        ///< d
  bool isMacaron() const { return ffnTypes.size() == 2; }
  bool hasSiSdr() const {
    return lossType == "si_sdr" || lossType == "combined";
  }
  bool hasL1() const { return lossType == "l1" || lossType == "combined"; }
  bool hasL2() const { return lossType == "l2"; }
  bool hasSpectral() const {
    return lossType == "combined" && spectralWeight > 0;
  }

  /// Upstream module paths of one block's two paths, in execution order.
  std::vector<std::string> pathOrder() const;
  /// Hidden size of module `ffn.{index}` (upstream reverses the config list).
  int64_t ffnHidden(unsigned index) const;

  /// Trainable parameters in upstream state_dict order, with their init.
  std::vector<ParamInfo> parameters() const;
  /// The same, names, shapes and keys only.
  std::vector<ParamInfo> parameterShapes() const;
  /// Non-trainable state_dict entries (the RoPE `freqs` of every path).
  std::vector<std::string> bufferNames() const;
  /// RoPE inverse frequencies `1 / 10000^(2i/d)`, i < d/2, in float32 as
  /// upstream computes them.
  std::vector<float> ropeFreqs() const;
};

} // namespace mlir::loco

#endif // LOCO_FRONTEND_MODELSPEC_H
