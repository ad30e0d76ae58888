#!/usr/bin/env python3
"""lococ's mixed-precision step against PyTorch under the same policy.

For each golden set and low type: lococ compiles the set's config with
training.use_amp (loco-autocast), locorun runs one step on the golden
weights and inputs, and bench/torch_reference.py runs the same step in a
modern PyTorch with the policy written as explicit casts (--policy). The
total losses must agree within 1e-2 relative: both round the same values
to the same type at the same places, but accumulate in different orders
(oneDNN or OpenBLAS here, MKL/oneDNN there), and one bf16 rounding is
2^-9 relative; measured differences are printed (about 1e-3 or less).
Gradient cosines against the reference are printed, not bounded (the
fp32-golden bound is AmpParityTest's).

Needs bench/.venv (bench/venv.sh): exits 77 (skipped) without it.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read_floats(path):
    import array
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        values = array.array("f")
        values.frombytes(data[begin:end])
        out[name] = values
    return out


def cosine(x, y):
    dot = sum(a * b for a, b in zip(x, y))
    nx = math.sqrt(sum(a * a for a in x))
    ny = math.sqrt(sum(b * b for b in y))
    return dot / max(nx * ny, 1e-300)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lococ", required=True)
    parser.add_argument("--locorun", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--python", default=os.path.join(ROOT, "bench", ".venv", "bin", "python"))
    args = parser.parse_args()
    if not os.path.exists(args.python):
        print(f"skipped: {args.python} is missing; run bench/venv.sh to make it")
        return 77
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for name, dtype, policy in [("tiny", "bfloat16", "bf16"), ("small_16k", "bfloat16", "bf16"),
                                ("tiny", "float16", "f16")]:
        golden = os.path.join(ROOT, "tests", "data", "golden", name)
        work = os.path.join(args.work, f"{name}_{policy}")
        os.makedirs(work, exist_ok=True)
        overrides = json.load(open(os.path.join(golden, "loss.json")))["overrides"]
        sets = ["--set", "training.gradient_accumulation_steps=1", "--set", "training.use_amp=true",
                "--set", f"training.amp_dtype={dtype}"]
        for key, value in overrides.items():
            sets += ["--set", f"{key}={json.dumps(value)}"]
        subprocess.run([args.lococ, os.path.join(golden, "config.yaml"), *sets, "-o",
                        os.path.join(work, "train.so")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.locorun, os.path.join(work, "train.so"), "--device", "cpu", "--init",
                        os.path.join(golden, "weights.safetensors"), "--batch",
                        os.path.join(golden, "inputs.safetensors"), "--dump",
                        os.path.join(work, "out")], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        ref_json = os.path.join(work, "reference.json")
        subprocess.run([args.python, os.path.join(ROOT, "bench", "torch_reference.py"), "--check",
                        golden, "--policy", policy, "--step-json", ref_json], check=True,
                       stderr=subprocess.DEVNULL)
        ours = json.load(open(os.path.join(work, "out", "loss.json")))
        ref = json.load(open(ref_json))
        rel = abs(ours["total_loss"] - ref["total_loss"]) / abs(ref["total_loss"])
        grads = read_floats(os.path.join(work, "out", "grads.safetensors"))
        worst = min(cosine(grads[n], ref["grads"][n]) for n in ref["grads"])
        ok = rel <= 1e-2
        failures += not ok
        print(f"[ measured ] {name} {policy}: total loss {ours['total_loss']:.6f} vs torch "
              f"{ref['total_loss']:.6f} (rel {rel:.2e}, bound 1e-2); worst gradient cosine "
              f"{worst:.6f} {'ok' if ok else 'FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
