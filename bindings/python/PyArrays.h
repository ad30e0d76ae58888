//===- PyArrays.h - numpy arrays in and out of the runner -------*- C++ -*-===//
//
// This file declares the conversions between numpy arrays and the runner's
// row-major float vectors, with the checks a Python caller needs: dtype,
// shape, contiguity and finiteness, each refused with a message that names
// the argument.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_BINDINGS_PYTHON_PYARRAYS_H
#define LOCO_BINDINGS_PYTHON_PYARRAYS_H

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace loco::python {

namespace py = pybind11;

/// `value` as a float32 array: a numpy array as it is, anything with
/// `__dlpack__` (a CPU torch tensor) through numpy.from_dlpack, without a
/// copy. Other dtypes are refused (never converted silently), as are
/// non-contiguous arrays and non-finite values; `shape` entries of -1
/// match any size. Throws ValueError/TypeError naming `what`.
py::array_t<float> checkedArray(py::handle value, const std::string &what,
                                const std::vector<int64_t> &shape);

/// The values of a checked array, row-major.
std::vector<float> toVector(const py::array_t<float> &array);

/// A new float32 array of `shape` holding `values`.
py::array_t<float> toArray(const std::vector<float> &values,
                           const std::vector<int64_t> &shape);

/// A float32 view of `count` values at `data` with `shape`, which keeps
/// `owner` alive.
py::array_t<float> viewOf(float *data, const std::vector<int64_t> &shape,
                          py::handle owner);

} // namespace loco::python

#endif // LOCO_BINDINGS_PYTHON_PYARRAYS_H
