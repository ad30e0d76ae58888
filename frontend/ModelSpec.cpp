//===- ModelSpec.cpp - The validated model and training config ------------===//
//
// This file implements the parameter table of a ModelSpec (upstream
// state_dict names, shapes and initialisation) and its derived values.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSpec.h"

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
