"""Reads a PyTorch checkpoint (torch.save's zip format, or the legacy
stream of pickles before it) without running any code it carries.

A .pth is a pickle, and a pickle may name any importable callable (os.system,
subprocess.Popen, builtins.eval) to be called while it loads: torch.load
without weights_only runs it, and torch's own weights_only unpickler has had
escapes (CVE-2025-32434, torch <= 2.5.1, which Debian's 1.13 predates). This
reader does not use torch.load at all. Its unpickler resolves only the names
in ALLOWED: containers, tensor and storage rebuilders (implemented here, on
numpy), dtype names and numpy scalars. Any other global, persistent id or
storage is refused with `Refused`, naming it, before anything it names is
imported or called.

  load(path) -> the checkpoint's object, with every tensor a `Tensor`
  (its dtype name, shape and a numpy array of its values).

Needs numpy only.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np


class Refused(Exception):
    """The file asks for something a weights file has no business doing."""


class Tensor:
    """A tensor of the checkpoint: `dtype` is torch's name ("float32",
    "bfloat16", "int64", ...); `array()` its values (bfloat16 widened to
    float32 exactly, everything else in its own numpy type)."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset = storage, offset
        self.shape, self.stride = tuple(shape), tuple(stride)
        self.dtype = storage.dtype

    def array(self):
        values = self.storage.values()
        count = int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1
        if count == 0:
            return np.zeros(self.shape, values.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= values.size:
            raise Refused(f"a tensor of shape {list(self.shape)} reaches past its "
                          f"storage of {values.size} elements")
        view = np.lib.stride_tricks.as_strided(
            values[self.offset:], shape=self.shape,
            strides=[s * values.itemsize for s in self.stride], writeable=False)
        out = np.array(view)  # a copy: the view may overlap itself
        if self.dtype == "bfloat16":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


# torch's storage classes by their pickled names: (dtype name, numpy type;
# bfloat16 is read as its 16-bit patterns).
_STORAGES = {
    "FloatStorage": ("float32", np.float32), "DoubleStorage": ("float64", np.float64),
    "HalfStorage": ("float16", np.float16), "BFloat16Storage": ("bfloat16", np.uint16),
    "LongStorage": ("int64", np.int64), "IntStorage": ("int32", np.int32),
    "ShortStorage": ("int16", np.int16), "CharStorage": ("int8", np.int8),
    "ByteStorage": ("uint8", np.uint8), "BoolStorage": ("bool", np.bool_),
    "ComplexFloatStorage": ("complex64", np.complex64),
    "ComplexDoubleStorage": ("complex128", np.complex128),
}


class _StorageType:
    def __init__(self, name):
        self.dtype, self.numpy = _STORAGES[name]


class _Storage:
    def __init__(self, kind, read):
        self.dtype, self.numpy, self._read, self._values = kind.dtype, kind.numpy, read, None

    def values(self):
        if self._values is None:
            data = self._read()
            itemsize = np.dtype(self.numpy).itemsize
            if len(data) % itemsize:
                raise Refused(f"a {self.dtype} storage of {len(data)} bytes")
            self._values = np.frombuffer(data, dtype=np.dtype(self.numpy).newbyteorder("<"))
        return self._values


def _rebuild_tensor(storage, offset, shape, stride, *ignored):
    if not isinstance(storage, _Storage):
        raise Refused("a tensor rebuilt from something that is not a storage")

    def whole(n):
        return isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**62

    if not (whole(offset) and isinstance(shape, tuple) and isinstance(stride, tuple)
            and len(shape) == len(stride) and all(map(whole, shape))
            and all(map(whole, stride))):
        raise Refused(f"a tensor of offset {offset!r:.40}, shape {shape!r:.60} and "
                      f"stride {stride!r:.60}")
    return Tensor(storage, offset, shape, stride)


def _rebuild_parameter(tensor, *ignored):
    return tensor


def _rebuild_from_type(function, kind, args, state):
    # torch >= 2 pickles a Parameter as (rebuild function, Parameter, args):
    # `function` came through find_class, so it is one of ours.
    if function not in (_rebuild_tensor, _rebuild_parameter):
        raise Refused("a tensor subclass rebuilt by an unknown function")
    return function(*args)


class _Marker:
    """A harmless stand-in for a class that is only named (torch.Size, a
    dtype, Parameter)."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        return args[0] if len(args) == 1 else args

    def __repr__(self):
        return self.name


def _numpy_scalar(dtype, data=None):
    return np.frombuffer(data, dtype=dtype)[0] if data is not None else dtype.type()


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch.nn.parameter", "Parameter"): _Marker("Parameter"),
    ("torch", "Size"): tuple,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): np.dtype,
}
for _name in _STORAGES:
    ALLOWED[("torch", _name)] = _StorageType(_name)
for _name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
              "int8", "uint8", "bool", "complex64", "complex128"):
    ALLOWED[("torch", _name)] = _Marker("torch." + _name)


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream, storages):
        super().__init__(stream)
        self._storages = storages

    def find_class(self, module, name):
        target = ALLOWED.get((module, name))
        if target is None:
            raise Refused(f"its pickle calls {module}.{name}, which is not a tensor, "
                          "container or number type")
        return target

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise Refused(f"an unknown persistent id {pid!r:.80}")
        key = pid[2]
        if key not in self._storages:
            self._storages[key] = _Storage(pid[1], lambda: self._data(key))
        return self._storages[key]

    def _data(self, key):
        raise Refused(f"storage '{key}' has no data")


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise Refused("a zip without exactly one data.pkl")
        prefix = pickles[0][:-len("data.pkl")]
        names = set(archive.namelist())
        blobs = {}

        def read(key):
            name = f"{prefix}data/{key}"
            if name not in names:
                raise Refused(f"storage '{key}' is not in the archive")
            info = archive.getinfo(name)
            # torch.save stores its records uncompressed; a record that
            # inflates a hundredfold is a zip bomb, not weights.
            if info.file_size > 100 * max(info.compress_size, 1 << 16):
                raise Refused(f"storage '{key}' inflates from {info.compress_size} to "
                              f"{info.file_size} bytes")
            return archive.read(name)

        unpickler = _Unpickler(io.BytesIO(archive.read(pickles[0])), blobs)
        unpickler._data = read
        result = unpickler.load()
        for storage in blobs.values():  # read while the archive is open
            storage.values()
        return result


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _load_legacy(stream):
    storages = {}

    def restricted():
        return _Unpickler(stream, storages)

    magic = restricted().load()
    if magic != _LEGACY_MAGIC:
        raise Refused("a pickle that is not a PyTorch checkpoint (no torch.save magic "
                      "number)")
    restricted().load()  # protocol version
    restricted().load()  # system information
    result = restricted().load()
    keys = restricted().load()
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise Refused("storage keys that do not match its tensors")
    for key in keys:
        storage = storages[key]
        header = stream.read(8)
        if len(header) != 8:
            raise Refused(f"storage '{key}' is cut short")
        (count,) = struct.unpack("<q", header)
        size = count * np.dtype(storage.numpy).itemsize
        data = stream.read(size) if 0 <= count else b""
        if len(data) != size or count < 0:
            raise Refused(f"storage '{key}' is cut short")
        storage._read = lambda data=data: data
        storage.values()
    return result


def load(path):
    """The checkpoint at `path`, tensors as `Tensor`s. Raises `Refused` for
    anything but data, and OSError, pickle.UnpicklingError, EOFError,
    zipfile.BadZipFile or ValueError for a file that is not a checkpoint."""
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    with open(path, "rb") as stream:
        if stream.read(4) == b"PK\x03\x04":
            raise ValueError("a zip archive that is cut short or damaged")
        stream.seek(0)
        return _load_legacy(stream)
