"""Checks a locorun --metrics file: every step line has step, loss, lr and
grad_norm, steps are consecutive, and the mean loss of the last five steps
is below `--drop` times that of the first five."""
import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("metrics")
parser.add_argument("--drop", type=float, required=True)
parser.add_argument("--steps", type=int, required=True)
args = parser.parse_args()

lines = [json.loads(line) for line in open(args.metrics)]
steps = [line for line in lines if line.get("type") != "validation"]
for line in steps:
    for key in ("step", "loss", "lr", "grad_norm"):
        if key not in line:
            sys.exit(f"a step line lacks '{key}': {line}")
if [line["step"] for line in steps] != list(range(1, args.steps + 1)):
    sys.exit(f"steps are not 1..{args.steps}: {[line['step'] for line in steps]}")
first = sum(line["loss"] for line in steps[:5]) / 5
last = sum(line["loss"] for line in steps[-5:]) / 5
print(f"mean loss of the first five steps {first:.3f}, of the last five {last:.3f}")
if not last < args.drop * first:
    sys.exit(f"the loss did not fall below {args.drop} x its start")
if not any(line.get("type") == "validation" for line in lines):
    sys.exit("no validation line")
