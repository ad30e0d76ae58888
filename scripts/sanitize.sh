#!/usr/bin/env bash
# Builds the runtime and locorun (no MLIR, no CUDA) with AddressSanitizer
# and UndefinedBehaviorSanitizer, runs their test suites, and trains the tiny
# config (compiled by the regular build's lococ) for a few steps with a
# checkpoint and a resume, and one golden step with --dump. Any report
# fails the run (halt_on_error, no recovery).
#
#   scripts/sanitize.sh LOCOC [BUILD_DIR]      (ctest runs it as "sanitizers")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lococ=$(realpath "$1")
build=$(realpath -m "${2:-$root/build-sanitize}")
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Not the CUDA emulation: its threads are fibers, whose stack switches
# ASan would need annotations for, and its own guard pages check it.
cmake -S "$root" -B "$build" -G Ninja -DLOCO_BUILD_COMPILER=OFF -DLOCO_CUDA=OFF \
  -DLOCO_CUDA_EMULATION=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCO_SANITIZE=address,undefined > /dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure

work=$build/sanitize-run
rm -rf "$work" && mkdir -p "$work"
"$lococ" "$root/configs/tiny.yaml" --set model.n_layers=1 -o "$work/tiny.so"
locorun=$build/bin/locorun
"$locorun" "$work/tiny.so" --synthetic --steps 3 --save-every 2 --out "$work/run" \
  --metrics "$work/metrics.jsonl"
"$locorun" "$work/tiny.so" --synthetic --steps 4 --resume "$work/run" --out "$work/run"
golden=$root/tests/data/golden/tiny
"$lococ" "$golden/config.yaml" --set training.gradient_accumulation_steps=1 -o "$work/golden.so"
"$locorun" "$work/golden.so" --init "$golden/weights.safetensors" \
  --batch "$golden/inputs.safetensors" --dump "$work/dump"
echo "sanitizers: the runtime's and locorun's tests and a training run are clean"
