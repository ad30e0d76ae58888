//===- ReadModelSpec.h - A ModelSpec from a config --------------*- C++ -*-===//
//
// This file declares parseModelSpec, which reads and validates a ModelSpec
// from a loaded config.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_FRONTEND_READMODELSPEC_H
#define LOCO_FRONTEND_READMODELSPEC_H

#include "frontend/ModelSpec.h"

#include <optional>

namespace mlir::loco {
class ConfigDocument;

/// Reads and validates a ModelSpec from `doc`, reporting errors at the YAML
/// line:col of the key involved. Fails after reporting every error found.
std::optional<ModelSpec> parseModelSpec(ConfigDocument &doc);

} // namespace mlir::loco

#endif // LOCO_FRONTEND_READMODELSPEC_H
