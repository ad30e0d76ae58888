//===- BuildTrainStep.h - ModelSpec to loco IR ------------------*- C++ -*-===//
//
// This file declares the builder of `func.func @train_step`, the forward pass
// and loss of a TF-Locoformer in the loco dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_BUILDTRAINSTEP_H
#define LOCO_FRONTEND_BUILDTRAINSTEP_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::loco {
struct ModelSpec;

/// Builds a module holding `func.func @train_step(params..., mixture,
/// targets...)` that returns the total loss, every named loss component
/// (unweighted, as upstream reports them) and the per-source estimates.
/// Parameters carry `loco.param` argument attributes with their upstream
/// state_dict names; data inputs carry `loco.input`; results carry
/// `loco.name`. The module's `loco.buffers` attribute holds the
/// non-trainable state_dict entries (RoPE frequencies) the compiler computes.
OwningOpRef<ModuleOp> buildTrainStep(const ModelSpec &spec,
                                     MLIRContext *context);

/// Builds a module holding `func.func @separate_step(params..., mixture)`,
/// the inference form of the same model: `spec.batchSize` segments of
/// `spec.segmentLength` samples in, one estimate per source out (named by
/// the source), with no targets, loss or dropout. The module attributes are
/// those of buildTrainStep.
OwningOpRef<ModuleOp> buildSeparateStep(const ModelSpec &spec,
                                        MLIRContext *context);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_BUILDTRAINSTEP_H
