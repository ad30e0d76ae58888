//===- PyModule.cpp - The lococ._lococ extension module -------------------===//
//
// This file defines the extension module: the runner's errors as Python
// exceptions, the Session class, and the parts of PyBindings.h.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PyBindings.h"
#include "bindings/python/PySession.h"

#include "runtime/session/Artifact.h"
#include "runtime/support/RunError.h"

#include <pybind11/stl.h>

using namespace loco;
using namespace loco::python;

void loco::python::defineSession(py::module_ &m) {
  py::class_<PySession>(m, "_Session")
      .def(py::init<const std::string &, const std::string &,
                    std::optional<uint64_t>>(),
           py::arg("artifact"), py::arg("device"), py::arg("seed"))
      .def("parameters",
           [](py::object self) {
             return self.cast<PySession &>().parameters(self);
           })
      .def("gradients",
           [](py::object self) {
             return self.cast<PySession &>().gradients(self);
           })
      .def("state_dict", &PySession::stateDict)
      .def("train_step", &PySession::trainStep, py::arg("mixture"),
           py::arg("targets"), py::arg("optimize"))
      .def("optimizer_step", &PySession::optimizerStep)
      .def("eval_step", &PySession::evalStep, py::arg("mixture"),
           py::arg("targets"))
      .def("separate", &PySession::separate, py::arg("audio"),
           py::arg("sample_rate"), py::arg("overlap"))
      .def("load", &PySession::load, py::arg("path"))
      .def("save", &PySession::save, py::arg("dir"), py::arg("keep"))
      .def("manifest",
           [](PySession &s) { return s.artifact().manifest().dump(); })
      .def_property_readonly("step",
                             [](PySession &s) { return s.state().step; })
      .def_property_readonly("seed",
                             [](PySession &s) { return s.state().seed; })
      .def_property_readonly("pending_micro_steps",
                             &PySession::pendingMicroSteps)
      .def_property_readonly(
          "device", [](PySession &s) { return s.session().backend().kind; });
}

PYBIND11_MODULE(_lococ, m) {
  m.doc() = "lococ's compiler and runner (the lococ package wraps it)";
  // The runner's errors (a bad file, a refused checkpoint, an exhausted
  // batch source) as lococ.RunError, a RuntimeError.
  py::register_exception<RunError>(m, "RunError", PyExc_RuntimeError);
  // Where this build put the backends (lococ/__init__.py points the
  // loader there when they are not beside the package).
  m.attr("_build_lib_dir") = LOCO_BUILD_LIB_DIR;
  m.def(
      "_peek_manifest",
      [](const std::string &path) { return peekManifest(path).dump(); },
      "The manifest of a train.so or separate.so, without loading it.");
  defineCompile(m);
  defineSession(m);
  defineTraining(m);
  defineEvaluate(m);
}
