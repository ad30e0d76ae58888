#!/usr/bin/env bash
# OpenMP's wait policy on a quiet and on a shared machine: how long lococ's
# threads spin at the end of a parallel region before they sleep. For each
# choice it times `locorun separate` (tiny, a 10 s stereo song) and a
# musdb18_small training step (0.5 s segment, fp32), the median of 3 runs,
# first on a quiet machine, then with a second process busy on one core
# (a shell loop), and prints seconds side by side.
#   bench/threads.sh [THREADS]    # default 2
# The choices: libgomp's default (spin about 300k iterations, then sleep:
# GOMP_SPINCOUNT=300000), shorter spins (10000, 1000), passive
# (sleep at once) and active (spin until work comes). locorun's own default
# (GOMP_SPINCOUNT=1000 when neither variable is set) was chosen from this
# table (docs/BENCHMARKS.md); OMP_WAIT_POLICY or GOMP_SPINCOUNT in the
# environment override it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads="${1:-2}"
B="$root/build/bin"
work="$(mktemp -d)"
busy=""
trap '[ -n "$busy" ] && kill "$busy" 2> /dev/null; rm -rf "$work"' EXIT
export OMP_NUM_THREADS="$threads"

"$B/lococ" "$root/configs/tiny.yaml" --set training.use_amp=false --mode separate \
  -o "$work/sep.so" > /dev/null
"$B/lococ" "$root/configs/tiny.yaml" --set training.use_amp=false -o "$work/tiny.so" > /dev/null
"$B/locorun" "$work/tiny.so" --device cpu --synthetic --steps 1 --out "$work/ckpt" \
  > /dev/null 2>&1
"$B/lococ" "$root/configs/musdb18_small.yaml" --set training.use_amp=false \
  --set dataset.segment_length=22050 -o "$work/small.so" > /dev/null
"$B/locorun" make-synthetic "$work/song" --tracks 0 --test-tracks 1 --seconds 10 > /dev/null
song="$work/song/test/track_0/mixture.wav"

# Median seconds of 3 runs of a command.
median() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null 2>&1
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
  done
  local ms
  ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

policies=("GOMP_SPINCOUNT=300000" "GOMP_SPINCOUNT=10000" "GOMP_SPINCOUNT=1000"
          "OMP_WAIT_POLICY=passive" "OMP_WAIT_POLICY=active")
printf '%-26s %12s %12s %12s %12s\n' "wait policy" "separate" "separate" "train step" "train step"
printf '%-26s %12s %12s %12s %12s\n' "" "quiet [s]" "busy [s]" "quiet [s]" "busy [s]"
declare -A result
for load in quiet busy; do
  if [ "$load" = busy ]; then
    sh -c 'while :; do :; done' &
    busy=$!
  fi
  for policy in "${policies[@]}"; do
    result[$policy,sep,$load]=$(median env "$policy" "$B/locorun" separate "$work/sep.so" \
      --weights "$work/ckpt" "$song" -o "$work/out" --quiet --overwrite --rescale off)
    result[$policy,step,$load]=$(median env "$policy" "$B/locorun" "$work/small.so" \
      --device cpu --one-step)
  done
done
for policy in "${policies[@]}"; do
  printf '%-26s %12.2f %12.2f %12.2f %12.2f\n' "$policy" \
    "${result[$policy,sep,quiet]}" "${result[$policy,sep,busy]}" \
    "${result[$policy,step,quiet]}" "${result[$policy,step,busy]}"
done
echo "(separate: tiny on a 10 s stereo song; train step: musdb18_small, 0.5 s, fp32, --one-step including start-up)"
