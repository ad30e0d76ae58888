#!/usr/bin/env bash
# Kills locorun at every filesystem operation of its checkpoint saves
# (LOCO_CHECKPOINT_FAULT=K, K = 1, 2, ... until a run completes), resumes
# each killed run, and checks that it ends with the very checkpoint of an
# uninterrupted run, bit for bit. A run killed before its first checkpoint
# is complete has nothing to resume and starts over.
#
#   checkpoint_faults.sh LOCORUN TRAIN.so WORKDIR
set -euo pipefail
locorun=$1 so=$2 work=$3
args=(--synthetic --steps 4 --steps-per-epoch 100 --save-every 2)
rm -rf "$work" && mkdir -p "$work"
"$locorun" "$so" "${args[@]}" --out "$work/reference" 2> /dev/null

kills=0
for k in $(seq 1 200); do
  dir="$work/run$k"
  status=0
  LOCO_CHECKPOINT_FAULT=$k "$locorun" "$so" "${args[@]}" --out "$dir" \
    > /dev/null 2> "$dir.log" || status=$?
  if [ $status = 0 ]; then
    break # past the last operation: the run completed
  fi
  if [ $status != 86 ]; then
    echo "fault $k: locorun exited $status"; cat "$dir.log"; exit 1
  fi
  kills=$((kills + 1))
  resume=()
  # A complete checkpoint: `latest`, or a step folder without a .tmp/.old
  # suffix (renamed into place before `latest` was switched).
  if [ -e "$dir/latest" ] || compgen -G "$dir/step-????????" > /dev/null; then
    resume=(--resume "$dir")
  fi
  "$locorun" "$so" "${args[@]}" "${resume[@]}" --out "$dir" \
    > /dev/null 2> "$dir.resume.log" || {
    echo "fault $k: the resumed run failed"; cat "$dir.resume.log"; exit 1; }
  for file in model.safetensors optimizer.safetensors; do
    cmp "$work/reference/latest/$file" "$dir/latest/$file" || {
      echo "fault $k: $file differs from the uninterrupted run's"; exit 1; }
  done
  rm -rf "$dir"
done
echo "killed at each of $kills checkpoint operations; every resumed run" \
  "ended with the uninterrupted run's checkpoint"
