//===- TestOpInterfaces.cpp - Print what the op interfaces compute --------===//
//
// This file implements the test passes `loco-test-op-interfaces`,
// `loco-test-gradients` and `loco-test-liveness`.
//
//===----------------------------------------------------------------------===//

#include "tests/lib/TestPasses.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "passes/analysis/BufferLiveness.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOTESTOPINTERFACESPASS
#define GEN_PASS_DEF_LOCOTESTGRADIENTSPASS
#define GEN_PASS_DEF_LOCOTESTLIVENESSPASS
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
struct TestLivenessPass
    : public loco::impl::LocoTestLivenessPassBase<TestLivenessPass> {
  void runOnOperation() override {
    getOperation()->walk([](func::FuncOp func) {
      BufferLiveness liveness(func);
      for (Operation &op : func.getBody().front().without_terminator()) {
        for (Value result : op.getResults()) {
          int64_t buffer = liveness.bufferOf(result);
          if (buffer < 0) {
            op.emitRemark() << "view of an argument";
            continue;
          }
          const LiveBuffer &b = liveness.buffers()[buffer];
          if (b.value == result)
            op.emitRemark() << "buffer " << buffer << ": bytes " << b.bytes
                            << ", live [" << b.first << ", " << b.last << "]";
          else
            op.emitRemark() << "in buffer " << buffer;
        }
      }
      func.emitRemark() << "max live bytes " << liveness.maxLiveBytes();
    });
  }
};
} // namespace
