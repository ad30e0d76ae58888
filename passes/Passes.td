//===- Passes.td - Passes of lococ -------------------------*- tablegen -*-===//
//
// Every loco pass: one record here, one .cpp, one lit test, one flag.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_TD
#define LOCO_PASSES_TD

include "mlir/Pass/PassBase.td"

def LocoStripDropoutPass : Pass<"loco-strip-dropout", "::mlir::ModuleOp"> {
  let summary = "Replace dropout ops by their input";
  let description = [{
    Turns the training step into its evaluation form: every `loco.dropout`
    is replaced by its operand. With `only-zero`, only dropouts whose
    probability is 0 (configs with `model.dropout: 0`, the golden sets) are
    removed, which keeps training semantics unchanged.

    Before:
    ```mlir
    %y = loco.dropout %x {p = 0.0 : f64, rng = #loco.rng<stream = 0>}
        : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %z = loco.add %y, %y : tensor<4x8xf32>
    ```
    After:
    ```mlir
    %z = loco.add %x, %x : tensor<4x8xf32>
    ```
  }];
  let options = [
    Option<"onlyZero", "only-zero", "bool", /*default=*/"false",
           "Remove only dropouts with p = 0">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numRemoved", "dropouts-removed", "Dropout ops removed">
  ];
}

#endif // LOCO_PASSES_TD
