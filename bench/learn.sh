#!/usr/bin/env bash
# Does lococ learn to separate as well as PyTorch? Renders songs with true
# stems (locorun make-dataset, Debian's General MIDI SoundFont), trains
# bench/learn.yaml on them with lococ and twice with the PyTorch reference
# (the same initial weights and batches as lococ, then another seed's
# weights for PyTorch's own run-to-run spread), scores every run on held-out
# songs the same way (BSSEval v4 SDR, SI-SDR, the mixture as a baseline),
# prints the learning curves side by side with the targets' verdicts, and
# writes learn.json and learn.png (validation SDR per source against steps)
# to build/bench-learn/. About 20 minutes on a 2-vCPU machine.
#   bench/learn.sh [--steps N] [--out DIR] [--songs N] ...   (bench/learn.py --help)
#   bench/learn.sh --report-only     # reprint and replot the last run
# Needs the build (with the Python module), bench/.venv (bench/venv.sh makes
# it) and python3-matplotlib for the plot. Exits 3 when a target is not met.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LOCO_BUILD_DIR:-$root/build}"
if [[ ! -x "$build/bin/locorun" || ! -d "$build/python/lococ" ]]; then
  echo "bench/learn.sh: build first (cmake -S . -B build -G Ninja && ninja -C build)" >&2
  exit 2
fi
if [[ ! -x "$root/bench/.venv/bin/python" && " $* " != *" --report-only "* ]]; then
  bash "$root/bench/venv.sh"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
exec /usr/bin/python3 "$root/bench/learn.py" --build "$build" "$@"
