#!/usr/bin/env python3
"""Checks a `locorun --profile` trace against the train.so's LLVM IR.

  check_profile.py TRACE.json TRAIN.ll --steps N --tolerance 0.05

- The kernel calls of each entry point are counted in the IR (`call void
  @loco_*` in its function and its `.partK` pieces: every runtime kernel;
  the train.so's own hooks and loco_context_rng_replica are not `void
  @loco_` calls), independently of the manifest the profiler reads.
- Every step slice (one call of an entry point, its wall time measured by
  locorun around the call and its synchronisation) holds exactly that many
  kernel slices, and their durations add up to its wall time within the
  tolerance.
- There are N training steps (N loco_train_step and N loco_optimizer_step
  slices).
"""
import argparse
import collections
import json
import re
import sys


def calls_per_entry(ir_path):
    counts = collections.Counter()
    current = None
    for line in open(ir_path):
        match = re.match(r"define (?:internal )?void @([\w.]+)\(", line)
        if match:
            current = match.group(1).split(".part")[0]
            continue
        if line.startswith("}"):
            current = None
        elif current and re.search(r"call void @loco_\w+\(", line):
            counts[current] += 1
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("ir")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--tolerance", type=float, required=True)
    args = parser.parse_args()
    expected = calls_per_entry(args.ir)
    events = json.load(open(args.trace))["traceEvents"]
    steps = [e for e in events if e["cat"] == "step"]
    kernels = sorted((e for e in events if e["cat"] == "kernel"), key=lambda e: e["ts"])
    per_entry = collections.Counter(s["name"] for s in steps)
    if per_entry["loco_train_step"] != args.steps or per_entry["loco_optimizer_step"] != args.steps:
        sys.exit("step slices: %s, expected %d of each" % (dict(per_entry), args.steps))
    worst = 0.0
    for step in steps:
        begin, end = step["ts"], step["ts"] + step["dur"]
        inside = [k for k in kernels if k["args"]["entry"] == step["name"] and begin - 1 <= k["ts"] <= end + 1]
        calls = len(inside)
        if calls != expected[step["name"]]:
            sys.exit("%s at %.0f us: %d kernel slices, and its IR makes %d kernel calls" % (step["name"], begin, calls, expected[step["name"]]))
        total = sum(k["dur"] for k in inside)
        gap = abs(step["dur"] - total) / step["dur"]
        worst = max(worst, gap)
        if gap > args.tolerance:
            sys.exit("%s at %.0f us: kernels %.1f us of %.1f us wall (%.2f%% apart; tolerance %g)" % (step["name"], begin, total, step["dur"], 100 * gap, args.tolerance))
    print("%d step slices; kernel calls per entry %s as the IR's; kernel times within %.2f%% of each step's wall time" % (len(steps), dict((k, expected[k]) for k in per_entry), 100 * worst))


if __name__ == "__main__":
    main()
