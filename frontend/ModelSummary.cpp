//===- ModelSummary.cpp - A readable summary of a ModelSpec ---------------===//
//
// This file implements the model summary: what the config builds and what
// one Locoformer block's tensors cost in float32 when every intermediate is
// kept, as eager PyTorch keeps them.
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelSummary.h"
#include "frontend/ModelSpec.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::loco;

static std::string formatBytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

static std::string formatShape(std::initializer_list<int64_t> shape) {
  std::string text = "[";
  bool first = true;
  for (int64_t dim : shape) {
    text += (first ? "" : ", ") + std::to_string(dim);
    first = false;
  }
  return text + "]";
}

void mlir::loco::printModelSummary(const ModelSpec &spec,
                                   llvm::raw_ostream &os) {
  int64_t B = spec.batchSize, N = spec.segmentLength, T = spec.frames(),
          F = spec.bins(), C = spec.embDim, A = spec.attentionDim,
          h = spec.nHeads, d = spec.headDim();
  int64_t trainable = 0;
  for (const ParamInfo &p : spec.parameters())
    trainable += p.numElements();

  os << "model summary: " << spec.configFile << "\n";
  os << llvm::format(
      "  input        B=%lld x N=%lld samples (%.2f s at %lld Hz)\n",
      (long long)B, (long long)N, static_cast<double>(N) / spec.sampleRate,
      (long long)spec.sampleRate);
  os << "  stft         n_fft " << spec.nFft << ", hop " << spec.hopLength
     << " -> T x F = " << T << " x " << F << "\n";
  os << "  model        " << spec.nLayers << " layers (" << spec.tfOrder
     << "), C " << C << ", attention " << A << " = " << h << " heads x " << d
     << ", groups " << spec.numGroups << ", pos_enc " << spec.posEnc << "\n";
  os << "  ffn          " << (spec.isMacaron() ? "macaron " : "");
  for (unsigned j = spec.ffnTypes.size(); j-- > 0;)
    os << "ffn." << j << "=swiglu_conv1d(H " << spec.ffnHidden(j) << ") ";
  os << "kernel " << spec.conv1dKernel << ", shift " << spec.conv1dShift
     << "\n";
  os << "  parameters   " << trainable << " trainable ("
     << formatBytes(4.0 * trainable) << " fp32), " << spec.bufferNames().size()
     << " RoPE frequency buffers\n";
  os << "  loss         " << spec.lossType
     << llvm::format(" (si_sdr %g, l1 %g, spectral %g)\n", spec.siSdrWeight,
                     spec.l1Weight, spec.spectralWeight);
  os << "  training     batch " << B << ", accumulation "
     << spec.gradientAccumulationSteps
     << llvm::format(", AdamW lr %g, clip %g, dropout %g", spec.lr,
                     spec.gradientClip, spec.dropout)
     << (spec.useAmp ? ", amp " + spec.ampDtype : std::string()) << "\n";

  os << "  per-block tensors (float32, one Locoformer block per path):\n";
  for (const std::string &path : spec.pathOrder()) {
    bool frame = path == "frame_path";
    int64_t R = B * (frame ? F : T), L = frame ? T : F;
    os << "    " << path << ": rows R=" << R << ", length L=" << L << "\n";
    auto line = [&](const char *what, std::initializer_list<int64_t> shape) {
      double n = 1;
      for (int64_t dim : shape)
        n *= dim;
      os << "      " << llvm::left_justify(what, 22)
         << llvm::left_justify(formatShape(shape), 26) << formatBytes(4.0 * n)
         << "\n";
    };
    line("x", {R, L, C});
    line("qkv", {R, L, 3 * A});
    line("attention scores", {R, h, L, L});
    for (unsigned j = spec.ffnTypes.size(); j-- > 0;)
      line(j == 1 ? "ffn.1 conv1d out" : "ffn.0 conv1d out",
           {R, L + spec.conv1dKernel - 1, 2 * spec.ffnHidden(j)});
  }
}
