//===- ModelSummary.h - A readable summary of a ModelSpec -------*- C++ -*-===//
//
// This file declares the model summary that `lococ` prints: parameters, the
// STFT grid, and the tensor sizes of one Locoformer block per path.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_MODELSUMMARY_H
#define LOCO_FRONTEND_MODELSUMMARY_H

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir::loco {
struct ModelSpec;

/// Prints the summary of `spec` to `os`.
void printModelSummary(const ModelSpec &spec, llvm::raw_ostream &os);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_MODELSUMMARY_H
