//===- FuseElementwise.cpp - Fuse element-wise chains ---------------------===//
//
// This file implements `loco-fuse-elementwise`: rewrite patterns from the
// SwiGLU gate's slices, SiLU and product to loco.swiglu, and from a
// residual add of a dropout to loco.dropout_add.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOFUSEELEMENTWISEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

/// `mul(slice(h, 0, H), silu(slice(h, H, H)))` over h's last dim (2H), in
/// either operand order, to `swiglu(h)`.
struct FuseSwigluPattern : public OpRewritePattern<MulOp> {
  FuseSwigluPattern(MLIRContext *context, llvm::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    auto silu = mul.getRhs().getDefiningOp<SiluOp>();
    Value other = mul.getLhs();
    if (!silu) {
      silu = mul.getLhs().getDefiningOp<SiluOp>();
      other = mul.getRhs();
    }
    if (!silu)
      return rewriter.notifyMatchFailure(mul, "no SiLU operand");
    auto value = other.getDefiningOp<SliceOp>();
    auto gate = silu.getInput().getDefiningOp<SliceOp>();
    if (!value || !gate)
      return rewriter.notifyMatchFailure(mul, "the halves are not slices");
    if (!silu.getResult().hasOneUse() || !gate.getResult().hasOneUse() ||
        !value.getResult().hasOneUse())
      return rewriter.notifyMatchFailure(mul,
                                         "an intermediate has other users");
    Value input = value.getInput();
    if (gate.getInput() != input)
      return rewriter.notifyMatchFailure(mul, "the halves are of two values");
    auto type = cast<RankedTensorType>(input.getType());
    int64_t last = type.getRank() - 1, width = type.getShape().back();
    int64_t hidden = width / 2;
    if (static_cast<int64_t>(value.getDim()) != last ||
        static_cast<int64_t>(gate.getDim()) != last || width % 2 != 0 ||
        value.getStart() != 0 ||
        static_cast<int64_t>(value.getSize()) != hidden ||
        static_cast<int64_t>(gate.getStart()) != hidden ||
        static_cast<int64_t>(gate.getSize()) != hidden)
      return rewriter.notifyMatchFailure(
          mul, "the slices are not the value and gate halves of the last dim");

    Location loc = rewriter.getFusedLoc(
        {mul.getLoc(), silu.getLoc(), value.getLoc(), gate.getLoc()});
    auto fused = rewriter.create<SwigluOp>(loc, input);
    rewriter.replaceOp(mul, fused.getResult());
    rewriter.eraseOp(silu);
    rewriter.eraseOp(value);
    rewriter.eraseOp(gate);
    ++numFused;
    return success();
  }

  llvm::Statistic &numFused;
};

/// `add(r, dropout(x))`, in either operand order, to `dropout_add(r, x)`.
struct FuseDropoutAddPattern : public OpRewritePattern<AddOp> {
  FuseDropoutAddPattern(MLIRContext *context, llvm::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    auto dropout = add.getRhs().getDefiningOp<DropoutOp>();
    Value residual = add.getLhs();
    if (!dropout) {
      dropout = add.getLhs().getDefiningOp<DropoutOp>();
      residual = add.getRhs();
    }
    if (!dropout)
      return rewriter.notifyMatchFailure(add, "no dropout operand");
    if (!dropout.getResult().hasOneUse())
      return rewriter.notifyMatchFailure(add, "the dropout has other users");

    auto fused = rewriter.create<DropoutAddOp>(
        rewriter.getFusedLoc({add.getLoc(), dropout.getLoc()}), residual,
        dropout.getInput(), dropout.getPAttr(), dropout.getRngAttr());
    rewriter.replaceOp(add, fused.getResult());
    rewriter.eraseOp(dropout);
    ++numFused;
    return success();
  }

  llvm::Statistic &numFused;
};

struct FuseElementwisePass
    : public loco::impl::LocoFuseElementwisePassBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSwigluPattern>(&getContext(), numFused);
    patterns.add<FuseDropoutAddPattern>(&getContext(), numResidualsFused);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
