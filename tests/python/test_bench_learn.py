"""bench/learn.sh's plumbing, small (ctest bench-learn-smoke): a few
rendered songs, 4 steps of bench/learn.yaml by lococ and by the PyTorch
reference (this interpreter's torch, Debian's python3-torch in CI; the bench
itself runs bench/.venv's modern PyTorch), from the same initial weights and
batches. It checks what the bench's comparison rests on, not that anything
learns (the bench and ctest learning-rendered do that):

- both trainers logged the same steps with the same learning rate;
- from the same weights and batch, the first step's loss and gradient norm
  agree: the two compute the same fp32 step in different orders (1e-6
  relative, measured with torch 2.15); 1e-4 leaves room for another
  torch's kernels while failing a different model, loss or batch; the
  later steps' losses agree to 1e-2 (see below); AdamW itself is held to upstream's by the golden sets'
  step (GoldenParity), and the torch side is torch.optim.AdamW;
- PyTorch's second run starts from other weights (its spread is real);
- every run was scored at every evaluation step, and the report says so.
"""

import json
import os
import subprocess
import sys

import pytest

from test_lococ import SOURCE

pytest.importorskip("torch", reason="python3-torch is missing")
UNMET = 3  # bench/learn.py's status when a target is not met


def test_bench_learn_compares_the_same_training(tmp_path):
    build = os.environ.get("LOCO_BUILD_DIR")
    if not build:
        pytest.skip("LOCO_BUILD_DIR not set")
    if not os.path.exists("/usr/share/sounds/sf2/FluidR3_GM.sf2"):
        pytest.skip("fluid-soundfont-gm is missing")
    out = tmp_path / "learn"
    run = subprocess.run(
        [sys.executable, os.path.join(SOURCE, "bench", "learn.py"), "--build", build,
         "--out", str(out), "--songs", "3", "--test-songs", "1", "--seconds", "3",
         "--steps", "4", "--evals", "1", "--torch-python", sys.executable],
        capture_output=True, text=True, timeout=600)
    # 4 steps learn nothing, so a target may be unmet; a crash is a failure.
    assert run.returncode in (0, UNMET), run.stdout + run.stderr
    doc = json.load(open(out / "learn.json"))
    lococ, torch_a, torch_b = (doc["logs"][r]["steps"] for r in ("lococ", "torch", "torch_b"))
    assert [e["step"] for e in lococ] == [1, 2, 3, 4]
    assert [e["step"] for e in torch_a] == [1, 2, 3, 4]
    for ours, theirs in zip(lococ, torch_a):
        assert ours["lr"] == pytest.approx(theirs["lr"], rel=1e-12)
    # Step 1 differentiates the same weights on the same batch: loss and
    # gradient norm agree to rounding. Adam's first update is lr times the
    # sign of each gradient, so weights whose gradients are rounding-sized
    # move apart by 2 lr, and with them the later steps: on these 3 s songs
    # (some stems near silent in a segment, gradient norms of 1e4) the loss
    # differed by 2.5e-4 at step 3 against torch 1.13. 1e-2 after step 1
    # still fails a skipped update or another batch (the loss moves by
    # about 10% a step here).
    first, first_torch = lococ[0], torch_a[0]
    assert first["loss"] == pytest.approx(first_torch["loss"], rel=1e-4)
    assert first["grad_norm"] == pytest.approx(first_torch["grad_norm"], rel=1e-4)
    for ours, theirs in zip(lococ[1:], torch_a[1:]):
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-2), (ours, theirs)
    assert torch_b[0]["loss"] != pytest.approx(torch_a[0]["loss"], rel=1e-3)
    for name in ("lococ", "torch", "torch_b"):
        assert sorted(map(int, doc["results"][name])) == [0, 4]
    assert "met     final SDR within 0.5 dB of PyTorch's" in run.stdout, run.stdout
    assert (out / "learn.png").exists() or "matplotlib is missing" in run.stdout
