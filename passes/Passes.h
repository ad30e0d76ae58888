//===- Passes.h - Passes of lococ -------------------------------*- C++ -*-===//
//
// This file declares the loco passes and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_PASSES_H
#define LOCO_PASSES_PASSES_H

#include "dialect/LocoDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::loco {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::loco

#endif // LOCO_PASSES_PASSES_H
