#!/usr/bin/env python3
"""The PyTorch side of bench/learn.sh: trains bench/torch_reference.py's
TF-Locoformer (written from docs/MODEL.md, checked against the golden sets)
on the batches bench/learn.py planned, from the initial weights it wrote,
with the config's AdamW, gradient clipping and linear warmup, and saves the
weights at the evaluation steps. Run by bench/learn.py under bench/.venv's
PyTorch; not meant to be called by hand.

  learn_torch.py --config C --batches B.npy --init W.npz --out DIR
                 --eval-steps 0,50,... [--threads N]

Writes DIR/step_<k>.npz (the state_dict under upstream names) for each
evaluation step and DIR/log.json: per step the loss, learning rate,
gradient norm and seconds, and the training's wall time.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import TFLocoformer, load_config, loss_terms  # noqa: E402


def warmup_lr(training, step):
    """The rate of optimizer step `step` (1-based): linear from
    warmup_start_lr to lr over warmup_steps steps, then lr (written from
    docs/TRAINING.md's key reference, independently of the runner)."""
    base = training["optimizer"]["lr"]
    warmup = training.get("warmup_steps", 0)
    start = training.get("warmup_start_lr", 0.0)
    if warmup > 0 and step <= warmup:
        return start + (base - start) * step / warmup
    return base


def load_initial(model, path):
    """The initial weights, strictly: every trainable parameter must be in
    the file with its shape. RoPE's frequency tables are constants
    (requires_grad=False) that lococ computes and does not store."""
    weights = np.load(path)
    own = model.state_dict()
    for name, tensor in own.items():
        if name not in weights.files:
            if name.endswith(".freqs"):
                continue
            raise SystemExit(f"{path}: no weight '{name}'")
        value = torch.from_numpy(weights[name])
        if value.shape != tensor.shape:
            raise SystemExit(f"{path}: '{name}' is {tuple(value.shape)}, the model's is "
                             f"{tuple(tensor.shape)}")
        tensor.copy_(value)
    extra = set(weights.files) - set(own)
    if extra:
        raise SystemExit(f"{path}: weights the model does not have: {sorted(extra)[:5]}")


def save(model, path):
    np.savez(path, **{name: t.detach().numpy() for name, t in model.state_dict().items()
                      if not name.endswith(".freqs")})


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--batches", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--eval-steps", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, [])
    training = cfg["training"]
    batches = np.load(args.batches, mmap_mode="r")  # [steps, B, 1 + S, N]
    eval_steps = sorted(int(s) for s in args.eval_steps.split(","))
    os.makedirs(args.out, exist_ok=True)

    model = TFLocoformer(cfg)
    load_initial(model, args.init)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                            lr=training["optimizer"]["lr"],
                            weight_decay=training["optimizer"]["weight_decay"],
                            eps=training["optimizer"]["eps"],
                            betas=tuple(training["optimizer"]["betas"]))
    log = {"steps": [], "torch": torch.__version__, "threads": args.threads}
    if 0 in eval_steps:
        save(model, os.path.join(args.out, "step_0.npz"))
    wall = 0.0
    for step in range(1, eval_steps[-1] + 1):
        start = time.perf_counter()
        batch = torch.from_numpy(np.array(batches[step - 1]))
        mixture, targets = batch[:, 0], batch[:, 1:]
        lr = warmup_lr(training, step)
        for group in opt.param_groups:
            group["lr"] = lr
        loss, _ = loss_terms(cfg, model(mixture), targets)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), training["gradient_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - start
        wall += seconds
        log["steps"].append({"step": step, "loss": float(loss), "lr": lr,
                             "grad_norm": float(norm), "seconds": seconds})
        if step in eval_steps:
            save(model, os.path.join(args.out, f"step_{step}.npz"))
        print(f"\rtorch step {step}/{eval_steps[-1]} loss {float(loss):.3f}", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    log["train_seconds"] = wall
    with open(os.path.join(args.out, "log.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main()
