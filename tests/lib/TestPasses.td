//===- TestPasses.td - Test-only passes of lococ -----------*- tablegen -*-===//
//
// Passes that print what analyses and op interfaces compute, so that lit can
// check them (like Triton's test-allocation).
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TEST_PASSES_TD
#define LOCO_TEST_PASSES_TD

include "mlir/Pass/PassBase.td"

def LocoTestOpInterfacesPass
    : Pass<"loco-test-op-interfaces", "::mlir::ModuleOp"> {
  let summary = "Emit a remark with each loco op's cost and row dims";
  let description = [{
    For every op implementing RecomputeCostOpInterface, emits a remark
    `flops = F, bytes = B, row dims = R, broadcast operands = [...]`.
  }];
}

def LocoTestGradientsPass : Pass<"loco-test-gradients", "::mlir::ModuleOp"> {
  let summary = "Build each op's gradient with its own result as cotangent";
  let description = [{
    For every op implementing GradientOpInterface, builds the operand
    cotangents right after the op, taking the op's result as the result
    cotangent, and records them as the operands of an `test.gradients`
    unregistered op, so that lit can check the rule's IR.
  }];
}

def LocoTestLivenessPass : Pass<"loco-test-liveness", "::mlir::ModuleOp"> {
  let summary = "Emit a remark with each buffer's live range";
  let description = [{
    Runs BufferLiveness on every function and emits, on each op that
    defines a buffer, a remark `buffer B: bytes N, live [first, last]`, and
    on each view or in-place result `in buffer B`; on the function,
    `max live bytes M`.
  }];
}

#endif // LOCO_TEST_PASSES_TD
