//===- ReadModelSpec.h - A ModelSpec from a config --------------*- C++ -*-===//
//
// This file declares parseModelSpec, which reads and validates a ModelSpec
// from a loaded config.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_READMODELSPEC_H
#define LOCO_FRONTEND_READMODELSPEC_H

#include "frontend/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace mlir::loco {
class ConfigDocument;

/// Reads and validates a ModelSpec from `doc`, reporting errors at the YAML
/// line:col of the key involved. Fails after reporting every error found.
std::optional<ModelSpec> parseModelSpec(ConfigDocument &doc);

/// Loads the config `file`, applies `--set` `overrides` (in order), checks
/// its keys (with `verbose`, remarks too) and reads its ModelSpec: what
/// lococ and its tools do with a config. Errors are diagnostics.
std::optional<ModelSpec> loadModelSpec(MLIRContext *context,
                                       llvm::StringRef file,
                                       llvm::ArrayRef<std::string> overrides,
                                       bool verbose);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_READMODELSPEC_H
