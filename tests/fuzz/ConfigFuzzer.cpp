//===- ConfigFuzzer.cpp - libFuzzer target: the YAML frontend -------------===//
//
// A config's text through what lococ does with it before lowering: parsing
// (one document, no duplicate keys), the key check, the ModelSpec with its
// domains and size bounds, and the parameter table of a valid spec. Any
// input must end in diagnostics or a spec, never in a crash, a sanitizer
// report or a hang.
//
//===----------------------------------------------------------------------===//

#include "frontend/ConfigDocument.h"
#include "frontend/ReadModelSpec.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

using namespace mlir;
using namespace mlir::loco;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MLIRContext *context = [] {
    auto *ctx = new MLIRContext(MLIRContext::Threading::DISABLED);
    ctx->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
    return ctx;
  }();
  ConfigDocument doc(context, "fuzz.yaml");
  if (failed(doc.loadFromString(
          llvm::StringRef(reinterpret_cast<const char *>(data), size))))
    return 0;
  if (failed(doc.checkKeys(/*verbose=*/true)))
    return 0;
  if (std::optional<ModelSpec> spec = parseModelSpec(doc)) {
    std::vector<ParamInfo> params = spec->parameters();
    (void)spec->bufferNames();
    (void)spec->ropeFreqs();
  }
  return 0;
}
