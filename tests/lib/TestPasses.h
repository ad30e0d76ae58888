//===- TestPasses.h - Test-only passes of lococ -----------------*- C++ -*-===//
//
// This file declares the test-only passes and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TESTS_LIB_TESTPASSES_H
#define LOCO_TESTS_LIB_TESTPASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::loco {

#define GEN_PASS_DECL
#include "tests/lib/TestPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "tests/lib/TestPasses.h.inc"

} // namespace mlir::loco

#endif // LOCO_TESTS_LIB_TESTPASSES_H
