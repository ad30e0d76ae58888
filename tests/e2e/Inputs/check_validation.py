"""Checks of tests/e2e/validation.test: every validation covered every test
track of DATA in full (their count and total seconds), and OUT/best holds
the checkpoint of the lowest validation loss, `"best": true` marking each
new lowest.

  check_validation.py METRICS.jsonl DATA_DIR OUT_DIR --rate R
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "bench"))
import wavfile  # noqa: E402

metrics, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
rate = int(sys.argv[sys.argv.index("--rate") + 1])


tracks = sorted(os.listdir(os.path.join(data, "test")))
seconds = sum(wavfile.info(os.path.join(data, "test", t, "mixture.wav"))[2]
              for t in tracks) / rate
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
