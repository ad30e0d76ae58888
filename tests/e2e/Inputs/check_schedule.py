"""Checks the learning-rate schedule in a locorun --metrics file: a linear
warmup from `--start` to `--base` over `--warmup` steps, then the base rate
scaled by powers of `--factor` (ReduceLROnPlateau), never increasing."""
import argparse
import json
import math
import sys

parser = argparse.ArgumentParser()
parser.add_argument("metrics")
parser.add_argument("--start", type=float, required=True)
parser.add_argument("--base", type=float, required=True)
parser.add_argument("--warmup", type=int, required=True)
parser.add_argument("--factor", type=float, required=True)
args = parser.parse_args()

steps = [json.loads(l) for l in open(args.metrics)]
steps = [s for s in steps if s.get("type") != "validation"]
for s in steps[: args.warmup]:
    want = args.start + (args.base - args.start) * s["step"] / args.warmup
    if not math.isclose(s["lr"], want, rel_tol=1e-9):
        sys.exit(f"warmup step {s['step']}: lr {s['lr']}, expected {want}")
previous = args.base
reduced = False
for s in steps[args.warmup :]:
    k = math.log(s["lr"] / args.base) / math.log(args.factor)
    if abs(k - round(k)) > 1e-6 or s["lr"] > previous * (1 + 1e-12):
        sys.exit(f"step {s['step']}: lr {s['lr']} is not base x factor^k, or rose")
    reduced |= s["lr"] < args.base
    previous = s["lr"]
print("warmup linear; plateau reductions:", "yes" if reduced else "none")
