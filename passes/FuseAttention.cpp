//===- FuseAttention.cpp - Fuse scaled dot-product attention --------------===//
//
// This file implements `loco-fuse-attention`: a rewrite pattern from the
// unfused attention composition to loco.flash_attention.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOFUSEATTENTIONPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

/// `o = batch_matmul(dropout?(softmax(scale(batch_matmul(q, k^T)))), v)` to
/// `o = flash_attention(q, k, v)`.
struct FuseAttentionPattern : public OpRewritePattern<BatchMatmulOp> {
  FuseAttentionPattern(MLIRContext *context, llvm::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(BatchMatmulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getTransposeLhs() || pv.getTransposeRhs())
      return rewriter.notifyMatchFailure(pv,
                                         "transposed probabilities or values");
    SmallVector<Operation *> chain;
    Value probs = pv.getLhs();
    auto onlyUser = [&](Value value) { return value.hasOneUse(); };

    auto dropout = probs.getDefiningOp<DropoutOp>();
    if (dropout) {
      if (!onlyUser(dropout.getResult()))
        return rewriter.notifyMatchFailure(
            pv, "dropped probabilities have other users");
      chain.push_back(dropout);
      probs = dropout.getInput();
    }
    auto softmax = probs.getDefiningOp<SoftmaxOp>();
    if (!softmax)
      return rewriter.notifyMatchFailure(pv, "no softmax feeds the product");
    auto scoresType = cast<RankedTensorType>(softmax.getType());
    if (static_cast<int64_t>(softmax.getDim()) != scoresType.getRank() - 1)
      return rewriter.notifyMatchFailure(pv, "softmax is not over the keys");
    if (!onlyUser(softmax.getResult()))
      return rewriter.notifyMatchFailure(pv, "probabilities have other users");
    auto scale = softmax.getInput().getDefiningOp<ScaleOp>();
    if (!scale)
      return rewriter.notifyMatchFailure(pv,
                                         "no constant scale before softmax");
    if (!onlyUser(scale.getResult()))
      return rewriter.notifyMatchFailure(pv, "scaled scores have other users");
    auto qk = scale.getInput().getDefiningOp<BatchMatmulOp>();
    if (!qk || qk.getTransposeLhs() || !qk.getTransposeRhs())
      return rewriter.notifyMatchFailure(pv, "scores are not q k^T");
    if (!onlyUser(qk.getResult()))
      return rewriter.notifyMatchFailure(pv, "scores have other users");

    auto queryType = cast<RankedTensorType>(qk.getLhs().getType());
    double headDim = static_cast<double>(queryType.getShape().back());
    double factor = scale.getFactor().convertToDouble();
    if (std::fabs(factor * std::sqrt(headDim) - 1.0) > 1e-12)
      return rewriter.notifyMatchFailure(pv, "scale is not 1/sqrt(head dim)");

    chain.append({softmax, scale, qk});
    SmallVector<Location> locs{pv.getLoc()};
    for (Operation *op : chain)
      locs.push_back(op->getLoc());
    auto fused = rewriter.create<FlashAttentionOp>(
        rewriter.getFusedLoc(locs), qk.getLhs(), qk.getRhs(), pv.getRhs(),
        scale.getFactorAttr(),
        dropout ? dropout.getPAttr() : rewriter.getF64FloatAttr(0.0),
        dropout ? dropout.getRngAttr() : RngKeyAttr());
    rewriter.replaceOp(pv, fused.getResult());
    for (Operation *op : chain)
      rewriter.eraseOp(op);
    ++numFused;
    return success();
  }

  llvm::Statistic &numFused;
};

struct FuseAttentionPass
    : public loco::impl::LocoFuseAttentionPassBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionPattern>(&getContext(), numFused);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
