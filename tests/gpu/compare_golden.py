#!/usr/bin/env python3
"""Golden parity of a locorun --dump against an upstream golden set, with
the tolerances of tests/unit/GoldenParityTest.cpp (which runs on the CPU):
estimates and every gradient within 1e-4 of each tensor's largest
magnitude; losses and the gradient norm within 1e-4 relative; the weights
after clip + AdamW within 1.01 lr everywhere and 0.01 lr for all but
max(5, n / 10000) elements (see that test for why). A second dump (the same
train.so on the CPU backend) is compared too, for information.

    compare_golden.py GOLDEN_DIR DUMP_DIR [CPU_DUMP_DIR]

Reads safetensors with numpy alone (the device machine has no safetensors
package). Exit status 1 when a tolerance is exceeded."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
    return tensors


def rel_to_max(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    ref = np.abs(y).max()
    diff = np.abs(x - y).max()
    return diff / ref if ref > 0 else diff


def main():
    golden, dump = sys.argv[1], sys.argv[2]
    cpu = sys.argv[3] if len(sys.argv) > 3 else None
    failures = []

    def check(what, value, tolerance):
        print("  %-40s %.3e (tolerance %.0e)" % (what, value, tolerance))
        if not value <= tolerance:
            failures.append(what)

    ours, theirs = load(dump + "/outputs.safetensors"), load(golden + "/outputs.safetensors")
    for source in ("vocals", "drums", "bass", "other"):
        check("estimate " + source, rel_to_max(ours[source], theirs[source]), 1e-4)
    grads, ref = load(dump + "/grads.safetensors"), load(golden + "/grads.safetensors")
    assert set(grads) == set(ref), "gradient names differ"
    worst = max((rel_to_max(grads[n], ref[n]), n) for n in ref)
    check("gradients (worst: %s)" % worst[1], worst[0], 1e-4)

    loss = json.load(open(dump + "/loss.json"))
    gold = json.load(open(golden + "/loss.json"))
    def rel(a, b):
        return abs(a - b) / max(abs(b), 1e-12)
    check("total_loss", rel(loss["total_loss"], gold["total_loss"]), 1e-4)
    check("grad_norm_before_clip",
          rel(loss["grad_norm_before_clip"], gold["grad_norm_before_clip"]), 1e-4)
    check("loss components (worst)",
          max(rel(loss["components"][k], v) for k, v in gold["components"].items()), 1e-4)

    lr = gold["optimizer"]["lr"]
    after = load(dump + "/weights_after_step.safetensors")
    gold_after = load(golden + "/weights_after_step.safetensors")
    steps = np.concatenate([np.abs(after[n].astype(np.float64) - gold_after[n]).ravel() / lr
                            for n in gold_after])
    check("weights after AdamW, worst (lr)", steps.max(), 1.01)
    loose = int((steps > 0.01).sum())
    check("elements beyond 0.01 lr", loose, max(5, steps.size // 10000))

    if cpu:
        c_out, c_grads = load(cpu + "/outputs.safetensors"), load(cpu + "/grads.safetensors")
        est = max(rel_to_max(ours[s], c_out[s]) for s in ("vocals", "drums", "bass", "other"))
        grd = max(rel_to_max(grads[n], c_grads[n]) for n in c_grads)
        print("  cuda vs cpu (same train.so): estimates %.3e, gradients %.3e" % (est, grd))

    print("golden parity: %s" % ("FAIL: " + ", ".join(failures) if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
