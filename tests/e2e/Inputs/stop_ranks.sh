#!/usr/bin/env bash
# SIGTERM to one rank of two (a node's preemption notice reaching one
# process): the stop flag travels with the step's loss all-reduce, so both
# ranks stop after the same step, rank 0 checkpoints it and says so, and
# nothing hangs in a collective the other rank never joins.
#
#   stop_ranks.sh "MPIRUN..." LOCORUN TRAIN.so WORKDIR
set -euo pipefail
set -m
source "$(dirname "$0")/background.sh"
read -r -a mpirun <<< "$1"
locorun=$2 so=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"${mpirun[@]}" -np 2 "$locorun" "$so" --synthetic --steps 1000000 \
  --steps-per-epoch 1000000 --out "$work/run" --metrics "$work/metrics.jsonl" \
  > "$work/run.log" 2>&1 &
launcher=$!
guard "$launcher" 180
await_lines "$work/metrics.jsonl" 2 90
# Rank 1's process: the locorun of this run whose environment says so.
rank1=
for pid in $(pgrep -f -- "--out $work/run"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" &&
     [ "$(cat "/proc/$pid/comm")" = locorun ]; then
    rank1=$pid
  fi
done
[ -n "$rank1" ] || { echo "rank 1 not found"; cat "$work/run.log"; exit 1; }
kill -TERM "$rank1"
status=0
wait "$launcher" || status=$?
[ $status != 0 ] || { echo "the launcher exited 0 after a stop"; exit 1; }
step=$(tail -n 1 "$work/metrics.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["step"])')
grep "rank\|stopped" "$work/run.log" | grep -v "^step" || true
grep -q "stopped by SIGTERM after step $step of 1000000: checkpoint saved" "$work/run.log"
test "$(readlink "$work/run/latest")" = "$(printf 'step-%08d' "$step")"
echo "one rank signalled: both stopped after step $step, its checkpoint saved (launcher status $status)"
