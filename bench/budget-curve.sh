#!/usr/bin/env bash
# The memory/time frontier of a config: lococ's plans from the unconstrained
# step down to the smallest feasible budget (arena, peak RSS, step time,
# recompute ratio, gradients against the unconstrained step), beside PyTorch
# 2.x's torch.compile with activation_memory_budget at the same fractions
# (the memory its step added, step time, gradients against its fraction 1).
# Prints the table; writes budget.json and budget.png to build/bench-budget/.
#   bench/budget-curve.sh CONFIG_NAME [--set key=value]... [--fractions 1,0.5,...] [--no-torch]
# CONFIG_NAME is a name in configs/ (musdb18_small) or a path. Needs the
# build, bench/.venv (bench/venv.sh) for the PyTorch side and
# python3-matplotlib for the plot. CPU; the dropout is the config's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"; shift
config="$name"
[ -f "$config" ] || config="$root/configs/$name.yaml"
if [[ ! -x "$root/bench/.venv/bin/python" && " $* " != *" --no-torch "* ]]; then
  bash "$root/bench/venv.sh"
fi
exec /usr/bin/python3 "$root/bench/budget_curve.py" "$config" "$@"
