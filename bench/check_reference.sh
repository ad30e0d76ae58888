#!/usr/bin/env bash
# The PyTorch reference reproduces the golden sets (estimates, loss parts,
# gradients within 1e-4). Runs where PYTHON (default /usr/bin/python3) has
# torch (Debian's python3-torch); otherwise reports itself skipped (77).
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
if ! "$python" -c "import torch, numpy, yaml" 2>/dev/null; then
  echo "skipped: $python cannot import torch, numpy and yaml (apt-get install python3-torch)"
  exit 77
fi
sets=("$root/tests/data/golden/tiny" "$root/tests/data/golden/small_16k")
for extra in ultrasafe_l1_b2 memopt_l1_8k; do
  [ -d "$root/../shared/golden/$extra" ] && sets+=("$root/../shared/golden/$extra")
done
exec "$python" "$root/bench/torch_reference.py" --check "${sets[@]}"
