//===- StripDropout.cpp - Replace dropout ops by their input --------------===//
//
// This file implements `loco-strip-dropout`, which produces the evaluation
// form of a step (or drops the no-op dropouts of a p = 0 config).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOSTRIPDROPOUTPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {
struct StripDropoutPass
    : public loco::impl::LocoStripDropoutPassBase<StripDropoutPass> {
  using LocoStripDropoutPassBase::LocoStripDropoutPassBase;

  void runOnOperation() override {
    getOperation()->walk([&](DropoutOp op) {
      if (onlyZero && !op.getP().isZero())
        return;
      op.getResult().replaceAllUsesWith(op.getInput());
      op.erase();
      ++numRemoved;
    });
  }
};
} // namespace
