#!/usr/bin/env python3
"""Random small configs across every model option upstream's constructor
takes, each compiled by lococ and run by locorun, against the PyTorch
reference (bench/torch_reference.py, written from docs/MODEL.md): estimates,
every loss component and every parameter gradient of one training step
from the same PyTorch-default weights and the same batch.

Options drawn per config (seeded, so a failure is reproducible by its
index): tf_order, pos_enc, a single or macaron ffn_type with its hidden
sizes, conv1d kernel and shift, heads and attention dim, groups, norm eps,
layers and width, n_fft / hop, segment length, batch, sources, the loss
type with its weights and eps.

Tolerances (fp32 on both sides; only summation orders and libm/FFT
rounding differ; the weights are untrained, so no value is small by
cancellation of trained structure):
  - estimates: 1e-4 of each source's largest magnitude;
  - loss components: 1e-4 relative (1e-5 absolute for terms near zero);
  - gradients: 1e-3 of each tensor's largest magnitude (a gradient sums
    over every row and frame; SI-SDR's logarithm amplifies relative
    rounding of small residuals), and of at least 1e-4 of the largest
    gradient of the step: some gradients are exactly zero and hold only
    rounding noise on both sides (the final deconv's bias: a constant added
    to every bin of a one-sided spectrum is a delta at each frame's sample
    0, where the Hann window is 0; with hop = n_fft / 2 the imaginary
    channels cancel too).
An indexing, ordering or option error is off by O(1) of the maximum.

  /usr/bin/python3 torch_property.py --lococ LOCOC --locorun LOCORUN
      [--count 30] [--seed 0] [--work DIR] [--only I]
"""
import argparse
import copy
import json
import os
import random
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))

try:
    import torch
    import yaml
    import torch_reference as ref
except ImportError as error:  # the setup script installs python3-torch
    sys.exit("torch_property.py: %s; install python3-torch and python3-yaml "
             "(scripts/setup.sh does) and run it with /usr/bin/python3" % error)

SOURCES = ["vocals", "drums", "bass", "other"]


def random_config(rng, base):
    cfg = copy.deepcopy(base)
    m = cfg["model"]
    m["n_fft"], m["hop_length"] = rng.choice([(64, 16), (128, 32), (128, 64), (256, 64)])
    m["n_layers"] = rng.choice([1, 2])
    m["emb_dim"] = rng.choice([8, 12, 16])
    # At least 4 channels per group, as in every shipped config (12 or
    # more): the RMS of 2 channels can be tiny, and its rounding then
    # dominates the comparison.
    m["num_groups"] = rng.choice([g for g in (1, 2, 4)
                                  if m["emb_dim"] % g == 0 and m["emb_dim"] // g >= 4])
    m["pos_enc"] = rng.choice(["rope", "nope"])
    heads = rng.choice([1, 2, 4])
    m["n_heads"], m["attention_dim"] = heads, heads * rng.choice([2, 4, 6, 8])
    if rng.random() < 0.5:
        m["ffn_type"] = ["swiglu_conv1d", "swiglu_conv1d"]
        m["ffn_hidden_dim"] = [rng.choice([8, 16, 24]), rng.choice([8, 16, 24])]
    else:
        m["ffn_type"] = "swiglu_conv1d"
        m["ffn_hidden_dim"] = rng.choice([8, 16, 24])
    m["conv1d_kernel"] = rng.choice([3, 4, 5])
    m["conv1d_shift"] = rng.choice(range(1, min(m["conv1d_kernel"], 3) + 1))
    m["tf_order"] = rng.choice(["ft", "tf"])
    m["eps"] = rng.choice([1e-5, 1e-6, 1e-4])
    m["dropout"] = 0.0
    sources = SOURCES if rng.random() < 0.7 else ["vocals", "bass"]
    m["n_sources"] = len(sources)
    d = cfg["dataset"]
    d["sources"] = sources
    d["segment_length"] = rng.choice([2048, 3001, 4096])
    lo = cfg.setdefault("loss", {})
    lo["loss_type"] = rng.choice(["si_sdr", "l1", "l2", "combined", "combined"])
    lo["si_sdr_weight"] = round(rng.uniform(0.1, 1.5), 3)
    lo["l1_weight"] = round(rng.uniform(0.05, 1.0), 3)
    lo["spectral_weight"] = rng.choice([0.0, round(rng.uniform(0.05, 1.0), 3)])
    lo["eps"] = rng.choice([1e-8, 1e-6])
    t = cfg["training"]
    t["batch_size"] = rng.choice([1, 2])
    t["gradient_accumulation_steps"] = 1
    cfg["seed"] = rng.randrange(1000)
    return cfg


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, value in tensors.items():
        data = value.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def worst(mine, theirs, floor=1e-30):
    return float((mine - theirs).abs().max() / theirs.abs().max().clamp_min(floor))


def check(index, cfg, args):
    work = os.path.join(args.work, "config%02d" % index)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(cfg, f)
    torch.manual_seed(cfg["seed"])
    model = ref.TFLocoformer(cfg)
    model.train()
    B, N = cfg["training"]["batch_size"], cfg["dataset"]["segment_length"]
    sources = cfg["dataset"]["sources"]
    g = torch.Generator().manual_seed(index)
    targets = 0.3 * torch.randn(B, len(sources), N, generator=g)
    mixture = targets.sum(1)
    write_safetensors(os.path.join(work, "weights.safetensors"), model.state_dict())
    batch = {"mixture": mixture}
    batch.update({s: targets[:, i] for i, s in enumerate(sources)})
    write_safetensors(os.path.join(work, "inputs.safetensors"), batch)

    est = model(mixture)
    total, parts = ref.loss_terms(cfg, est, targets)
    total.backward()

    so = os.path.join(work, "model.so")
    dump = os.path.join(work, "dump")
    for command in ([args.lococ, config, "-o", so],
                    [args.locorun, so, "--init", os.path.join(work, "weights.safetensors"),
                     "--batch", os.path.join(work, "inputs.safetensors"), "--dump", dump]):
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            return ["%s failed:\n%s" % (os.path.basename(command[0]), run.stderr[-2000:])], {}
    outputs = ref.read_safetensors(os.path.join(dump, "outputs.safetensors"))
    grads = ref.read_safetensors(os.path.join(dump, "grads.safetensors"))
    losses = json.load(open(os.path.join(dump, "loss.json")))

    errors, measured = [], {"estimates": 0.0, "losses": 0.0, "gradients": 0.0}
    for i, s in enumerate(sources):
        e = worst(outputs[s], est[:, i].detach())
        measured["estimates"] = max(measured["estimates"], e)
        if e > 1e-4:
            errors.append("estimate %s: %.2e of max" % (s, e))
    for name, value in list(parts.items()) + [("total_loss", total)]:
        mine = losses["total_loss"] if name == "total_loss" else losses["components"].get(name)
        if mine is None:
            errors.append("loss component %s missing" % name)
            continue
        e = abs(mine - float(value)) / max(abs(float(value)), 0.1)
        measured["losses"] = max(measured["losses"], e)
        if abs(mine - float(value)) > 1e-4 * abs(float(value)) + 1e-5:
            errors.append("loss %s: %.6g vs %.6g" % (name, mine, float(value)))
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    largest = max(float(p.grad.abs().max()) for p in params.values())
    for name, p in params.items():
        if name not in grads:
            errors.append("gradient %s missing" % name)
            continue
        e = worst(grads[name], p.grad, 1e-4 * largest)
        measured["gradients"] = max(measured["gradients"], e)
        if e > 1e-3:
            errors.append("gradient %s: %.2e of max" % (name, e))
    return errors, measured


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lococ", required=True)
    parser.add_argument("--locorun", required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=int)
    parser.add_argument("--work", default="/tmp/loco-property")
    args = parser.parse_args()
    torch.set_num_threads(2)
    base = yaml.safe_load(open(os.path.join(ROOT, "configs", "tiny.yaml")))
    rng = random.Random(args.seed)
    configs = [random_config(rng, base) for _ in range(args.count)]
    failed = 0
    for index, cfg in enumerate(configs):
        if args.only is not None and index != args.only:
            continue
        m = cfg["model"]
        summary = ("tf_order %s, pos_enc %s, ffn %s %s, kernel %d shift %d, heads %d x %d, "
                   "groups %d, C %d, layers %d, n_fft %d hop %d, N %d, B %d, %d sources, loss %s"
                   % (m["tf_order"], m["pos_enc"], "macaron" if isinstance(m["ffn_type"], list) else "single",
                      m["ffn_hidden_dim"], m["conv1d_kernel"], m["conv1d_shift"], m["n_heads"],
                      m["attention_dim"] // m["n_heads"], m["num_groups"], m["emb_dim"], m["n_layers"],
                      m["n_fft"], m["hop_length"], cfg["dataset"]["segment_length"],
                      cfg["training"]["batch_size"], len(cfg["dataset"]["sources"]),
                      cfg["loss"]["loss_type"]))
        errors, measured = check(index, cfg, args)
        status = "FAIL" if errors else "ok"
        print("config %02d %s: %s; measured: estimates %.1e, losses %.1e, gradients %.1e"
              % (index, status, summary, measured.get("estimates", 0), measured.get("losses", 0),
                 measured.get("gradients", 0)), flush=True)
        for line in errors[:10]:
            print("    " + line)
        failed += bool(errors)
    print("%d of %d configs match the PyTorch reference" % (len(configs) - failed if args.only is None
                                                              else 1 - failed,
                                                              len(configs) if args.only is None else 1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
