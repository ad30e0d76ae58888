"""Checks of tests/e2e/separate.test.

  plan TRAIN.json SEP.json --max-fraction F
      the separation plan of `lococ --mode separate` (SEP) and the inference
      plan the training report shows (TRAIN) are forward-only and below F x
      the training arena.
  stems OUT_DIR DATA_DIR
      every test track's mixture has one stem per source in OUT_DIR/<track>/,
      WAV, of the mixture's rate, channels and length.
  same A.json B.json
      two `locorun evaluate --json` reports hold the same scores (1e-6 dB).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "bench"))
import wavfile  # noqa: E402


def plan(train_path, sep_path, fraction):
    train, sep = json.load(open(train_path)), json.load(open(sep_path))
    assert train["step"] == "train_step" and sep["step"] == "separate_step"
    for report in (sep,):
        for part in ("gradients", "optimizer", "activations_saved_for_backward"):
            assert report["breakdown"][part] == 0, f"{part} in a forward-only plan"
    limit = fraction * train["arena_bytes"]
    for name, arena in (("--mode separate", sep["arena_bytes"]),
                        ("report's inference plan", train["inference"]["arena_bytes"])):
        print(f"{name}: {arena} bytes, training arena {train['arena_bytes']}")
        assert arena < limit, f"{name} arena {arena} >= {fraction} x training"


def stems(out, data):
    tracks = sorted(os.listdir(os.path.join(data, "test")))
    for track in tracks:
        mixture = wavfile.info(os.path.join(data, "test", track, "mixture.wav"))
        for source in ("vocals", "drums", "bass", "other"):
            info = wavfile.info(os.path.join(out, track, source + ".wav"))
            assert info == mixture, f"{track}/{source}: {info} vs mixture {mixture}"
    print(f"{len(tracks)} tracks, 4 stems each, as their mixtures")


def same(a_path, b_path):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    pairs = 0
    for ta, tb in zip(a["tracks"], b["tracks"], strict=True):
        for source, sa in ta["sources"].items():
            sb = tb["sources"][source]
            for key in ("SDR", "ISR", "SIR", "SAR", "SI-SDR", "uSDR"):
                x, y = sa[key], sb[key]
                # OpenBLAS's threaded LU solve varies in its last bits from
                # run to run: ISR, SIR and SAR to ~1e-8 dB.
                assert (x is None) == (y is None) and (x is None or abs(x - y) < 1e-6), \
                    f"{ta['name']}/{source} {key}: {x} vs {y}"
                pairs += 1
    print(f"{pairs} scores agree")


command = sys.argv[1]
if command == "plan":
    plan(sys.argv[2], sys.argv[3], float(sys.argv[5]))
elif command == "stems":
    stems(sys.argv[2], sys.argv[3])
elif command == "same":
    same(sys.argv[2], sys.argv[3])
else:
    sys.exit(f"unknown check {command}")
