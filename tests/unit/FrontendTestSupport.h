//===- FrontendTestSupport.h - Helpers of the frontend tests ----*- C++ -*-===//
//
// This file declares a fixture that owns an MLIRContext, loads configs
// through the frontend as lococ does, and captures every diagnostic as
// `severity: file:line:col: message`.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TESTS_UNIT_FRONTENDTESTSUPPORT_H
#define LOCO_TESTS_UNIT_FRONTENDTESTSUPPORT_H

#include "dialect/LocoDialect.h"
#include "frontend/ConfigDocument.h"
#include "frontend/ReadModelSpec.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace loco::test {

class FrontendTest : public ::testing::Test {
protected:
  FrontendTest()
      : handler(&context, [this](mlir::Diagnostic &diag) {
          std::string text;
          llvm::raw_string_ostream os(text);
          switch (diag.getSeverity()) {
          case mlir::DiagnosticSeverity::Error:
            os << "error: ";
            break;
          case mlir::DiagnosticSeverity::Warning:
            os << "warning: ";
            break;
          case mlir::DiagnosticSeverity::Remark:
            os << "remark: ";
            break;
          case mlir::DiagnosticSeverity::Note:
            os << "note: ";
            break;
          }
          if (auto loc =
                  llvm::dyn_cast<mlir::FileLineColLoc>(diag.getLocation()))
            os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
               << loc.getColumn();
          else
            os << diag.getLocation();
          os << ": " << diag.str();
          diagnostics.push_back(text);
          return mlir::success();
        }) {
    context.loadDialect<mlir::loco::LocoDialect>();
  }

  /// Loads `text` as config `file` with `overrides`, as lococ does.
  std::optional<mlir::loco::ModelSpec>
  parse(const std::string &text, std::vector<std::string> overrides = {},
        const std::string &file = "cfg.yaml", bool verbose = false) {
    mlir::loco::ConfigDocument doc(&context, file);
    if (mlir::failed(doc.loadFromString(text)))
      return std::nullopt;
    return finish(doc, overrides, verbose);
  }

  /// Loads the config file at `path`.
  std::optional<mlir::loco::ModelSpec>
  parseFile(const std::string &path, std::vector<std::string> overrides = {}) {
    mlir::loco::ConfigDocument doc(&context, path);
    if (mlir::failed(doc.load()))
      return std::nullopt;
    return finish(doc, overrides, false);
  }

  /// Whether one captured diagnostic equals `expected`.
  bool hasDiagnostic(const std::string &expected) const {
    for (const std::string &d : diagnostics)
      if (d == expected)
        return true;
    return false;
  }
  std::string allDiagnostics() const {
    std::string all;
    for (const std::string &d : diagnostics)
      all += d + "\n";
    return all;
  }

  mlir::MLIRContext context;
  std::vector<std::string> diagnostics;

private:
  std::optional<mlir::loco::ModelSpec>
  finish(mlir::loco::ConfigDocument &doc,
         const std::vector<std::string> &overrides, bool verbose) {
    for (size_t i = 0; i < overrides.size(); ++i)
      if (mlir::failed(doc.applyOverride(overrides[i], i + 1)))
        return std::nullopt;
    if (mlir::failed(doc.checkKeys(verbose)))
      return std::nullopt;
    return mlir::loco::parseModelSpec(doc);
  }

  mlir::ScopedDiagnosticHandler handler;
};

} // namespace loco::test

#endif // LOCO_TESTS_UNIT_FRONTENDTESTSUPPORT_H
