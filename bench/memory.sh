#!/usr/bin/env bash
# Runs one training step of a config on the CPU backend and prints the
# planned arena, the workspace, the process's peak RSS and the difference
# (fixed process overhead: code, thread stacks, FFT plans, data loading).
#   bench/memory.sh configs/musdb18_small.yaml [--set key=value]...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$1"; shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/build/bin/lococ" "$config" "$@" -o "$work/train.so"
"$root/build/bin/locorun" "$work/train.so" --device cpu --synthetic --steps 1 --report-memory \
  2> "$work/log" >/dev/null
line="$(grep '^memory:' "$work/log")"
arena=$(sed -E 's/.*arena ([0-9]+) bytes.*/\1/' <<<"$line")
workspace=$(sed -E 's/.*workspace ([0-9]+) of them.*/\1/' <<<"$line")
rss_mib=$(sed -E 's/.*peak RSS ([0-9]+) MiB.*/\1/' <<<"$line")
arena_mib=$((arena / 1048576))
printf '%-32s %12s\n' "config" "$config $*"
printf '%-32s %12d MiB\n' "arena (incl. workspace)" "$arena_mib"
printf '%-32s %12d MiB\n' "workspace" "$((workspace / 1048576))"
printf '%-32s %12d MiB\n' "peak RSS" "$rss_mib"
printf '%-32s %12d MiB\n' "peak RSS - arena" "$((rss_mib - arena_mib))"
