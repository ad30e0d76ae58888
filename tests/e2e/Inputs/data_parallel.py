#!/usr/bin/env python3
"""Checks of data-parallel training (tests/e2e/data-parallel.test), in pure
Python (no numpy or safetensors package needed).

  data_parallel.py compare A.safetensors B.safetensors --tolerance T
                   [--noise-from OPTIMIZER.safetensors --noise R]
      every F32 tensor of A and B (same names and shapes) within T relative:
      ||a - b|| <= T ||b|| per tensor (a zero tensor must match exactly),
      leaving out the elements whose gradient RMS (the root of AdamW's
      second moment in OPTIMIZER) is below R x the tensor's largest
      (gradients that are rounding noise; at most --max-excluded of all
      elements)

  data_parallel.py compare-metrics A.jsonl B.jsonl --tolerance T
      the same steps, with losses and validation losses within T relative

  data_parallel.py signal --pid-dir D --rank R --signal KILL|STOP
                   --metrics M --after-step S --deadline SECONDS -- CMD...
      runs CMD (an mpirun whose ranks write D/pid.RANK), sends SIGNAL to
      rank R once M holds step S, and waits at most SECONDS for CMD to end;
      prints CMD's output, then `exit=<status> after=<seconds since the
      signal>`; fails when CMD is still running at the deadline (it is
      killed) or exits with status 0.
"""
import argparse
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time


def read_safetensors(path):
    data = open(path, "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (path, name, entry["dtype"])
        begin, end = entry["data_offsets"]
        count = (end - begin) // 4
        tensors[name] = (entry["shape"], struct.unpack("<%df" % count, body[begin:end]))
    return tensors


def compare(args):
    a, b = read_safetensors(args.a), read_safetensors(args.b)
    if sorted(a) != sorted(b):
        sys.exit("different tensors: %s vs %s" % (sorted(a), sorted(b)))
    moments = read_safetensors(args.noise_from) if args.noise_from else {}
    worst, worst_name, excluded, total = 0.0, None, 0, 0
    for name in sorted(a):
        shape_a, values_a = a[name]
        shape_b, values_b = b[name]
        if shape_a != shape_b:
            sys.exit("%s: shape %s vs %s" % (name, shape_a, shape_b))
        total += len(values_b)
        if "exp_avg_sq." + name in moments:
            # AdamW divides each element's step by that element's gradient
            # RMS, so an element whose gradient is rounding noise (a
            # mathematically zero gradient) takes full steps in a random
            # direction, whatever computes it: one process on 1 and on 2
            # threads differs there as much. Such elements (gradient RMS,
            # the root of the second moment, below noise x the tensor's
            # largest) are left out, and counted. Measured on tiny: noise
            # elements sit below 1e-5 of the largest, real ones above 0.1.
            rms = [math.sqrt(v) for v in moments["exp_avg_sq." + name][1]]
            floor = args.noise * max(rms)
            keep = [r > floor for r in rms]
            excluded += keep.count(False)
            values_a = [v for v, k in zip(values_a, keep) if k]
            values_b = [v for v, k in zip(values_b, keep) if k]
        diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(values_a, values_b)))
        norm = math.sqrt(sum(y * y for y in values_b))
        relative = diff / norm if norm > 0 else (0.0 if diff == 0 else math.inf)
        if relative > worst:
            worst, worst_name = relative, name
    print("largest relative difference %.3g (%s) over %d tensors" % (worst, worst_name, len(a)))
    if moments:
        print("left out %d of %d elements whose gradient is rounding noise" % (excluded, total))
        if excluded > args.max_excluded * total:
            sys.exit("%d of %d elements left out as noise: more than %g of them" % (excluded, total, args.max_excluded))
    if worst > args.tolerance:
        sys.exit("tensor %s differs by %.3g relative (tolerance %g)" % (worst_name, worst, args.tolerance))


def read_jsonl(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def compare_metrics(args):
    a, b = read_jsonl(args.a), read_jsonl(args.b)
    if len(a) != len(b):
        sys.exit("%d vs %d metrics lines" % (len(a), len(b)))
    worst = 0.0
    for x, y in zip(a, b):
        if x.get("type") != y.get("type") or x["step"] != y["step"]:
            sys.exit("different lines: %s vs %s" % (x, y))
        key = "val_loss" if x.get("type") == "validation" else "loss"
        relative = abs(x[key] - y[key]) / max(abs(y[key]), 1e-30)
        worst = max(worst, relative)
        if relative > args.tolerance:
            sys.exit("step %d: %s %r vs %r (tolerance %g)" % (x["step"], key, x[key], y[key], args.tolerance))
    validations = sum(1 for x in a if x.get("type") == "validation")
    print("%d steps, %d validations; largest relative loss difference %.3g" % (len(a) - validations, validations, worst))


def latest_step(path):
    try:
        steps = [json.loads(line).get("step", 0) for line in open(path) if line.strip()]
    except (OSError, ValueError):
        return 0
    return max(steps, default=0)


def signal_rank(args):
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pid_file = os.path.join(args.pid_dir, "pid.%d" % args.rank)
    start = time.time()
    while latest_step(args.metrics) < args.after_step:
        if process.poll() is not None:
            sys.stdout.write(process.stdout.read().decode())
            sys.exit("the run ended before step %d" % args.after_step)
        if time.time() - start > 600:
            process.kill()
            sys.exit("step %d did not come within 600 s" % args.after_step)
        time.sleep(0.05)
    pid = int(open(pid_file).read())
    os.kill(pid, getattr(signal, "SIG" + args.signal))
    signalled = time.time()
    try:
        output, _ = process.communicate(timeout=args.deadline)
    except subprocess.TimeoutExpired:
        process.kill()
        os.kill(pid, signal.SIGKILL)
        output, _ = process.communicate()
        sys.stdout.write(output.decode())
        sys.exit("the run was still running %g s after rank %d got SIG%s" % (args.deadline, args.rank, args.signal))
    after = time.time() - signalled
    sys.stdout.write(output.decode())
    print("exit=%d after=%.1f" % (process.returncode, after))
    if process.returncode == 0:
        sys.exit("the run exited with status 0 after rank %d got SIG%s" % (args.rank, args.signal))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command_name", required=True)
    p = commands.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tolerance", type=float, required=True)
    p.add_argument("--noise-from", help="an optimizer.safetensors whose exp_avg_sq marks noise elements")
    p.add_argument("--noise", type=float, default=1e-4)
    p.add_argument("--max-excluded", type=float, default=0.001)
    p.set_defaults(run=compare)
    p = commands.add_parser("compare-metrics")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tolerance", type=float, required=True)
    p.set_defaults(run=compare_metrics)
    p = commands.add_parser("signal")
    p.add_argument("--pid-dir", required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--signal", choices=["KILL", "STOP"], required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--after-step", type=int, required=True)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(run=signal_rank)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
