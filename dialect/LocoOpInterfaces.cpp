//===- LocoOpInterfaces.cpp - Interface implementations of loco ops -------===//
//
// This file implements, op by op, two of the loco op interfaces: the
// recompute cost (FLOPs; a multiply-add counts 2) and the row-independent
// leading dims. Gradient rules live in LocoGradients.cpp.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::loco;

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

static int64_t numElements(Value value) {
  return tensorType(value).getNumElements();
}

static unsigned rankOf(Value value) { return tensorType(value).getRank(); }

//===----------------------------------------------------------------------===//
// Recompute cost
//===----------------------------------------------------------------------===//

/// An FFT of a real frame of n samples: about 2.5 n log2 n flops, plus the
/// window multiply.
static int64_t realFftFlops(int64_t n) {
  return n + static_cast<int64_t>(2.5 * n * std::log2(static_cast<double>(n)));
}

int64_t StftOp::getFlops() {
  auto result = tensorType(getResult());
  return result.getDimSize(0) * result.getDimSize(2) * realFftFlops(getNFft());
}

int64_t IstftOp::getFlops() {
  auto input = tensorType(getInput());
  // Inverse FFT and window per frame, plus the overlap-add normalisation.
  return input.getDimSize(0) * input.getDimSize(2) * realFftFlops(getNFft()) +
         2 * numElements(getResult());
}

int64_t Conv2dOp::getFlops() {
  auto weight = tensorType(getWeight());
  return numElements(getResult()) *
         (2 * weight.getDimSize(1) * weight.getDimSize(2) *
              weight.getDimSize(3) +
          1);
}

int64_t ConvTranspose2dOp::getFlops() {
  auto weight = tensorType(getWeight());
  return 2 * numElements(getInput()) * weight.getDimSize(1) *
             weight.getDimSize(2) * weight.getDimSize(3) +
         numElements(getResult());
}

int64_t Conv1dOp::getFlops() {
  auto weight = tensorType(getWeight());
  return numElements(getResult()) *
         (2 * weight.getDimSize(1) * weight.getDimSize(2) + 1);
}

int64_t ConvTranspose1dOp::getFlops() {
  auto weight = tensorType(getWeight());
  return 2 * numElements(getInput()) * weight.getDimSize(1) *
             weight.getDimSize(2) +
         numElements(getResult());
}

// Mean, centred square, normalise, affine.
int64_t GroupNormOp::getFlops() { return 8 * numElements(getInput()); }
// Square-accumulate, divide, scale.
int64_t RmsGroupNormOp::getFlops() { return 5 * numElements(getInput()); }

int64_t LinearOp::getFlops() {
  return 2 * numElements(getResult()) * tensorType(getWeight()).getDimSize(1);
}

int64_t BatchMatmulOp::getFlops() {
  auto lhs = tensorType(getLhs());
  int64_t k = lhs.getDimSize(lhs.getRank() - (getTransposeLhs() ? 2 : 1));
  return 2 * numElements(getResult()) * k;
}

// Two products of 2 d flops per score, the exponentials and the online
// rescaling: about 4 Lq Lk d + 5 Lq Lk per batch entry.
int64_t FlashAttentionOp::getFlops() {
  auto q = tensorType(getQuery()), k = tensorType(getKey());
  int64_t rank = q.getRank();
  int64_t scores =
      q.getNumElements() / q.getDimSize(rank - 1) * k.getDimSize(rank - 2);
  return scores * (4 * q.getDimSize(rank - 1) + 5);
}
unsigned FlashAttentionOp::getNumRowDims() { return rankOf(getQuery()) - 2; }

// Two multiplies and an add per element; the angles are tabulated per row.
int64_t RopeOp::getFlops() { return 3 * numElements(getInput()); }
// Max, subtract, exp, sum, divide.
int64_t SoftmaxOp::getFlops() { return 5 * numElements(getInput()); }
// The Philox rounds amortised over the four outputs of a call, compare, scale.
int64_t DropoutOp::getFlops() { return 12 * numElements(getInput()); }
// The dropout's draw and scale, and the sum.
int64_t DropoutAddOp::getFlops() { return 13 * numElements(getInput()); }
int64_t AddOp::getFlops() { return numElements(getResult()); }
int64_t SubOp::getFlops() { return numElements(getResult()); }
int64_t MulOp::getFlops() { return numElements(getResult()); }
int64_t DivOp::getFlops() { return numElements(getResult()); }
int64_t SiluOp::getFlops() { return 4 * numElements(getResult()); }
// The SiLU of the gate half and the product.
int64_t SwigluOp::getFlops() { return 5 * numElements(getResult()); }
int64_t ScaleOp::getFlops() { return numElements(getResult()); }
int64_t CastOp::getFlops() { return numElements(getResult()); }

int64_t ReshapeOp::getFlops() { return 0; }
int64_t ReshapeOp::getBytesMoved() { return 0; }
int64_t TransposeOp::getFlops() { return 0; }
int64_t SliceOp::getFlops() { return 0; }
int64_t PadOp::getFlops() { return 0; }
int64_t SplitOp::getFlops() { return 0; }
int64_t ConcatOp::getFlops() { return 0; }

int64_t ReduceSumOp::getFlops() { return numElements(getInput()); }
int64_t ReduceMeanOp::getFlops() { return numElements(getInput()) + 1; }

// Means, three dot products, projection, residual and two logs per item.
int64_t SiSdrOp::getFlops() { return 10 * numElements(getEstimate()); }
int64_t L1LossOp::getFlops() { return 3 * numElements(getEstimate()); }
int64_t MseLossOp::getFlops() { return 3 * numElements(getEstimate()); }
// Per bin and spectrum: |X| (3 + sqrt) and log1p, then the difference.
int64_t SpectralL1Op::getFlops() { return 6 * numElements(getEstimate()); }

//===----------------------------------------------------------------------===//
// Recompute cost of the backward ops (the denominator of the
// rematerialisation's recompute_flops_ratio, so they count like the forward)
//===----------------------------------------------------------------------===//

int64_t StftBackwardOp::getFlops() {
  auto grad = tensorType(getGrad());
  return grad.getDimSize(0) * grad.getDimSize(2) * realFftFlops(getNFft());
}
int64_t IstftBackwardOp::getFlops() {
  auto result = tensorType(getResult());
  return result.getDimSize(0) * result.getDimSize(2) * realFftFlops(getNFft()) +
         2 * numElements(getGrad());
}
// Weight gradients: one multiply-add per (output element, weight element of
// its receptive field), as the forward.
int64_t Conv2dWeightGradOp::getFlops() {
  auto w = tensorType(getResult());
  return 2 * numElements(getGrad()) * w.getDimSize(1) * w.getDimSize(2) *
         w.getDimSize(3);
}
int64_t ConvTranspose2dWeightGradOp::getFlops() {
  auto w = tensorType(getResult());
  return 2 * numElements(getInput()) * w.getDimSize(1) * w.getDimSize(2) *
         w.getDimSize(3);
}
int64_t Conv1dWeightGradOp::getFlops() {
  auto w = tensorType(getResult());
  return 2 * numElements(getGrad()) * w.getDimSize(1) * w.getDimSize(2);
}
int64_t ConvTranspose1dWeightGradOp::getFlops() {
  auto w = tensorType(getResult());
  return 2 * numElements(getInput()) * w.getDimSize(1) * w.getDimSize(2);
}
int64_t LinearWeightGradOp::getFlops() {
  return 2 * numElements(getGrad()) * tensorType(getResult()).getDimSize(1);
}
// Statistics again, then two reductions and the combination per element.
int64_t GroupNormBackwardOp::getFlops() { return 12 * numElements(getInput()); }
int64_t RmsGroupNormBackwardOp::getFlops() {
  return 8 * numElements(getInput());
}
int64_t SoftmaxBackwardOp::getFlops() { return 4 * numElements(getGrad()); }
int64_t SiluBackwardOp::getFlops() { return 7 * numElements(getInput()); }
// The SiLU again, the two products and the SiLU's backward.
int64_t SwigluBackwardOp::getFlops() { return 13 * numElements(getGrad()); }
int64_t BroadcastOp::getFlops() { return 0; }
int64_t SiSdrBackwardOp::getFlops() { return 12 * numElements(getEstimate()); }
int64_t L1LossBackwardOp::getFlops() { return 2 * numElements(getEstimate()); }
int64_t MseLossBackwardOp::getFlops() { return 3 * numElements(getEstimate()); }
int64_t SpectralL1BackwardOp::getFlops() {
  return 16 * numElements(getEstimate());
}
int64_t FillOp::getFlops() { return 0; }
// Scores and probabilities again from the log-sum-exp (2 d + 5 per score),
// dP = dO V^T (2 dv), dS (3), and dQ, dK, dV (2 d + 2 d + 2 dv).
int64_t FlashAttentionGradOp::getFlops() {
  auto q = tensorType(getQuery()), k = tensorType(getKey()),
       v = tensorType(getValue());
  int64_t rank = q.getRank(), d = q.getDimSize(rank - 1),
          dv = v.getDimSize(rank - 1);
  int64_t scores = q.getNumElements() / d * k.getDimSize(rank - 2);
  return scores * (6 * d + 4 * dv + 8);
}

//===----------------------------------------------------------------------===//
// Row independence
//===----------------------------------------------------------------------===//

// Per signal / per sample: only the batch dim is independent.
unsigned StftOp::getNumRowDims() { return 1; }
unsigned IstftOp::getNumRowDims() { return 1; }
unsigned Conv2dOp::getNumRowDims() { return 1; }
unsigned ConvTranspose2dOp::getNumRowDims() { return 1; }
unsigned GroupNormOp::getNumRowDims() { return 1; }
unsigned SiSdrOp::getNumRowDims() { return 1; }
// Along a row the conv mixes neighbouring positions.
unsigned Conv1dOp::getNumRowDims() { return 1; }
unsigned ConvTranspose1dOp::getNumRowDims() { return 1; }

bool Conv2dOp::isBroadcastOperand(unsigned index) { return index != 0; }
bool ConvTranspose2dOp::isBroadcastOperand(unsigned index) {
  return index != 0;
}
bool Conv1dOp::isBroadcastOperand(unsigned index) { return index != 0; }
bool ConvTranspose1dOp::isBroadcastOperand(unsigned index) {
  return index != 0;
}
bool LinearOp::isBroadcastOperand(unsigned index) { return index != 0; }

// Every position is independent; only the channel (last) dim mixes.
unsigned RmsGroupNormOp::getNumRowDims() { return rankOf(getResult()) - 1; }
unsigned LinearOp::getNumRowDims() { return rankOf(getResult()) - 1; }
// Products mix the two trailing dims; RoPE's angle depends on the position
// along the sequence dim, so a chunk must hold whole sequences.
unsigned BatchMatmulOp::getNumRowDims() { return rankOf(getResult()) - 2; }
unsigned RopeOp::getNumRowDims() { return rankOf(getResult()) - 2; }
unsigned SoftmaxOp::getNumRowDims() { return getDim(); }
// Element-wise: every dim. Dropout's element index is global, so a chunk
// offsets its counter by the chunk's first linear index.
unsigned DropoutOp::getNumRowDims() { return rankOf(getResult()); }
unsigned DropoutAddOp::getNumRowDims() { return rankOf(getResult()); }
unsigned AddOp::getNumRowDims() { return rankOf(getResult()); }
unsigned SubOp::getNumRowDims() { return rankOf(getResult()); }
unsigned MulOp::getNumRowDims() { return rankOf(getResult()); }
unsigned DivOp::getNumRowDims() { return rankOf(getResult()); }
unsigned SiluOp::getNumRowDims() { return rankOf(getResult()); }
// Each position pairs the two halves of its last dim.
unsigned SwigluOp::getNumRowDims() { return rankOf(getResult()) - 1; }
unsigned ScaleOp::getNumRowDims() { return rankOf(getResult()); }
unsigned CastOp::getNumRowDims() { return rankOf(getResult()); }

unsigned ReshapeOp::getNumRowDims() {
  ArrayRef<int64_t> in = tensorType(getInput()).getShape();
  ArrayRef<int64_t> out = tensorType(getResult()).getShape();
  unsigned n = 0;
  while (n < in.size() && n < out.size() && in[n] == out[n])
    ++n;
  // A reshape that only merges or splits trailing dims keeps the prefix.
  return n;
}

unsigned TransposeOp::getNumRowDims() {
  unsigned n = 0;
  for (int64_t dim : getPermutation()) {
    if (dim != static_cast<int64_t>(n))
      break;
    ++n;
  }
  return n;
}

unsigned SliceOp::getNumRowDims() { return getDim(); }
// Row chunking creates these at a region's edges; they move rows between
// chunks, so no dimension is row-independent.
unsigned SplitOp::getNumRowDims() { return 0; }
unsigned ConcatOp::getNumRowDims() { return 0; }

unsigned PadOp::getNumRowDims() {
  unsigned n = 0;
  for (auto [lo, hi] : llvm::zip(getLow(), getHigh())) {
    if (lo != 0 || hi != 0)
      break;
    ++n;
  }
  return n;
}

unsigned ReduceSumOp::getNumRowDims() { return getDims().front(); }
unsigned ReduceMeanOp::getNumRowDims() { return getDims().front(); }
// Means over every element: global reductions.
unsigned L1LossOp::getNumRowDims() { return 0; }
unsigned MseLossOp::getNumRowDims() { return 0; }
unsigned SpectralL1Op::getNumRowDims() { return 0; }
