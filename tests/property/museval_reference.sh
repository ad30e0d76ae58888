#!/usr/bin/env bash
# ctest museval-reference: makes (or reuses) the metrics environment and runs
# tests/property/museval_reference.py; exits 77 (skipped) with a message
# where the environment cannot be made.
#   museval_reference.sh LOCORUN WORK_DIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
locorun="$1" work="$2"
venv="${LOCO_METRICS_VENV:-$work/venv}"
if ! bash "$here/../../scripts/metrics-venv.sh" "$venv" > "$work.venv.log" 2>&1; then
  echo "SKIPPED: cannot make the museval environment (see $work.venv.log):"
  tail -3 "$work.venv.log"
  exit 77
fi
exec "$venv/bin/python" "$here/museval_reference.py" --locorun "$locorun" --work "$work"
