//===- TestOpInterfaces.cpp - Print what the op interfaces compute --------===//
//
// This file implements the test passes `loco-test-op-interfaces` and
// `loco-test-gradients`.
//
//===----------------------------------------------------------------------===//

#include "tests/lib/TestPasses.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOTESTOPINTERFACESPASS
#define GEN_PASS_DEF_LOCOTESTGRADIENTSPASS
#include "tests/lib/TestPasses.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {
struct TestOpInterfacesPass
    : public loco::impl::LocoTestOpInterfacesPassBase<TestOpInterfacesPass> {
  void runOnOperation() override {
    getOperation()->walk([](RecomputeCostOpInterface op) {
      auto rows = cast<RowIndependentOpInterface>(op.getOperation());
      InFlightDiagnostic remark = op->emitRemark()
                                  << "flops = " << op.getFlops()
                                  << ", bytes = " << op.getBytesMoved()
                                  << ", row dims = " << rows.getNumRowDims()
                                  << ", broadcast operands = [";
      bool first = true;
      for (unsigned i = 0, e = op->getNumOperands(); i < e; ++i) {
        if (!rows.isBroadcastOperand(i))
          continue;
        remark << (first ? "" : ", ") << i;
        first = false;
      }
      remark << "]";
    });
  }
};

struct TestGradientsPass
    : public loco::impl::LocoTestGradientsPassBase<TestGradientsPass> {
  void runOnOperation() override {
    SmallVector<GradientOpInterface> ops;
    getOperation()->walk([&](GradientOpInterface op) { ops.push_back(op); });
    for (GradientOpInterface op : ops) {
      OpBuilder builder(op->getContext());
      builder.setInsertionPointAfter(op);
      SmallVector<Value> grads;
      if (failed(op.buildGradient(builder, op->getResults(), grads)))
        return signalPassFailure();
      OperationState state(op->getLoc(), "test.gradients");
      for (Value grad : grads)
        if (grad)
          state.addOperands(grad);
      builder.create(state);
    }
  }
};
} // namespace
