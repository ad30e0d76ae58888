"""Checks of tests/e2e/validation.test: every validation covered every test
track of DATA in full (their count and total seconds), and OUT/best holds
the checkpoint of the lowest validation loss, `"best": true` marking each
new lowest.

  check_validation.py METRICS.jsonl DATA_DIR OUT_DIR --rate R
"""
import json
import os
import struct
import sys

metrics, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
rate = int(sys.argv[sys.argv.index("--rate") + 1])


def frames(path):
    blob = open(path, "rb").read()
    pos, fmt = 12, None
    while pos < len(blob):
        chunk, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", blob[pos + 8:pos + 24])
        elif chunk == b"data":
            return size // fmt[4]
        pos += 8 + size + (size & 1)


tracks = sorted(os.listdir(os.path.join(data, "test")))
seconds = sum(frames(os.path.join(data, "test", t, "mixture.wav")) for t in tracks) / rate
validations = [json.loads(l) for l in open(metrics) if '"validation"' in l]
assert validations, "no validation ran"
lowest = None
for v in validations:
    assert v["val_tracks"] == len(tracks), v
    assert abs(v["val_seconds"] - seconds) < 1e-9, (v["val_seconds"], seconds)
    is_best = lowest is None or v["val_loss"] < lowest[1]
    assert v["best"] == is_best, v
    if is_best:
        lowest = (v["step"], v["val_loss"])
best = os.readlink(os.path.join(out, "best", "latest"))
assert best.endswith("step-%08d" % lowest[0]), (best, lowest)
print(f"{len(validations)} validations of {len(tracks)} whole tracks ({seconds:g} s); "
      f"best/ is step {lowest[0]}")
