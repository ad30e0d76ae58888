#!/usr/bin/env bash
# SIGTERM (or SIGINT) in the middle of training: locorun finishes the step
# in flight, checkpoints it, says so and exits 128 + the signal; while it
# ran, a second run on the same --out was refused, naming it; resumed to
# two more steps, it ends with the very weights and moments of a run that
# was never interrupted.
#
#   stop_signal.sh LOCORUN TRAIN.so WORKDIR TERM|INT
set -euo pipefail
# locorun, like any well-behaved program, leaves a signal ignored that it
# inherits ignored (bash's background jobs, lit's workers ignore SIGINT):
# the run starts with both signals at their defaults.
set -m
source "$(dirname "$0")/background.sh"
locorun=$1 so=$2 work=$3 signal=$4
args=(--synthetic --steps-per-epoch 1000000)
rm -rf "$work" && mkdir -p "$work"
python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' \
  "$locorun" "$so" "${args[@]}" --steps 1000000 --out "$work/run" \
  --metrics "$work/metrics.jsonl" 2> "$work/run.log" &
pid=$!
# Never hang a test run: the stop must come within two minutes.
guard "$pid" 120
await_lines "$work/metrics.jsonl" 2 60

status=0
"$locorun" "$so" "${args[@]}" --steps 1 --out "$work/run" 2> "$work/second.log" || status=$?
if [ $status != 1 ] || ! grep -q "is in use by locorun (pid $pid)" "$work/second.log"; then
  echo "a second run on the same --out exited $status:"; cat "$work/second.log"; exit 1
fi

kill -"$signal" "$pid"
status=0
wait "$pid" || status=$?
expected=$((128 + $(kill -l "$signal")))
if [ $status != $expected ]; then
  echo "stopped by SIG$signal, locorun exited $status, not $expected"; cat "$work/run.log"; exit 1
fi
step=$(tail -n 1 "$work/metrics.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["step"])')
grep "stopped by SIG$signal after step $step of 1000000: checkpoint saved; continue with --resume $work/run" "$work/run.log"
test "$(readlink "$work/run/latest")" = "$(printf 'step-%08d' "$step")"

target=$((step + 2))
"$locorun" "$so" "${args[@]}" --steps $target --resume "$work/run" --out "$work/run" 2> /dev/null
"$locorun" "$so" "${args[@]}" --steps $target --out "$work/reference" 2> /dev/null
cmp "$work/run/latest/model.safetensors" "$work/reference/latest/model.safetensors"
cmp "$work/run/latest/optimizer.safetensors" "$work/reference/latest/optimizer.safetensors"
echo "stopped at step $step by SIG$signal, resumed to $target: equal to an uninterrupted run"
