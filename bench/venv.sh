#!/usr/bin/env bash
# Makes bench/.venv: a modern PyTorch (2.x, from PyPI) with the real
# safetensors and numpy, the reference that bench/torch_reference.py and the
# bf16 parity test run under. Debian's python3-torch (1.13) lacks pieces the
# bf16 policy needs (bf16 conv on CPU, SDPA), so it is not used here.
#   bench/venv.sh            # create or update
#   bench/.venv/bin/python   # then use this interpreter
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${LOCO_BENCH_VENV:-$here/.venv}"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# The CPU wheels where the PyTorch index is reachable (no CUDA libraries to
# download); PyPI's default wheel otherwise.
if ! "$venv/bin/python" -m pip install --quiet \
      --index-url https://download.pytorch.org/whl/cpu torch 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet torch
fi
"$venv/bin/python" -m pip install --quiet safetensors numpy pyyaml
"$venv/bin/python" -c 'import torch; print("bench venv: torch", torch.__version__)'
