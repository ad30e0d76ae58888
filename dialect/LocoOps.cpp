//===- LocoOps.cpp - Ops of the loco dialect ------------------------------===//
//
// This file implements the shape rules of the loco ops (result type
// inference, which the InferTypeOpInterface verifier also uses to check
// printed types) and the verifiers for what ODS cannot express.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::loco;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

static RankedTensorType withShape(RankedTensorType like,
                                  ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, like.getElementType());
}

static RankedTensorType scalarF32(MLIRContext *ctx) {
  return RankedTensorType::get({}, Float32Type::get(ctx));
}

/// Fails unless `a` and `b` have the same element type.
static LogicalResult checkSameElementType(std::optional<Location> loc,
                                          StringRef aName, Value a,
                                          StringRef bName, Value b) {
  if (tensorType(a).getElementType() == tensorType(b).getElementType())
    return success();
  return emitOptionalError(loc, "expects ", aName, " and ", bName,
                           " to have the same element type, got ",
                           tensorType(a).getElementType(), " and ",
                           tensorType(b).getElementType());
}

/// Fails unless `a` and `b` have the same type.
static LogicalResult checkSameType(std::optional<Location> loc, Value a,
                                   Value b) {
  if (a.getType() == b.getType())
    return success();
  return emitOptionalError(loc, "expects estimate and target of one type, got ",
                           a.getType(), " and ", b.getType());
}

/// Checks a conv bias `[Co]` and the weight/input element types.
static LogicalResult checkConvOperands(std::optional<Location> loc, Value input,
                                       Value weight, Value bias,
                                       int64_t outCh) {
  if (failed(checkSameElementType(loc, "input", input, "weight", weight)) ||
      failed(checkSameElementType(loc, "input", input, "bias", bias)))
    return failure();
  if (tensorType(bias).getDimSize(0) != outCh)
    return emitOptionalError(loc, "expects bias of ", outCh,
                             " output channels, got ",
                             tensorType(bias).getDimSize(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Spectral transforms
//===----------------------------------------------------------------------===//

LogicalResult StftOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  int64_t nFft = adaptor.getNFft(), hop = adaptor.getHopLength();
  if (nFft % 2 != 0)
    return emitOptionalError(loc, "expects an even n_fft, got ", nFft);
  if (hop > nFft)
    return emitOptionalError(loc, "expects hop_length (", hop, ") <= n_fft (",
                             nFft, ")");
  int64_t n = input.getDimSize(1);
  if (n <= nFft / 2)
    return emitOptionalError(loc, "expects more than n_fft / 2 = ", nFft / 2,
                             " samples for reflection padding, got ", n);
  inferred.push_back(
      withShape(input, {input.getDimSize(0), 2, 1 + n / hop, nFft / 2 + 1}));
  return success();
}

LogicalResult IstftOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  int64_t nFft = adaptor.getNFft(), hop = adaptor.getHopLength();
  int64_t length = adaptor.getLength();
  if (nFft % 2 != 0)
    return emitOptionalError(loc, "expects an even n_fft, got ", nFft);
  if (hop > nFft)
    return emitOptionalError(loc, "expects hop_length (", hop, ") <= n_fft (",
                             nFft, ")");
  if (input.getDimSize(1) != 2)
    return emitOptionalError(loc, "expects 2 channels (real, imaginary), got ",
                             input.getDimSize(1));
  if (input.getDimSize(3) != nFft / 2 + 1)
    return emitOptionalError(loc, "expects n_fft / 2 + 1 = ", nFft / 2 + 1,
                             " frequency bins, got ", input.getDimSize(3));
  // The overlap-add spans n_fft + (T - 1) hop samples, of which the first
  // n_fft / 2 are the centering pad.
  int64_t maxLength = (input.getDimSize(2) - 1) * hop + nFft / 2;
  if (length > maxLength)
    return emitOptionalError(
        loc,
        "expects length <= (frames - 1) * hop_length + n_fft / 2 = ", maxLength,
        ", got ", length);
  inferred.push_back(withShape(input, {input.getDimSize(0), length}));
  return success();
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

static LogicalResult checkPadding2d(std::optional<Location> loc,
                                    ArrayRef<int64_t> padding) {
  if (padding.size() != 2 || padding[0] < 0 || padding[1] < 0)
    return emitOptionalError(
        loc, "expects padding of two non-negative entries [PH, PW]");
  return success();
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  auto weight = tensorType(adaptor.getWeight());
  ArrayRef<int64_t> pad = adaptor.getPadding();
  if (failed(checkPadding2d(loc, pad)) ||
      failed(checkConvOperands(loc, adaptor.getInput(), adaptor.getWeight(),
                               adaptor.getBias(), weight.getDimSize(0))))
    return failure();
  if (weight.getDimSize(1) != input.getDimSize(1))
    return emitOptionalError(loc, "expects weight of ", input.getDimSize(1),
                             " input channels, got ", weight.getDimSize(1));
  int64_t h = input.getDimSize(2) + 2 * pad[0] - weight.getDimSize(2) + 1;
  int64_t w = input.getDimSize(3) + 2 * pad[1] - weight.getDimSize(3) + 1;
  if (h < 1 || w < 1)
    return emitOptionalError(loc,
                             "expects the padded input to cover the kernel");
  inferred.push_back(
      withShape(input, {input.getDimSize(0), weight.getDimSize(0), h, w}));
  return success();
}

LogicalResult
ConvTranspose2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  auto weight = tensorType(adaptor.getWeight());
  ArrayRef<int64_t> pad = adaptor.getPadding();
  if (failed(checkPadding2d(loc, pad)) ||
      failed(checkConvOperands(loc, adaptor.getInput(), adaptor.getWeight(),
                               adaptor.getBias(), weight.getDimSize(1))))
    return failure();
  if (weight.getDimSize(0) != input.getDimSize(1))
    return emitOptionalError(loc, "expects weight of ", input.getDimSize(1),
                             " input channels, got ", weight.getDimSize(0));
  int64_t h = input.getDimSize(2) + weight.getDimSize(2) - 1 - 2 * pad[0];
  int64_t w = input.getDimSize(3) + weight.getDimSize(3) - 1 - 2 * pad[1];
  if (h < 1 || w < 1)
    return emitOptionalError(loc, "expects padding smaller than the kernel");
  inferred.push_back(
      withShape(input, {input.getDimSize(0), weight.getDimSize(1), h, w}));
  return success();
}

LogicalResult Conv1dOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  auto weight = tensorType(adaptor.getWeight());
  int64_t stride = adaptor.getStride();
  if (failed(checkConvOperands(loc, adaptor.getInput(), adaptor.getWeight(),
                               adaptor.getBias(), weight.getDimSize(0))))
    return failure();
  if (weight.getDimSize(1) != input.getDimSize(2))
    return emitOptionalError(loc, "expects weight of ", input.getDimSize(2),
                             " input channels, got ", weight.getDimSize(1));
  int64_t kernel = weight.getDimSize(2);
  if (input.getDimSize(1) < kernel)
    return emitOptionalError(loc, "expects rows of at least the kernel size (",
                             kernel, "), got ", input.getDimSize(1));
  inferred.push_back(withShape(
      input, {input.getDimSize(0), (input.getDimSize(1) - kernel) / stride + 1,
              weight.getDimSize(0)}));
  return success();
}

LogicalResult
ConvTranspose1dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  auto weight = tensorType(adaptor.getWeight());
  if (failed(checkConvOperands(loc, adaptor.getInput(), adaptor.getWeight(),
                               adaptor.getBias(), weight.getDimSize(1))))
    return failure();
  if (weight.getDimSize(0) != input.getDimSize(2))
    return emitOptionalError(loc, "expects weight of ", input.getDimSize(2),
                             " input channels, got ", weight.getDimSize(0));
  int64_t length = (input.getDimSize(1) - 1) * int64_t(adaptor.getStride()) +
                   weight.getDimSize(2);
  inferred.push_back(
      withShape(input, {input.getDimSize(0), length, weight.getDimSize(1)}));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

/// Checks a per-channel vector against `channels` and the group count.
static LogicalResult checkNormOperand(std::optional<Location> loc,
                                      StringRef name, Value input, Value vec,
                                      int64_t channels, int64_t groups) {
  if (failed(checkSameElementType(loc, "input", input, name, vec)))
    return failure();
  if (tensorType(vec).getDimSize(0) != channels)
    return emitOptionalError(loc, "expects ", name, " of ", channels,
                             " channels, got ", tensorType(vec).getDimSize(0));
  if (channels % groups != 0)
    return emitOptionalError(loc, "expects channels (", channels,
                             ") divisible by num_groups (", groups, ")");
  return success();
}

LogicalResult GroupNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (input.getRank() < 2)
    return emitOptionalError(loc, "expects an input of rank >= 2, got ",
                             input.getRank());
  int64_t channels = input.getDimSize(1);
  if (failed(checkNormOperand(loc, "gamma", adaptor.getInput(),
                              adaptor.getGamma(), channels,
                              adaptor.getNumGroups())) ||
      failed(checkNormOperand(loc, "beta", adaptor.getInput(),
                              adaptor.getBeta(), channels,
                              adaptor.getNumGroups())))
    return failure();
  inferred.push_back(input);
  return success();
}

LogicalResult
RmsGroupNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (input.getRank() < 1)
    return emitOptionalError(loc, "expects an input of rank >= 1");
  if (failed(checkNormOperand(
          loc, "gamma", adaptor.getInput(), adaptor.getGamma(),
          input.getDimSize(input.getRank() - 1), adaptor.getNumGroups())))
    return failure();
  inferred.push_back(input);
  return success();
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  auto weight = tensorType(adaptor.getWeight());
  if (input.getRank() < 1)
    return emitOptionalError(loc, "expects an input of rank >= 1");
  if (failed(checkSameElementType(loc, "input", adaptor.getInput(), "weight",
                                  adaptor.getWeight())))
    return failure();
  int64_t k = input.getDimSize(input.getRank() - 1);
  if (weight.getDimSize(1) != k)
    return emitOptionalError(loc, "expects weight [N, ", k, "], got ", weight);
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = weight.getDimSize(0);
  inferred.push_back(withShape(input, shape));
  return success();
}

LogicalResult BatchMatmulOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  auto lhs = tensorType(adaptor.getLhs());
  auto rhs = tensorType(adaptor.getRhs());
  if (lhs.getRank() < 3 || lhs.getRank() != rhs.getRank())
    return emitOptionalError(loc, "expects operands of equal rank >= 3, got ",
                             lhs, " and ", rhs);
  if (failed(checkSameElementType(loc, "lhs", adaptor.getLhs(), "rhs",
                                  adaptor.getRhs())))
    return failure();
  int64_t rank = lhs.getRank();
  if (lhs.getShape().drop_back(2) != rhs.getShape().drop_back(2))
    return emitOptionalError(loc, "expects equal batch dims, got ", lhs,
                             " and ", rhs);
  bool tl = adaptor.getTransposeLhs(), tr = adaptor.getTransposeRhs();
  int64_t m = lhs.getDimSize(tl ? rank - 1 : rank - 2);
  int64_t lhsK = lhs.getDimSize(tl ? rank - 2 : rank - 1);
  int64_t rhsK = rhs.getDimSize(tr ? rank - 1 : rank - 2);
  int64_t n = rhs.getDimSize(tr ? rank - 2 : rank - 1);
  if (rhsK != lhsK)
    return emitOptionalError(loc, "expects contraction dims to match, got ",
                             lhsK, " and ", rhsK);
  SmallVector<int64_t> shape(lhs.getShape());
  shape[rank - 2] = m;
  shape.back() = n;
  inferred.push_back(withShape(lhs, shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Attention pieces
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (input.getRank() < 2)
    return emitOptionalError(loc, "expects an input [..., L, d], got ", input);
  if (input.getShape().back() % 2 != 0)
    return emitOptionalError(loc, "expects an even head dim, got ",
                             input.getShape().back());
  if (adaptor.getTheta().convertToDouble() <= 1.0)
    return emitOptionalError(loc, "expects theta > 1");
  inferred.push_back(input);
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (static_cast<int64_t>(adaptor.getDim()) >= input.getRank())
    return emitOptionalError(loc, "expects dim < rank (", input.getRank(),
                             "), got ", adaptor.getDim());
  inferred.push_back(input);
  return success();
}

/// Fails unless the dropout probability `p` is in [0, 1).
static LogicalResult checkDropoutProbability(std::optional<Location> loc,
                                             FloatAttr p) {
  double value = p.getValueAsDouble();
  if (!(value >= 0.0 && value < 1.0))
    return emitOptionalError(loc, "expects 0 <= p < 1, got ", value);
  return success();
}

LogicalResult DropoutOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  if (failed(checkDropoutProbability(loc, adaptor.getPAttr())))
    return failure();
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult DropoutAddOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  if (failed(checkDropoutProbability(loc, adaptor.getPAttr())))
    return failure();
  auto residual = tensorType(adaptor.getResidual());
  auto input = tensorType(adaptor.getInput());
  if (residual.getShape() != input.getShape())
    return emitOptionalError(loc,
                             "expects a residual and an input of one "
                             "shape, got ",
                             residual, " and ", input);
  // The kernels widen a reduced input into an f32 residual, and take one
  // type otherwise.
  if (residual.getElementType() != input.getElementType() &&
      !residual.getElementType().isF32())
    return emitOptionalError(loc,
                             "expects the input's element type, or an "
                             "f32 residual, got ",
                             residual, " and ", input);
  inferred.push_back(residual);
  return success();
}

LogicalResult
FlashAttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  auto q = tensorType(adaptor.getQuery()), k = tensorType(adaptor.getKey());
  auto v = tensorType(adaptor.getValue());
  if (q.getRank() < 3 || k.getRank() != q.getRank() ||
      v.getRank() != q.getRank())
    return emitOptionalError(loc,
                             "expects query, key and value of one rank "
                             ">= 3, got ",
                             q, ", ", k, " and ", v);
  int64_t rank = q.getRank();
  if (q.getShape().drop_back(2) != k.getShape().drop_back(2) ||
      q.getShape().drop_back(2) != v.getShape().drop_back(2))
    return emitOptionalError(loc, "expects equal leading dims, got ", q, ", ",
                             k, " and ", v);
  if (q.getDimSize(rank - 1) != k.getDimSize(rank - 1))
    return emitOptionalError(loc, "expects query and key of one head dim, got ",
                             q.getDimSize(rank - 1), " and ",
                             k.getDimSize(rank - 1));
  if (k.getDimSize(rank - 2) != v.getDimSize(rank - 2))
    return emitOptionalError(loc, "expects as many values as keys, got ",
                             v.getDimSize(rank - 2), " and ",
                             k.getDimSize(rank - 2));
  double p = adaptor.getDropout().convertToDouble();
  if (!(p >= 0.0 && p < 1.0))
    return emitOptionalError(loc, "expects 0 <= dropout < 1, got ", p);
  if (p > 0.0 && !adaptor.getRngAttr())
    return emitOptionalError(loc, "expects an rng key with dropout > 0");
  SmallVector<int64_t> out(q.getShape());
  out.back() = v.getDimSize(rank - 1);
  if (failed(checkSameElementType(loc, "query", adaptor.getQuery(), "key",
                                  adaptor.getKey())) ||
      failed(checkSameElementType(loc, "query", adaptor.getQuery(), "value",
                                  adaptor.getValue())))
    return failure();
  inferred.push_back(withShape(q, out));
  // The log-sum-exp is a statistic: fp32 whatever the storage type.
  inferred.push_back(RankedTensorType::get(q.getShape().drop_back(),
                                           Float32Type::get(q.getContext())));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  if (getInput().getType().getElementType() ==
      getResult().getType().getElementType())
    return emitOpError("expects a change of element type, got ")
           << getInput().getType() << " to " << getResult().getType();
  // The runtime converts between f32 and a reduced type, not between two
  // reduced ones (torch promotes bf16 with f16 to f32).
  if (!getInput().getType().getElementType().isF32() &&
      !getResult().getType().getElementType().isF32())
    return emitOpError("expects f32 on one side, got ")
           << getInput().getType() << " to " << getResult().getType();
  return success();
}

/// A cast of a cast folds to the original value when the middle type loses
/// nothing of it (f16 -> f32 -> f16), and to nothing else: f32 -> bf16 ->
/// f32 rounds, and keeps both casts.
OpFoldResult CastOp::fold(FoldAdaptor) {
  auto inner = getInput().getDefiningOp<CastOp>();
  if (!inner || inner.getInput().getType() != getResult().getType())
    return {};
  Type original = getResult().getType().getElementType();
  Type middle = getInput().getType().getElementType();
  if (middle.isF32() && original.getIntOrFloatBitWidth() < 32)
    return inner.getInput();
  return {};
}

LogicalResult ReshapeOp::verify() {
  auto input = getInput().getType(), result = getResult().getType();
  if (input.getElementType() != result.getElementType())
    return emitOpError("expects the element type to be kept, got ")
           << input.getElementType() << " and " << result.getElementType();
  if (input.getNumElements() != result.getNumElements())
    return emitOpError("expects equal element counts, got ")
           << input.getNumElements() << " and " << result.getNumElements();
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOptionalError(loc, "expects a permutation of ", input.getRank(),
                             " dims, got ", perm.size());
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t dim : perm) {
    if (dim < 0 || dim >= input.getRank() || seen[dim])
      return emitOptionalError(loc, "expects a permutation of [0, ",
                               input.getRank(), ")");
    seen[dim] = true;
    shape.push_back(input.getDimSize(dim));
  }
  inferred.push_back(withShape(input, shape));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  int64_t dim = adaptor.getDim(), start = adaptor.getStart();
  int64_t size = adaptor.getSize();
  if (dim >= input.getRank())
    return emitOptionalError(loc, "expects dim < rank (", input.getRank(),
                             "), got ", dim);
  if (start + size > input.getDimSize(dim))
    return emitOptionalError(loc,
                             "expects start + size <= ", input.getDimSize(dim),
                             ", got ", start + size);
  SmallVector<int64_t> shape(input.getShape());
  shape[dim] = size;
  inferred.push_back(withShape(input, shape));
  return success();
}

LogicalResult SwigluOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (input.getRank() < 1 || input.getShape().back() % 2 != 0)
    return emitOptionalError(loc,
                             "expects a last dim of even size (value and "
                             "gate halves), got ",
                             input);
  SmallVector<int64_t> shape(input.getShape());
  shape.back() /= 2;
  inferred.push_back(withShape(input, shape));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  if (input.getRank() == 0)
    return emitOptionalError(loc, "expects a ranked input of rank >= 1");
  int64_t total = 0;
  for (int64_t size : adaptor.getSizes()) {
    if (size <= 0)
      return emitOptionalError(loc, "expects positive sizes, got ", size);
    total += size;
    SmallVector<int64_t> shape(input.getShape());
    shape[0] = size;
    inferred.push_back(withShape(input, shape));
  }
  if (total != input.getDimSize(0))
    return emitOptionalError(loc, "expects sizes summing to dim 0 (",
                             input.getDimSize(0), "), got ", total);
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, "expects at least one operand");
  auto first = tensorType(adaptor.getInputs().front());
  if (first.getRank() == 0)
    return emitOptionalError(loc, "expects operands of rank >= 1");
  int64_t rows = 0;
  for (Value input : adaptor.getInputs()) {
    auto type = tensorType(input);
    if (type.getElementType() != first.getElementType() ||
        type.getShape().drop_front() != first.getShape().drop_front())
      return emitOptionalError(loc,
                               "expects operands that differ only in "
                               "dim 0, got ",
                               first, " and ", type);
    rows += type.getDimSize(0);
  }
  SmallVector<int64_t> shape(first.getShape());
  shape[0] = rows;
  inferred.push_back(withShape(first, shape));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(adaptor.getInput());
  ArrayRef<int64_t> low = adaptor.getLow(), high = adaptor.getHigh();
  if (static_cast<int64_t>(low.size()) != input.getRank() ||
      static_cast<int64_t>(high.size()) != input.getRank())
    return emitOptionalError(loc, "expects low and high of ", input.getRank(),
                             " entries each");
  SmallVector<int64_t> shape(input.getShape());
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (low[i] < 0 || high[i] < 0)
      return emitOptionalError(loc, "expects non-negative padding");
    dim += low[i] + high[i];
  }
  inferred.push_back(withShape(input, shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(std::optional<Location> loc, Value inputValue,
                                 ArrayRef<int64_t> dims, bool keepdim,
                                 SmallVectorImpl<Type> &inferred) {
  auto input = tensorType(inputValue);
  if (dims.empty())
    return emitOptionalError(loc, "expects at least one reduced dim");
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (dim < 0 || dim >= input.getRank() || (i > 0 && dims[i - 1] >= dim))
      return emitOptionalError(loc, "expects distinct sorted dims in [0, ",
                               input.getRank(), ")");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < input.getRank(); ++d) {
    if (!llvm::is_contained(dims, d))
      shape.push_back(input.getDimSize(d));
    else if (keepdim)
      shape.push_back(1);
  }
  inferred.push_back(withShape(input, shape));
  return success();
}

LogicalResult ReduceSumOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferReduce(loc, adaptor.getInput(), adaptor.getDims(),
                     adaptor.getKeepdim(), inferred);
}

LogicalResult ReduceMeanOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  return inferReduce(loc, adaptor.getInput(), adaptor.getDims(),
                     adaptor.getKeepdim(), inferred);
}

//===----------------------------------------------------------------------===//
// Loss pieces
//===----------------------------------------------------------------------===//

LogicalResult SiSdrOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  if (failed(checkSameType(loc, adaptor.getEstimate(), adaptor.getTarget())))
    return failure();
  auto estimate = tensorType(adaptor.getEstimate());
  inferred.push_back(withShape(estimate, {estimate.getDimSize(0)}));
  return success();
}

LogicalResult L1LossOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (failed(checkSameType(loc, adaptor.getEstimate(), adaptor.getTarget())))
    return failure();
  inferred.push_back(scalarF32(ctx));
  return success();
}

LogicalResult MseLossOp::inferReturnTypes(MLIRContext *ctx,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  if (failed(checkSameType(loc, adaptor.getEstimate(), adaptor.getTarget())))
    return failure();
  inferred.push_back(scalarF32(ctx));
  return success();
}

LogicalResult SpectralL1Op::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  if (failed(checkSameType(loc, adaptor.getEstimate(), adaptor.getTarget())))
    return failure();
  if (tensorType(adaptor.getEstimate()).getDimSize(1) != 2)
    return emitOptionalError(loc,
                             "expects spectra of 2 channels (real, "
                             "imaginary), got ",
                             tensorType(adaptor.getEstimate()).getDimSize(1));
  inferred.push_back(scalarF32(ctx));
  return success();
}

#define GET_OP_CLASSES
#include "dialect/LocoOps.cpp.inc"
