#!/usr/bin/env bash
# The lent GPU's checks, in one run (under 5 minutes). Prepared here by
# tests/gpu/prepare.sh; the device machine has no MLIR, so it runs only
# what `carry` brings (see prepare.sh): locorun, the conformance tests, both
# backends and build/gpu (train.so files, Debian libraries).
#  1. environment: the carried binaries resolve every library (Debian's from
#     build/gpu/deps.tar.xz); if the CUDA libraries libloco_cuda.so was linked
#     against are missing there, the backend is rebuilt with that nvcc;
#  2. the conformance suite (every kernel, CUDA against the CPU backend,
#     at fp32, TF32, BF16 and FP16, and the bf16/f16 storage kernels of
#     loco-autocast); a failing case is re-run alone with
#     LOCO_CUDA_SYNC=1, CUDA_LAUNCH_BLOCKING=1 and graphs off, which names
#     the faulting kernel;
#  3. golden parity on the GPU: a training step of the tiny and small_16k
#     golden sets on cuda:0, against upstream (the GoldenParityTest
#     tolerances) and against the same train.so on the CPU;
#  4. musdb18_ultra_safe at batch 1, with its own bf16 AMP (loco-autocast:
#     bf16 storage end to end): six optimizer steps (eager, captured,
#     then replayed graphs), step times, and the device's peak memory
#     against the plan (arena + fixed workspace), less what the CUDA
#     runtime and libraries hold after warm-up (reported on its own line);
#  5. locorun separate (the tiny golden model, two stereo songs) on cuda:0
#     against the same separation on the CPU;
#  6. locorun --profile on CUDA (events on the stream, graphs off): one
#     slice per kernel call of the tiny golden step, summing to its wall
#     time within 5%;
#  7. data parallelism's NCCL path with one rank (torchrun's variables: the
#     device has one GPU and no MPI): three steps of the tiny golden model
#     through liblocorun_nccl.so, their losses against a run without a
#     launcher, and NCCL's device memory outside the arena.
# Prints a summary table; writes logs to $OUT (or /tmp/loco-gpu).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/loco-gpu}
mkdir -p "$out"
# The Debian libraries came compressed (prepare.sh).
deps=${TMPDIR:-/tmp}/loco-gpu-deps
rm -rf "$deps" && mkdir -p "$deps"
[ -f build/gpu/deps.tar.xz ] && tar -xJf build/gpu/deps.tar.xz -C "$deps" --strip-components=1
export LD_LIBRARY_PATH="$deps:$PWD/build/lib:${LD_LIBRARY_PATH:-}:/usr/local/cuda/lib64"
summary=()
note() { summary+=("$(printf '%-34s %-6s %s' "$1" "$2" "$3")"); }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

echo "== environment"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
# NCCL: the toolkit's, else PyTorch's wheel's (nvidia-nccl).
if ! ldconfig -p | grep -q libnccl.so.2 && [ ! -e /usr/local/cuda/lib64/libnccl.so.2 ] &&
   [ ! -e /usr/local/cuda/lib/libnccl.so.2 ]; then
  nccl=$(python3 -c "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib'))" 2>/dev/null)
  [ -n "$nccl" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$nccl"
fi
export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/usr/local/cuda/lib"
missing=$(for f in build/bin/locorun build/bin/loco-conformance-tests build/lib/libloco_*.so; do
  ldd "$f" | grep "not found" | sed "s|^|$f: |"; done)
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
ldd build/lib/libloco_cuda.so | grep -E "cuda|cublas|cufft" || true
if echo "$missing" | grep -q "libloco_cuda\|libcu"; then
  echo "rebuilding libloco_cuda.so with this machine's nvcc:"
  echo "$missing"
  t=$(date +%s)
  nvcc -std=c++17 -O3 -arch=sm_90 --extended-lambda --expt-relaxed-constexpr \
    -Xcompiler -fPIC -shared -I. runtime/cuda/*.cu -lcublasLt -lcufft \
    -Xlinker -Bsymbolic -o build/lib/libloco_cuda.so && note "rebuild libloco_cuda.so" ok "$(elapsed $t)"
  missing=$(for f in build/bin/locorun build/bin/loco-conformance-tests build/lib/libloco_*.so; do
    ldd "$f" | grep "not found" | sed "s|^|$f: |"; done)
fi
if [ -n "$missing" ]; then
  echo "unresolved libraries:"; echo "$missing"; note "environment" FAIL "libraries missing"
else
  note "environment" ok "all libraries resolve"
fi

echo "== conformance (CUDA vs CPU)"
t=$(date +%s)
build/bin/loco-conformance-tests > "$out/conformance.log" 2>&1
status=$?
passed=$(grep -c '^\[       OK' "$out/conformance.log")
skipped=$(grep -c '^\[  SKIPPED \] .*(' "$out/conformance.log")
failed=$(grep -c '^\[  FAILED  \] .*(' "$out/conformance.log")
# On the lent GPU nothing may skip: a skip means the device was not seen.
verdict=$([ $status = 0 ] && [ "$skipped" = 0 ] && [ "$passed" -gt 0 ] && echo ok || echo FAIL)
note "conformance suite" "$verdict" "$passed passed, $failed failed, $skipped skipped, $(elapsed $t)"
grep -E "^\[ measured|FAILED|Failure|error" "$out/conformance.log" | head -120
# A kernel fault surfaces at the next synchronisation, under that call's
# name. Re-run each failing case alone, synchronously (every launch waited
# for, no graphs), so that this one run brings back the faulting kernel.
# In the order they failed (a fault is sticky: the first is the culprit,
# and the later ones may only be its echo), each name once.
failing=$(grep -E '^\[  FAILED  \] [^ ]+/[^ ]+' "$out/conformance.log" \
  | awk '{sub(/,$/, "", $4); if (!seen[$4]++) print $4}' | head -8)
n=0
for case in $failing; do
  n=$((n + 1))
  log="$out/conformance_sync_$n.log"
  echo "-- re-running $case with LOCO_CUDA_SYNC=1 CUDA_LAUNCH_BLOCKING=1 LOCO_CUDA_GRAPHS=0"
  LOCO_CUDA_SYNC=1 CUDA_LAUNCH_BLOCKING=1 LOCO_CUDA_GRAPHS=0 timeout 120 \
    build/bin/loco-conformance-tests --gtest_filter="$case" > "$log" 2>&1
  culprit=$(grep -m1 -E "faulted|launching .* failed|failed: " "$log" || true)
  [ -n "$culprit" ] || culprit=$(grep -m1 -E "Failure|error" "$log" || echo "no error line")
  echo "$culprit"
  note "sync re-run $n" FAIL "$case: $culprit"
done

echo "== golden parity on cuda:0"
for set in tiny small_16k; do
  g=tests/data/golden/$set
  for device in cuda:0 cpu; do
    tag=${device%%:*}
    t=$(date +%s)
    if build/bin/locorun "build/gpu/golden_$set.so" --device "$device" \
        --init "$g/weights.safetensors" --batch "$g/inputs.safetensors" \
        --dump "$out/${set}_$tag" > "$out/${set}_$tag.log" 2>&1; then
      note "step $set on $device" ok "$(elapsed $t)"
    else
      note "step $set on $device" FAIL "$(tail -1 "$out/${set}_$tag.log")"
    fi
  done
  if [ -f "$out/${set}_cuda/outputs.safetensors" ]; then
    python3 tests/gpu/compare_golden.py "$g" "$out/${set}_cuda" "$out/${set}_cpu" \
      > "$out/${set}_parity.log" 2>&1
    status=$?
    cat "$out/${set}_parity.log"
    note "golden parity $set (cuda)" "$([ $status = 0 ] && echo ok || echo FAIL)" \
      "$(tail -1 "$out/${set}_parity.log")"
  else
    note "golden parity $set (cuda)" FAIL "no dump from cuda:0"
  fi
done

echo "== locorun separate on cuda:0 against the cpu (tiny golden weights)"
build/bin/locorun make-synthetic "$out/songs" --tracks 0 --test-tracks 2 --seconds 6 \
  > /dev/null 2>&1
for device in cuda:0 cpu; do
  tag=${device%%:*}
  t=$(date +%s)
  if build/bin/locorun separate build/gpu/separate_tiny.so --device "$device" \
      --weights tests/data/golden/tiny/weights.safetensors --quiet \
      "$out"/songs/test/track_*/mixture.wav -o "$out/stems_$tag" \
      > "$out/separate_$tag.log" 2>&1; then
    note "separate on $device" ok "$(elapsed $t) for 2 stereo songs of 6 s"
  else
    note "separate on $device" FAIL "$(tail -1 "$out/separate_$tag.log")"
  fi
done
if python3 - "$out" <<'PY' > "$out/separate_parity.log" 2>&1; then
import glob, os, sys
sys.path.insert(0, "bench")
import numpy as np, wavfile
out, worst = sys.argv[1], 0.0
for cpu in sorted(glob.glob(os.path.join(out, "stems_cpu", "*", "*.wav"))):
    a = wavfile.read(cpu)[0]
    b = wavfile.read(cpu.replace("stems_cpu", "stems_cuda"))[0]
    worst = max(worst, float(np.abs(a - b).max() / np.abs(a).max()))
print(f"stems cuda vs cpu: max |diff| / max |cpu| = {worst:.2e} (bound 1e-4)")
sys.exit(0 if worst <= 1e-4 else 1)
PY
  note "separate parity (cuda)" ok "$(tail -1 "$out/separate_parity.log")"
else
  note "separate parity (cuda)" FAIL "$(tail -1 "$out/separate_parity.log")"
fi

echo "== musdb18_ultra_safe, batch 1, bf16 AMP (its config's), cuda:0"
t=$(date +%s)
build/bin/locorun build/gpu/ultra_safe_b1.so --device cuda:0 --synthetic --steps 6 \
  --metrics "$out/ultra_safe_metrics.jsonl" --report-memory \
  > "$out/ultra_safe.log" 2>&1
status=$?
tail -4 "$out/ultra_safe.log"
# A failed capture falls back to eager steps with the same results: the
# times below would not be a capture and replays. Fail on the warning.
if grep -q "capturing a step as a CUDA graph failed" "$out/ultra_safe.log"; then
  note "ultra_safe graphs" FAIL "$(grep -m1 "capturing a step" "$out/ultra_safe.log")"
  status=1
fi
if [ $status = 0 ]; then
  times=$(python3 - "$out/ultra_safe_metrics.jsonl" <<'PY'
import json, sys
s = [json.loads(l)["seconds"] for l in open(sys.argv[1])]
d = [b - a for a, b in zip([0.0] + s, s)]
print("first (eager) %.3f s, second (capture) %.3f s, replayed median %.3f s"
      % (d[0], d[1], sorted(d[2:])[len(d[2:]) // 2]))
PY
)
  note "ultra_safe step times" ok "$times"
  # What the CUDA runtime and libraries hold (kernel images, cuFFT plan
  # data, graph executables) is measured after warm-up and reported on its
  # own; the rest of the peak is compared with the plan.
  note "ultra_safe device total" ok "$(grep "^device memory:" "$out/ultra_safe.log")"
  libs=$(grep "^device libraries" "$out/ultra_safe.log")
  note "ultra_safe libraries" ok "$libs"
  mem=$(grep "^device memory less libraries" "$out/ultra_safe.log")
  ratio=$(echo "$mem" | sed -n 's/.*peak \/ plan = //p')
  verdict=$(python3 -c "print('ok' if abs(${ratio:-0} - 1) <= 0.01 else 'FAIL')")
  note "ultra_safe peak less libraries" "$verdict" "${mem:-no line}"
else
  note "ultra_safe steps" FAIL "$(tail -1 "$out/ultra_safe.log")"
fi
# The same steps without graphs: what capture saves in launch overhead.
LOCO_CUDA_GRAPHS=0 build/bin/locorun build/gpu/ultra_safe_b1.so --device cuda:0 \
  --synthetic --steps 6 --metrics "$out/ultra_safe_eager.jsonl" > "$out/ultra_safe_eager.log" 2>&1 &&
  note "ultra_safe without graphs" ok "$(python3 - "$out/ultra_safe_eager.jsonl" <<'PY'
import json, sys
s = [json.loads(l)["seconds"] for l in open(sys.argv[1])]
d = [b - a for a, b in zip([0.0] + s, s)]
print("median of steps 3-6 %.3f s" % sorted(d[2:])[len(d[2:]) // 2])
PY
)"

echo "== locorun --profile on cuda:0 (events)"
build/bin/locorun build/gpu/golden_tiny.so --device cuda:0 --synthetic --steps 3 \
  --profile "$out/cuda_profile.json" > "$out/cuda_profile.log" 2>&1 &&
  python3 tests/e2e/Inputs/check_profile.py "$out/cuda_profile.json" \
    build/gpu/golden_tiny.ll --steps 3 --tolerance 0.05 > "$out/cuda_profile_check.log" 2>&1
if [ $? = 0 ]; then
  grep -A6 "^profile:" "$out/cuda_profile.log"
  note "profile (cuda events)" ok "$(tail -1 "$out/cuda_profile_check.log")"
else
  note "profile (cuda events)" FAIL "$(tail -1 "$out/cuda_profile.log") $(tail -1 "$out/cuda_profile_check.log" 2>/dev/null)"
fi

echo "== data parallelism: NCCL with one rank (torchrun's variables), cuda:0"
if ldd build/lib/liblocorun_nccl.so | grep -q "not found"; then
  note "nccl one rank" FAIL "$(ldd build/lib/liblocorun_nccl.so | grep 'not found' | tr '\n' ' ')"
else
  t=$(date +%s)
  build/bin/locorun build/gpu/golden_tiny.so --device cuda:0 --synthetic --steps 3 \
    --metrics "$out/single_rank.jsonl" > "$out/single_rank.log" 2>&1
  RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29400 \
    build/bin/locorun build/gpu/golden_tiny.so --device cuda --synthetic --steps 3 \
    --collective-timeout 60 --report-memory --metrics "$out/nccl.jsonl" \
    > "$out/nccl.log" 2>&1
  status=$?
  tail -5 "$out/nccl.log"
  if [ $status = 0 ] && python3 - "$out/nccl.jsonl" "$out/single_rank.jsonl" > "$out/nccl_parity.log" 2>&1 <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
worst = max(abs(x["loss"] - y["loss"]) / abs(y["loss"]) for x, y in zip(a, b))
reduce = sum(x["allreduce_seconds"] for x in a)
print("3 steps, loss vs no launcher within %.2g relative; all-reduce %.4f s" % (worst, reduce))
sys.exit(0 if len(a) == len(b) == 3 and worst <= 1e-6 else 1)
PY
  then
    note "nccl one rank" ok "$(tail -1 "$out/nccl_parity.log") ($(elapsed $t))"
    note "nccl memory" ok "$(grep '^communication:' "$out/nccl.log")"
  else
    note "nccl one rank" FAIL "$(tail -1 "$out/nccl.log") $(tail -1 "$out/nccl_parity.log" 2>/dev/null)"
  fi
fi

echo
echo "== summary"
for line in "${summary[@]}"; do echo "$line"; done
! printf '%s\n' "${summary[@]}" | grep -q " FAIL "
