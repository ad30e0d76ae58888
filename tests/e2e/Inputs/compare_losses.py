"""Compares the step losses of two locorun --metrics files: --same wants
them equal step for step (bit for bit, as JSON prints them), --differ wants
every step's loss to differ, --within R wants them within R of each other,
relative."""
import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("a")
parser.add_argument("b")
mode = parser.add_mutually_exclusive_group(required=True)
mode.add_argument("--same", action="store_true")
mode.add_argument("--differ", action="store_true")
mode.add_argument("--within", type=float)
args = parser.parse_args()


def losses(path):
    return [line["loss"] for line in map(json.loads, open(path)) if "type" not in line]


a, b = losses(args.a), losses(args.b)
if len(a) != len(b) or not a:
    sys.exit(f"{len(a)} and {len(b)} steps")
for step, (x, y) in enumerate(zip(a, b), 1):
    if args.same and x != y:
        sys.exit(f"step {step}: loss {x} != {y}")
    if args.differ and x == y:
        sys.exit(f"step {step}: loss {x} in both runs")
    if args.within is not None and abs(x - y) > args.within * abs(y):
        sys.exit(f"step {step}: loss {x} and {y} differ by more than "
                 f"{args.within} relative")
verdict = ("the same" if args.same else "all different" if args.differ
           else f"within {args.within} relative")
print(f"{len(a)} steps: {verdict}")
