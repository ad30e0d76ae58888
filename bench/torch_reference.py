#!/usr/bin/env python3
"""A PyTorch reference of the TF-Locoformer training step lococ compiles.

Written from docs/MODEL.md (not the upstream code): same YAML config,
same parameter names as the upstream state_dict, so the golden sets' weights
load strictly. Used by bench/step.sh to time and measure eager PyTorch on
the very step lococ runs, and checked against the golden sets (--check).

Variants (--variant):
  eager        plain eager PyTorch; attention as softmax(q k^T / sqrt d) v,
               or scaled_dot_product_attention where torch has it
  rowchunk     eager, attention over row chunks, each under
               torch.utils.checkpoint (what SDPA's memory-efficient kernels
               do on a GPU): no rows x heads x L x L tensor is kept
  checkpoint   eager with torch.utils.checkpoint around every block
  On a GPU also: --device cuda, --amp (bf16 autocast as the configs ask),
  --compile (torch.compile, when it works).

Mixed precision with explicit casts (--policy bf16|f16): the policy of
lococ's loco-autocast (torch.autocast's CUDA lists, written out so that it
does not depend on the device's autocast lists, which differ on the CPU):
linear, conv1d/2d and their transposes and attention in the low type;
STFT/iSTFT, GroupNorm, RMSGroupNorm, RoPE and the losses in fp32; element-
wise ops promote (torch's own rule). Master weights stay fp32.

  python3 torch_reference.py CONFIG [--set key=value]... --steps N [--variant V]
  python3 torch_reference.py --check GOLDEN_DIR
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
import yaml


# ---------------------------------------------------------------- config


def load_config(path, overrides):
    with open(path) as f:
        cfg = yaml.safe_load(f)
    for item in overrides:
        key, value = item.split("=", 1)
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    return cfg


# ---------------------------------------------------------------- model

# The low precision of --policy (None: everything fp32, the golden path).
POLICY = None


def lowp(t):
    """An operand of a lower-precision op (a no-op without --policy)."""
    return t if POLICY is None or t is None else t.to(POLICY)


def fp32(t):
    """An operand of an fp32 op."""
    return t if POLICY is None else t.float()



class RMSGroupNorm(nn.Module):
    def __init__(self, groups, channels, eps):
        super().__init__()
        self.groups, self.eps = groups, eps
        self.gamma = nn.Parameter(torch.ones(channels))

    def forward(self, x):  # [..., C]
        x = fp32(x)
        shape = x.shape
        g = x.reshape(*shape[:-1], self.groups, shape[-1] // self.groups)
        rms = g.norm(dim=-1, keepdim=True) / math.sqrt(g.shape[-1])
        return (g / (rms + self.eps)).reshape(shape) * self.gamma


class Rope(nn.Module):
    def __init__(self, head_dim):
        super().__init__()
        freqs = 1.0 / (10000 ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
        self.freqs = nn.Parameter(freqs, requires_grad=False)

    def forward(self, x):  # [..., L, d]
        x = fp32(x)  # upstream runs RoPE with autocast off, in fp32
        t = torch.arange(x.shape[-2], device=x.device, dtype=self.freqs.dtype)
        angles = torch.einsum("i,j->ij", t, self.freqs).repeat_interleave(2, dim=-1)
        pairs = x.reshape(*x.shape[:-1], -1, 2)
        rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(x.shape)
        return x * angles.cos() + rotated * angles.sin()


def attention(q, k, v, dropout, training, row_chunk):
    if hasattr(F, "scaled_dot_product_attention") and row_chunk == 0:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout if training else 0.0)
    def plain(q, k, v):
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return F.dropout(p, dropout, training) @ v
    if row_chunk == 0 or q.shape[0] <= row_chunk:
        return plain(q, k, v)
    # Rows in chunks, each recomputed in backward (torch.utils.checkpoint), so
    # that neither forward nor backward holds more than one chunk's scores:
    # what SDPA's memory-efficient kernels do on a GPU, and what the golden
    # reference did for its large attentions. Dropout masks are replayed
    # (checkpoint restores the RNG state).
    return torch.cat([torch.utils.checkpoint.checkpoint(
                          plain, q[i:i + row_chunk], k[i:i + row_chunk], v[i:i + row_chunk])
                      for i in range(0, q.shape[0], row_chunk)])


class MHSA(nn.Module):
    def __init__(self, m, rope):
        super().__init__()
        self.heads, self.dim, self.dropout = m["n_heads"], m["attention_dim"], m.get("dropout", 0.0)
        self.qkv = nn.Linear(m["emb_dim"], 3 * self.dim, bias=False)
        self.aggregate_heads = nn.Sequential(nn.Linear(self.dim, m["emb_dim"], bias=False))
        self.rope = rope
        self.row_chunk = 0

    def forward(self, x):  # [R, L, C]
        R, L, _ = x.shape
        d = self.dim // self.heads
        qkv = F.linear(lowp(x), lowp(self.qkv.weight))
        qkv = qkv.reshape(R, L, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.rope is not None:
            q, k = self.rope(q), self.rope(k)
        o = attention(lowp(q), lowp(k), lowp(v), self.dropout, self.training, self.row_chunk)
        o = o.transpose(1, 2).reshape(R, L, self.dim)
        y = F.linear(lowp(o), lowp(self.aggregate_heads[0].weight))
        return F.dropout(y, self.dropout, self.training)


class SwiGLUConvDeconv(nn.Module):
    def __init__(self, m, hidden):
        super().__init__()
        C, self.K, self.s = m["emb_dim"], m.get("conv1d_kernel", 4), m.get("conv1d_shift", 1)
        self.dropout = m.get("dropout", 0.0)
        self.conv1d = nn.Conv1d(C, 2 * hidden, self.K, stride=self.s)
        self.deconv1d = nn.ConvTranspose1d(hidden, C, self.K, stride=self.s)

    def forward(self, x):  # [R, L, C]
        L = x.shape[1]
        k = self.K - self.s
        P = math.ceil((L + 2 * k - self.K) / self.s) * self.s + self.K
        h = F.conv1d(lowp(F.pad(x.transpose(1, 2), (k, P - L - k))),
                     lowp(self.conv1d.weight), lowp(self.conv1d.bias), stride=self.s)
        a, b = h.chunk(2, dim=1)
        u = F.dropout(a * F.silu(b), self.dropout, self.training)
        y = F.conv_transpose1d(lowp(u), lowp(self.deconv1d.weight), lowp(self.deconv1d.bias),
                               stride=self.s)[..., k:k + L]
        return F.dropout(y, self.dropout, self.training).transpose(1, 2)


class Locoformer(nn.Module):
    def __init__(self, m, rope):
        super().__init__()
        G, C, eps = m.get("num_groups", 4), m["emb_dim"], m.get("eps", 1e-5)
        types = m.get("ffn_type", ["swiglu_conv1d", "swiglu_conv1d"])
        hidden = m["ffn_hidden_dim"]
        types = types if isinstance(types, list) else [types]
        hidden = hidden if isinstance(hidden, list) else [hidden]
        # Upstream builds the lists reversed: ffn.1 (config entry 0) runs first.
        self.ffn_norm = nn.ModuleList([RMSGroupNorm(G, C, eps) for _ in types])
        self.ffn = nn.ModuleList([SwiGLUConvDeconv(m, h) for h in reversed(hidden)])
        self.attn_norm = RMSGroupNorm(G, C, eps)
        self.attn = MHSA(m, rope)

    def forward(self, x):
        if len(self.ffn) == 2:
            x = x + self.ffn[1](self.ffn_norm[1](x))
        x = x + self.attn(self.attn_norm(x))
        return x + self.ffn[0](self.ffn_norm[0](x))


class Block(nn.Module):
    def __init__(self, m, freq_rope, frame_rope):
        super().__init__()
        self.freq_path = Locoformer(m, freq_rope)
        self.frame_path = Locoformer(m, frame_rope)
        self.order = m.get("tf_order", "ft")

    def forward(self, x):  # [B, C, T, F]
        B, C, T, Fq = x.shape
        x = x.permute(0, 2, 3, 1)  # [B, T, F, C]
        if self.order == "ft":
            x = self.freq_path(x.reshape(B * T, Fq, C)).reshape(B, T, Fq, C).transpose(1, 2)
            x = self.frame_path(x.reshape(B * Fq, T, C)).reshape(B, Fq, T, C)
            return x.permute(0, 3, 2, 1)
        x = x.transpose(1, 2)
        x = self.frame_path(x.reshape(B * Fq, T, C)).reshape(B, Fq, T, C).transpose(1, 2)
        x = self.freq_path(x.reshape(B * T, Fq, C)).reshape(B, T, Fq, C)
        return x.permute(0, 3, 1, 2)


class TFLocoformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        m = cfg["model"]
        self.n_fft, self.hop = m["n_fft"], m["hop_length"]
        self.sources = cfg.get("dataset", {}).get("sources", ["vocals", "drums", "bass", "other"])
        C, S = m["emb_dim"], m.get("n_sources", 4)
        self.conv = nn.Sequential(nn.Conv2d(2, C, 3, padding=1), nn.GroupNorm(1, C, eps=m.get("eps", 1e-5)))
        d = m["attention_dim"] // m["n_heads"]
        rope = m.get("pos_enc", "rope") == "rope"
        freq_rope, frame_rope = (Rope(d), Rope(d)) if rope else (None, None)
        self.blocks = nn.ModuleList([Block(m, freq_rope, frame_rope) for _ in range(m["n_layers"])])
        self.deconv = nn.ConvTranspose2d(C, 2 * S, 3, padding=1)
        self.checkpoint = False

    def stft(self, x, n_fft, hop):
        window = torch.hann_window(n_fft, device=x.device)
        return torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="reflect",
                          return_complex=True)

    def forward(self, mixture):  # [B, N]
        B, N = mixture.shape
        X = self.stft(mixture, self.n_fft, self.hop)  # [B, F, T]
        x = torch.stack((X.real, X.imag), dim=1).transpose(2, 3)  # [B, 2, T, F]
        conv, norm = self.conv[0], self.conv[1]
        x = norm(fp32(F.conv2d(lowp(x), lowp(conv.weight), lowp(conv.bias), padding=1)))
        for block in self.blocks:
            x = torch.utils.checkpoint.checkpoint(block, x) if self.checkpoint and self.training else block(x)
        y = fp32(F.conv_transpose2d(lowp(x), lowp(self.deconv.weight), lowp(self.deconv.bias),
                                    padding=1))  # [B, 2S, T, F]
        S = y.shape[1] // 2
        y = y.reshape(B, S, 2, y.shape[2], y.shape[3])
        spec = torch.complex(y[:, :, 0], y[:, :, 1]).transpose(-1, -2)  # [B, S, F, T]
        window = torch.hann_window(self.n_fft, device=mixture.device)
        est = torch.istft(spec.reshape(B * S, *spec.shape[2:]), self.n_fft, self.hop,
                          window=window, center=True, length=N)
        return est.reshape(B, S, N)


def si_sdr(e, t, eps):
    e = e - e.mean(dim=-1, keepdim=True)
    t = t - t.mean(dim=-1, keepdim=True)
    a = (e * t).sum(-1, keepdim=True) / ((t * t).sum(-1, keepdim=True) + eps)
    p = a * t
    return 10 * torch.log10(((p * p).sum(-1) + eps) / (((e - p) ** 2).sum(-1) + eps))


def loss_terms(cfg, est, targets):
    lc = cfg.get("loss", {})
    kind = lc.get("loss_type", "combined")
    eps = lc.get("eps", 1e-8)
    total, parts = 0.0, {}
    window = torch.hann_window(2048, device=est.device)
    for i, name in enumerate(cfg.get("dataset", {}).get("sources", ["vocals", "drums", "bass", "other"])):
        e, t = est[:, i], targets[:, i]
        if kind in ("si_sdr", "combined"):
            parts[f"{name}_si_sdr"] = -si_sdr(e, t, eps).mean()
            total = total + lc.get("si_sdr_weight", 1.0) * parts[f"{name}_si_sdr"]
        if kind in ("l1", "combined"):
            parts[f"{name}_l1"] = F.l1_loss(e, t)
            total = total + lc.get("l1_weight", 0.1) * parts[f"{name}_l1"]
        if kind == "l2":
            parts[f"{name}_l2"] = F.mse_loss(e, t)
            total = total + parts[f"{name}_l2"]
        if kind == "combined" and lc.get("spectral_weight", 0.1) > 0:
            E = torch.stft(e, 2048, 1024, window=window, center=True, return_complex=True).abs()
            T = torch.stft(t, 2048, 1024, window=window, center=True, return_complex=True).abs()
            parts[f"{name}_spectral"] = (torch.log1p(E) - torch.log1p(T)).abs().mean()
            total = total + lc.get("spectral_weight", 0.1) * parts[f"{name}_spectral"]
    return total, parts


# ---------------------------------------------------------------- safetensors


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=np.float32)
                                     .reshape(info["shape"]).copy())
    return out


# ---------------------------------------------------------------- runs


def check(golden):
    """Reproduces a golden set: estimates, loss parts and gradients."""
    cfg = load_config(os.path.join(golden, "config.yaml"), [])
    model = TFLocoformer(cfg)
    model.load_state_dict(read_safetensors(os.path.join(golden, "weights.safetensors")), strict=True)
    model.train()
    inputs = read_safetensors(os.path.join(golden, "inputs.safetensors"))
    outputs = read_safetensors(os.path.join(golden, "outputs.safetensors"))
    grads = read_safetensors(os.path.join(golden, "grads.safetensors"))
    ref = json.load(open(os.path.join(golden, "loss.json")))
    sources = cfg["dataset"]["sources"]
    est = model(inputs["mixture"])
    total, parts = loss_terms(cfg, est, torch.stack([inputs[s] for s in sources], 1))
    total.backward()
    worst = 0.0
    for i, s in enumerate(sources):
        worst = max(worst, float((est[:, i] - outputs[s]).abs().max() / outputs[s].abs().max()))
    for name, g in grads.items():
        mine = dict(model.named_parameters())[name].grad
        worst = max(worst, float((mine - g).abs().max() / g.abs().max().clamp_min(1e-30)))
    loss_err = abs(float(total) - ref["total_loss"]) / abs(ref["total_loss"])
    for name, value in parts.items():
        loss_err = max(loss_err, abs(float(value) - ref["components"][name]) / abs(ref["components"][name]))
    print(f"{os.path.basename(golden)}: worst estimate/gradient error {worst:.2e} of max, "
          f"worst loss error {loss_err:.2e} relative")
    return worst <= 1e-4 and loss_err <= 1e-4


def synthetic_batch(B, N, rate, step):
    g = torch.Generator().manual_seed(1000 + step)
    stems = []
    for band in ((220, 880), (60, 5000), (41, 110), (523, 1318)):
        f = band[0] * (band[1] / band[0]) ** torch.rand(B, 4, 1, generator=g)
        t = torch.arange(N) / rate
        stems.append((0.08 * torch.sin(2 * math.pi * f * t)).sum(1))
    targets = torch.stack(stems, 1)
    return targets.sum(1), targets


def train(args):
    cfg = load_config(args.config, args.set)
    torch.manual_seed(cfg.get("seed", 42))
    device = torch.device(args.device)
    model = TFLocoformer(cfg).to(device)
    if args.variant == "rowchunk":
        for m in model.modules():
            if isinstance(m, MHSA):
                m.row_chunk = args.row_chunk
    model.checkpoint = args.variant == "checkpoint"
    tc = cfg["training"]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                            lr=tc["optimizer"]["lr"], weight_decay=tc["optimizer"]["weight_decay"],
                            eps=tc["optimizer"]["eps"], betas=tuple(tc["optimizer"]["betas"]))
    step_fn = model
    if args.compile:
        step_fn = torch.compile(model)
    B, N = tc["batch_size"], cfg["dataset"]["segment_length"]
    rate = cfg["dataset"].get("sample_rate", 44100)
    accumulation = tc.get("gradient_accumulation_steps", 1)
    model.train()
    times = []
    for step in range(args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for micro in range(accumulation):
            mixture, targets = synthetic_batch(B, N, rate, step * accumulation + micro)
            mixture, targets = mixture.to(device), targets.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
                est = step_fn(mixture)
            loss, _ = loss_terms(cfg, est.float(), targets)
            (loss / accumulation).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.get("gradient_clip", 5.0))
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        print(json.dumps({"step": step + 1, "seconds": times[-1], "loss": float(loss)}), flush=True)
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps({"peak_bytes": peak, "times": times}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--variant", choices=["eager", "rowchunk", "checkpoint"], default="eager")
    parser.add_argument("--row-chunk", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", nargs="+", metavar="GOLDEN_DIR")
    parser.add_argument("--policy", choices=["bf16", "f16"],
                        help="mixed precision by explicit casts (loco-autocast's policy)")
    parser.add_argument("--step-json", metavar="FILE",
                        help="with --check: write the step's loss and gradients here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global POLICY
    POLICY = {"bf16": torch.bfloat16, "f16": torch.float16, None: None}[args.policy]
    if args.check and args.policy:
        # One step on the golden weights and inputs under the policy: its
        # loss and gradients, compared by tests/property/amp_reference.py.
        golden = args.check[0]
        cfg = load_config(os.path.join(golden, "config.yaml"), [])
        model = TFLocoformer(cfg)
        model.load_state_dict(read_safetensors(os.path.join(golden, "weights.safetensors")))
        model.train()
        inputs = read_safetensors(os.path.join(golden, "inputs.safetensors"))
        sources = cfg["dataset"]["sources"]
        est = model(inputs["mixture"])
        total, parts = loss_terms(cfg, est, torch.stack([inputs[s] for s in sources], 1))
        total.backward()
        result = {"total_loss": float(total),
                  "components": {k: float(v) for k, v in parts.items()},
                  "grads": {n: p.grad.flatten().tolist() for n, p in model.named_parameters()
                            if p.grad is not None}}
        with open(args.step_json, "w") as f:
            json.dump(result, f)
        print(f"{os.path.basename(golden)} under the {args.policy} policy: total loss {float(total):.6f}")
        sys.exit(0)
    if args.check:
        ok = all([check(d) for d in args.check])
        sys.exit(0 if ok else 1)
    if not args.config:
        parser.error("a config is needed")
    train(args)


if __name__ == "__main__":
    main()
