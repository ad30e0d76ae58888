//===- LocoInterfaces.h - Op interfaces of loco -----------------*- C++ -*-===//
//
// This file declares the op interfaces that autodiff, rematerialisation and
// row chunking query: GradientOpInterface, RecomputeCostOpInterface and
// RowIndependentOpInterface.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_DIALECT_LOCOINTERFACES_H
#define LOCO_DIALECT_LOCOINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir::loco::detail {
/// One flop per result element (backward ops refine this as remat needs).
int64_t defaultFlops(Operation *op);
/// Bytes of every ranked-tensor operand and result of `op`.
int64_t defaultBytesMoved(Operation *op);
/// Whether operand `index` of `op` has a rank below the op's row dims and is
/// therefore used whole by every row chunk (weights, biases, scales).
bool defaultIsBroadcastOperand(Operation *op, unsigned index);
} // namespace mlir::loco::detail

#include "dialect/LocoInterfaces.h.inc"

#endif // LOCO_DIALECT_LOCOINTERFACES_H
