"""Checks a `lococ --memory-report-json` plan against a budget and a bound on
its recomputation; prints the figures."""

import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--budget-gib", type=float, required=True)
    parser.add_argument("--max-recompute-ratio", type=float, required=True)
    parser.add_argument("--micro-batches", type=int, required=True,
                        help="micro-steps per optimizer step (the config's "
                        "batch reached by accumulation)")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    total = report["device_total_bytes"]
    ratio = report["recompute_flops_ratio"]
    decisions = report["decisions"]
    budget = int(args.budget_gib * 2**30)
    print(f"device total {total} bytes ({total / 2**30:.2f} GiB) of "
          f"{budget}; recompute_flops_ratio {ratio:.4f}; micro-batch "
          f"{decisions['micro_batch']} x {decisions['micro_batches']}")
    failures = []
    if total > budget:
        failures.append(f"device total {total} exceeds the budget {budget}")
    if ratio > args.max_recompute_ratio:
        failures.append(f"recompute_flops_ratio {ratio} exceeds "
                        f"{args.max_recompute_ratio}")
    if decisions["micro_batches"] != args.micro_batches:
        failures.append(f"{decisions['micro_batches']} micro-steps, not "
                        f"{args.micro_batches}")
    for failure in failures:
        print("error:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
