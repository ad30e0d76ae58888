//===- EmitSharedObject.cpp - LLVM dialect to train.so --------------------===//
//
// This file implements the translation to LLVM IR, object emission through
// llvm::TargetMachine (PIC, host CPU features off so that train.so runs on
// any x86-64 machine of the kind) and the link with `cc -shared`.
//
//===----------------------------------------------------------------------===//

#include "passes/conversion/EmitSharedObject.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

std::unique_ptr<llvm::Module>
mlir::loco::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
  // The loco.* module attributes have no LLVM meaning; the manifest carries
  // what locorun needs.
  SmallVector<StringAttr> locoAttrs;
  for (NamedAttribute attr : module->getDiscardableAttrs())
    if (attr.getName().strref().starts_with("loco."))
      locoAttrs.push_back(attr.getName());
  for (StringAttr name : locoAttrs)
    module->removeAttr(name);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "train.so");
  if (!llvmModule) {
    module.emitError("cannot translate the lowered module to LLVM IR");
    return nullptr;
  }
  llvmModule->setTargetTriple(llvm::sys::getDefaultTargetTriple());
  return llvmModule;
}

LogicalResult mlir::loco::emitSharedObject(llvm::Module &llvmModule,
                                           Location loc,
                                           llvm::StringRef outputPath) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple(), error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return emitError(loc) << "no LLVM target for " << triple << ": " << error;
  // The entry points are straight-line runtime calls (10^5 of them for a
  // row-chunked, rematerialised step): there is nothing to optimise, and the
  // default pipeline's instruction selection and register allocation take
  // minutes on such functions where FastISel takes seconds.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, "x86-64", "", llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::None));
  if (!machine)
    return emitError(loc) << "cannot create a target machine for " << triple;
  llvmModule.setDataLayout(machine->createDataLayout());

  llvm::SmallString<128> objectPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("lococ", "o", objectPath))
    return emitError(loc) << "cannot create a temporary object file: "
                          << ec.message();
  llvm::FileRemover removeObject(objectPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return emitError(loc)
             << "cannot write " << objectPath << ": " << ec.message();
    llvm::legacy::PassManager passes;
    if (machine->addPassesToEmitFile(passes, out, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return emitError(loc) << "the target cannot emit object files";
    passes.run(llvmModule);
  }

  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return emitError(loc) << "no system compiler driver 'cc' to link "
                          << outputPath;
  llvm::SmallVector<llvm::StringRef> args{*cc, "-shared", "-o", outputPath,
                                          objectPath};
  std::string message;
  int status =
      llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (status != 0)
    return emitError(loc) << "linking " << outputPath << " failed"
                          << (message.empty() ? "" : ": ") << message;
  return success();
}
