//===- Pipelines.cpp - The pass pipelines of lococ ------------------------===//
//
// This file builds and registers the pipelines, so that lococ and loco-opt
// run the very same passes.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::loco;

void mlir::loco::buildLocoGradPipeline(OpPassManager &pm) {
  // Dropouts of p = 0 are identities; removing them keeps the arena small.
  pm.addPass(createLocoStripDropoutPass(LocoStripDropoutPassOptions{true}));
  pm.addPass(createLocoAutodiffPass());
}

void mlir::loco::buildLocoCompilePipeline(OpPassManager &pm,
                                          llvm::StringRef target) {
  buildLocoGradPipeline(pm);
  pm.addPass(createLocoLowerToRuntimePass(
      LocoLowerToRuntimePassOptions{target.str()}));
}

namespace {
struct CompilePipelineOptions
    : public PassPipelineOptions<CompilePipelineOptions> {
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("Runtime backend"),
                             llvm::cl::init("cpu")};
};
} // namespace

void mlir::loco::registerLocoPipelines() {
  PassPipelineRegistration<CompilePipelineOptions>(
      "loco-compile",
      "Lower frontend loco IR to runtime calls on one arena (LLVM dialect)",
      [](OpPassManager &pm, const CompilePipelineOptions &options) {
        buildLocoCompilePipeline(pm, options.target);
      });
}
