#!/usr/bin/env bash
# Times training steps of lococ and of the eager PyTorch reference
# (bench/torch_reference.py) on the same config, alternating the two, and
# prints one table: median, min and max step time, peak memory (CPU: each
# process's peak RSS; GPU: torch.cuda.max_memory_allocated and lococ's device
# peak), the planned arena, and the ratios lococ / reference. Its last two
# lines are `time_ratio: X` and `memory_ratio: Y`.
#
#   bench/step.sh CONFIG_NAME [--set key=value]... [--runs N] [--variant V]
#                 [--threads T] [--python PY] [--precision fp32|bf16]
#
# --precision: fp32 compiles with training.use_amp=false and runs the
# reference in fp32; bf16 compiles with the configs' bf16 AMP
# (loco-autocast) and runs the reference under the same policy by explicit
# casts (torch_reference.py --policy bf16; a modern PyTorch is needed:
# --python bench/.venv/bin/python). Default: fp32, as before.
#
# CONFIG_NAME is a name in configs/ (musdb18_small) or a path. Each run is
# one process per side doing a warm-up step and a measured step (FFT plans,
# thread pools and allocator caches are warm for the measured one). The
# reference's variant defaults to `rowchunk` (attention over row chunks, as
# SDPA's memory-efficient kernels do): plain `eager` does not fit
# musdb18_small's 2 s segment in 24 GiB. Both sides use T threads (2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"; shift
config="$name"
[ -f "$config" ] || config="$root/configs/$name.yaml"
sets=(); runs=3; variant=rowchunk; threads=2; python=/usr/bin/python3; device=cpu
precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --set) sets+=(--set "$2"); shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --variant) variant="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    *) echo "step.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
"$python" -c "import torch" 2>/dev/null || { echo "step.sh: $python has no torch" >&2; exit 2; }
case "$precision" in
  fp32) sets+=(--set training.use_amp=false); policy=() ;;
  bf16) sets+=(--set training.use_amp=true --set training.amp_dtype=bfloat16)
        policy=(--policy bf16) ;;
  *) echo "step.sh: --precision is fp32 or bf16, got $precision" >&2; exit 2 ;;
esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/build/bin/lococ" "$config" "${sets[@]}" -o "$work/train.so"
for i in $(seq 1 "$runs"); do
  OMP_NUM_THREADS="$threads" "$root/build/bin/locorun" "$work/train.so" --device cpu --synthetic \
    --steps 2 --metrics "$work/lococ$i.jsonl" --report-memory 2> "$work/lococ$i.log" >/dev/null
  "$python" "$root/bench/torch_reference.py" "$config" "${sets[@]}" --steps 2 \
    --variant "$variant" --threads "$threads" --device "$device" "${policy[@]}" > "$work/torch$i.jsonl"
done

"$python" - "$work" "$runs" "$name ${sets[*]} ($precision)" "$variant" "$threads" <<'PY'
import json, re, statistics, sys
work, runs, label, variant, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
lococ_times, lococ_peaks, torch_times, torch_peaks, arena = [], [], [], [], 0
for i in range(1, runs + 1):
    steps = [json.loads(l) for l in open(f"{work}/lococ{i}.jsonl") if '"type"' not in l]
    lococ_times.append(steps[1]["seconds"] - steps[0]["seconds"])
    line = next(l for l in open(f"{work}/lococ{i}.log") if l.startswith("memory:"))
    arena = int(re.search(r"arena (\d+) bytes", line).group(1))
    lococ_peaks.append(int(re.search(r"peak RSS (\d+) MiB", line).group(1)) * 2**20)
    lines = [json.loads(l) for l in open(f"{work}/torch{i}.jsonl")]
    torch_times.append(lines[1]["seconds"])
    torch_peaks.append(lines[-1]["peak_bytes"])
gib = lambda b: f"{b / 2**30:.2f} GiB"
rows = [("", "lococ", f"PyTorch ({variant})", "ratio"),
        ("median step [s]", f"{statistics.median(lococ_times):.2f}", f"{statistics.median(torch_times):.2f}",
         f"{statistics.median(lococ_times) / statistics.median(torch_times):.3f}"),
        ("min / max step [s]", f"{min(lococ_times):.2f} / {max(lococ_times):.2f}",
         f"{min(torch_times):.2f} / {max(torch_times):.2f}", ""),
        ("peak memory (RSS)", gib(max(lococ_peaks)), gib(max(torch_peaks)),
         f"{max(lococ_peaks) / max(torch_peaks):.3f}"),
        ("planned arena", gib(arena), "", "")]
print(f"config: {label}; {runs} runs of 1 warm-up + 1 measured step each side, {threads} threads, CPU")
for r in rows:
    print(f"{r[0]:<20} {r[1]:>16} {r[2]:>22} {r[3]:>8}")
print(f"time_ratio: {statistics.median(lococ_times) / statistics.median(torch_times):.3f}")
print(f"memory_ratio: {max(lococ_peaks) / max(torch_peaks):.3f}")
PY
