//===- LocoDialect.h - The loco dialect -------------------------*- C++ -*-===//
//
// This file declares the loco dialect and its attributes.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_DIALECT_LOCODIALECT_H
#define LOCO_DIALECT_LOCODIALECT_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialect/LocoDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/LocoAttrs.h.inc"

namespace mlir {
class DialectRegistry;
namespace loco {
/// Registers the loco dialect and the upstream dialects that loco IR uses
/// (func) or lowers to (llvm) with `registry`.
void registerLocoDialects(DialectRegistry &registry);
} // namespace loco
} // namespace mlir

#endif // LOCO_DIALECT_LOCODIALECT_H
