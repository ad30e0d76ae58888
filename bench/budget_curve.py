#!/usr/bin/python3
"""The memory/time frontier of one config (bench/budget-curve.sh), lococ's
budget search beside PyTorch's own knob.

lococ: the unconstrained plan, then plans fitted by --memory-budget to
budgets that keep a fraction of the unconstrained step's saved activations
(budget = arena - (1 - f) x activations_saved_for_backward, from its memory
report), and the smallest feasible budget lococ names. For each: the planned
arena and recompute_flops_ratio (the report's), the step time (locorun
--synthetic: the median of the 3 steps after the first) and the process's peak RSS
(--report-memory), and one step's gradients (locorun --one-step --dump,
dropout as the config says) against the unconstrained plan's.

PyTorch (bench/budget_torch.py under bench/.venv): torch.compile with
torch._functorch.config.activation_memory_budget at the same fractions, one
process each: the step after the compiling one, its time, the resident
memory it added at its peak (sampled), and its gradients against the
fraction-1.0 run's.

Prints one table and writes budget.json and budget.png (memory against step
time, both sides) to --out.

  /usr/bin/python3 bench/budget_curve.py CONFIG [--set k=v]... [--out DIR]
      [--fractions 1,0.75,0.5,0.35,0.25] [--no-torch]
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=None, help="default: BUILD/bench-budget")
    p.add_argument("--fractions", default="1,0.75,0.5,0.35,0.25")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--report-only", action="store_true",
                   help="reprint and replot OUT/budget.json")
    return p.parse_args()


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {name: np.frombuffer(data[i["data_offsets"][0]:i["data_offsets"][1]],
                                dtype=np.float32).reshape(i["shape"])
            for name, i in header.items() if name != "__metadata__"}


def gradient_gap(ours, reference):
    """The largest |difference| over every gradient, relative to the
    largest |gradient|."""
    worst = max(float(np.max(np.abs(ours[k] - reference[k]))) for k in reference)
    scale = max(float(np.max(np.abs(reference[k]))) for k in reference)
    return worst / scale if scale > 0 else worst


class Lococ:
    def __init__(self, args, out):
        self.args, self.out = args, out
        self.lococ = os.path.join(args.build, "bin", "lococ")
        self.locorun = os.path.join(args.build, "bin", "locorun")
        self.sets = [x for kv in args.set for x in ("--set", kv)]
        self.env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

    def compile(self, name, budget=None):
        """The plan's memory report; None when lococ finds the budget
        infeasible (its error names the smallest feasible one)."""
        report = os.path.join(self.out, name + ".json")
        cmd = [self.lococ, self.args.config, *self.sets, "--memory-report-json", report,
               "-o", os.path.join(self.out, name + ".so")]
        if budget is not None:
            cmd += ["--memory-budget", str(budget)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            return None, run.stderr
        return json.load(open(report)), ""

    def floor(self):
        """The smallest feasible budget lococ's search finds, in bytes."""
        _, error = self.compile("floor-probe", 1 << 20)
        found = re.search(r"smallest feasible budget found is [^(]*\((\d+) bytes\)", error)
        if not found:
            raise SystemExit("lococ did not name the smallest feasible budget:\n" + error)
        return int(found.group(1))

    def measure(self, name):
        so = os.path.join(self.out, name + ".so")
        metrics = os.path.join(self.out, name + ".jsonl")
        run = subprocess.run([self.locorun, so, "--device", "cpu", "--synthetic", "--steps", "4",
                              "--metrics", metrics, "--report-memory"],
                             capture_output=True, text=True, env=self.env, check=True)
        steps = [json.loads(l) for l in open(metrics) if '"type"' not in l]
        memory = next(l for l in run.stderr.splitlines() if l.startswith("memory:"))
        peak = int(re.search(r"peak RSS (\d+) MiB", memory).group(1)) << 20
        dump = os.path.join(self.out, name + "-dump")
        subprocess.run([self.locorun, so, "--device", "cpu", "--one-step", "--dump", dump],
                       capture_output=True, env=self.env, check=True)
        # The median of the three steps after the first (warm FFT plans,
        # thread pools and page faults).
        seconds = float(np.median([b["seconds"] - a["seconds"] for a, b in zip(steps, steps[1:])]))
        return {"seconds": seconds, "peak_rss": peak,
                "grads": read_safetensors(os.path.join(dump, "grads.safetensors"))}


def run_lococ(args, out, fractions):
    side = Lococ(args, out)
    plain, error = side.compile("plain")
    if plain is None:
        raise SystemExit(error)
    saved = plain["breakdown"]["activations_saved_for_backward"]
    floor = side.floor()
    points = [("unconstrained", None, 1.0)]
    for f in fractions:
        budget = plain["arena_bytes"] - int((1 - f) * saved)
        if f < 1 and budget > floor:
            points.append((f"f{f:g}", budget, f))
    points.append(("floor", floor, None))
    rows, reference = [], None
    for name, budget, fraction in points:
        report, error = side.compile(name, budget)
        if report is None:
            rows.append({"plan": name, "budget": budget, "error": error.strip()})
            continue
        measured = side.measure(name)
        grads = measured.pop("grads")
        if reference is None:
            reference = grads
        rows.append({"plan": name, "fraction": fraction, "budget": budget,
                     "arena": report["arena_bytes"],
                     "recompute_flops_ratio": report["recompute_flops_ratio"],
                     "gradient_gap": gradient_gap(grads, reference), **measured})
        print(f"lococ {name}: arena {report['arena_bytes'] / 2**20:.0f} MiB, "
              f"{measured['seconds']:.2f} s", file=sys.stderr, flush=True)
    return {"saved_activations": saved, "floor": floor, "rows": rows}


def run_torch(args, out, fractions):
    rows, reference = [], None
    for f in sorted(set([1.0] + fractions), reverse=True):
        grads = os.path.join(out, f"torch-f{f:g}.npz")
        run = subprocess.run([args.torch_python, os.path.join(HERE, "budget_torch.py"),
                              args.config, *[x for kv in args.set for x in ("--set", kv)],
                              "--fraction", str(f), "--out", grads,
                              "--threads", str(args.threads)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            why = (f"killed by signal {-run.returncode}" +
                   (" (the out-of-memory killer's, on this machine)" if run.returncode == -9
                    else "") if run.returncode < 0
                   else (run.stderr.strip().splitlines() or ["no message"])[-1])
            rows.append({"fraction": f, "error": why})
            print(f"torch f={f:g}: {why}", file=sys.stderr, flush=True)
            continue
        row = json.loads(run.stdout.strip().splitlines()[-1])
        g = dict(np.load(grads))
        if reference is None:
            reference = g
        row["gradient_gap"] = gradient_gap(g, reference)
        row["activation_peak"] = row["step_peak"] - row["rss_before"]
        rows.append(row)
        print(f"torch f={f:g}: {row['seconds']:.2f} s, step peak "
              f"{row['activation_peak'] / 2**20:.0f} MiB above its start",
              file=sys.stderr, flush=True)
    return {"rows": rows}


def table(doc):
    mib = lambda b: f"{b / 2**20:.0f} MiB"
    lines = [f"lococ (planned arena; peak RSS of the process; step on {doc['threads']} threads)",
             f"{'plan':<14}{'budget':>12}{'arena':>12}{'peak RSS':>12}{'step':>9}{'time':>8}"
             f"{'recompute':>11}{'grad gap':>10}"]
    base = next(r for r in doc["lococ"]["rows"] if r["plan"] == "unconstrained")
    for r in doc["lococ"]["rows"]:
        if "error" in r:
            lines.append(f"{r['plan']:<14}{mib(r['budget']):>12}  refused: {r['error'][:60]}")
            continue
        lines.append(f"{r['plan']:<14}{(mib(r['budget']) if r['budget'] else '-'):>12}"
                     f"{mib(r['arena']):>12}{mib(r['peak_rss']):>12}{r['seconds']:>8.2f}s"
                     f"{r['seconds'] / base['seconds']:>7.2f}x{r['recompute_flops_ratio']:>11.3f}"
                     f"{r['gradient_gap']:>10.1e}")
    lines.extend(verdicts(doc))
    ran = [r for r in doc.get("torch", {}).get("rows", []) if "error" not in r]
    if doc.get("torch"):
        version = ran[0]["torch"] if ran else ""
        lines.append(f"PyTorch {version} torch.compile, activation_memory_budget (memory the "
                     "step added at its peak; time and gradients against the largest fraction "
                     "that ran)")
        lines.append(f"{'fraction':<14}{'step peak':>12}{'process':>12}{'step':>9}{'time':>8}"
                     f"{'grad gap':>10}")
        tb = ran[0] if ran else None
        for r in doc["torch"]["rows"]:
            if "error" in r:
                lines.append(f"{r['fraction']:<14g}  failed: {r['error']}")
                continue
            ratio = r["seconds"] / tb["seconds"] if tb else float("nan")
            lines.append(f"{r['fraction']:<14g}{mib(r['activation_peak']):>12}"
                         f"{mib(r['process_peak']):>12}{r['seconds']:>8.2f}s{ratio:>7.2f}x"
                         f"{r['gradient_gap']:>10.1e}")
    return "\n".join(lines)


def verdicts(doc):
    """issue 38's targets for lococ's curve, each with its figure."""
    rows = [r for r in doc["lococ"]["rows"] if "error" not in r]
    base = next(r for r in rows if r["plan"] == "unconstrained")
    lines = []
    for fraction, allowed in ((0.5, 0.05), (0.25, 0.15)):
        r = next((r for r in rows if r.get("fraction") == fraction), None)
        if r is None:
            lines.append(f"n/a     step time at {fraction:g} of the saved activations: no such plan")
            continue
        over = r["seconds"] / base["seconds"] - 1
        lines.append(("met    " if over <= allowed else "NOT MET") +
                     f" step time at {fraction:g} of the saved activations: {over:+.1%} "
                     f"(at most {allowed:+.0%})")
    # Recomputation and row chunks replay the same arithmetic, but chunked
    # sums add in another order: 1e-5 of the largest gradient.
    gap = max(r["gradient_gap"] for r in rows)
    lines.append(("met    " if gap <= 1e-5 else "NOT MET") +
                 f" gradients of every plan within {gap:.1e} of the unconstrained step's "
                 "(relative to the largest gradient; 1e-5 allowed), dropout as configured")
    extra = [(r["peak_rss"] - r["arena"]) / 2**20 for r in rows]
    lines.append(f"info    peak RSS less the planned arena: {min(extra):.0f} to {max(extra):.0f} "
                 "MiB over the plans (the runtime, its libraries and the batch)")
    arenas = [r["arena"] for r in rows]
    lines.append(("met    " if all(a >= b for a, b in zip(arenas, arenas[1:])) else "NOT MET") +
                 " planned arena monotonic in the budget")
    return lines


def plot(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = [r for r in doc["lococ"]["rows"] if "error" not in r]
    ax.plot([r["seconds"] for r in rows], [r["arena"] / 2**20 for r in rows], "o-",
            label="lococ: planned arena")
    for r in rows:
        ax.annotate(r["plan"], (r["seconds"], r["arena"] / 2**20), fontsize=7,
                    textcoords="offset points", xytext=(4, 4))
    if doc.get("torch"):
        trows = [r for r in doc["torch"]["rows"] if "error" not in r]
        ax.plot([r["seconds"] for r in trows], [r["activation_peak"] / 2**20 for r in trows],
                "s--", label="PyTorch torch.compile: memory the step added")
        for r in trows:
            ax.annotate(f"{r['fraction']:g}", (r["seconds"], r["activation_peak"] / 2**20),
                        fontsize=7, textcoords="offset points", xytext=(4, -10))
    ax.set_xlabel("step time (s)")
    ax.set_ylabel("memory (MiB)")
    ax.set_title(f"{doc['config']}: memory against step time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    args = parse_args()
    out = args.out or os.path.join(args.build, "bench-budget")
    os.makedirs(out, exist_ok=True)
    fractions = [float(f) for f in args.fractions.split(",")]
    if args.report_only:
        report(json.load(open(os.path.join(out, "budget.json"))), out)
        return
    doc = {"config": os.path.relpath(os.path.abspath(args.config), ROOT), "sets": args.set,
           "threads": args.threads, "lococ": run_lococ(args, out, fractions)}
    if not args.no_torch:
        doc["torch"] = run_torch(args, out, fractions)
    json.dump(doc, open(os.path.join(out, "budget.json"), "w"), indent=1)
    report(doc, out)


def report(doc, out):
    print(f"bench/budget-curve.sh: {doc['config']} {' '.join(doc['sets'])}")
    print(table(doc))
    try:
        plot(doc, os.path.join(out, "budget.png"))
        print(f"wrote {os.path.join(out, 'budget.png')} and budget.json")
    except ImportError:
        print("no plot: matplotlib is missing (apt-get install python3-matplotlib)")


if __name__ == "__main__":
    main()
