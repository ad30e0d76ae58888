#!/usr/bin/env python3
"""The PyTorch side of bench/separate.sh: upstream-style inference, the
whole song through the model in one forward pass (upstream's
inference/separate.py), on bench/torch_reference.py's model.

  python separate_torch.py CONFIG --work DIR [--set k=v]... [--seconds S]
      [--threads 2]

Writes DIR/weights.safetensors (the model's PyTorch-default initialisation
from the config's seed, saved as upstream's train.py saves a checkpoint and
converted by tools/pth2safetensors.py, so that lococ separates with the very
same weights) and DIR/song.wav (a synthetic mono song of S seconds at the
model's rate). Then, each in a fresh process, the whole-song forward pass
(eval, no_grad, fp32) on the first S/4, S/2 and S seconds: its time and the
process's peak RSS. Peak RSS is fitted as a + b * seconds (+ c * seconds^2
when three points show curvature) and solved for 24 GiB: the longest song
that whole-song inference fits in 24 GiB of memory. Prints one JSON object.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import torch_reference as ref  # noqa: E402
import wavfile  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("config")
parser.add_argument("--set", action="append", default=[])
parser.add_argument("--work", required=True)
parser.add_argument("--seconds", type=float, default=8.0)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--child-seconds", type=float)
args = parser.parse_args()
torch.set_num_threads(args.threads)
cfg = ref.load_config(args.config, args.set)
rate = cfg["dataset"]["sample_rate"]


if args.child_seconds is not None:
    model = ref.TFLocoformer(cfg)
    model.load_state_dict(ref.read_safetensors(os.path.join(args.work, "weights.safetensors")))
    model.eval()
    song = wavfile.read(os.path.join(args.work, "song.wav"))[0][:int(args.child_seconds * rate), 0]
    start = time.perf_counter()
    with torch.no_grad():
        model(torch.from_numpy(song.copy())[None])
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": args.child_seconds, "forward_s": seconds,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    sys.exit(0)

os.makedirs(args.work, exist_ok=True)
torch.manual_seed(cfg.get("seed", 42))
model = ref.TFLocoformer(cfg)
pth = os.path.join(args.work, "upstream.pth")
torch.save({"model_state_dict": model.state_dict()}, pth)
subprocess.run([sys.executable, os.path.join(here, "..", "tools", "pth2safetensors.py"), pth,
                "--config", args.config, *sum((["--set", s] for s in args.set), []),
                "-o", os.path.join(args.work, "weights.safetensors")],
               check=True, stdout=subprocess.DEVNULL)

rng = np.random.default_rng(1)
n = int(args.seconds * rate)
t = np.arange(n) / rate
song = sum(0.1 * np.sin(2 * np.pi * rng.uniform(60, 3000) * t) for _ in range(6))
wavfile.write(os.path.join(args.work, "song.wav"), song + 0.01 * rng.standard_normal(n), rate)

runs = []
for fraction in (0.25, 0.5, 1.0):
    out = subprocess.run([sys.executable, __file__, args.config, *sum((["--set", s] for s in args.set), []),
                          "--work", args.work, "--threads", str(args.threads),
                          "--child-seconds", str(args.seconds * fraction)],
                         check=True, capture_output=True, text=True)
    runs.append(json.loads(out.stdout))
x = np.array([r["seconds"] for r in runs])
y = np.array([r["peak_rss_bytes"] for r in runs], dtype=float)
budget = 24 * 2 ** 30
linear = np.polyfit(x, y, 1)
quadratic = np.polyfit(x, y, 2)
# Whole-song inference grows at least linearly; a positive curvature (the
# L x L attention of a PyTorch without SDPA) makes it quadratic.
coeffs = quadratic if quadratic[0] > 0 and abs(quadratic[0]) * x[-1] ** 2 > 0.05 * y[-1] else linear
roots = [r.real for r in np.roots(np.append(coeffs[:-1], coeffs[-1] - budget)) if abs(r.imag) < 1e-9 and r.real > 0]
print(json.dumps({
    "torch": torch.__version__,
    "sdpa": hasattr(torch.nn.functional, "scaled_dot_product_attention"),
    "threads": args.threads,
    "runs": runs,
    "audio_seconds_per_second": runs[-1]["seconds"] / runs[-1]["forward_s"],
    "rss_fit": "quadratic" if coeffs is quadratic else "linear",
    "rss_bytes_per_second_of_audio": float(np.polyval(np.polyder(coeffs), x[-1])),
    "longest_song_in_24GiB_s": min(roots) if roots else None,
}))
