//===- LocoGradients.cpp - Gradient rules of the loco ops -----------------===//
//
// This file implements GradientOpInterface for every forward loco op: the
// vector-Jacobian product built from forward ops where the transpose is one
// (transposed convolutions for conv input gradients, inverse RoPE, the same
// dropout mask, broadcasts for reductions) and from the backward ops
// (LocoGradOps.td) where it is not. A null result cotangent gives null
// operand cotangents; operands that are data (loss targets) get none.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::loco;

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

//===----------------------------------------------------------------------===//
// Element-wise and data movement
//===----------------------------------------------------------------------===//

static Value scaled(OpBuilder &builder, Location loc, Value value,
                    double factor) {
  return builder.create<ScaleOp>(loc, value.getType(), value,
                                 builder.getF64FloatAttr(factor));
}

LogicalResult AddOp::buildGradient(OpBuilder &, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  operandGrads.append({resultGrads[0], resultGrads[0]});
  return success();
}

LogicalResult SubOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  operandGrads.push_back(grad);
  operandGrads.push_back(grad ? scaled(builder, getLoc(), grad, -1.0)
                              : Value());
  return success();
}

LogicalResult MulOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.append({Value(), Value()});
    return success();
  }
  Type type = getType();
  operandGrads.push_back(builder.create<MulOp>(getLoc(), type, grad, getRhs()));
  operandGrads.push_back(builder.create<MulOp>(getLoc(), type, grad, getLhs()));
  return success();
}

LogicalResult DivOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.append({Value(), Value()});
    return success();
  }
  // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b.
  Type type = getType();
  Location loc = getLoc();
  Value gradLhs = builder.create<DivOp>(loc, type, grad, getRhs());
  Value gradQuotient = builder.create<MulOp>(loc, type, gradLhs, getResult());
  operandGrads.push_back(gradLhs);
  operandGrads.push_back(scaled(builder, loc, gradQuotient, -1.0));
  return success();
}

LogicalResult ScaleOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  operandGrads.push_back(
      grad ? scaled(builder, getLoc(), grad, getFactor().convertToDouble())
           : Value());
  return success();
}

LogicalResult CastOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  operandGrads.push_back(
      grad ? builder.create<CastOp>(getLoc(), getInput().getType(), grad)
           : Value());
  return success();
}

LogicalResult ReshapeOp::buildGradient(OpBuilder &builder,
                                       ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  operandGrads.push_back(
      grad ? builder.create<ReshapeOp>(getLoc(), getInput().getType(), grad)
           : Value());
  return success();
}

LogicalResult TransposeOp::buildGradient(OpBuilder &builder,
                                         ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.push_back(Value());
    return success();
  }
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, dim] : llvm::enumerate(perm))
    inverse[dim] = i;
  operandGrads.push_back(builder.create<TransposeOp>(
      getLoc(), grad, builder.getDenseI64ArrayAttr(inverse)));
  return success();
}

LogicalResult SliceOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.push_back(Value());
    return success();
  }
  // The cotangent of a slice is the result's cotangent put back in place,
  // zeros elsewhere.
  auto input = tensorType(getInput());
  SmallVector<int64_t> low(input.getRank(), 0), high(input.getRank(), 0);
  low[getDim()] = getStart();
  high[getDim()] = input.getDimSize(getDim()) - getStart() - getSize();
  operandGrads.push_back(
      builder.create<PadOp>(getLoc(), grad, builder.getDenseI64ArrayAttr(low),
                            builder.getDenseI64ArrayAttr(high)));
  return success();
}

static Value zeros(OpBuilder &builder, Location loc, Type type);

LogicalResult SplitOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  if (llvm::none_of(resultGrads, [](Value grad) { return grad; })) {
    operandGrads.push_back(Value());
    return success();
  }
  // The pieces' cotangents stacked; zeros for pieces that reach no loss.
  SmallVector<Value> pieces;
  for (auto [result, grad] : llvm::zip(getResults(), resultGrads))
    pieces.push_back(grad ? grad : zeros(builder, getLoc(), result.getType()));
  operandGrads.push_back(builder.create<ConcatOp>(getLoc(), pieces));
  return success();
}

LogicalResult ConcatOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.append(getNumOperands(), Value());
    return success();
  }
  SmallVector<int64_t> sizes;
  for (Value input : getInputs())
    sizes.push_back(tensorType(input).getDimSize(0));
  auto split = builder.create<SplitOp>(getLoc(), grad,
                                       builder.getDenseI64ArrayAttr(sizes));
  operandGrads.append(split.getResults().begin(), split.getResults().end());
  return success();
}

LogicalResult PadOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad) {
    operandGrads.push_back(Value());
    return success();
  }
  // The cotangent of a zero pad drops the padding, one padded dim at a time.
  auto input = tensorType(getInput());
  for (auto [dim, lo] : llvm::enumerate(getLow())) {
    if (lo == 0 && getHigh()[dim] == 0)
      continue;
    grad = builder.create<SliceOp>(
        getLoc(), grad, builder.getI64IntegerAttr(dim),
        builder.getI64IntegerAttr(lo),
        builder.getI64IntegerAttr(input.getDimSize(dim)));
  }
  operandGrads.push_back(grad);
  return success();
}

/// Appends `count` null cotangents and succeeds (no result cotangent).
static LogicalResult noGradients(unsigned count,
                                 SmallVectorImpl<Value> &operandGrads) {
  operandGrads.append(count, Value());
  return success();
}

static Value zeros(OpBuilder &builder, Location loc, Type type) {
  return builder.create<FillOp>(loc, type, builder.getF64FloatAttr(0.0));
}

static Value reduceSum(OpBuilder &builder, Location loc, Value value,
                       ArrayRef<int64_t> dims) {
  return builder.create<ReduceSumOp>(loc, value,
                                     builder.getDenseI64ArrayAttr(dims),
                                     /*keepdim=*/nullptr);
}

//===----------------------------------------------------------------------===//
// Spectral transforms
//===----------------------------------------------------------------------===//

LogicalResult StftOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<StftBackwardOp>(
      getLoc(), getInput().getType(), resultGrads[0], getNFftAttr(),
      getHopLengthAttr(),
      builder.getI64IntegerAttr(tensorType(getInput()).getDimSize(1))));
  return success();
}

LogicalResult IstftOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<IstftBackwardOp>(
      getLoc(), getInput().getType(), resultGrads[0], getNFftAttr(),
      getHopLengthAttr()));
  return success();
}

//===----------------------------------------------------------------------===//
// Convolutions: input gradients are the transposed convolution with the
// same weight (and no bias), weight gradients are backward ops, bias
// gradients sum the cotangent over everything but channels.
//===----------------------------------------------------------------------===//

/// The zero bias of the adjoint convolution that gives a convolution's input
/// gradient: one zero per channel of `input` (dimension `channelDim`).
static Value zeroBias(OpBuilder &builder, Location loc, Value input,
                      int64_t channelDim) {
  auto inputType = tensorType(input);
  return zeros(builder, loc,
               RankedTensorType::get({inputType.getDimSize(channelDim)},
                                     inputType.getElementType()));
}

LogicalResult Conv2dOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(3, operandGrads);
  Location loc = getLoc();
  Value bias = zeroBias(builder, loc, getInput(), /*channelDim=*/1);
  operandGrads.push_back(builder.create<ConvTranspose2dOp>(
      loc, g, getWeight(), bias, getPaddingAttr()));
  operandGrads.push_back(builder.create<Conv2dWeightGradOp>(
      loc, getWeight().getType(), getInput(), g, getPaddingAttr()));
  operandGrads.push_back(reduceSum(builder, loc, g, {0, 2, 3}));
  return success();
}

LogicalResult
ConvTranspose2dOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(3, operandGrads);
  Location loc = getLoc();
  Value bias = zeroBias(builder, loc, getInput(), /*channelDim=*/1);
  operandGrads.push_back(
      builder.create<Conv2dOp>(loc, g, getWeight(), bias, getPaddingAttr()));
  operandGrads.push_back(builder.create<ConvTranspose2dWeightGradOp>(
      loc, getWeight().getType(), getInput(), g, getPaddingAttr()));
  operandGrads.push_back(reduceSum(builder, loc, g, {0, 2, 3}));
  return success();
}

/// `x` [R, L, C] with s - 1 zeros after every row but the last:
/// [R, (L - 1) s + 1, C], row l of x at row l s (the zero-insertion that
/// turns a stride-s correlation into a stride-1 one). Reshape, pad, reshape
/// and slice: views and copies whose gradients already exist.
static Value interleaveZeros(OpBuilder &builder, Location loc, Value x,
                             int64_t s) {
  auto type = tensorType(x);
  int64_t R = type.getDimSize(0), L = type.getDimSize(1),
          C = type.getDimSize(2);
  Type element = type.getElementType();
  Value column = builder.create<ReshapeOp>(
      loc, RankedTensorType::get({R, L, 1, C}, element), x);
  Value spread = builder.create<PadOp>(
      loc, column, builder.getDenseI64ArrayAttr({0, 0, 0, 0}),
      builder.getDenseI64ArrayAttr({0, 0, s - 1, 0}));
  Value rows = builder.create<ReshapeOp>(
      loc, RankedTensorType::get({R, L * s, C}, element), spread);
  return builder.create<SliceOp>(loc, rows, builder.getI64IntegerAttr(1),
                                 builder.getI64IntegerAttr(0),
                                 builder.getI64IntegerAttr((L - 1) * s + 1));
}

/// `x` [R, L, C] cut or zero-padded at the end of dimension 1 to `length`.
static Value fitRows(OpBuilder &builder, Location loc, Value x,
                     int64_t length) {
  int64_t L = tensorType(x).getDimSize(1);
  if (L > length)
    return builder.create<SliceOp>(loc, x, builder.getI64IntegerAttr(1),
                                   builder.getI64IntegerAttr(0),
                                   builder.getI64IntegerAttr(length));
  if (L < length)
    return builder.create<PadOp>(
        loc, x, builder.getDenseI64ArrayAttr({0, 0, 0}),
        builder.getDenseI64ArrayAttr({0, length - L, 0}));
  return x;
}

// With stride s, y[l] = sum_k w[k] x[l s + k]. The input gradient is the
// stride-s transposed convolution of g (padded to L where the last
// (L - K) mod s samples reached no output); the weight gradient
// sum_l x[l s + k] g[l] is the stride-1 one of the covered samples of x
// against g with s - 1 zeros between its rows.
LogicalResult Conv1dOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(3, operandGrads);
  Location loc = getLoc();
  int64_t s = getStride(), L = tensorType(getInput()).getDimSize(1);
  int64_t covered = (tensorType(g).getDimSize(1) - 1) * s +
                    tensorType(getWeight()).getDimSize(2);
  Value bias = zeroBias(builder, loc, getInput(), /*channelDim=*/2);
  Value gx = builder.create<ConvTranspose1dOp>(loc, g, getWeight(), bias,
                                               getStrideAttr());
  operandGrads.push_back(fitRows(builder, loc, gx, L));
  Value x = fitRows(builder, loc, getInput(), covered);
  Value gs = s == 1 ? g : interleaveZeros(builder, loc, g, s);
  operandGrads.push_back(
      builder.create<Conv1dWeightGradOp>(loc, getWeight().getType(), x, gs));
  operandGrads.push_back(reduceSum(builder, loc, g, {0, 1}));
  return success();
}

// With stride s, y[l s + k] += w[k] x[l]. The input gradient
// sum_k w[k] g[l s + k] is the stride-s convolution of g; the weight
// gradient sum_l x[l] g[l s + k] is the stride-1 one of x with s - 1 zeros
// between its rows against g.
LogicalResult
ConvTranspose1dOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(3, operandGrads);
  Location loc = getLoc();
  int64_t s = getStride();
  Value bias = zeroBias(builder, loc, getInput(), /*channelDim=*/2);
  operandGrads.push_back(
      builder.create<Conv1dOp>(loc, g, getWeight(), bias, getStrideAttr()));
  Value xs = s == 1 ? getInput() : interleaveZeros(builder, loc, getInput(), s);
  operandGrads.push_back(builder.create<ConvTranspose1dWeightGradOp>(
      loc, getWeight().getType(), xs, g));
  operandGrads.push_back(reduceSum(builder, loc, g, {0, 1}));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

LogicalResult GroupNormOp::buildGradient(OpBuilder &builder,
                                         ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(3, operandGrads);
  auto backward = builder.create<GroupNormBackwardOp>(
      getLoc(),
      TypeRange{getInput().getType(), getGamma().getType(),
                getBeta().getType()},
      getInput(), getGamma(), resultGrads[0], getNumGroupsAttr(), getEpsAttr());
  operandGrads.append(backward->getResults().begin(),
                      backward->getResults().end());
  return success();
}

LogicalResult
RmsGroupNormOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(2, operandGrads);
  auto backward = builder.create<RmsGroupNormBackwardOp>(
      getLoc(), TypeRange{getInput().getType(), getGamma().getType()},
      getInput(), getGamma(), resultGrads[0], getNumGroupsAttr(), getEpsAttr());
  operandGrads.append(backward->getResults().begin(),
                      backward->getResults().end());
  return success();
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(2, operandGrads);
  Location loc = getLoc();
  // dx = g W = linear(g, W^T); dW = g^T x.
  Value weightT = builder.create<TransposeOp>(
      loc, getWeight(), builder.getDenseI64ArrayAttr({1, 0}));
  operandGrads.push_back(builder.create<LinearOp>(loc, g, weightT));
  operandGrads.push_back(builder.create<LinearWeightGradOp>(
      loc, getWeight().getType(), getInput(), g));
  return success();
}

LogicalResult
BatchMatmulOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                             SmallVectorImpl<Value> &operandGrads) {
  Value g = resultGrads[0];
  if (!g)
    return noGradients(2, operandGrads);
  Location loc = getLoc();
  bool tl = getTransposeLhs(), tr = getTransposeRhs();
  auto matmul = [&](Value a, Value b, bool ta, bool tb) -> Value {
    return builder.create<BatchMatmulOp>(loc, a, b,
                                         ta ? builder.getUnitAttr() : nullptr,
                                         tb ? builder.getUnitAttr() : nullptr);
  };
  Value a = getLhs(), b = getRhs();
  // With A' = op(A), B' = op(B) and C = A' B': dA' = g B'^T, dB' = A'^T g;
  // a transposed operand takes the transpose of its primed cotangent.
  operandGrads.push_back(tl ? matmul(b, g, tr, true)
                            : matmul(g, b, false, !tr));
  operandGrads.push_back(tr ? matmul(g, a, true, tl)
                            : matmul(a, g, !tl, false));
  return success();
}

//===----------------------------------------------------------------------===//
// Attention pieces
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  // A rotation's transpose is the rotation by the opposite angle.
  operandGrads.push_back(
      builder.create<RopeOp>(getLoc(), resultGrads[0], getThetaAttr(),
                             getInverse() ? nullptr : builder.getUnitAttr()));
  return success();
}

LogicalResult
FlashAttentionOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  // The log-sum-exp is an internal by-product: only the output has a
  // cotangent that matters.
  if (!resultGrads[0])
    return noGradients(3, operandGrads);
  auto backward = builder.create<FlashAttentionGradOp>(
      getLoc(),
      TypeRange{getQuery().getType(), getKey().getType(), getValue().getType()},
      getQuery(), getKey(), getValue(), getResult(), getLse(), resultGrads[0],
      getScaleAttr(), getDropoutAttr(), getRngAttr());
  operandGrads.append(backward->getResults().begin(),
                      backward->getResults().end());
  return success();
}

LogicalResult SoftmaxOp::buildGradient(OpBuilder &builder,
                                       ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<SoftmaxBackwardOp>(
      getLoc(), getType(), getResult(), resultGrads[0], getDimAttr()));
  return success();
}

LogicalResult DropoutOp::buildGradient(OpBuilder &builder,
                                       ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  // The same key draws the same mask: the backward multiplies by it again.
  operandGrads.push_back(builder.create<DropoutOp>(getLoc(), resultGrads[0],
                                                   getPAttr(), getRngAttr()));
  return success();
}

LogicalResult
DropoutAddOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                            SmallVectorImpl<Value> &operandGrads) {
  Value grad = resultGrads[0];
  if (!grad)
    return noGradients(2, operandGrads);
  operandGrads.push_back(grad);
  // The unfused chain's backward: the add passes the cotangent on, the
  // widening cast's backward narrows it to the input's type, and the
  // dropout's multiplies it by the same mask.
  Value narrowed = grad;
  if (grad.getType() != getInput().getType())
    narrowed = builder.create<CastOp>(getLoc(), getInput().getType(), grad);
  operandGrads.push_back(
      builder.create<DropoutOp>(getLoc(), narrowed, getPAttr(), getRngAttr()));
  return success();
}

LogicalResult SiluOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<SiluBackwardOp>(
      getLoc(), getType(), getInput(), resultGrads[0]));
  return success();
}

LogicalResult SwigluOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<SwigluBackwardOp>(
      getLoc(), getInput().getType(), getInput(), resultGrads[0]));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions and losses
//===----------------------------------------------------------------------===//

LogicalResult ReduceSumOp::buildGradient(OpBuilder &builder,
                                         ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  operandGrads.push_back(builder.create<BroadcastOp>(
      getLoc(), getInput().getType(), resultGrads[0], getDimsAttr()));
  return success();
}

LogicalResult
ReduceMeanOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                            SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return noGradients(1, operandGrads);
  int64_t count = 1;
  for (int64_t dim : getDims())
    count *= tensorType(getInput()).getDimSize(dim);
  Value spread = builder.create<BroadcastOp>(getLoc(), getInput().getType(),
                                             resultGrads[0], getDimsAttr());
  operandGrads.push_back(scaled(builder, getLoc(), spread, 1.0 / count));
  return success();
}

/// The cotangent of a loss piece `op(estimate, target, attrs...)` with
/// respect to its estimate, from its backward op; the target is data.
template <typename BackwardOp, typename LossOp, typename... Attrs>
static LogicalResult
lossGradient(LossOp op, OpBuilder &builder, ValueRange resultGrads,
             SmallVectorImpl<Value> &operandGrads, Attrs... attrs) {
  if (!resultGrads[0])
    return noGradients(2, operandGrads);
  operandGrads.push_back(builder.create<BackwardOp>(
      op.getLoc(), op.getEstimate().getType(), op.getEstimate(), op.getTarget(),
      resultGrads[0], attrs...));
  operandGrads.push_back(Value());
  return success();
}

LogicalResult SiSdrOp::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  return lossGradient<SiSdrBackwardOp>(*this, builder, resultGrads,
                                       operandGrads, getEpsAttr());
}

LogicalResult L1LossOp::buildGradient(OpBuilder &builder,
                                      ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  return lossGradient<L1LossBackwardOp>(*this, builder, resultGrads,
                                        operandGrads);
}

LogicalResult MseLossOp::buildGradient(OpBuilder &builder,
                                       ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  return lossGradient<MseLossBackwardOp>(*this, builder, resultGrads,
                                         operandGrads);
}

LogicalResult
SpectralL1Op::buildGradient(OpBuilder &builder, ValueRange resultGrads,
                            SmallVectorImpl<Value> &operandGrads) {
  return lossGradient<SpectralL1BackwardOp>(*this, builder, resultGrads,
                                            operandGrads);
}
