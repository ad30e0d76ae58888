#!/usr/bin/env python3
"""The PyTorch side of bench/budget-curve.sh: one training step of
bench/torch_reference.py's TF-Locoformer under torch.compile with
torch._functorch.config.activation_memory_budget = FRACTION (the min-cut
partitioner's selective recomputation, PyTorch 2.4 and later), measured on
the step after the compiling one. Run once per fraction, in its own
process, by bench/budget_curve.py; not meant to be called by hand.

  budget_torch.py CONFIG --fraction F --out GRADS.npz [--set k=v]... [--threads N]

Prints one JSON line: the fraction, the measured step's seconds, the
process's resident memory before the step and its peak during it (sampled
every millisecond from /proc/self/statm), the whole process's peak RSS, and
the torch version. GRADS.npz holds the measured step's gradients (upstream
names), drawn with the same seeds at every fraction, dropout included.
"""
import argparse
import json
import os
import resource
import sys
import threading
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import TFLocoformer, load_config, loss_terms, synthetic_batch  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakSampler:
    """The largest resident size seen while it runs."""

    def __init__(self):
        self.peak, self.running = rss(), True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss())
            time.sleep(0.001)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--fraction", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    import torch._functorch.config as functorch_config
    functorch_config.activation_memory_budget = args.fraction
    cfg = load_config(args.config, args.set)
    torch.manual_seed(cfg.get("seed", 42))
    model = TFLocoformer(cfg)
    model.train()
    compiled = torch.compile(model)
    B, N = cfg["training"]["batch_size"], cfg["dataset"]["segment_length"]
    rate = cfg["dataset"].get("sample_rate", 44100)

    def step(index):
        mixture, targets = synthetic_batch(B, N, rate, index)
        torch.manual_seed(1000 + index)  # dropout's masks, the same at every fraction
        loss, _ = loss_terms(cfg, compiled(mixture), targets)
        loss.backward()
        return float(loss.detach())

    step(0)  # compiles
    model.zero_grad(set_to_none=True)
    before = rss()
    start = time.perf_counter()
    with PeakSampler() as sampler:
        loss = step(1)
    seconds = time.perf_counter() - start
    np.savez(args.out, **{name: p.grad.numpy() for name, p in model.named_parameters()
                          if p.grad is not None})
    print(json.dumps({"fraction": args.fraction, "seconds": seconds, "loss": loss,
                      "rss_before": before, "step_peak": sampler.peak,
                      "process_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
