//===- Autodiff.cpp - Reverse-mode differentiation of the step ------------===//
//
// This file implements `loco-autodiff`: reverse-mode differentiation of
// `@train_step` through GradientOpInterface, with no knowledge of any op
// kind. The forward function is kept as `@eval_step`.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOAUTODIFFPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

struct AutodiffPass : public loco::impl::LocoAutodiffPassBase<AutodiffPass> {
  void runOnOperation() override;
};

/// The values that depend on some parameter (only they need cotangents).
llvm::DenseSet<Value> activeValues(func::FuncOp func) {
  llvm::DenseSet<Value> active;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, "loco.param"))
      active.insert(func.getArgument(i));
  for (Operation &op : func.getBody().front())
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return active.contains(v); }))
      active.insert(op.getResults().begin(), op.getResults().end());
  return active;
}

void AutodiffPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto func = module.lookupSymbol<func::FuncOp>("train_step");
  if (!func) {
    module.emitError("expects a func.func @train_step to differentiate");
    return signalPassFailure();
  }
  if (module.lookupSymbol("eval_step")) {
    module.emitError("expects no @eval_step yet (autodiff already ran?)");
    return signalPassFailure();
  }
  Block &body = func.getBody().front();
  auto terminator = cast<func::ReturnOp>(body.getTerminator());
  if (terminator.getNumOperands() == 0 ||
      cast<RankedTensorType>(terminator.getOperand(0).getType()).getRank() !=
          0) {
    func.emitOpError("expects the first result to be the scalar loss");
    return signalPassFailure();
  }

  // The forward function, kept for evaluation.
  OpBuilder builder(func);
  auto eval = cast<func::FuncOp>(builder.clone(*func));
  eval.setSymName("eval_step");

  int64_t accumulation = 1;
  bool lossScaling = false;
  if (auto training = module->getAttrOfType<DictionaryAttr>("loco.training")) {
    if (auto steps = training.getAs<IntegerAttr>("gradient_accumulation_steps"))
      accumulation = std::max<int64_t>(1, steps.getInt());
    if (auto scaling = training.getAs<BoolAttr>("loss_scaling"))
      lossScaling = scaling.getValue();
  }

  llvm::DenseSet<Value> active = activeValues(func);
  llvm::DenseMap<Value, Value> cotangent;
  builder.setInsertionPoint(terminator);
  Block::iterator firstNew = std::prev(Block::iterator(terminator));
  Value loss = terminator.getOperand(0);
  // With dynamic loss scaling (fp16) the seed is multiplied by the
  // runtime's current loss scale.
  cotangent[loss] =
      builder.create<FillOp>(loss.getLoc(), loss.getType(),
                             builder.getF64FloatAttr(1.0 / accumulation),
                             lossScaling ? builder.getUnitAttr() : UnitAttr());

  auto accumulate = [&](Value target, Value grad) {
    // A narrowing cast's cotangents (a parameter's bf16 copy, used by every
    // row chunk) are cast back one by one and summed in the source's wider
    // type, so that parameter gradients accumulate in f32 as torch's do.
    if (auto narrowing = target.getDefiningOp<CastOp>()) {
      Value source = narrowing.getInput();
      auto sourceType = cast<RankedTensorType>(source.getType());
      if (sourceType.getElementTypeBitWidth() >
              cast<RankedTensorType>(target.getType())
                  .getElementTypeBitWidth() &&
          active.contains(source)) {
        Value wide = builder.create<CastOp>(grad.getLoc(), sourceType, grad);
        Value &slot = cotangent[source];
        slot =
            slot ? builder.create<AddOp>(grad.getLoc(), sourceType, slot, wide)
                       .getResult()
                 : wide;
        return;
      }
    }
    Value &slot = cotangent[target];
    slot =
        slot ? builder.create<AddOp>(grad.getLoc(), grad.getType(), slot, grad)
                   .getResult()
             : grad;
  };

  SmallVector<Operation *> forward;
  for (Operation &op :
       llvm::make_range(body.begin(), Block::iterator(terminator)))
    forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    if (!llvm::any_of(op->getResults(),
                      [&](Value v) { return active.contains(v); }))
      continue;
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value result : op->getResults()) {
      resultGrads.push_back(cotangent.lookup(result));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    auto gradient = dyn_cast<GradientOpInterface>(op);
    if (!gradient) {
      op->emitOpError("has no gradient rule");
      return signalPassFailure();
    }
    SmallVector<Value> operandGrads;
    if (failed(gradient.buildGradient(builder, resultGrads, operandGrads)))
      return signalPassFailure();
    for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads))
      if (grad && active.contains(operand))
        accumulate(operand, grad);
  }

  // Return the parameter gradients after the original results.
  SmallVector<Value> results(terminator.getOperands());
  SmallVector<std::string> gradNames;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<StringAttr>(i, "loco.param");
    if (!name)
      continue;
    Value arg = func.getArgument(i), grad = cotangent.lookup(arg);
    if (!grad)
      grad = builder.create<FillOp>(arg.getLoc(), arg.getType(),
                                    builder.getF64FloatAttr(0.0));
    results.push_back(grad);
    gradNames.push_back(("grad:" + name.getValue()).str());
  }
  unsigned numOriginal = terminator.getNumOperands();
  builder.create<func::ReturnOp>(terminator.getLoc(), results);
  terminator.erase();
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < numOriginal; ++i)
    resultAttrs.push_back(func.getResultAttrDict(i));
  for (const std::string &name : gradNames)
    resultAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr("loco.name", builder.getStringAttr(name))));
  func.setFunctionType(builder.getFunctionType(func.getArgumentTypes(),
                                               ValueRange(results).getTypes()));
  func.setAllResultAttrs(resultAttrs);

  // Drop backward ops whose results nobody reads; mark the others, for the
  // memory report's split of activations saved for backward.
  SmallVector<Operation *> created;
  for (Operation &op : llvm::make_range(std::next(firstNew), body.end()))
    created.push_back(&op);
  for (Operation *op : llvm::reverse(created)) {
    if (isOpTriviallyDead(op))
      op->erase();
    else if (!op->hasTrait<OpTrait::IsTerminator>())
      op->setAttr("loco.backward", builder.getUnitAttr());
  }
  // Everything after the forward ops but the terminator is backward.
  numGradientOps = std::distance(std::next(firstNew), body.end()) - 1;
}

} // namespace
