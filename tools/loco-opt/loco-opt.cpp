//===- loco-opt.cpp - The loco optimizer driver ---------------------------===//
//
// This file implements loco-opt: MlirOptMain with the loco dialect, every
// loco pass and the test-only passes registered.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoDialect.h"
#include "passes/Passes.h"
#include "tests/lib/TestPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::loco::registerLocoDialects(registry);
  mlir::loco::registerLocoPasses();
  mlir::loco::registerLocoPipelines();
  mlir::loco::registerLocoTestPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "loco optimizer driver\n", registry));
}
