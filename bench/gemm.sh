#!/usr/bin/env bash
# The CPU backend's GEMM kernels against the best library sgemm, on the
# shapes of a musdb18_small step (bench/gemm.cpp), twice: with OpenBLAS as
# it detects this CPU, and as it runs on a CPU newer than its model table
# (OPENBLAS_CORETYPE=Prescott: the SSE3 kernels Debian's 0.3.21 falls back
# to). lococ's GEMM does not depend on OpenBLAS (libxsmm's JIT kernels,
# chosen by CPUID), so its columns stay; the OpenBLAS column is what a
# BLAS-based step would get.
#   bench/gemm.sh [THREADS]    # default 2
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads="${1:-2}"
bin="$root/build/bin/loco-gemm-bench"
[ -x "$bin" ] || { echo "gemm.sh: build first (cmake --build build)" >&2; exit 2; }
echo "== OpenBLAS as detected"
OMP_NUM_THREADS="$threads" "$bin"
echo
echo "== OpenBLAS with OPENBLAS_CORETYPE=Prescott (its fallback kernels)"
OPENBLAS_CORETYPE=Prescott OMP_NUM_THREADS="$threads" "$bin"
