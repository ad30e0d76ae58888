"""Float WAV files for the Python benches and tests, without a dependency:
IEEE-float (format 3) writing, and reading the data of float or PCM files.
"""
import struct

import numpy as np


def write(path, audio, rate):
    """audio: [samples] or [samples, channels], written as 32-bit float."""
    audio = np.asarray(audio, dtype="<f4")
    if audio.ndim == 1:
        audio = audio[:, None]
    channels = audio.shape[1]
    data = np.ascontiguousarray(audio).tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def _chunks(path):
    """(format, rate, channels, block bytes, bits) and the data bytes of a
    PCM or IEEE-float WAV."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    pos, fmt = 12, None
    while pos < len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
        elif chunk == b"data":
            assert fmt, f"{path}: data before fmt"
            return (fmt[0], fmt[2], fmt[1], fmt[4], fmt[5]), data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def info(path):
    """(rate, channels, frames) of a PCM or IEEE-float WAV."""
    (_, rate, channels, block, _), data = _chunks(path)
    return rate, channels, len(data) // block


def read(path):
    """(samples [frames, channels] float32, rate) of a 32-bit float WAV."""
    (fmt, rate, channels, _, bits), data = _chunks(path)
    assert fmt == 3 and bits == 32, f"{path}: not 32-bit float"
    return np.frombuffer(data, dtype="<f4").reshape(-1, channels), rate
