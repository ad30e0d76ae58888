//===- LocoOps.h - Ops of the loco dialect ----------------------*- C++ -*-===//
//
// This file declares the ops of the loco dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_DIALECT_LOCOOPS_H
#define LOCO_DIALECT_LOCOOPS_H

#include "dialect/LocoDialect.h"
#include "dialect/LocoInterfaces.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/LocoOps.h.inc"

#endif // LOCO_DIALECT_LOCOOPS_H
