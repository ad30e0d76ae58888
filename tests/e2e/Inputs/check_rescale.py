#!/usr/bin/env python3
"""Checks of rescaled stems (tests/e2e/rescale.test).

  check_rescale.py sum STEMS_DIR MIXTURE.wav     stems sum to the mixture
  check_rescale.py scaled GAINS_DIR RAW_DIR      each stem a multiple of the raw one
  check_rescale.py json SCORES.json              SI-SDR unchanged by the rescaling
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench"))
import wavfile  # noqa: E402

SOURCES = ("vocals", "drums", "bass", "other")


def read(path):
    """Float WAVs as they are; 16-bit PCM as libsndfile reads it (/ 32768)."""
    (fmt, _, channels, _, bits), data = wavfile._chunks(path)
    if fmt == 1 and bits == 16:
        return np.frombuffer(data, dtype="<i2").reshape(-1, channels) / 32768.0
    return np.asarray(wavfile.read(path)[0], dtype=np.float64)


mode = sys.argv[1]
if mode == "sum":
    total = sum(read(os.path.join(sys.argv[2], s + ".wav")) for s in SOURCES)
    mixture = read(sys.argv[3])
    worst = np.abs(total - mixture).max()
    bound = 4 * np.abs(mixture).max() * 2.0**-23
    assert worst <= bound, (worst, bound)
    print(f"stems sum to the mixture: max |diff| {worst:.3g} <= {bound:.3g}")
elif mode == "scaled":
    for s in SOURCES:
        a, b = read(os.path.join(sys.argv[2], s + ".wav")), read(os.path.join(sys.argv[3], s + ".wav"))
        gain = float((a * b).sum() / (b * b).sum())
        worst = np.abs(a - gain * b).max()
        assert worst <= 1e-6 * np.abs(a).max() + 1e-30, (s, gain, worst)
        print(f"{s}: the raw stem times {gain:.6g}")
elif mode == "json":
    doc = json.load(open(sys.argv[2]))
    for track in doc["tracks"]:
        assert track["rescale"] == "gains", track["rescale"]
        for name, source in track["sources"].items():
            raw = source["without_rescaling"]
            assert abs(source["SI-SDR"] - raw["SI-SDR"]) <= 1e-3, (name, source["SI-SDR"], raw["SI-SDR"])
            assert isinstance(source["gain"], float)
    for name, source in doc["summary"].items():
        assert "without_rescaling" in source, name
    print(f"{len(doc['tracks'])} tracks: SI-SDR unchanged by the rescaling")
