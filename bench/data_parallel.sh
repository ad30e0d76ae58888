#!/usr/bin/env bash
# Data parallelism on the CPU backend: the same global batch trained by one
# process with 2 threads (batch 2B) and by 2 MPI ranks with 1 thread each
# (batch B per rank), STEPS steps each on synthetic tracks, dropout as the
# config says. Prints side by side, from the --metrics lines of rank 0:
# the median step time (steps 2..), the median time per step in the
# collectives (measured: the wall time of the loss and gradient
# all-reduces, waiting for the slower rank included), and each process's
# peak RSS.
#
#   bench/data_parallel.sh configs/musdb18_small.yaml [--steps N] [--set key=value]...
#
# The batch per rank is the config's training.batch_size (B); the single
# process gets 2B. Runs as root need OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), set
# here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$1"; shift
steps=6; sets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "data_parallel.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
batch=$(python3 - "$config" "${sets[@]}" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
batch = doc["training"]["batch_size"]
for i, arg in enumerate(sys.argv):
    if arg == "--set" and sys.argv[i + 1].startswith("training.batch_size="):
        batch = int(sys.argv[i + 1].split("=", 1)[1])
print(batch)
PY
)
"$root/build/bin/lococ" "$config" "${sets[@]}" --set training.batch_size=$((2 * batch)) \
  --set training.gradient_accumulation_steps=1 -o "$work/single.so"
"$root/build/bin/lococ" "$config" "${sets[@]}" --set training.batch_size="$batch" \
  --set training.gradient_accumulation_steps=1 -o "$work/rank.so"
common=(--synthetic --steps "$steps" --steps-per-epoch 1000 --no-augment --report-memory)
OMP_NUM_THREADS=2 /usr/bin/time -f "%M" -o "$work/single.rss" \
  "$root/build/bin/locorun" "$work/single.so" --device cpu "${common[@]}" \
  --metrics "$work/single.jsonl" 2> "$work/single.log" > /dev/null
mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS=1 sh -c \
  "/usr/bin/time -f %M -o $work/rank\$OMPI_COMM_WORLD_RANK.rss $root/build/bin/locorun $work/rank.so --device cpu ${common[*]} --metrics $work/dp.jsonl" \
  2> "$work/dp.log" > /dev/null
grep -h "^all-reduce:" "$work/dp.log" || true
python3 - "$work" "$config ${sets[*]}" "$batch" "$(nproc)" <<'PY'
import json, statistics, sys
work, name, batch, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def lines(side):
    return [json.loads(l) for l in open(f"{work}/{side}.jsonl") if '"type"' not in l]
def step_median(side):
    ls = lines(side)
    return statistics.median(b["seconds"] - a["seconds"] for a, b in zip(ls, ls[1:]))
single, dp = step_median("single"), step_median("dp")
reduce = statistics.median(l["allreduce_seconds"] for l in lines("dp")[1:])
rss = lambda f: int(open(f"{work}/{f}.rss").read().split()[-1]) / 1024
print(f"config: {name}; global batch {2 * batch}; {len(lines('dp'))} steps; {cores} vCPUs")
print(f"| | 1 process x 2 threads (batch {2 * batch}) | 2 ranks x 1 thread (batch {batch} each) |")
print("| --- | --- | --- |")
print(f"| step time (median of steps 2..) | {single:.3f} s | {dp:.3f} s ({dp / single:.2f}x) |")
print(f"| in collectives per step (median, measured) | - | {reduce:.3f} s ({100 * reduce / dp:.1f}% of the step) |")
print(f"| peak RSS per process | {rss('single'):.0f} MiB | {rss('rank0'):.0f} / {rss('rank1'):.0f} MiB |")
PY
