//===- PyArrays.cpp - numpy arrays in and out of the runner ---------------===//
//
// This file implements the checked conversions of PyArrays.h.
//
//===----------------------------------------------------------------------===//

#include "bindings/python/PyArrays.h"

#include <cmath>
#include <cstring>

using namespace loco::python;

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") +
            (shape[i] < 0 ? std::string("any") : std::to_string(shape[i]));
  return text + (shape.size() == 1 ? ",)" : ")");
}

py::array_t<float>
loco::python::checkedArray(py::handle value, const std::string &what,
                           const std::vector<int64_t> &shape) {
  py::object object = py::reinterpret_borrow<py::object>(value);
  py::module_ numpy = py::module_::import("numpy");
  if (!py::isinstance<py::array>(object)) {
    if (!py::hasattr(object, "__dlpack__"))
      throw py::type_error(what +
                           " must be a numpy array or a DLPack tensor "
                           "(a CPU torch.Tensor), got " +
                           std::string(py::str(py::type::of(object))));
    // Shares the tensor's memory (CPU only: numpy refuses others).
    object = numpy.attr("from_dlpack")(object);
  }
  py::array array = py::reinterpret_borrow<py::array>(object);
  if (!array.dtype().is(py::dtype::of<float>()))
    throw py::type_error(what + " has dtype " +
                         std::string(py::str(array.dtype())) +
                         "; lococ's steps take float32 (numpy: "
                         ".astype(np.float32), torch: .float())");
  std::vector<int64_t> got(array.shape(), array.shape() + array.ndim());
  bool matches = got.size() == shape.size();
  for (size_t i = 0; matches && i < shape.size(); ++i)
    matches = shape[i] < 0 || shape[i] == got[i];
  if (!matches)
    throw py::value_error(what + " has shape " + shapeText(got) +
                          "; the compiled step takes " + shapeText(shape));
  if (!(array.flags() & py::array::c_style))
    throw py::value_error(what +
                          " is not C-contiguous (a transposed or "
                          "strided view); pass np.ascontiguousarray(" +
                          "...) or tensor.contiguous()");
  py::array_t<float> typed = py::reinterpret_borrow<py::array_t<float>>(array);
  const float *data = typed.data();
  for (py::ssize_t i = 0; i < typed.size(); ++i)
    if (!std::isfinite(data[i]))
      throw py::value_error(what + " holds " +
                            (std::isnan(data[i]) ? "NaN" : "Inf") +
                            " at flat index " + std::to_string(i));
  return typed;
}

std::vector<float> loco::python::toVector(const py::array_t<float> &array) {
  return std::vector<float>(array.data(), array.data() + array.size());
}

py::array_t<float> loco::python::toArray(const std::vector<float> &values,
                                         const std::vector<int64_t> &shape) {
  py::array_t<float> array(
      std::vector<py::ssize_t>(shape.begin(), shape.end()));
  std::memcpy(array.mutable_data(), values.data(),
              values.size() * sizeof(float));
  return array;
}

py::array_t<float> loco::python::viewOf(float *data,
                                        const std::vector<int64_t> &shape,
                                        py::handle owner) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<float>(dims, data, owner);
}
