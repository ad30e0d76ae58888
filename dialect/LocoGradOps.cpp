//===- LocoGradOps.cpp - Backward ops of loco -----------------------------===//
//
// This file implements the verifiers of the backward ops: each checks its
// explicit result types against the shapes its operands and attributes imply.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::loco;

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Fails unless `value` has the shape `shape` (and `like`'s element type).
static LogicalResult expectShape(Operation *op, StringRef what, Value value,
                                 ArrayRef<int64_t> shape, Value like) {
  auto type = tensorType(value);
  if (type.getShape() == shape &&
      type.getElementType() == tensorType(like).getElementType())
    return success();
  return op->emitOpError("expects ")
         << what << " of type "
         << RankedTensorType::get(shape, tensorType(like).getElementType())
         << ", got " << type;
}

static LogicalResult expectSameType(Operation *op, StringRef what, Value value,
                                    Value like) {
  return expectShape(op, what, value, tensorType(like).getShape(), like);
}

LogicalResult StftBackwardOp::verify() {
  auto grad = tensorType(getGrad());
  int64_t nFft = getNFft(), hop = getHopLength(), length = getLength();
  if (failed(expectShape(
          *this, "grad", getGrad(),
          {grad.getDimSize(0), 2, 1 + length / hop, nFft / 2 + 1}, getGrad())))
    return failure();
  return expectShape(*this, "result", getResult(), {grad.getDimSize(0), length},
                     getGrad());
}

LogicalResult IstftBackwardOp::verify() {
  auto grad = tensorType(getGrad()), result = tensorType(getResult());
  int64_t nFft = getNFft(), hop = getHopLength();
  int64_t frames = result.getDimSize(2);
  if (failed(expectShape(*this, "result", getResult(),
                         {grad.getDimSize(0), 2, frames, nFft / 2 + 1},
                         getGrad())))
    return failure();
  if (grad.getDimSize(1) > (frames - 1) * hop + nFft / 2)
    return emitOpError("expects a signal of at most (frames - 1) * hop_length "
                       "+ n_fft / 2 samples");
  return success();
}

LogicalResult Conv2dWeightGradOp::verify() {
  auto x = tensorType(getInput()), g = tensorType(getGrad());
  auto w = tensorType(getResult());
  ArrayRef<int64_t> pad = getPadding();
  if (pad.size() != 2)
    return emitOpError("expects padding [PH, PW]");
  if (failed(expectShape(
          *this, "result", getResult(),
          {g.getDimSize(1), x.getDimSize(1), w.getDimSize(2), w.getDimSize(3)},
          getInput())))
    return failure();
  return expectShape(*this, "grad", getGrad(),
                     {x.getDimSize(0), g.getDimSize(1),
                      x.getDimSize(2) + 2 * pad[0] - w.getDimSize(2) + 1,
                      x.getDimSize(3) + 2 * pad[1] - w.getDimSize(3) + 1},
                     getInput());
}

LogicalResult ConvTranspose2dWeightGradOp::verify() {
  auto x = tensorType(getInput()), g = tensorType(getGrad());
  auto w = tensorType(getResult());
  ArrayRef<int64_t> pad = getPadding();
  if (pad.size() != 2)
    return emitOpError("expects padding [PH, PW]");
  if (failed(expectShape(
          *this, "result", getResult(),
          {x.getDimSize(1), g.getDimSize(1), w.getDimSize(2), w.getDimSize(3)},
          getInput())))
    return failure();
  return expectShape(*this, "grad", getGrad(),
                     {x.getDimSize(0), g.getDimSize(1),
                      x.getDimSize(2) + w.getDimSize(2) - 1 - 2 * pad[0],
                      x.getDimSize(3) + w.getDimSize(3) - 1 - 2 * pad[1]},
                     getInput());
}

LogicalResult Conv1dWeightGradOp::verify() {
  auto x = tensorType(getInput()), g = tensorType(getGrad());
  int64_t k = tensorType(getResult()).getDimSize(2);
  if (failed(expectShape(*this, "result", getResult(),
                         {g.getDimSize(2), x.getDimSize(2), k}, getInput())))
    return failure();
  return expectShape(
      *this, "grad", getGrad(),
      {x.getDimSize(0), x.getDimSize(1) - k + 1, g.getDimSize(2)}, getInput());
}

LogicalResult ConvTranspose1dWeightGradOp::verify() {
  auto x = tensorType(getInput()), g = tensorType(getGrad());
  int64_t k = tensorType(getResult()).getDimSize(2);
  if (failed(expectShape(*this, "result", getResult(),
                         {x.getDimSize(2), g.getDimSize(2), k}, getInput())))
    return failure();
  return expectShape(
      *this, "grad", getGrad(),
      {x.getDimSize(0), x.getDimSize(1) + k - 1, g.getDimSize(2)}, getInput());
}

LogicalResult LinearWeightGradOp::verify() {
  auto x = tensorType(getInput()), g = tensorType(getGrad());
  if (x.getRank() < 1 || x.getRank() != g.getRank() ||
      x.getShape().drop_back() != g.getShape().drop_back())
    return emitOpError("expects input and grad with equal leading dims, got ")
           << x << " and " << g;
  return expectShape(*this, "result", getResult(),
                     {g.getShape().back(), x.getShape().back()}, getInput());
}

LogicalResult GroupNormBackwardOp::verify() {
  if (failed(expectSameType(*this, "grad", getGrad(), getInput())) ||
      failed(expectSameType(*this, "input_grad", getInputGrad(), getInput())) ||
      failed(expectSameType(*this, "gamma_grad", getGammaGrad(), getGamma())) ||
      failed(expectSameType(*this, "beta_grad", getBetaGrad(), getGamma())))
    return failure();
  return success();
}

LogicalResult RmsGroupNormBackwardOp::verify() {
  if (failed(expectSameType(*this, "grad", getGrad(), getInput())) ||
      failed(expectSameType(*this, "input_grad", getInputGrad(), getInput())) ||
      failed(expectSameType(*this, "gamma_grad", getGammaGrad(), getGamma())))
    return failure();
  return success();
}

LogicalResult SoftmaxBackwardOp::verify() {
  if (static_cast<int64_t>(getDim()) >= tensorType(getGrad()).getRank())
    return emitOpError("expects dim < rank");
  if (failed(expectSameType(*this, "grad", getGrad(), getResultValue())))
    return failure();
  return expectSameType(*this, "result", getResult(), getResultValue());
}

LogicalResult SiluBackwardOp::verify() {
  if (failed(expectSameType(*this, "grad", getGrad(), getInput())))
    return failure();
  return expectSameType(*this, "result", getResult(), getInput());
}

LogicalResult SwigluBackwardOp::verify() {
  auto input = tensorType(getInput());
  if (input.getRank() < 1 || input.getShape().back() % 2 != 0)
    return emitOpError("expects an input whose last dim has even size, got ")
           << input;
  SmallVector<int64_t> half(input.getShape());
  half.back() /= 2;
  if (failed(expectShape(*this, "grad", getGrad(), half, getInput())))
    return failure();
  return expectSameType(*this, "result", getResult(), getInput());
}

LogicalResult BroadcastOp::verify() {
  auto in = tensorType(getInput()), out = tensorType(getResult());
  ArrayRef<int64_t> dims = getDims();
  bool keepdim = in.getRank() == out.getRank();
  SmallVector<int64_t> reduced;
  for (int64_t d = 0; d < out.getRank(); ++d) {
    if (!llvm::is_contained(dims, d))
      reduced.push_back(out.getDimSize(d));
    else if (keepdim)
      reduced.push_back(1);
  }
  return expectShape(*this, "input", getInput(), reduced, getResult());
}

LogicalResult SiSdrBackwardOp::verify() {
  if (failed(expectSameType(*this, "target", getTarget(), getEstimate())) ||
      failed(expectShape(*this, "grad", getGrad(),
                         {tensorType(getEstimate()).getDimSize(0)},
                         getEstimate())))
    return failure();
  return expectSameType(*this, "result", getResult(), getEstimate());
}

LogicalResult L1LossBackwardOp::verify() {
  if (failed(expectSameType(*this, "target", getTarget(), getEstimate())))
    return failure();
  return expectSameType(*this, "result", getResult(), getEstimate());
}

LogicalResult MseLossBackwardOp::verify() {
  if (failed(expectSameType(*this, "target", getTarget(), getEstimate())))
    return failure();
  return expectSameType(*this, "result", getResult(), getEstimate());
}

LogicalResult SpectralL1BackwardOp::verify() {
  if (failed(expectSameType(*this, "target", getTarget(), getEstimate())))
    return failure();
  return expectSameType(*this, "result", getResult(), getEstimate());
}

LogicalResult FillOp::verify() { return success(); }

LogicalResult FlashAttentionGradOp::verify() {
  if (failed(expectSameType(*this, "query_grad", getQueryGrad(), getQuery())) ||
      failed(expectSameType(*this, "key_grad", getKeyGrad(), getKey())) ||
      failed(expectSameType(*this, "value_grad", getValueGrad(), getValue())) ||
      failed(expectSameType(*this, "grad", getGrad(), getResultValue())))
    return failure();
  auto q = tensorType(getQuery());
  if (tensorType(getKey()).getElementType() != q.getElementType() ||
      tensorType(getValue()).getElementType() != q.getElementType())
    return emitOpError("expects query, key and value of one element type");
  // The log-sum-exp is fp32 whatever the storage type (FlashAttentionOp).
  auto lse = tensorType(getLse());
  if (lse.getShape() != q.getShape().drop_back())
    return emitOpError("expects lse of type ")
           << RankedTensorType::get(q.getShape().drop_back(),
                                    lse.getElementType())
           << ", got " << lse;
  return success();
}
