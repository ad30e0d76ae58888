#!/usr/bin/env bash
# Times training steps of lococ and of the eager PyTorch reference
# (bench/torch_reference.py) on the same config, alternating the two, and
# prints one table: median, min and max step time, peak memory (CPU: each
# process's peak RSS; GPU: torch.cuda.max_memory_allocated and lococ's device
# peak), the planned arena, and the ratios lococ / reference. It ends with
# `time_ratio: X` and `memory_ratio: Y` (and, with --memory-budget,
# `time_ratio_budget:` and `memory_ratio_budget:`).
#
#   bench/step.sh CONFIG_NAME [--set key=value]... [--runs N] [--variant V]
#                 [--threads T] [--python PY] [--precision fp32|bf16]
#                 [--memory-budget SIZE] [--lococ-opt OPT]...
#
# The reference is a modern PyTorch (2.x from PyPI, eager, attention by
# SDPA): bench/.venv, which bench/venv.sh makes. --python /usr/bin/python3
# runs Debian's torch 1.13 instead (no SDPA: --variant rowchunk is its
# default). The table names the torch that ran.
#
# --precision: fp32 compiles with training.use_amp=false and runs the
# reference in fp32; bf16 compiles with the configs' bf16 AMP
# (loco-autocast) and runs the reference under the same policy by explicit
# casts (torch_reference.py --policy bf16). Default: fp32.
#
# --memory-budget SIZE adds a second lococ plan, fitted to SIZE by lococ's
# budget search, to the same runs and table (its own time_ratio_budget: and
# memory_ratio_budget: lines). --lococ-opt passes an option to every lococ
# compile (for example --lococ-opt --row-chunks=4).
#
# CONFIG_NAME is a name in configs/ (musdb18_small) or a path. Each run is
# one process per plan doing a warm-up step and a measured step (FFT plans,
# thread pools and allocator caches are warm for the measured one), the
# plans and the reference alternating. Both sides use T threads (2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"; shift
config="$name"
[ -f "$config" ] || config="$root/configs/$name.yaml"
sets=(); runs=3; variant=""; threads=2; python="$root/bench/.venv/bin/python"; device=cpu
precision=fp32; budget=""; lococ_opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --set) sets+=(--set "$2"); shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --variant) variant="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --memory-budget) budget="$2"; shift 2 ;;
    --lococ-opt) lococ_opts+=("$2"); shift 2 ;;
    *) echo "step.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ ! -x "$python" ]; then
  echo "step.sh: no $python; make it with bench/venv.sh (or --python /usr/bin/python3 for Debian's torch)" >&2
  exit 2
fi
torch_version="$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null)" || {
  echo "step.sh: $python has no torch" >&2; exit 2; }
if [ -z "$variant" ]; then
  # SDPA where the torch has it (2.x), else attention over row chunks: plain
  # eager attention of 1.13 does not fit musdb18_small's 2 s segment.
  if "$python" -c 'import torch.nn.functional as F; assert hasattr(F, "scaled_dot_product_attention")' 2>/dev/null; then
    variant=eager
  else
    variant=rowchunk
  fi
fi
case "$precision" in
  fp32) sets+=(--set training.use_amp=false); policy=() ;;
  bf16) sets+=(--set training.use_amp=true --set training.amp_dtype=bfloat16)
        policy=(--policy bf16) ;;
  *) echo "step.sh: --precision is fp32 or bf16, got $precision" >&2; exit 2 ;;
esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

plans=(plain)
"$root/build/bin/lococ" "$config" "${sets[@]}" "${lococ_opts[@]}" -o "$work/plain.so"
if [ -n "$budget" ]; then
  plans+=(budget)
  "$root/build/bin/lococ" "$config" "${sets[@]}" "${lococ_opts[@]}" \
    --memory-budget "$budget" -o "$work/budget.so"
fi
for i in $(seq 1 "$runs"); do
  for plan in "${plans[@]}"; do
    OMP_NUM_THREADS="$threads" "$root/build/bin/locorun" "$work/$plan.so" --device cpu --synthetic \
      --steps 2 --metrics "$work/$plan$i.jsonl" --report-memory 2> "$work/$plan$i.log" >/dev/null
  done
  "$python" "$root/bench/torch_reference.py" "$config" "${sets[@]}" --steps 2 \
    --variant "$variant" --threads "$threads" --device "$device" "${policy[@]}" > "$work/torch$i.jsonl"
done

python3 - "$work" "$runs" "$name ${sets[*]} ${lococ_opts[*]} ($precision)" "$variant" "$threads" \
  "$torch_version" "$budget" "${plans[@]}" <<'PY'
import json, re, statistics, sys
work, runs, label, variant, threads, torch_version, budget = sys.argv[1:8]
runs, plans = int(runs), sys.argv[8:]
times = {p: [] for p in plans + ["torch"]}
peaks = {p: [] for p in plans + ["torch"]}
arena = {}
for i in range(1, runs + 1):
    for p in plans:
        steps = [json.loads(l) for l in open(f"{work}/{p}{i}.jsonl") if '"type"' not in l]
        times[p].append(steps[1]["seconds"] - steps[0]["seconds"])
        line = next(l for l in open(f"{work}/{p}{i}.log") if l.startswith("memory:"))
        arena[p] = int(re.search(r"arena (\d+) bytes", line).group(1))
        peaks[p].append(int(re.search(r"peak RSS (\d+) MiB", line).group(1)) * 2**20)
    lines = [json.loads(l) for l in open(f"{work}/torch{i}.jsonl")]
    times["torch"].append(lines[1]["seconds"])
    peaks["torch"].append(lines[-1]["peak_bytes"])
gib = lambda b: f"{b / 2**30:.2f} GiB"
med = {p: statistics.median(t) for p, t in times.items()}
names = {"plain": "lococ", "budget": f"lococ ({budget})", "torch": f"torch {torch_version} ({variant})"}
cols = plans + ["torch"]
rows = [[""] + [names[p] for p in cols] + [f"{names[p]} / torch" for p in plans],
        ["median step [s]"] + [f"{med[p]:.2f}" for p in cols] + [f"{med[p] / med['torch']:.3f}" for p in plans],
        ["min / max step [s]"] + [f"{min(times[p]):.2f} / {max(times[p]):.2f}" for p in cols] + [""] * len(plans),
        ["peak memory (RSS)"] + [gib(max(peaks[p])) for p in cols] +
        [f"{max(peaks[p]) / max(peaks['torch']):.3f}" for p in plans],
        ["planned arena"] + [gib(arena[p]) for p in plans] + [""] + [""] * len(plans)]
print(f"config: {label}; {runs} runs of 1 warm-up + 1 measured step each, {threads} threads, CPU; "
      f"reference: torch {torch_version}, --variant {variant}")
width = max(len(c) for r in rows for c in r[1:]) + 2
for r in rows:
    print(f"{r[0]:<20}" + "".join(f"{c:>{width}}" for c in r[1:]))
print(f"time_ratio: {med['plain'] / med['torch']:.3f}")
print(f"memory_ratio: {max(peaks['plain']) / max(peaks['torch']):.3f}")
if "budget" in plans:
    print(f"time_ratio_budget: {med['budget'] / med['torch']:.3f}")
    print(f"memory_ratio_budget: {max(peaks['budget']) / max(peaks['torch']):.3f}")
PY
