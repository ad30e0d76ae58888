"""Checks a lococ --memory-report-json file (and optionally a --trace file):
the required keys, a breakdown that adds up to the arena, the largest
buffers sorted, and arena <= --max-ratio x lower bound."""
import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("report")
parser.add_argument("--max-ratio", type=float, required=True)
parser.add_argument("--trace")
args = parser.parse_args()

report = json.load(open(args.report))
for key in ("arena_bytes", "workspace_bytes", "lower_bound_bytes", "breakdown", "largest"):
    if key not in report:
        sys.exit(f"missing key '{key}'")
parts = report["breakdown"]
for key in ("parameters", "inputs", "gradients", "optimizer", "workspace",
            "activations_saved_for_backward", "temporaries", "fragmentation"):
    if key not in parts:
        sys.exit(f"breakdown lacks '{key}'")
if sum(parts.values()) != report["arena_bytes"]:
    sys.exit(f"breakdown sums to {sum(parts.values())}, arena is {report['arena_bytes']}")
sizes = [b["bytes"] for b in report["largest"]]
if not sizes or sizes != sorted(sizes, reverse=True) or len(sizes) > 10:
    sys.exit("largest buffers are not the ten largest, sorted")
if not all(b["op"].startswith("loco.") and b["location"] for b in report["largest"]):
    sys.exit("a largest buffer lacks its op or config location")
ratio = report["arena_bytes"] / report["lower_bound_bytes"]
print(f"arena {report['arena_bytes']} bytes, lower bound {report['lower_bound_bytes']}, ratio {ratio:.4f}")
if ratio > args.max_ratio:
    sys.exit(f"arena / lower bound = {ratio:.4f} > {args.max_ratio}")

if args.trace:
    trace = json.load(open(args.trace))
    events = trace["traceEvents"]
    slices = [e for e in events if e.get("ph") == "X"]
    counters = [e for e in events if e.get("ph") == "C"]
    if not slices or not counters:
        sys.exit("the trace needs kernel slices and a live-bytes counter")
    for e in slices:
        if not (e["name"].startswith("loco.") or e["name"] == "func.return"):
            sys.exit(f"unexpected slice {e['name']}")
        if e["dur"] <= 0 or e["ts"] < 0:
            sys.exit(f"bad timing in {e}")
    if max(c["args"]["bytes"] for c in counters) + report["lower_bound_bytes"] < 0:
        sys.exit("bad counter")
    print(f"trace: {len(slices)} kernel slices, {len(counters)} counter samples")
