//===- BuildTrainStep.cpp - ModelSpec to loco IR --------------------------===//
//
// This file implements the frontend's IR builder: it emits the TF-Locoformer
// forward pass and loss op by op as the upstream PyTorch model computes them
// (docs/MODEL.md), with every op located at the config key that made it and
// named by its upstream module path.
//
//===----------------------------------------------------------------------===//

#include "frontend/BuildTrainStep.h"
#include "frontend/ConfigKeys.h"
#include "frontend/ModelSpec.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;
using namespace mlir::loco;

namespace {
class TrainStepBuilder {
public:
  TrainStepBuilder(const ModelSpec &spec, MLIRContext *context,
                   bool forwardOnly)
      : spec(spec), context(context), b(context), forwardOnly(forwardOnly) {}

  OwningOpRef<ModuleOp> build();
  void annotate(ModuleOp module);

private:
  const ModelSpec &spec;
  MLIRContext *context;
  OpBuilder b;
  /// The separation step: the mixture in, the estimates out; no targets,
  /// no loss and no dropout.
  bool forwardOnly;
  llvm::StringMap<Value> params;
  uint64_t nextRngStream = 0;

  /// `name` (an upstream module path) at the config key `key`.
  Location at(llvm::StringRef name, llvm::StringRef key) {
    return NameLoc::get(StringAttr::get(context, name), spec.loc(key));
  }
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  static ArrayRef<int64_t> shapeOf(Value value) {
    return cast<RankedTensorType>(value.getType()).getShape();
  }
  Value param(llvm::StringRef name) {
    Value value = params.lookup(name);
    assert(value && "parameter missing from the table");
    return value;
  }

  Value reshape(Location loc, Value value, ArrayRef<int64_t> shape) {
    return b.create<ReshapeOp>(loc, f32(shape), value);
  }
  Value transpose(Location loc, Value value, ArrayRef<int64_t> perm) {
    return b.create<TransposeOp>(loc, value, b.getDenseI64ArrayAttr(perm));
  }
  Value slice(Location loc, Value value, int64_t dim, int64_t start,
              int64_t size) {
    return b.create<SliceOp>(loc, value, b.getI64IntegerAttr(dim),
                             b.getI64IntegerAttr(start),
                             b.getI64IntegerAttr(size));
  }
  Value scale(Location loc, Value value, double factor) {
    return b.create<ScaleOp>(loc, value.getType(), value,
                             b.getF64FloatAttr(factor));
  }
  Value add(Location loc, Value lhs, Value rhs) {
    return b.create<AddOp>(loc, lhs.getType(), lhs, rhs);
  }
  Value dropout(Location loc, Value value) {
    if (forwardOnly)
      return value;
    return b.create<DropoutOp>(loc, value, b.getF64FloatAttr(spec.dropout),
                               RngKeyAttr::get(context, nextRngStream++, 0, 0));
  }
  Value rmsNorm(Value x, llvm::StringRef name) {
    return b.create<RmsGroupNormOp>(
        at(name, "model.norm_type"), x, param((name + ".gamma").str()),
        b.getI64IntegerAttr(spec.numGroups), b.getF64FloatAttr(spec.eps));
  }

  Value stft(Location loc, Value signal, int64_t nFft, int64_t hop) {
    return b.create<StftOp>(loc, signal, b.getI64IntegerAttr(nFft),
                            b.getI64IntegerAttr(hop));
  }
  Value encoder(Value mixture);
  Value block(Value x, int64_t layer);
  Value locoformer(Value x, llvm::StringRef prefix);
  Value swigluFfn(Value x, llvm::StringRef prefix, unsigned index);
  Value attention(Value x, llvm::StringRef prefix);
  Value decoder(Value x);
  void loss(ArrayRef<Value> estimates, ArrayRef<Value> targets,
            SmallVectorImpl<Value> &results,
            SmallVectorImpl<std::string> &names);
};
} // namespace

Value TrainStepBuilder::encoder(Value mixture) {
  Value spec0 =
      stft(at("stft", "model.n_fft"), mixture, spec.nFft, spec.hopLength);
  Value x = b.create<Conv2dOp>(at("conv.0", "model.emb_dim"), spec0,
                               param("conv.0.weight"), param("conv.0.bias"),
                               b.getDenseI64ArrayAttr({1, 1}));
  return b.create<GroupNormOp>(at("conv.1", "model.emb_dim"), x,
                               param("conv.1.weight"), param("conv.1.bias"),
                               /*num_groups=*/b.getI64IntegerAttr(1),
                               b.getF64FloatAttr(spec.eps));
}

Value TrainStepBuilder::block(Value x, int64_t layer) {
  int64_t B = spec.batchSize, C = spec.embDim, T = spec.frames(),
          F = spec.bins();
  std::string blockName = "blocks." + std::to_string(layer);
  Location loc = at(blockName, "model.n_layers");
  // [B, C, T, F] -> [B, T, F, C]; `freqMajor` tracks [B, F, T, C] instead.
  x = transpose(loc, x, {0, 2, 3, 1});
  bool freqMajor = false;
  for (const std::string &path : spec.pathOrder()) {
    bool wantFreqMajor = path == "frame_path";
    if (wantFreqMajor != freqMajor) {
      x = transpose(loc, x, {0, 2, 1, 3});
      freqMajor = wantFreqMajor;
    }
    int64_t rows = freqMajor ? F : T, length = freqMajor ? T : F;
    std::string prefix = blockName + "." + path;
    Value r = reshape(loc, x, {B * rows, length, C});
    r = locoformer(r, prefix);
    x = reshape(loc, r, {B, rows, length, C});
  }
  return transpose(loc, x,
                   freqMajor ? ArrayRef<int64_t>{0, 3, 2, 1}
                             : ArrayRef<int64_t>{0, 3, 1, 2});
}

Value TrainStepBuilder::locoformer(Value x, llvm::StringRef prefix) {
  std::string p = prefix.str();
  if (spec.isMacaron())
    x = add(at(p + ".ffn.1", "model.ffn_type"), x,
            swigluFfn(rmsNorm(x, p + ".ffn_norm.1"), p, 1));
  x = add(at(p + ".attn", "model.n_heads"), x,
          attention(rmsNorm(x, p + ".attn_norm"), p));
  return add(at(p + ".ffn.0", "model.ffn_type"), x,
             swigluFfn(rmsNorm(x, p + ".ffn_norm.0"), p, 0));
}

Value TrainStepBuilder::swigluFfn(Value x, llvm::StringRef prefix,
                                  unsigned index) {
  std::string name = (prefix + ".ffn." + std::to_string(index)).str();
  Location loc = at(name, "model.ffn_hidden_dim");
  int64_t L = shapeOf(x)[1];
  int64_t K = spec.conv1dKernel, s = spec.conv1dShift,
          H = spec.ffnHidden(index);
  // Upstream pads k = K - s on the left and up to a whole number of strides
  // on the right: P = ceil((L + 2k - K) / s) * s + K.
  int64_t k = K - s;
  int64_t P = (L + 2 * k - K + s - 1) / s * s + K;
  Value padded = b.create<PadOp>(loc, x, b.getDenseI64ArrayAttr({0, k, 0}),
                                 b.getDenseI64ArrayAttr({0, P - L - k, 0}));
  Value h =
      b.create<Conv1dOp>(at(name + ".conv1d", "model.ffn_hidden_dim"), padded,
                         param(name + ".conv1d.weight"),
                         param(name + ".conv1d.bias"), b.getI64IntegerAttr(s));
  Value value = slice(loc, h, 2, 0, H);
  Value gate = b.create<SiluOp>(loc, value.getType(), slice(loc, h, 2, H, H));
  Value u = dropout(loc, b.create<MulOp>(loc, value.getType(), value, gate));
  Value y = b.create<ConvTranspose1dOp>(
      at(name + ".deconv1d", "model.ffn_hidden_dim"), u,
      param(name + ".deconv1d.weight"), param(name + ".deconv1d.bias"),
      b.getI64IntegerAttr(s));
  return dropout(loc, slice(loc, y, 1, k, L));
}

Value TrainStepBuilder::attention(Value x, llvm::StringRef prefix) {
  std::string name = (prefix + ".attn").str();
  Location loc = at(name, "model.n_heads");
  int64_t R = shapeOf(x)[0], L = shapeOf(x)[1];
  int64_t A = spec.attentionDim, h = spec.nHeads, d = spec.headDim();
  Value qkv = b.create<LinearOp>(at(name + ".qkv", "model.attention_dim"), x,
                                 param(name + ".qkv.weight"));
  // Features are ordered (3, h, d): [R, L, 3, h, d] -> [3, R, h, L, d].
  qkv = transpose(loc, reshape(loc, qkv, {R, L, 3, h, d}), {2, 0, 3, 1, 4});
  auto part = [&](int64_t index) {
    return reshape(loc, slice(loc, qkv, 0, index, 1), {R, h, L, d});
  };
  Value q = part(0), k = part(1), v = part(2);
  if (spec.posEnc == "rope") {
    Location ropeLoc = at(name + ".rope", "model.pos_enc");
    q = b.create<RopeOp>(ropeLoc, q, b.getF64FloatAttr(10000.0), nullptr);
    k = b.create<RopeOp>(ropeLoc, k, b.getF64FloatAttr(10000.0), nullptr);
  }
  Value scores = b.create<BatchMatmulOp>(loc, q, k, /*transpose_lhs=*/nullptr,
                                         /*transpose_rhs=*/b.getUnitAttr());
  scores = scale(loc, scores, 1.0 / std::sqrt(static_cast<double>(d)));
  Value probs =
      dropout(loc, b.create<SoftmaxOp>(loc, scores, b.getI64IntegerAttr(3)));
  Value heads =
      b.create<BatchMatmulOp>(loc, probs, v, /*transpose_lhs=*/nullptr,
                              /*transpose_rhs=*/nullptr);
  heads = reshape(loc, transpose(loc, heads, {0, 2, 1, 3}), {R, L, A});
  Value out =
      b.create<LinearOp>(at(name + ".aggregate_heads.0", "model.attention_dim"),
                         heads, param(name + ".aggregate_heads.0.weight"));
  return dropout(loc, out);
}

Value TrainStepBuilder::decoder(Value x) {
  int64_t B = spec.batchSize, S = spec.nSources, T = spec.frames(),
          F = spec.bins(), N = spec.segmentLength;
  Value y = b.create<ConvTranspose2dOp>(
      at("deconv", "model.n_sources"), x, param("deconv.weight"),
      param("deconv.bias"), b.getDenseI64ArrayAttr({1, 1}));
  // Channel 2s is the real and 2s+1 the imaginary part of source s.
  Location loc = at("istft", "model.n_fft");
  y = reshape(loc, y, {B * S, 2, T, F});
  y = b.create<IstftOp>(loc, y, b.getI64IntegerAttr(spec.nFft),
                        b.getI64IntegerAttr(spec.hopLength),
                        b.getI64IntegerAttr(N));
  return reshape(loc, y, {B, S, N});
}

void TrainStepBuilder::loss(ArrayRef<Value> estimates, ArrayRef<Value> targets,
                            SmallVectorImpl<Value> &results,
                            SmallVectorImpl<std::string> &names) {
  Value total;
  auto addTerm = [&](Location loc, Value component, double weight,
                     std::string componentName) {
    results.push_back(component);
    names.push_back(std::move(componentName));
    Value term = scale(loc, component, weight);
    total = total ? add(loc, total, term) : term;
  };
  for (auto [index, source] : llvm::enumerate(spec.sources)) {
    Value est = estimates[index], tgt = targets[index];
    if (spec.hasSiSdr()) {
      Location loc = at("loss." + source + "_si_sdr", "loss.si_sdr_weight");
      Value sdr =
          b.create<SiSdrOp>(loc, est, tgt, b.getF64FloatAttr(spec.lossEps));
      Value mean = b.create<ReduceMeanOp>(loc, sdr, b.getDenseI64ArrayAttr({0}),
                                          /*keepdim=*/nullptr);
      addTerm(loc, scale(loc, mean, -1.0), spec.siSdrWeight,
              source + "_si_sdr");
    }
    if (spec.hasL1()) {
      Location loc = at("loss." + source + "_l1", "loss.l1_weight");
      addTerm(loc, b.create<L1LossOp>(loc, est, tgt), spec.l1Weight,
              source + "_l1");
    }
    if (spec.hasL2()) {
      Location loc = at("loss." + source + "_l2", "loss.loss_type");
      addTerm(loc, b.create<MseLossOp>(loc, est, tgt), 1.0, source + "_l2");
    }
    if (spec.hasSpectral()) {
      // The spectral loss has its own STFT: n_fft 2048, hop 1024.
      Location loc = at("loss." + source + "_spectral", "loss.spectral_weight");
      Value estSpec = stft(loc, est, 2048, 1024);
      Value tgtSpec = stft(loc, tgt, 2048, 1024);
      addTerm(loc, b.create<SpectralL1Op>(loc, estSpec, tgtSpec),
              spec.spectralWeight, source + "_spectral");
    }
  }
  results.insert(results.begin(), total);
  names.insert(names.begin(), "total_loss");
}

/// The module's attributes that the lowering writes into the manifest:
/// the buffers, the model's shapes, the loss, training, dataset and
/// hardware keys that locorun reads.
void TrainStepBuilder::annotate(ModuleOp module) {
  // Non-trainable state_dict entries, computed here once.
  SmallVector<NamedAttribute> buffers;
  if (spec.posEnc == "rope") {
    std::vector<float> freqs = spec.ropeFreqs();
    auto type = f32({static_cast<int64_t>(freqs.size())});
    auto value = DenseElementsAttr::get(type, llvm::ArrayRef<float>(freqs));
    for (const std::string &name : spec.bufferNames())
      buffers.push_back(b.getNamedAttr(name, value));
  }
  module->setAttr("loco.buffers", b.getDictionaryAttr(buffers));
  module->setAttr("loco.config", b.getStringAttr(spec.configFile));

  // The manifest's tables: every key that ConfigKeys.h serialises, then the
  // values derived from several keys.
  llvm::StringMap<SmallVector<NamedAttribute>> tables;
  for (const ConfigKey &key : configKeys()) {
    if (!*key.manifestTable)
      continue;
    Attribute value = std::visit(
        [&](auto field) -> Attribute {
          using F = decltype(field);
          if constexpr (std::is_same_v<F, SpecField<int64_t>>)
            return b.getI64IntegerAttr(readField(spec, field));
          else if constexpr (std::is_same_v<F, SpecField<double>>)
            return b.getF64FloatAttr(readField(spec, field));
          else if constexpr (std::is_same_v<F, SpecField<bool>>)
            return b.getBoolAttr(readField(spec, field));
          else if constexpr (std::is_same_v<F, SpecField<std::string>>)
            return b.getStringAttr(readField(spec, field));
          else
            llvm_unreachable("only scalar keys are written to the manifest");
        },
        key.field);
    tables[key.manifestTable].push_back(b.getNamedAttr(key.manifestKey, value));
  }
  auto add = [&](StringRef table, StringRef name, Attribute value) {
    tables[table].push_back(b.getNamedAttr(name, value));
  };
  // The step's shapes, for the runner's feeds.
  add("model", "frames", b.getI64IntegerAttr(spec.frames()));
  add("model", "bins", b.getI64IntegerAttr(spec.bins()));
  // Matrix-product inputs on tensor cores: AMP's dtype, else TF32.
  add("training", "matmul_precision",
      b.getStringAttr(spec.useAmp
                          ? (spec.ampDtype == "float16" ? "fp16" : "bf16")
                          : (spec.tf32 ? "tf32" : "fp32")));
  // fp16 mixed precision scales the loss dynamically (GradScaler).
  add("training", "loss_scaling",
      b.getBoolAttr(spec.useAmp && spec.ampDtype == "float16"));
  add("training", "beta1", b.getF64FloatAttr(spec.beta1()));
  add("training", "beta2", b.getF64FloatAttr(spec.beta2()));
  // locorun's default --device ("cuda:<gpu_id>").
  add("hardware", "device", b.getStringAttr(spec.deviceName()));
  // model: the shapes; loss: for locorun's validation on whole tracks
  // (computed on the host from the separation step's estimates, term for
  // term as above); training: the optimizer step, the schedule and the
  // loop; dataset: the data folder and its augmentation; hardware: the
  // device (the last two overridden by locorun's flags).
  for (StringRef table : {"model", "loss", "training", "dataset", "hardware"})
    module->setAttr(("loco." + table).str(),
                    b.getDictionaryAttr(tables[table]));
}

OwningOpRef<ModuleOp> TrainStepBuilder::build() {
  Location fileLoc = spec.loc("");
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  int64_t B = spec.batchSize, N = spec.segmentLength;

  std::vector<ParamInfo> table = spec.parameters();
  SmallVector<Type> argTypes;
  for (const ParamInfo &p : table)
    argTypes.push_back(f32(p.shape));
  size_t numInputs = forwardOnly ? 1 : 1 + spec.sources.size();
  for (size_t i = 0; i < numInputs; ++i)
    argTypes.push_back(f32({B, N}));

  b.setInsertionPointToEnd(module->getBody());
  StringRef stepName = forwardOnly ? "separate_step" : "train_step";
  auto func = b.create<func::FuncOp>(at(stepName, "model"), stepName,
                                     b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  for (auto [index, p] : llvm::enumerate(table)) {
    params[p.name] = entry->getArgument(index);
    func.setArgAttr(index, "loco.param", b.getStringAttr(p.name));
    func.setArgAttr(index, "loco.init", b.getStringAttr(p.init));
  }
  unsigned dataBase = table.size();
  func.setArgAttr(dataBase, "loco.input", b.getStringAttr("mixture"));
  SmallVector<Value> targets;
  for (auto [index, source] : llvm::enumerate(spec.sources)) {
    if (forwardOnly)
      break;
    func.setArgAttr(dataBase + 1 + index, "loco.input",
                    b.getStringAttr(source));
    targets.push_back(entry->getArgument(dataBase + 1 + index));
  }

  Value x = encoder(entry->getArgument(dataBase));
  for (int64_t layer = 0; layer < spec.nLayers; ++layer)
    x = block(x, layer);
  Value separated = decoder(x);

  SmallVector<Value> estimates;
  for (auto [index, source] : llvm::enumerate(spec.sources)) {
    Location loc = at("estimate." + source, "dataset.sources");
    estimates.push_back(
        reshape(loc, slice(loc, separated, 1, index, 1), {B, N}));
  }

  SmallVector<Value> results;
  SmallVector<std::string> names;
  if (!forwardOnly)
    loss(estimates, targets, results, names);
  for (auto [index, source] : llvm::enumerate(spec.sources)) {
    results.push_back(estimates[index]);
    names.push_back(source);
  }
  b.create<func::ReturnOp>(at(stepName, "loss"), results);
  func.setFunctionType(
      b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [index, name] : llvm::enumerate(names))
    func.setResultAttr(index, "loco.name", b.getStringAttr(name));

  annotate(*module);
  return module;
}

OwningOpRef<ModuleOp> mlir::loco::buildTrainStep(const ModelSpec &spec,
                                                 MLIRContext *context) {
  context->loadDialect<LocoDialect, func::FuncDialect>();
  return TrainStepBuilder(spec, context, /*forwardOnly=*/false).build();
}

OwningOpRef<ModuleOp> mlir::loco::buildSeparateStep(const ModelSpec &spec,
                                                    MLIRContext *context) {
  context->loadDialect<LocoDialect, func::FuncDialect>();
  return TrainStepBuilder(spec, context, /*forwardOnly=*/true).build();
}
