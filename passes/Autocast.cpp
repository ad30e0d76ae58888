//===- Autocast.cpp - torch.autocast's policy as element types ------------===//
//
// This file implements `loco-autocast`: each op of the step gets the element
// type that torch.autocast's CUDA policy gives it (lower precision for the
// matrix products, convolutions and attention; f32 for spectral transforms,
// norms, softmax, RoPE, reductions and losses; promotion for the rest), with
// explicit `loco.cast` ops where the type changes.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOAUTOCASTPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

/// What the policy does with an op's element type.
enum class Policy {
  /// Computes in the lower precision (torch's "lower_precision_fp" list).
  Lower,
  /// Computes in f32 (torch's "fp32" list, and RoPE, which upstream runs
  /// with autocast off).
  F32,
  /// Runs in the widest type among its operands (torch's type promotion).
  Promote,
  /// loco.dropout_add: the residual and the result promote with the input,
  /// which keeps its type (the unfused dropout ran in it, and the add
  /// widened its result).
  Residual,
};

Policy policyOf(Operation *op) {
  if (isa<LinearOp, BatchMatmulOp, Conv1dOp, ConvTranspose1dOp, Conv2dOp,
          ConvTranspose2dOp, FlashAttentionOp>(op))
    return Policy::Lower;
  if (isa<StftOp, IstftOp, GroupNormOp, RmsGroupNormOp, SoftmaxOp, RopeOp,
          ReduceSumOp, ReduceMeanOp, SiSdrOp, L1LossOp, MseLossOp,
          SpectralL1Op>(op))
    return Policy::F32;
  if (isa<DropoutAddOp>(op))
    return Policy::Residual;
  return Policy::Promote;
}

Type elementTypeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getElementType();
}

/// The type both promote to: the wider one, and f32 when neither holds the
/// other (bf16 with f16).
Type promote(Type a, Type b) {
  if (a == b)
    return a;
  if (a.isF32() || b.isF32() ||
      a.getIntOrFloatBitWidth() == b.getIntOrFloatBitWidth())
    return Float32Type::get(a.getContext());
  return a.getIntOrFloatBitWidth() > b.getIntOrFloatBitWidth() ? a : b;
}

struct AutocastPass : public loco::impl::LocoAutocastPassBase<AutocastPass> {
  using LocoAutocastPassBase::LocoAutocastPassBase;

  void runOnOperation() override;

private:
  LogicalResult runOnFunction(func::FuncOp func, Type lower);
};

LogicalResult AutocastPass::runOnFunction(func::FuncOp func, Type lower) {
  Block &entry = func.getBody().front();
  Type f32 = Float32Type::get(&getContext());
  // Casts of arguments (the parameters' weight cache) go before the first
  // original op, in order of first use; others right before their first
  // user, which dominates every later one in this single block.
  Operation *firstOp = &entry.front();
  llvm::DenseMap<std::pair<Value, Type>, Value> casts;
  OpBuilder builder(&getContext());
  auto castTo = [&](Value value, Type element) -> Value {
    if (elementTypeOf(value) == element)
      return value;
    Value &slot = casts[{value, element}];
    if (slot)
      return slot;
    OpBuilder::InsertionGuard guard(builder);
    if (isa<BlockArgument>(value))
      builder.setInsertionPoint(firstOp);
    auto type = cast<RankedTensorType>(value.getType()).clone(element);
    slot = builder.create<CastOp>(value.getLoc(), type, value);
    ++numCasts;
    return slot;
  };

  SmallVector<Operation *> ops;
  for (Operation &op : entry.without_terminator())
    ops.push_back(&op);
  for (Operation *op : ops) {
    if (op->hasAttr("loco.backward"))
      return op->emitOpError("is a backward op: loco-autocast runs before "
                             "loco-autodiff");
    if (isa<CastOp>(op))
      continue;
    Policy policy = policyOf(op);
    Type target;
    if (policy == Policy::Lower)
      target = lower;
    else if (policy == Policy::F32)
      target = f32;
    else
      for (Value operand : op->getOperands())
        target = target ? promote(target, elementTypeOf(operand))
                        : elementTypeOf(operand);
    if (!target)
      continue;
    builder.setInsertionPoint(op);
    for (OpOperand &operand : op->getOpOperands())
      // The promoted type is the input's or f32, which the kernels widen a
      // reduced input into.
      if (policy != Policy::Residual || operand.getOperandNumber() == 0)
        operand.set(castTo(operand.get(), target));
    for (OpResult result : op->getResults()) {
      // The attention's log-sum-exp is a statistic: always f32.
      if (isa<FlashAttentionOp>(op) && result.getResultNumber() == 1)
        continue;
      result.setType(cast<RankedTensorType>(result.getType()).clone(target));
    }
    if (policy == Policy::Lower)
      ++numLowered;
  }

  // The function's results keep their declared types.
  Operation *terminator = entry.getTerminator();
  builder.setInsertionPoint(terminator);
  for (auto [operand, type] :
       llvm::zip(terminator->getOpOperands(), func.getResultTypes()))
    if (operand.get().getType() != type)
      operand.set(
          castTo(operand.get(), cast<RankedTensorType>(type).getElementType()));
  return success();
}

void AutocastPass::runOnOperation() {
  Type lower;
  if (dtype == "bf16")
    lower = BFloat16Type::get(&getContext());
  else if (dtype == "f16")
    lower = Float16Type::get(&getContext());
  else {
    getOperation().emitError() << "loco-autocast: unknown dtype '" << dtype
                               << "'; expected bf16 or f16";
    return signalPassFailure();
  }
  for (auto func : getOperation().getOps<func::FuncOp>())
    if (!func.isExternal() && failed(runOnFunction(func, lower)))
      return signalPassFailure();
}

} // namespace
