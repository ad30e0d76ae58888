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

void mlir::loco::buildLocoFusionPipeline(OpPassManager &pm,
                                         const LocoPipelineOptions &options) {
  // Dropouts of p = 0 are identities; removing them keeps the arena small.
  pm.addPass(createLocoStripDropoutPass(LocoStripDropoutPassOptions{true}));
  // Fusion runs before autodiff so that the fused op's own gradient is used.
  if (options.fuseAttention)
    pm.addPass(createLocoFuseAttentionPass());
  if (options.fuseElementwise)
    pm.addPass(createLocoFuseElementwisePass());
  // Mixed precision after fusion (the fused attention is one lower-precision
  // op) and before chunking and autodiff, which see the casts as ops.
  if (!options.amp.empty())
    pm.addPass(createLocoAutocastPass(LocoAutocastPassOptions{options.amp}));
}

void mlir::loco::buildLocoGradPipeline(OpPassManager &pm,
                                       const LocoPipelineOptions &options) {
  buildLocoFusionPipeline(pm, options);
  // One chunk changes nothing but adds the split and concat copies that
  // rematerialisation needs to find the regions.
  const LocoRematChoice &choice = options.remat;
  bool chunked = choice.rowChunks > 1 || choice.checkpointEvery > 0;
  pm.addPass(createLocoChunkRowsPass(
      LocoChunkRowsPassOptions{chunked ? choice.rowChunks : 0, /*minOps=*/2}));
  pm.addPass(createLocoAutodiffPass());
  LocoRematerializePassOptions remat;
  remat.checkpointEvery = choice.checkpointEvery;
  remat.checkpointPhase = choice.checkpointPhase;
  remat.keepSegment = choice.keepSegment;
  remat.extraCheckpoints = choice.extraCheckpoints;
  remat.rebuildPrologue = choice.rebuildPrologue;
  remat.keepExpensive = choice.keepExpensive;
  remat.keepNarrow = choice.keepNarrow;
  remat.bf16Checkpoints = choice.bf16Checkpoints;
  remat.keepRegions = choice.keptRegions;
  pm.addPass(createLocoRematerializePass(remat));
}

void mlir::loco::buildLocoSeparatePipeline(OpPassManager &pm,
                                           const LocoPipelineOptions &options) {
  // Inference: every dropout is an identity.
  pm.addPass(createLocoStripDropoutPass(LocoStripDropoutPassOptions{false}));
  buildLocoFusionPipeline(pm, options);
  // Forward only: chunks free each chunk's temporaries as soon as its
  // output is stacked, and nothing is ever recomputed.
  int64_t chunks = options.remat.rowChunks;
  pm.addPass(createLocoChunkRowsPass(
      LocoChunkRowsPassOptions{chunks > 1 ? chunks : 0, /*minOps=*/2}));
}

void mlir::loco::buildLocoCompilePipeline(OpPassManager &pm,
                                          const LocoPipelineOptions &options) {
  buildLocoGradPipeline(pm, options);
  pm.addPass(createLocoPlanMemoryPass());
  pm.addPass(createLocoCheckTargetLimitsPass(
      LocoCheckTargetLimitsPassOptions{options.target}));
  pm.addPass(createLocoLowerToRuntimePass(
      LocoLowerToRuntimePassOptions{options.target}));
}

namespace {
struct CompilePipelineOptions
    : public PassPipelineOptions<CompilePipelineOptions> {
  Option<std::string> target{*this, "target", llvm::cl::desc("Runtime backend"),
                             llvm::cl::init("cpu")};
  Option<bool> fuseAttention{*this, "fuse-attention",
                             llvm::cl::desc("Fuse attention"),
                             llvm::cl::init(true)};
  Option<bool> fuseElementwise{*this, "fuse-elementwise",
                               llvm::cl::desc("Fuse the SwiGLU gate and the "
                                              "residual adds of dropouts"),
                               llvm::cl::init(true)};
  Option<std::string> amp{*this, "amp",
                          llvm::cl::desc("Mixed precision: bf16, f16 or "
                                         "empty (f32)"),
                          llvm::cl::init("")};
  Option<int64_t> rowChunks{*this, "row-chunks",
                            llvm::cl::desc("Row chunks per region"),
                            llvm::cl::init(1)};
  Option<int64_t> checkpointEvery{
      *this, "checkpoint-every",
      llvm::cl::desc("Regions per checkpoint segment (0: no remat)"),
      llvm::cl::init(0)};
  Option<int64_t> checkpointPhase{
      *this, "checkpoint-phase",
      llvm::cl::desc("First checkpointed region (checkpoint-every > 1)"),
      llvm::cl::init(0)};
  Option<bool> keepSegment{
      *this, "keep-segment",
      llvm::cl::desc("Keep rebuilt path inputs for the segment's backward"),
      llvm::cl::init(true)};
  Option<int64_t> extraCheckpoints{
      *this, "extra-checkpoints",
      llvm::cl::desc("Checkpoint this many more region inputs"),
      llvm::cl::init(0)};
  Option<bool> rebuildPrologue{
      *this, "rebuild-prologue",
      llvm::cl::desc("Rebuild the ops before the first region"),
      llvm::cl::init(false)};
  Option<bool> keepExpensive{
      *this, "keep-expensive",
      llvm::cl::desc("Rebuild only cheap ops inside chunks"),
      llvm::cl::init(false)};
  Option<bool> keepNarrow{
      *this, "keep-narrow",
      llvm::cl::desc("Keep contraction results at most twice the size of "
                     "their chunk of the region input"),
      llvm::cl::init(false)};
  Option<bool> bf16Checkpoints{
      *this, "bf16-checkpoints",
      llvm::cl::desc("Store f32 checkpointed region inputs in bf16"),
      llvm::cl::init(false)};
};
} // namespace

void mlir::loco::registerLocoPipelines() {
  PassPipelineRegistration<CompilePipelineOptions>(
      "loco-compile",
      "Lower frontend loco IR to runtime calls on one arena (LLVM dialect)",
      [](OpPassManager &pm, const CompilePipelineOptions &options) {
        LocoPipelineOptions pipeline{options.target, options.fuseAttention,
                                     options.amp};
        pipeline.fuseElementwise = options.fuseElementwise;
        pipeline.remat.rowChunks = options.rowChunks;
        pipeline.remat.checkpointEvery = options.checkpointEvery;
        pipeline.remat.checkpointPhase = options.checkpointPhase;
        pipeline.remat.keepSegment = options.keepSegment;
        pipeline.remat.extraCheckpoints = options.extraCheckpoints;
        pipeline.remat.rebuildPrologue = options.rebuildPrologue;
        pipeline.remat.keepExpensive = options.keepExpensive;
        pipeline.remat.keepNarrow = options.keepNarrow;
        pipeline.remat.bf16Checkpoints = options.bf16Checkpoints;
        buildLocoCompilePipeline(pm, pipeline);
      });
}
