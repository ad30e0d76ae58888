#!/usr/bin/python3
"""Does lococ learn to separate as well as PyTorch? (bench/learn.sh)

1. Renders a MUSDB-layout set of songs with true stems (locorun
   make-dataset: seeded compositions through Debian's General MIDI
   SoundFont).
2. Plans the training batches once, into one file both trainers read:
   each item takes every source from its own random song, channel and
   offset with a random gain (MUSDB's usual remixing), and its mixture is
   the float32 sum of those stems.
3. Trains bench/learn.yaml with lococ (lococ.train over those batches,
   from the initial weights of seed A), then with the PyTorch reference
   (bench/learn_torch.py under bench/.venv: the same initial weights, the
   same batches in the same order, AdamW, clipping and warmup from the same
   config), and once more with PyTorch from seed B's initial weights, which
   measures PyTorch's own run-to-run spread.
4. Scores every saved point of every run on the held-out songs the same
   way: the weights are loaded into one lococ session, which separates the
   songs (locorun separate's overlap-add) for BSSEval v4 (museval's SDR,
   median over frames, then songs) and SI-SDR (mean over songs), both on
   the mono downmix. The mixture itself, as every source's estimate, is
   the baseline: SDRi = SDR - the mixture's SDR.
5. Prints both learning curves side by side, checks the issue's targets,
   and writes learn.json and learn.png (validation SDR per source against
   steps) to --out.

  /usr/bin/python3 bench/learn.py [--steps 200] [--out build/bench-learn]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The exit status when the run completed but a target was not met (1 is
# Python's own for an uncaught error).
UNMET = 3
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import wavfile  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=None, help="default: BUILD/bench-learn")
    p.add_argument("--config", default=os.path.join(HERE, "learn.yaml"))
    p.add_argument("--songs", type=int, default=40)
    p.add_argument("--test-songs", type=int, default=6)
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--render-seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--evals", type=int, default=4,
                   help="evaluation points after step 0, evenly spaced")
    p.add_argument("--seeds", default="42,7", help="initial weights: A (both), B (PyTorch)")
    p.add_argument("--batch-seed", type=int, default=2026)
    p.add_argument("--torch-python", default=os.path.join(HERE, ".venv", "bin", "python"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rescale", choices=["off", "gains"], default="off",
                   help="score the models' stems at their own level (default) or at "
                        "the least-squares gains against the mixture (locorun evaluate "
                        "--rescale gains; a near-silent stem then scores about 0 dB, "
                        "above the mixture's SDR, whether or not it separates)")
    p.add_argument("--score-only", action="store_true",
                   help="score the runs already in OUT again (another --rescale)")
    p.add_argument("--report-only", action="store_true",
                   help="reprint and replot OUT/learn.json; train nothing")
    return p.parse_args()


def render(args, locorun, data):
    stamp = os.path.join(data, "rendered.json")
    want = {"songs": args.songs, "test_songs": args.test_songs, "seconds": args.seconds,
            "seed": args.render_seed}
    if os.path.exists(stamp) and json.load(open(stamp)) == want:
        return 0.0
    shutil.rmtree(data, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([locorun, "make-dataset", data, "--songs", str(args.songs),
                    "--test-songs", str(args.test_songs), "--seconds", str(args.seconds),
                    "--seed", str(args.render_seed)], check=True, stdout=subprocess.DEVNULL)
    json.dump(want, open(stamp, "w"))
    return time.perf_counter() - start


def plan_batches(args, data, sources, shape, path):
    """[steps, B, 1 + S, N] float32: the mixture, then the stems."""
    B, N = shape
    train = os.path.join(data, "train")
    songs = sorted(os.listdir(train))
    stems = [[wavfile.read(os.path.join(train, song, s + ".wav"))[0] for s in sources]
             for song in songs]
    rng = np.random.default_rng(args.batch_seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(args.steps, B, 1 + len(sources), N))
    for step in range(args.steps):
        for b in range(B):
            for s in range(len(sources)):
                audio = stems[rng.integers(len(songs))][s]
                offset = rng.integers(audio.shape[0] - N + 1)
                channel = rng.integers(audio.shape[1])
                gain = np.float32(rng.uniform(0.25, 1.25))
                out[step, b, 1 + s] = audio[offset:offset + N, channel] * gain
            out[step, b, 0] = out[step, b, 1:].sum(axis=0, dtype=np.float32)
    out.flush()
    return out


def save_state(session, path):
    np.savez(path, **session.state_dict())


def load_state(session, path):
    weights = np.load(path)
    for name, view in session.parameters.items():
        np.copyto(view, weights[name])
    missing = set(weights.files) - set(session.parameters)
    if missing:
        raise SystemExit(f"{path}: weights lococ's model does not have: {sorted(missing)}")


def train_lococ(lococ, artifact, init, batches, eval_steps, out):
    os.makedirs(out, exist_ok=True)
    session = lococ.Session(artifact)
    load_state(session, init)
    log = {"steps": []}

    def record(metrics):
        if metrics.get("type", "step") == "step":
            log["steps"].append({k: metrics.get(k) for k in ("step", "loss", "lr", "grad_norm")})

    def batches_between(first, last):
        for step in range(first, last):
            batch = np.array(batches[step])
            yield np.ascontiguousarray(batch[:, 0]), np.ascontiguousarray(batch[:, 1:])

    save_state(session, os.path.join(out, "step_0.npz"))
    wall, done = 0.0, 0
    for target in eval_steps[1:]:
        start = time.perf_counter()
        lococ.train(session, batches_between(done, target), steps=target, progress=False,
                    callbacks=[record])
        wall += time.perf_counter() - start
        done = target
        print(f"\rlococ step {done}/{eval_steps[-1]} loss {log['steps'][-1]['loss']:.3f}",
              end="", file=sys.stderr, flush=True)
        save_state(session, os.path.join(out, f"step_{done}.npz"))
    print(file=sys.stderr)
    log["train_seconds"] = wall
    json.dump(log, open(os.path.join(out, "log.json"), "w"))
    return log


def train_torch(args, init, batches_path, eval_steps, out):
    subprocess.run([args.torch_python, os.path.join(HERE, "learn_torch.py"), "--config",
                    args.config, "--batches", batches_path, "--init", init, "--out", out,
                    "--eval-steps", ",".join(map(str, eval_steps)), "--threads",
                    str(args.threads)], check=True)
    return json.load(open(os.path.join(out, "log.json")))


def scores(doc, sources):
    """SDR and SI-SDR per source, and the raw SDR (the model's own level)
    where the stems were rescaled."""
    summary = doc["summary"]
    return {s: {"SDR": summary[s]["SDR"], "SI-SDR": summary[s]["SI-SDR"],
                "raw SDR": summary[s].get("without_rescaling", summary[s])["SDR"]}
            for s in sources}


def evaluate_runs(lococ, artifact, data, runs, eval_steps, rescale, cache_path):
    """Scores every run's weights at every evaluation step; scores.json
    keeps them by run, step, the weights' time, the rescale mode and the
    artifact's manifest (so another config is scored afresh)."""
    tag = hashlib.sha1(json.dumps(artifact.manifest, sort_keys=True).encode()).hexdigest()[:12]
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    session = lococ.Session(artifact)
    sources = session.sources
    for run, folder in runs.items():
        for step in eval_steps:
            weights = os.path.join(folder, f"step_{step}.npz")
            key = f"{run}/{step}/{os.path.getmtime(weights)}/{rescale}/{tag}"
            if key not in cache:
                load_state(session, weights)
                cache[key] = scores(lococ.evaluate(session, data, mono=True, rescale=rescale),
                                    sources)
                json.dump(cache, open(cache_path, "w"))
            print(f"\rscored {run} step {step}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {run: {step: cache[f"{run}/{step}/"
                              f"{os.path.getmtime(os.path.join(folder, f'step_{step}.npz'))}/"
                              f"{rescale}/{tag}"]
                  for step in eval_steps} for run, folder in runs.items()}


def mixture_baseline(lococ, data, sources, out):
    """The mixture as every source's estimate, at its own level (the MUSDB
    papers' baseline)."""
    test = os.path.join(data, "test")
    for song in sorted(os.listdir(test)):
        os.makedirs(os.path.join(out, song), exist_ok=True)
        for s in sources:
            link = os.path.join(out, song, s + ".wav")
            if not os.path.lexists(link):
                os.symlink(os.path.join(test, song, "mixture.wav"), link)
    return scores(lococ.evaluate(None, data, estimates=out, sources=sources, mono=True),
                  sources)


def side_by_side(results, baseline, sources, eval_steps, rescaled):
    """One row per step and run: SDR, SDRi and SI-SDR per source (and the
    raw SDR when the stems were rescaled)."""
    names = {"lococ": "lococ", "torch": "PyTorch", "torch_b": "PyTorch seed B"}
    head = "SDR  SDRi   raw  SI-SDR" if rescaled else "SDR  SDRi  SI-SDR"
    width = 28 if rescaled else 22

    def cells(sdr, sdri, raw, si_sdr):
        return (f"{sdr:>{width - 18 if rescaled else width - 12}.2f}{sdri:>6.2f}"
                + (f"{raw:>6.1f}" if rescaled else "") + f"{si_sdr:>6.1f}")

    lines = [f"{'step':>5}  {'run':<15}" + "".join(f"{s:>{width}}" for s in sources),
             f"{'':>5}  {'':<15}" + "".join(f"{head:>{width}}" for _ in sources)]
    for step in eval_steps:
        for run in results:
            r = results[run][step]
            lines.append(f"{step:>5}  {names[run]:<15}" + "".join(
                cells(r[s]["SDR"], r[s]["SDR"] - baseline[s]["SDR"], r[s]["raw SDR"],
                      r[s]["SI-SDR"]) for s in sources))
    lines.append(f"{'':>5}  {'mixture':<15}" + "".join(
        cells(baseline[s]["SDR"], 0.0, baseline[s]["SDR"], baseline[s]["SI-SDR"])
        for s in sources))
    return "\n".join(lines)


def check_targets(results, baseline, sources, eval_steps, logs, out):
    """The issue's targets, each with its figure, and the checks the
    comparison rests on (same rates, the same losses early on)."""
    final = eval_steps[-1]
    lines, met = [], True

    def verdict(ok, text):
        nonlocal met
        met &= bool(ok)
        lines.append(("met    " if ok else "NOT MET") + " " + text)

    gaps = {s: results["lococ"][final][s]["SDR"] - results["torch"][final][s]["SDR"] for s in sources}
    verdict(all(abs(g) <= 0.5 for g in gaps.values()),
            "final SDR within 0.5 dB of PyTorch's: " +
            ", ".join(f"{s} {g:+.2f}" for s, g in gaps.items()))
    worst = []
    for step in eval_steps[1:]:
        ours = np.mean([abs(results["lococ"][step][s]["SDR"] - results["torch"][step][s]["SDR"])
                        for s in sources])
        spread = np.mean([abs(results["torch_b"][step][s]["SDR"] - results["torch"][step][s]["SDR"])
                          for s in sources])
        worst.append((step, ours, spread))
    verdict(all(ours <= spread for _, ours, spread in worst),
            "curve within PyTorch's run-to-run spread (mean |SDR difference| over sources, "
            "lococ-PyTorch vs PyTorch seed B-PyTorch): " +
            ", ".join(f"step {k}: {o:.2f} vs {s:.2f}" for k, o, s in worst))
    # SDRi at the model's own level (a rescaled near-silent stem would beat
    # the mixture without separating anything).
    sdri = {s: results["lococ"][final][s]["raw SDR"] - baseline[s]["SDR"] for s in sources}
    verdict(all(sdri[s] > 0 for s in ("vocals", "drums", "bass") if s in sdri),
            "positive final SDRi on vocals, drums, bass (other reported): " +
            ", ".join(f"{s} {v:+.2f}" for s, v in sdri.items()))
    lococ_steps, torch_steps = logs["lococ"]["steps"], logs["torch"]["steps"]
    same_steps = [e["step"] for e in lococ_steps] == [e["step"] for e in torch_steps]
    verdict(same_steps and lococ_steps, f"both trainers logged the same {len(lococ_steps)} steps")
    if not same_steps or not lococ_steps:
        return met, "\n".join(lines)
    pairs = list(zip(lococ_steps, torch_steps))
    lr_gap = max(abs(a["lr"] - b["lr"]) / b["lr"] for a, b in pairs)
    verdict(lr_gap <= 1e-12, f"the same learning rate at every step (largest relative "
            f"difference {lr_gap:.1e})")
    # From the same weights and batches the two fp32 steps differ only by
    # rounding: losses and gradient norms agree to ~1e-6 at first (then the
    # rounding grows, as between any two implementations: after an update,
    # Adam moves weights whose gradients are rounding-sized by +-lr on
    # their sign, which the gradient norm shows before the loss does).
    early = pairs[:10]
    loss_gap = max(abs(a["loss"] - b["loss"]) / abs(b["loss"]) for a, b in early)
    first_norm = abs(pairs[0][0]["grad_norm"] - pairs[0][1]["grad_norm"]) / pairs[0][1]["grad_norm"]
    norm_gap = max(abs(a["grad_norm"] - b["grad_norm"]) / b["grad_norm"] for a, b in early)
    verdict(loss_gap <= 1e-4 and first_norm <= 1e-4,
            f"the same training over the first {len(early)} steps: loss within "
            f"{loss_gap:.1e}, step 1's gradient norm within {first_norm:.1e} (relative; 1e-4 "
            f"allowed); the gradient norms of those steps within {norm_gap:.1e}")
    last = [abs(a["loss"] - b["loss"]) / abs(b["loss"]) for a, b in pairs][-1]
    weights = ""
    ours, theirs = (os.path.join(out, run, f"step_{final}.npz") for run in ("lococ", "torch"))
    if os.path.exists(ours) and os.path.exists(theirs):
        a, b = np.load(ours), np.load(theirs)
        diff, name = max((float(np.max(np.abs(a[k] - b[k]))), k) for k in a.files)
        weights = (f"; largest weight difference at step {final}: {diff:.1e} (in {name}; "
                   "Adam moves weights the loss barely sees by +-lr on the sign of "
                   "rounding-sized gradients)")
    lines.append(f"info    step {pairs[-1][0]['step']}: loss relative difference {last:.1e}"
                 + weights)
    lines.append(f"info    training wall time: lococ {logs['lococ']['train_seconds']:.0f} s, "
                 f"PyTorch {logs['torch']['train_seconds']:.0f} s "
                 f"(seed B {logs['torch_b']['train_seconds']:.0f} s), "
                 f"{len(lococ_steps)} steps each")
    return met, "\n".join(lines)


def plot(results, baseline, sources, eval_steps, logs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # lococ wide and pale under PyTorch's thin dashes: from the same
    # weights and batches the two curves should coincide.
    styles = {"lococ": ("lococ", "C0", dict(ls="-", lw=5, alpha=0.45, marker="o", ms=9)),
              "torch": ("PyTorch", "C3", dict(ls="--", lw=1.5, marker="x")),
              "torch_b": ("PyTorch, seed B", "C2", dict(ls=":", lw=1.5, marker="s", ms=4))}
    fig, grid = plt.subplots(2, 3, figsize=(13, 7.5))
    axes = grid.ravel()
    for ax, s in zip(axes, sources):
        for run, (label, color, line) in styles.items():
            ax.plot(eval_steps, [results[run][k][s]["SDR"] for k in eval_steps],
                    color=color, label=label, **line)
        ax.axhline(baseline[s]["SDR"], color="grey", lw=1, label="mixture as estimate")
        ax.set_title(f"{s}: validation SDR")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("SDR (dB, BSSEval v4)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    ax = axes[len(sources)]
    for run, (label, color, line) in styles.items():
        steps = logs[run]["steps"]
        ax.plot([e["step"] for e in steps], [e["loss"] for e in steps], color=color,
                label=label, ls=line["ls"], lw=min(line["lw"], 3) / 2, alpha=line.get("alpha", 1))
    ax.set_title("training loss (combined)")
    ax.set_xlabel("optimizer step")
    ax.grid(alpha=0.3)
    for ax in axes[len(sources) + 1:]:
        ax.axis("off")
    fig.suptitle("bench/learn.sh: bench/learn.yaml on rendered songs, lococ and PyTorch")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    args = parse_args()
    sys.path.insert(0, os.path.join(args.build, "python"))
    import lococ
    out = args.out or os.path.join(args.build, "bench-learn")
    os.makedirs(out, exist_ok=True)
    locorun = os.path.join(args.build, "bin", "locorun")
    data = os.path.join(out, "data")
    seeds = [int(s) for s in args.seeds.split(",")]
    evals = [round(args.steps * i / args.evals) for i in range(args.evals + 1)]
    eval_steps = sorted(set(evals))

    if args.report_only:
        return report(json.load(open(os.path.join(out, "learn.json"))), out)
    start = time.perf_counter()
    artifact = lococ.compile(args.config)
    if args.score_only:
        # The run's own steps and songs, whatever the flags say.
        previous = json.load(open(os.path.join(out, "learn.json")))
        eval_steps = previous["eval_steps"]
        for key in ("steps", "songs", "test_songs", "seconds"):
            setattr(args, key, previous[key])
        logs = {run: json.load(open(os.path.join(out, run, "log.json")))
                for run in ("lococ", "torch", "torch_b")}
        sources = lococ.Session(artifact).sources
    else:
        rendered = render(args, locorun, data)
        probe = lococ.Session(artifact)
        sources, shape = probe.sources, probe.batch_shape
        for i, seed in enumerate(seeds):
            save_state(lococ.Session(artifact, seed=seed), os.path.join(out, f"init_{i}.npz"))
        del probe
        batches_path = os.path.join(out, "batches.npy")
        batches = plan_batches(args, data, sources, shape, batches_path)
        print(f"rendered {args.songs}+{args.test_songs} songs of {args.seconds:g} s "
              f"({rendered:.0f} s); {args.steps} steps of {shape[0]} x {shape[1]} samples",
              file=sys.stderr)
        logs = {"lococ": train_lococ(lococ, artifact, os.path.join(out, "init_0.npz"),
                                     batches, eval_steps, os.path.join(out, "lococ")),
                "torch": train_torch(args, os.path.join(out, "init_0.npz"), batches_path,
                                     eval_steps, os.path.join(out, "torch")),
                "torch_b": train_torch(args, os.path.join(out, "init_1.npz"), batches_path,
                                       eval_steps, os.path.join(out, "torch_b"))}
    runs = {run: os.path.join(out, run) for run in logs}
    results = evaluate_runs(lococ, artifact, data, runs, eval_steps, args.rescale,
                            os.path.join(out, "scores.json"))
    baseline = mixture_baseline(lococ, data, sources, os.path.join(out, "mixture"))

    total = time.perf_counter() - start
    if args.score_only:
        # The run's own time: training and scoring.
        total = json.load(open(os.path.join(out, "learn.json")))["wall_seconds"]
    doc = {"config": os.path.relpath(args.config, ROOT), "steps": args.steps,
           "songs": args.songs, "test_songs": args.test_songs, "seconds": args.seconds,
           "eval_steps": eval_steps, "sources": sources, "results": results,
           "mixture": baseline, "logs": logs, "rescale": args.rescale,
           "wall_seconds": total}
    json.dump(doc, open(os.path.join(out, "learn.json"), "w"), indent=1)
    return report(doc, out)


def report(doc, out):
    """Prints the curves and the targets, plots; 0 when every target is met."""
    sources, eval_steps, baseline, logs = (doc["sources"], doc["eval_steps"], doc["mixture"],
                                           doc["logs"])
    # JSON keys are strings.
    results = {run: {int(k): v for k, v in steps.items()} for run, steps in doc["results"].items()}
    print(f"bench/learn.sh: {doc['config']}, {doc['steps']} steps, {doc['songs']} training "
          f"and {doc['test_songs']} test songs of {doc['seconds']:g} s (rendered, FluidR3_GM); "
          "scored on the test songs' mono downmix: SDR is BSSEval v4's (median over 1 s "
          "frames, then songs) of the stems "
          + ("at the least-squares gains against the mixture (--rescale gains), raw at the "
             "model's own level" if doc.get("rescale", "off") == "gains" else "at the model's "
             "own level") + "; SDRi against the mixture as every estimate; SI-SDR the mean "
          "over songs")
    print(side_by_side(results, baseline, sources, eval_steps,
                       doc.get("rescale", "off") == "gains"))
    met, verdicts = check_targets(results, baseline, sources, eval_steps, logs, out)
    print(verdicts)
    print(f"bench wall time {doc['wall_seconds'] / 60:.1f} min")
    try:
        plot(results, baseline, sources, eval_steps, logs, os.path.join(out, "learn.png"))
        print(f"wrote {os.path.join(out, 'learn.png')} and learn.json")
    except ImportError:
        print("no plot: matplotlib is missing (apt-get install python3-matplotlib)")
    return 0 if met else UNMET


if __name__ == "__main__":
    sys.exit(main())
