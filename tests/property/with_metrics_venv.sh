#!/usr/bin/env bash
# Runs a Python test under the metrics environment (scripts/metrics-venv.sh:
# museval, tensorboard, numpy, scipy from PyPI), making it first; exits 77
# (ctest: skipped) with a message where it cannot be made.
#   with_metrics_venv.sh VENV_DIR SCRIPT.py [ARGS...]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${LOCO_METRICS_VENV:-$1}"
shift
mkdir -p "$(dirname "$venv")"
if ! bash "$here/../../scripts/metrics-venv.sh" "$venv" > "$venv.log" 2>&1; then
  echo "SKIPPED: cannot make the metrics environment (see $venv.log):"
  tail -3 "$venv.log"
  exit 77
fi
exec "$venv/bin/python" "$@"
