#!/usr/bin/env python3
"""locorun separate on a 60 s song against the same overlap-add computed
with bench/torch_reference.py's model (PyTorch, fp32), on the tiny golden
set's weights.

The song is synthetic (partials with envelopes and noise), mono, at the
model's rate, 60 s long: hundreds of segments, with a partial last one.
Here the overlap-add is written anew from its definition: segment k starts
at k * hop (hop = segment - round(overlap * segment)); its window fades in
linearly over the overlap ((i + 0.5) / overlap, not for the first
segment), fades out likewise (not for the last), the smaller of the two;
each sample's estimate is the window-weighted sum divided by the sum of the
windows there. The two separations must agree within 1e-5 of each source's
largest magnitude (fp32 on both sides: summation orders and FFT rounding
differ; the golden parity of one segment is ~1e-6).

  /usr/bin/python3 separate_reference.py --lococ LOCOC --locorun LOCORUN
      --golden tests/data/golden/tiny --work DIR [--seconds 60]
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bench"))
import torch_reference as ref  # noqa: E402
import wavfile  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--lococ", required=True)
parser.add_argument("--locorun", required=True)
parser.add_argument("--golden", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--seconds", type=float, default=60.0)
parser.add_argument("--overlap", type=float, default=0.25)
parser.add_argument("--batch", type=int, default=8)
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
torch.set_num_threads(2)


cfg = ref.load_config(os.path.join(args.golden, "config.yaml"), [])
rate, N = cfg["dataset"]["sample_rate"], cfg["dataset"]["segment_length"]
sources = cfg["dataset"]["sources"]

# The song.
rng = np.random.default_rng(0)
length = int(args.seconds * rate)
t = np.arange(length) / rate
song = np.zeros(length)
for k in range(6):
    f, r = rng.uniform(80, 4000), rng.uniform(0.2, 2.0)
    song += 0.1 * (0.6 + 0.4 * np.sin(2 * np.pi * r * t)) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
song += 0.01 * rng.standard_normal(length)
song = song.astype(np.float32)
wavfile.write(os.path.join(args.work, "song.wav"), song, rate)

# lococ + locorun.
sep = os.path.join(args.work, "sep.so")
subprocess.run([args.lococ, os.path.join(args.golden, "config.yaml"), "--set",
                "training.use_amp=false", "--mode", "separate", "--batch-segments",
                str(args.batch), "-o", sep], check=True)
subprocess.run([args.locorun, "separate", sep, "--weights",
                os.path.join(args.golden, "weights.safetensors"), "--overlap",
                str(args.overlap), "--quiet", "--rescale", "off", "--overwrite",
                os.path.join(args.work, "song.wav"), "-o", os.path.join(args.work, "out")],
               check=True, stdout=subprocess.DEVNULL)
ours = {s: wavfile.read(os.path.join(args.work, "out", "song", s + ".wav"))[0][:, 0]
        for s in sources}

# PyTorch: the same overlap-add from its definition.
model = ref.TFLocoformer(cfg)
model.load_state_dict(ref.read_safetensors(os.path.join(args.golden, "weights.safetensors")))
model.eval()
overlap = min(N - 1, int(round(args.overlap * N)))
hop = N - overlap
count = max(1, -(-max(0, length - overlap) // hop))
padded = np.zeros(count * hop + N, dtype=np.float32)
padded[:length] = song
windows = np.ones((count, N))
i = np.arange(N)
for k in range(count):
    if overlap and k > 0:
        windows[k] = np.minimum(windows[k], (i + 0.5) / overlap)
    if overlap and k + 1 < count:
        windows[k] = np.minimum(windows[k], (N - i - 0.5) / overlap)
total = np.zeros(count * hop + N)
acc = np.zeros((len(sources), count * hop + N))
with torch.no_grad():
    for first in range(0, count, args.batch):
        ks = range(first, min(count, first + args.batch))
        batch = torch.from_numpy(np.stack([padded[k * hop:k * hop + N] for k in ks]))
        est = model(batch).double().numpy()  # [B, S, N]
        for row, k in enumerate(ks):
            acc[:, k * hop:k * hop + N] += windows[k] * est[row]
            total[k * hop:k * hop + N] += windows[k]
theirs = acc[:, :length] / total[:length]

worst = 0.0
for s, source in enumerate(sources):
    assert ours[source].shape == (length,), (source, ours[source].shape)
    rel = np.abs(ours[source] - theirs[s]).max() / np.abs(theirs[s]).max()
    print(f"{source}: max |lococ - torch| / max |torch| = {rel:.2e} "
          f"({count} segments of {N}, overlap {overlap})")
    worst = max(worst, rel)
sys.exit(0 if worst <= 1e-5 else 1)
