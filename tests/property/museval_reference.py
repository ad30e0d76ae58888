"""locorun evaluate against museval, frame by frame.

Three synthetic stereo tracks of four sources (coloured noise with
envelopes, one second of one reference silent): a near-perfect estimate, a
noisy one with interference, and one whose estimates are delayed and
filtered references. `locorun evaluate --estimates` scores them; museval's
bss_eval (v4: framewise_filters=False, bsseval_sources_version=False, 1 s
windows and hop, 512 taps) scores the same float32 samples. Every SDR, ISR,
SIR and SAR of every track, source and frame must agree within 0.01 dB (the
issue's bound; both solve the same normal equations in double, so the
measured gap is far smaller), NaN frames must coincide, and SI-SDR and uSDR
must equal their definitions (numpy, double) within 1e-4 dB.

Run under the environment of scripts/metrics-venv.sh (museval, numpy,
scipy). museval/__init__ imports its dataset tools (which need ffmpeg), so
museval/metrics.py is loaded on its own.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import wavfile  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--locorun", required=True)
parser.add_argument("--work", required=True)
args = parser.parse_args()

spec = importlib.util.find_spec("museval")
path = os.path.join(spec.submodule_search_locations[0], "metrics.py")
loader = importlib.util.spec_from_file_location("museval_metrics", path)
metrics = importlib.util.module_from_spec(loader)
loader.loader.exec_module(metrics)

RATE = 44100
SOURCES = ["vocals", "drums", "bass", "other"]


def coloured_noise(rng, samples, pole):
    white = rng.standard_normal((samples, 2))
    out = np.zeros_like(white)
    for n in range(samples):
        out[n] = white[n] + (pole * out[n - 1] if n else 0.0)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 1.5) *
                                  np.arange(samples) / RATE)[:, None]
    return 0.1 * out * envelope / np.std(out)


def track(kind, seed, seconds):
    rng = np.random.default_rng(seed)
    samples = int(seconds * RATE)
    refs = np.stack([coloured_noise(rng, samples, pole)
                     for pole in (0.3, 0.9, 0.99, 0.6)])
    if kind == "noisy":
        refs[2, RATE:2 * RATE] = 0.0  # a silent second: a NaN frame
        ests = refs + 0.3 * 0.1 * rng.standard_normal(refs.shape)
        ests += 0.2 * np.roll(refs, 1, axis=0)  # interference
    elif kind == "near_perfect":
        ests = refs + 1e-3 * 0.1 * rng.standard_normal(refs.shape)
    else:  # delayed and filtered references, a little noise
        taps = np.array([0.0] * 5 + [0.7, 0.2, -0.1])
        ests = np.stack([np.stack([np.convolve(refs[s, :, c], taps)[:samples]
                                   for c in range(2)], axis=1)
                         for s in range(4)])
        ests += 1e-2 * 0.1 * rng.standard_normal(refs.shape)
    return refs.astype(np.float32), ests.astype(np.float32)


os.makedirs(args.work, exist_ok=True)
data = os.path.join(args.work, "musdb")
estimates_dir = os.path.join(args.work, "estimates")
tracks = {}
for index, (kind, seconds) in enumerate(
        [("near_perfect", 4.0), ("noisy", 5.5), ("filtered", 4.3)]):
    name = f"{index}_{kind}"
    refs, ests = track(kind, index, seconds)
    tracks[name] = (refs, ests)
    for folder, signals in ((os.path.join(data, "test", name), refs),
                            (os.path.join(estimates_dir, name), ests)):
        os.makedirs(folder, exist_ok=True)
        for s, source in enumerate(SOURCES):
            wavfile.write(os.path.join(folder, source + ".wav"), signals[s], RATE)
    wavfile.write(os.path.join(data, "test", name, "mixture.wav"), refs.sum(0), RATE)

report = os.path.join(args.work, "evaluate.json")
subprocess.run([args.locorun, "evaluate", "--estimates", estimates_dir,
                "--data", data, "--json", report], check=True,
               stdout=subprocess.DEVNULL)
ours = {t["name"]: t for t in json.load(open(report))["tracks"]}


def si_sdr(ref, est, eps=1e-8):
    ref = ref - ref.mean()
    est = est - est.mean()
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + eps)
    proj = alpha * ref
    noise = est - proj
    return 10 * np.log10((np.dot(proj, proj) + eps) / (np.dot(noise, noise) + eps))


worst = {"SDR": 0.0, "ISR": 0.0, "SIR": 0.0, "SAR": 0.0}
failures = []
frames_checked = 0
for name, (refs, ests) in tracks.items():
    sdr, isr, sir, sar, _ = metrics.bss_eval(
        refs.astype(np.float64), ests.astype(np.float64), window=RATE,
        hop=RATE, compute_permutation=False, filters_len=512,
        framewise_filters=False, bsseval_sources_version=False)
    for s, source in enumerate(SOURCES):
        mine = ours[name]["sources"][source]
        for key, theirs in (("SDR", sdr), ("ISR", isr), ("SIR", sir), ("SAR", sar)):
            values = mine["frames"][key]
            if len(values) != theirs.shape[1]:
                failures.append(f"{name}/{source} {key}: {len(values)} frames, museval {theirs.shape[1]}")
                continue
            for t, (a, b) in enumerate(zip(values, theirs[s])):
                frames_checked += 1
                if a is None or b != b or np.isinf(b):
                    if not (a is None and (b != b or np.isinf(b))):
                        failures.append(f"{name}/{source} {key} frame {t}: {a} vs museval {b}")
                    continue
                worst[key] = max(worst[key], abs(a - b))
                if abs(a - b) > 0.01:
                    failures.append(f"{name}/{source} {key} frame {t}: {a:.5f} vs museval {b:.5f}")
        expected_si = np.mean([si_sdr(refs[s, :, c].astype(np.float64),
                                      ests[s, :, c].astype(np.float64))
                               for c in range(2)])
        if abs(mine["SI-SDR"] - expected_si) > 1e-4:
            failures.append(f"{name}/{source} SI-SDR {mine['SI-SDR']} vs {expected_si}")
        r, e = refs[s].astype(np.float64), ests[s].astype(np.float64)
        expected_u = 10 * np.log10((1e-7 + np.sum(r ** 2)) / (1e-7 + np.sum((r - e) ** 2)))
        if abs(mine["uSDR"] - expected_u) > 1e-4:
            failures.append(f"{name}/{source} uSDR {mine['uSDR']} vs {expected_u}")

print(f"{frames_checked} frame scores against museval; largest |difference| in dB: " +
      ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
if failures:
    print("\n".join(failures[:40]))
    sys.exit(1)
