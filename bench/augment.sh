#!/usr/bin/env bash
# What data loading and augmentation cost, and whether the step waits for
# them: trains STEPS steps of CONFIG on a synthetic MUSDB-layout folder of
# stereo tracks, with upstream's augmentation and without (--no-augment),
# and prints side by side from the --metrics lines: the median step time,
# and the mean per step of reading + augmenting on the loader thread, of
# augmenting alone (MP3 runs on a fifth of the items, so the mean, not the
# median, is its cost), and of the step's wait for its batch.
#
#   bench/augment.sh configs/tiny.yaml [--steps N] [--set key=value]...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$1"; shift
steps=8; sets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "augment.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/build/bin/locorun" make-synthetic "$work/musdb" --tracks 8 --test-tracks 0 \
  --seconds 30 > /dev/null
"$root/build/bin/lococ" "$config" "${sets[@]}" --set dataset.augmentation=true \
  -o "$work/train.so"
for mode in on off; do
  flag=(); [[ $mode == off ]] && flag=(--no-augment)
  "$root/build/bin/locorun" "$work/train.so" --device cpu --data "$work/musdb" \
    --steps "$steps" --steps-per-epoch 1000 "${flag[@]}" \
    --metrics "$work/$mode.jsonl" 2> "$work/$mode.log" > /dev/null
done
python3 - "$work" "$config ${sets[*]}" <<'PY'
import json, statistics, sys
work, name = sys.argv[1], sys.argv[2]
def medians(mode):
    lines = [json.loads(l) for l in open(f"{work}/{mode}.jsonl") if '"type"' not in l]
    seconds = [b["seconds"] - a["seconds"] for a, b in zip(lines, lines[1:])]
    pick = lambda key: statistics.mean(l[key] for l in lines[1:])
    return (statistics.median(seconds), pick("load_seconds"),
            pick("augment_seconds"), pick("data_wait_seconds"))
print(f"augmentation cost, {name} (per step, steps 2..; CPU)")
print(f"{'':14}{'step s (median)':>16}{'load s':>10}{'augment s':>11}{'wait s':>10}  (means)")
for mode, label in (("on", "augmentation"), ("off", "--no-augment")):
    step, load, aug, wait = medians(mode)
    print(f"{label:14}{step:16.3f}{load:10.4f}{aug:11.4f}{wait:10.4f}")
PY
