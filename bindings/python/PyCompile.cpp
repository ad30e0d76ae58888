//===- PyCompile.cpp - lococ.compile --------------------------------------===//
//
// This file implements _compile over the compile flow (Compile.h): a fresh
// MLIR context per call, whose diagnostics are collected (severity, file,
// line, column, message) instead of printed, so that Python raises them as
// exceptions; the tool's own error lines and reports are returned as text.
// The GIL is released while it compiles.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PyBindings.h"

#include "dialect/LocoDialect.h"
#include "frontend/compile/Compile.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/stl.h>

#include <optional>

using namespace loco::python;

namespace {

struct Diagnostic {
  std::string severity, file, message;
  unsigned line = 0, column = 0;
  std::vector<std::string> notes;
};

const char *severityName(mlir::DiagnosticSeverity severity) {
  switch (severity) {
  case mlir::DiagnosticSeverity::Error:
    return "error";
  case mlir::DiagnosticSeverity::Warning:
    return "warning";
  case mlir::DiagnosticSeverity::Remark:
    return "remark";
  case mlir::DiagnosticSeverity::Note:
    return "note";
  }
  return "error";
}

Diagnostic record(mlir::Diagnostic &diag) {
  Diagnostic d;
  d.severity = severityName(diag.getSeverity());
  d.message = diag.str();
  if (auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(diag.getLocation())) {
    d.file = loc.getFilename().str();
    d.line = loc.getLine();
    d.column = loc.getColumn();
  } else {
    llvm::raw_string_ostream os(d.file);
    diag.getLocation().print(os);
  }
  for (mlir::Diagnostic &note : diag.getNotes())
    d.notes.push_back(note.str());
  return d;
}

py::dict compileConfig(const std::string &config,
                       const std::vector<std::string> &overrides,
                       const std::string &budget, const std::string &target,
                       const std::string &mode, const std::string &output,
                       std::optional<int64_t> batchSegments,
                       const std::string &reportJson) {
  mlir::loco::CompileOptions o;
  o.configFile = config;
  o.overrides = overrides;
  o.memoryBudget = budget;
  o.target = target;
  if (mode == "separate")
    o.mode = mlir::loco::CompileMode::Separate;
  else if (mode != "train")
    throw py::value_error("mode must be 'train' or 'separate', got '" + mode +
                          "'");
  o.outputFile = output;
  o.batchSegments = batchSegments;
  o.memoryReportJson = reportJson;
  std::vector<Diagnostic> diagnostics;
  std::string errors, reports;
  bool ok;
  {
    py::gil_scoped_release release;
    mlir::DialectRegistry registry;
    mlir::loco::registerLocoDialects(registry);
    mlir::MLIRContext context(registry);
    context.loadAllAvailableDialects();
    mlir::ScopedDiagnosticHandler handler(&context,
                                          [&](mlir::Diagnostic &diag) {
                                            diagnostics.push_back(record(diag));
                                            return mlir::success();
                                          });
    llvm::raw_string_ostream errs(errors), outs(reports);
    ok = mlir::succeeded(mlir::loco::compile(context, o, errs, outs));
  }
  py::list list;
  for (const Diagnostic &d : diagnostics) {
    py::dict entry;
    entry["severity"] = d.severity;
    entry["file"] = d.file;
    entry["line"] = d.line;
    entry["column"] = d.column;
    entry["message"] = d.message;
    entry["notes"] = d.notes;
    list.append(entry);
  }
  py::dict result;
  result["ok"] = ok;
  result["diagnostics"] = list;
  result["errors"] = errors;
  result["log"] = reports;
  return result;
}

} // namespace

void loco::python::defineCompile(py::module_ &m) {
  // The pass manager's command-line options exist (with their defaults)
  // before a pipeline applies them, as in lococ's main.
  mlir::registerPassManagerCLOptions();
  m.def("_compile", &compileConfig, py::arg("config"), py::arg("overrides"),
        py::arg("memory_budget"), py::arg("target"), py::arg("mode"),
        py::arg("output"), py::arg("batch_segments"), py::arg("report_json"));
}
