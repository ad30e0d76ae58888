#!/usr/bin/env bash
# Prepares the lent GPU machine's run (tests/gpu/run.sh), here, where MLIR
# is: builds lococ and both backends, compiles the train.so files the run
# needs (target cuda), and gathers the Debian libraries the carried binaries
# link (the device machine may lack them) into build/gpu/deps.
#
#   tests/gpu/prepare.sh            # then, with the device tool:
#   run  command="bash tests/gpu/run.sh"  carry=["build/bin/locorun",
#        "build/bin/loco-conformance-tests", "build/lib/libloco_cpu.so",
#        "build/lib/libloco_cuda.so", "build/lib/liblocorun_nccl.so",
#        "build/gpu"]
#
# Everything it writes is under build/ (ignored by git); the carry is about
# 30 MiB of the 64 allowed (the Debian libraries as build/gpu/deps.tar.xz). The golden sets travel
# with the working tree (tests/data/golden).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
shared=$(cd .. && pwd)/shared
cmake -S . -B build -G Ninja > /dev/null
cmake --build build --target lococ locorun loco_cpu loco_cuda locorun_nccl \
  loco-conformance-tests

out=build/gpu
rm -rf "$out"
mkdir -p "$out/deps"
lococ=build/bin/lococ

# Golden sets (dropout 0), compiled as GoldenParityTest does: the set's
# overrides and gradient_accumulation_steps = 1.
for set in tiny small_16k; do
  dir=tests/data/golden/$set
  sets=$(python3 - "$dir/loss.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join("--set %s=%s" % (k, json.dumps(v)) for k, v in doc.get("overrides", {}).items()))
PY
)
  # shellcheck disable=SC2086
  # fp32 matrix products: the golden sets are fp32 (small_16k asks for tf32).
  $lococ "$dir/config.yaml" --set training.gradient_accumulation_steps=1 $sets \
    --set performance.tf32=false --set training.use_amp=false \
    --target cuda -o "$out/golden_$set.so"
  # Its LLVM IR: run.sh counts the kernel calls a --profile must time.
  # shellcheck disable=SC2086
  $lococ "$dir/config.yaml" --set training.gradient_accumulation_steps=1 $sets \
    --set performance.tf32=false --set training.use_amp=false \
    --target cuda --emit=llvm > "$out/golden_$set.ll"
done

# Separation (lococ --mode separate) of the tiny golden model, fp32, for
# locorun separate on cuda:0 against the CPU.
$lococ tests/data/golden/tiny/config.yaml --set performance.tf32=false \
  --set training.use_amp=false --mode separate --batch-segments 8 --target cuda \
  -o "$out/separate_tiny.so"

# The timed step: musdb18_ultra_safe (upstream's config, byte for byte) at
# batch 1, one micro-step per optimizer step, in the config's own bf16
# mixed precision (training.use_amp: loco-autocast).
config=$shared/upstream-configs/musdb18_ultra_safe.yaml
[ -f "$config" ] || config=configs/musdb18_ultra_safe.yaml
$lococ "$config" --set training.batch_size=1 \
  --set training.gradient_accumulation_steps=1 --target cuda \
  --memory-report-json "$out/ultra_safe_plan.json" -o "$out/ultra_safe_b1.so"

# The Debian libraries the carried binaries need (not libc, libstdc++ or
# CUDA's own, which the device machine has).
for binary in build/bin/locorun build/lib/libloco_cpu.so build/bin/loco-conformance-tests; do
  ldd "$binary" | awk '/=> \// {print $3}'
done | sort -u | grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|ld-linux[^/]*)\.so' \
  | grep -Ev 'libcuda|libcudart|libcublas|libcufft' | while read -r lib; do
  cp -L "$lib" "$out/deps/"
done
# OpenBLAS and oneDNN alone are 76 MiB: the libraries travel compressed
# (about 18 MiB) and run.sh unpacks them.
tar -C "$out" -cJf "$out/deps.tar.xz" deps
rm -rf "$out/deps"
carry="build/bin/locorun build/bin/loco-conformance-tests build/lib/libloco_cpu.so build/lib/libloco_cuda.so build/lib/liblocorun_nccl.so $out"
# shellcheck disable=SC2086
du -shc $carry | tail -1 | sed 's/^/carry: /'
echo "prepared: run tests/gpu/run.sh on the device, carrying: $carry"
