#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: the YAML frontend, the
# safetensors reader, the train.so checks and manifest, checkpoint loading,
# the MUSDB folder scanner, evaluate's reference and estimate folders) with
# clang-19, coverage, ASan and UBSan, replays each seed corpus
# (tests/fuzz/corpus/<target>/, which holds the regression inputs of every
# crash found so far), then fuzzes each target for LOCO_FUZZ_SECONDS (50:
# six targets in the five minutes that five took). A crash, leak, sanitizer
# report, timeout or out-of-memory fails the run and leaves the input in
# BUILD/crashes/.
#
#   scripts/fuzz.sh [BUILD_DIR]      (ctest runs it as "fuzz")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-fuzz}")
seconds=${LOCO_FUZZ_SECONDS:-50}
targets=(config safetensors artifact checkpoint audio evaluate)
CC=clang-19 CXX=clang++-19 cmake -S "$root" -B "$build" -G Ninja \
  -DLOCO_BUILD_COMPILER=OFF -DLOCO_CUDA=OFF -DLOCO_CUDA_EMULATION=OFF -DLOCO_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" --target "${targets[@]/#/loco-fuzz-}"

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p "$build/crashes"
failed=0
for target in "${targets[@]}"; do
  fuzzer=$build/bin/loco-fuzz-$target
  seeds=$root/tests/fuzz/corpus/$target
  work=$build/corpus/$target
  mkdir -p "$work"
  log=$build/fuzz-$target.log
  options=(-timeout=10 -rss_limit_mb=4096 -max_len=65536
           -artifact_prefix="$build/crashes/$target-")
  # The seeds (and regression inputs) first, then fuzzing from them.
  if "$fuzzer" "${options[@]}" -runs=0 "$seeds" > "$log" 2>&1 &&
     "$fuzzer" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 \
       "$work" "$seeds" >> "$log" 2>&1; then
    echo "fuzz $target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs, no finding"
  else
    echo "fuzz $target: FAILED (log: $log)"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20
    failed=1
  fi
done
exit $failed
