//===- EmitSharedObject.h - LLVM dialect to train.so ------------*- C++ -*-===//
//
// This file declares the last stage of lococ: translating the lowered module
// to LLVM IR, emitting a position-independent object in-process with an
// llvm::TargetMachine for the host, and linking it into a shared object with
// the system compiler driver.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_CONVERSION_EMITSHAREDOBJECT_H
#define LOCO_PASSES_CONVERSION_EMITSHAREDOBJECT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>

namespace mlir::loco {

/// Translates the lowered `module` (LLVM dialect) to LLVM IR for the host
/// target. Reports failures as diagnostics on the module.
std::unique_ptr<llvm::Module> translateToLLVMIR(ModuleOp module,
                                                llvm::LLVMContext &context);

/// Compiles `llvmModule` to an object and links `outputPath` (a shared
/// object). Reports failures as diagnostics at `loc`.
LogicalResult emitSharedObject(llvm::Module &llvmModule, Location loc,
                               llvm::StringRef outputPath);

} // namespace mlir::loco

#endif // LOCO_PASSES_CONVERSION_EMITSHAREDOBJECT_H
