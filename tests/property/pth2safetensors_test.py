#!/usr/bin/env python3
"""tools/pth2safetensors.py: an upstream checkpoint in, locorun's weights
out. With the tiny golden set's weights saved as upstream's train.py saves
them ({'model_state_dict': ..., 'epoch': ...}), the converted file holds the
very same values, and locorun's forward pass on it reproduces the golden
loss (1e-4 relative, as the golden parity test); a DataParallel state_dict
("module." prefixes) in bf16 converts too (widened exactly); a checkpoint of
another config is refused, naming the tensor and both shapes, and writes
nothing. Exits 77 (skipped) without torch.

  /usr/bin/python3 pth2safetensors_test.py --lococ L --locorun R
      --golden tests/data/golden/tiny --work DIR
"""
import argparse
import json
import os
import re
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIPPED: needs torch ({e})")
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
tool = os.path.join(here, "..", "..", "tools", "pth2safetensors.py")
sys.path.insert(0, os.path.join(here, "..", "..", "bench"))
import torch_reference as ref  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--lococ", required=True)
parser.add_argument("--locorun", required=True)
parser.add_argument("--golden", required=True)
parser.add_argument("--work", required=True)
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
config = os.path.join(args.golden, "config.yaml")
golden = ref.read_safetensors(os.path.join(args.golden, "weights.safetensors"))


def convert(pth, out, *extra):
    return subprocess.run([sys.executable, tool, pth, "--config", config, "-o", out,
                           *extra], capture_output=True, text=True)


# As upstream saves it.
pth = os.path.join(args.work, "upstream.pth")
torch.save({"model_state_dict": golden, "epoch": 3, "optimizer_state_dict": {}}, pth)
out = os.path.join(args.work, "model.safetensors")
result = convert(pth, out)
assert result.returncode == 0, result.stderr
converted = ref.read_safetensors(out)
assert converted.keys() == golden.keys()
for name in golden:
    assert torch.equal(converted[name], golden[name]), name

# locorun's forward pass on the converted weights: the golden loss.
so = os.path.join(args.work, "train.so")
subprocess.run([args.lococ, config, "--set", "training.use_amp=false", "-o", so], check=True)
run = subprocess.run([args.locorun, so, "--device", "cpu", "--eval", "--init", out, "--batch",
                      os.path.join(args.golden, "inputs.safetensors")],
                     capture_output=True, text=True, check=True)
loss = float(re.search(r"total_loss\s+([-0-9.e]+)", run.stdout).group(1))
expected = json.load(open(os.path.join(args.golden, "loss.json")))["total_loss"]
assert abs(loss - expected) <= 1e-4 * abs(expected), (loss, expected)
print(f"converted: {len(converted)} tensors equal; locorun loss {loss:.6f}, golden {expected:.6f}")

# DataParallel names, bf16 values: widened exactly.
bf16 = {"module." + k: v.to(torch.bfloat16) for k, v in golden.items()}
pth16 = os.path.join(args.work, "dp_bf16.pth")
torch.save(bf16, pth16)
result = convert(pth16, os.path.join(args.work, "bf16.safetensors"))
assert result.returncode == 0, result.stderr
back = ref.read_safetensors(os.path.join(args.work, "bf16.safetensors"))
for name, value in bf16.items():
    assert torch.equal(back[name[len("module."):]], value.float()), name

# Another config's checkpoint: refused by name and shapes, nothing written.
other = {k: v for k, v in golden.items()}
other["deconv.bias"] = torch.zeros(3)
del other["conv.0.weight"]
other["extra.weight"] = torch.zeros(2)
pthx = os.path.join(args.work, "other.pth")
torch.save({"model_state_dict": other}, pthx)
bad = os.path.join(args.work, "bad.safetensors")
result = convert(pthx, bad)
assert result.returncode == 1, result
for needle in ("missing 'conv.0.weight'", "'deconv.bias' has shape [3], the config's model has [8]",
               "unexpected 'extra.weight'"):
    assert needle in result.stderr, (needle, result.stderr)
assert not os.path.exists(bad) and not os.path.exists(bad + ".partial")

# Not a checkpoint at all.
junk = os.path.join(args.work, "junk.pth")
open(junk, "w").write("not a pickle")
result = convert(junk, bad)
assert result.returncode == 1 and "cannot read as a PyTorch checkpoint" in result.stderr, result.stderr
print("refusals: mismatched names and shapes, a file that is not a checkpoint")
