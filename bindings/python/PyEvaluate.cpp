//===- PyEvaluate.cpp - lococ.evaluate ------------------------------------===//
//
// This file implements _evaluate over evaluateFolder: the document that
// `locorun evaluate --json` writes, as JSON text for the Python layer.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PyBindings.h"
#include "bindings/python/PySession.h"

#include "runtime/eval/EvaluateFolder.h"

#include <pybind11/stl.h>

using namespace loco;
using namespace loco::python;

void loco::python::defineEvaluate(py::module_ &m) {
  m.def(
      "_evaluate",
      [](PySession *session, const std::string &data, const std::string &split,
         int64_t tracks, const std::string &estimates,
         const std::vector<std::string> &sources, double overlap, bool mono,
         const std::string &rescale, bool progress) {
        FolderEvaluation e;
        e.data = data;
        e.split = split;
        e.tracks = tracks;
        e.estimates = estimates;
        e.names = sources;
        e.separation.overlap = overlap;
        e.separation.mono = mono;
        e.separation.progress = progress;
        e.rescale = parseRescale(rescale, "rescale");
        e.print = progress;
        py::gil_scoped_release release;
        return evaluateFolder(session ? &session->session() : nullptr, e)
            .dump(-1, ' ', false,
                  nlohmann::ordered_json::error_handler_t::replace);
      },
      py::arg("session"), py::arg("data"), py::arg("split"), py::arg("tracks"),
      py::arg("estimates"), py::arg("sources"), py::arg("overlap"),
      py::arg("mono"), py::arg("rescale"), py::arg("progress"));
}
