#!/usr/bin/env python3
"""Compile a config under a memory budget, train it from a numpy batch
generator with a logging callback, and separate a song, all from Python.

    PYTHONPATH=build/python /usr/bin/python3 examples/train_from_python.py \
        [CONFIG] [--steps N] [--song FILE.wav]

The defaults train configs/tiny.yaml for 20 steps on generated tones and
separate a generated song; docs/PYTHON.md explains each call.
"""

import argparse
import os
import wave

import numpy as np

import lococ


def batches(session, seed=0):
    """Endless (mixture, targets) batches: each source a tone with noise,
    the mixture their sum. Replace with your own data pipeline."""
    rng = np.random.default_rng(seed)
    batch, length = session.batch_shape
    rate = session.manifest["model"]["sample_rate"]
    t = np.arange(length) / rate
    while True:
        sources = []
        for s in range(len(session.sources)):
            freq = 110.0 * (s + 1) * rng.uniform(0.9, 1.1, size=(batch, 1))
            sources.append(0.2 * np.sin(2 * np.pi * freq * t) +
                           0.01 * rng.standard_normal((batch, length)))
        targets = np.stack(sources, axis=1).astype(np.float32)
        yield targets.sum(axis=1), targets


def log(metrics):
    """A callback: every step's and validation's metrics dict."""
    if metrics.get("type") == "validation":
        print("validation: loss %.3f" % metrics["val_loss"])
    elif metrics["step"] % 5 == 0:
        print("step %d: loss %.3f, lr %.2e, grad norm %.2f" % (
            metrics["step"], metrics["loss"], metrics["lr"],
            metrics["grad_norm"]))


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2, "16-bit PCM WAV expected"
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        audio = pcm.reshape(-1, w.getnchannels()).T / 32768.0
        return np.ascontiguousarray(audio, dtype=np.float32), w.getframerate()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?",
                        default=os.path.join(here, "..", "configs",
                                             "tiny.yaml"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--budget", default="64MiB")
    parser.add_argument("--song", help="a 16-bit WAV to separate")
    parser.add_argument("--out", default="python-run")
    args = parser.parse_args()

    artifact = lococ.compile(args.config, memory_budget=args.budget,
                             set={"model.dropout": 0.0})
    report = artifact.memory_report
    print("arena %.1f MiB (lower bound %.1f MiB) under %s" % (
        report["arena_bytes"] / 2**20, report["lower_bound_bytes"] / 2**20,
        args.budget))

    session = lococ.Session(artifact)
    lococ.train(session, batches(session), steps=args.steps,
                out=args.out, callbacks=[log], progress=False)
    print("trained %d steps; checkpoint in %s" % (session.step, args.out))

    if args.song:
        audio, rate = read_wav(args.song)
    else:
        rate = session.manifest["model"]["sample_rate"]
        mixture, _ = next(batches(session, seed=1))
        audio = np.ascontiguousarray(mixture[:1])  # one channel
    stems = session.separate(audio, rate)
    for name, stem in stems.items():
        print("%-8s %s, rms %.4f" % (name, stem.shape,
                                     float(np.sqrt(np.mean(stem ** 2)))))


if __name__ == "__main__":
    main()
