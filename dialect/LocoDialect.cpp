//===- LocoDialect.cpp - The loco dialect ---------------------------------===//
//
// This file implements the loco dialect: registration of its ops and
// attributes, the generated attribute and interface definitions, and the
// default implementations shared by the op interfaces.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoDialect.h"
#include "dialect/LocoOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::loco;

#include "dialect/LocoDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/LocoAttrs.cpp.inc"

#include "dialect/LocoInterfaces.cpp.inc"

void LocoDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/LocoOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/LocoAttrs.cpp.inc"
      >();
}

void mlir::loco::registerLocoDialects(DialectRegistry &registry) {
  registry.insert<LocoDialect, func::FuncDialect, LLVM::LLVMDialect>();
}

static int64_t tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  return tensor.getNumElements() *
         static_cast<int64_t>(tensor.getElementTypeBitWidth() / 8);
}

int64_t mlir::loco::detail::defaultFlops(Operation *op) {
  int64_t flops = 0;
  for (Type type : op->getResultTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      flops += tensor.getNumElements();
  return flops;
}

int64_t mlir::loco::detail::defaultBytesMoved(Operation *op) {
  int64_t bytes = 0;
  for (Type type : op->getOperandTypes())
    bytes += tensorBytes(type);
  for (Type type : op->getResultTypes())
    bytes += tensorBytes(type);
  return bytes;
}

bool mlir::loco::detail::defaultIsBroadcastOperand(Operation *op,
                                                   unsigned index) {
  auto rowOp = cast<RowIndependentOpInterface>(op);
  auto tensor = dyn_cast<RankedTensorType>(op->getOperand(index).getType());
  return !tensor || tensor.getRank() < rowOp.getNumRowDims() ||
         rowOp.getNumRowDims() == 0;
}
