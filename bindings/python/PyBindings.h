//===- PyBindings.h - The parts of the _lococ module ------------*- C++ -*-===//
//
// This file declares the functions that add each part of the extension
// module `lococ._lococ` (PyModule.cpp calls them in order). The Python
// package `lococ` (lococ/__init__.py) is the API users see; this module is
// its thin layer over the compile flow and the runner libraries.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_BINDINGS_PYTHON_PYBINDINGS_H
#define LOCO_BINDINGS_PYTHON_PYBINDINGS_H

#include <pybind11/pybind11.h>

namespace loco::python {

namespace py = pybind11;

/// _compile: a config to an artifact, diagnostics returned, never printed.
void defineCompile(py::module_ &m);
/// Session: steps, views, checkpoints, separation.
void defineSession(py::module_ &m);
/// _train and the runner's ready callbacks.
void defineTraining(py::module_ &m);
/// _evaluate: the scores of `locorun evaluate --json`.
void defineEvaluate(py::module_ &m);

} // namespace loco::python

#endif // LOCO_BINDINGS_PYTHON_PYBINDINGS_H
