"""Compiles a config under several --memory-budget values with lococ and
checks the budget search: every plan's arena fits its budget, the JSON
report carries the decisions and recompute_flops_ratio >= 1; then an
infeasible budget fails naming the smallest feasible budget found, and
compiling at exactly that budget succeeds."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def parse_size(text):
    match = re.fullmatch(r"([0-9.]+)(KiB|MiB|GiB)?", text)
    return int(float(match.group(1)) * UNITS.get(match.group(2), 1))


parser = argparse.ArgumentParser()
parser.add_argument("config")
parser.add_argument("--budgets", nargs="+", required=True)
parser.add_argument("--infeasible", required=True)
parser.add_argument("--set", action="append", default=[])
args = parser.parse_args()
sets = [arg for s in args.set for arg in ("--set", s)]

work = tempfile.mkdtemp()
for budget in args.budgets:
    report_path = os.path.join(work, "report.json")
    subprocess.run(["lococ", args.config, *sets, "--memory-budget", budget,
                    "--memory-report-json", report_path], check=True)
    report = json.load(open(report_path))
    arena, decisions = report["arena_bytes"], report["decisions"]
    ratio = report["recompute_flops_ratio"]
    print(f"budget {budget}: arena {arena} bytes, micro-batch "
          f"{decisions['micro_batch']}/{decisions['config_batch_size']}, "
          f"chunks {sorted({r['chunks'] for r in decisions['row_chunks']})}, "
          f"checkpoint every {decisions['checkpoint_every_regions']} region(s), "
          f"recompute_flops_ratio {ratio:.3f}")
    if arena > parse_size(budget):
        sys.exit(f"arena {arena} exceeds the budget {budget}")
    if ratio < 1.0 or decisions["micro_batch"] < 1:
        sys.exit(f"implausible decisions {decisions}")

result = subprocess.run(["lococ", args.config, *sets, "--memory-budget",
                         args.infeasible, "-o", os.path.join(work, "x.so")],
                        capture_output=True, text=True)
print(result.stderr.strip())
match = re.search(r"the smallest feasible budget found is .* \(([0-9]+) bytes\)",
                  result.stderr)
if result.returncode == 0 or not match:
    sys.exit("an infeasible budget must fail and name the smallest feasible one")
if os.path.exists(os.path.join(work, "x.so")):
    sys.exit("a failed compile wrote its output")
smallest = match.group(1)
report_path = os.path.join(work, "smallest.json")
subprocess.run(["lococ", args.config, *sets, "--memory-budget", smallest,
                "--memory-report-json", report_path], check=True)
arena = json.load(open(report_path))["arena_bytes"]
print(f"at the named budget of {smallest} bytes: arena {arena} bytes")
if arena > int(smallest):
    sys.exit("the named smallest budget does not fit")
