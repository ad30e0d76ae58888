#!/usr/bin/env bash
# Makes a small virtual environment with the Python references of
# `locorun evaluate` and `locorun --tensorboard`: museval (BSSEval v4;
# installed without its dataset dependencies, which need ffmpeg, since only
# museval/metrics.py is used), numpy, scipy, and tensorboard (its event
# reader).
#   scripts/metrics-venv.sh DIR   # create or update DIR
# Exits non-zero when the environment cannot be made (no network, no venv).
set -euo pipefail
venv="${1:?usage: metrics-venv.sh DIR}"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  numpy scipy tensorboard
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-deps museval
"$venv/bin/python" -c 'import importlib.util as u; assert u.find_spec("museval") and u.find_spec("tensorboard")'
