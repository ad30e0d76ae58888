#!/usr/bin/env python3
"""Converts an upstream TF-Locoformer checkpoint into the safetensors file
locorun loads (--init, separate and evaluate --weights).

  tools/pth2safetensors.py CHECKPOINT.pth --config CONFIG.yaml -o model.safetensors
      [--set key.path=value]...

CHECKPOINT is what upstream's train.py saves, torch.save({'model_state_dict':
..., ...}), a bare state_dict, or either wrapped by DataParallel /
DistributedDataParallel ("module." prefixes). Every tensor is checked against
the model CONFIG describes (the names and shapes of its state_dict, from
bench/torch_reference.py's model): a missing, unexpected or misshapen tensor
is reported by name with both shapes, and nothing is written. Tensors are
stored as float32 (a bf16 or fp16 checkpoint is widened exactly); a tensor
holding a NaN or Inf, or of an integer, boolean or complex type, is refused.
The file is written to a temporary name in the output's folder and renamed;
nothing is left behind when that fails.

The checkpoint is read by tools/safe_pth.py, never by torch.load: a pickle
that names anything but tensors, containers and numbers (os.system in a
__reduce__, say) is refused before anything it names is called, wherever it
sits in the file (the whole object, one state_dict entry, a side entry
beside 'model_state_dict', or an old-style pickle stream).

Needs torch and PyYAML (to build the config's model and know its names and
shapes); safetensors' own package is used when installed, else the format
(an 8-byte header length, a JSON header, little-endian data) is written
directly.
"""
import argparse
import json
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "bench"))
sys.path.insert(0, here)
import safe_pth  # noqa: E402


def fail(message):
    print(f"pth2safetensors: error: {message}", file=sys.stderr)
    sys.exit(1)


def state_dict_of(checkpoint, path):
    if isinstance(checkpoint, dict):
        for key in ("model_state_dict", "state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not checkpoint:
        fail(f"{path}: neither a state_dict nor a dict with 'model_state_dict'")
    out = {}
    for name, value in checkpoint.items():
        if not isinstance(name, str):
            fail(f"{path}: a state_dict key that is not a name ({name!r:.40})")
        if not isinstance(value, safe_pth.Tensor):
            fail(f"{path}: entry '{name}' is not a tensor ({type(value).__name__})")
        if value.dtype not in ("float32", "float64", "float16", "bfloat16"):
            fail(f"{path}: entry '{name}' is {value.dtype}; the model's weights are "
                 "floating-point tensors")
        bare = name[len("module."):] if name.startswith("module.") else name
        if bare in out:
            fail(f"{path}: '{bare}' is there twice (with and without 'module.'); "
                 "which one is the model's is not knowable")
        out[bare] = value
    return out


def write_safetensors(path, tensors, metadata):
    try:
        from safetensors.numpy import save_file
        save_file(tensors, path, metadata=metadata)
        return
    except ImportError:
        pass
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        data = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[],
                        metavar="key.path=value")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    folder = os.path.dirname(os.path.abspath(args.output))
    if os.path.isdir(args.output):
        fail(f"-o {args.output}: is a folder; give the file to write")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        fail(f"-o {args.output}: its folder '{folder}' does not exist or is not "
             "writable")
    try:
        import numpy as np
        import torch_reference as ref
    except ImportError as e:
        fail(f"needs torch, numpy and PyYAML ({e})")

    try:
        checkpoint = safe_pth.load(args.checkpoint)
    except safe_pth.Refused as e:
        fail(f"{args.checkpoint}: refused: {e}; a weights file is read as data "
             "and runs no code (if it is your own checkpoint holding objects "
             "of your own, save only its state_dict)")
    except MemoryError:
        fail(f"{args.checkpoint}: cannot read as a PyTorch checkpoint (it asks for "
             "more memory than there is)")
    except Exception as e:  # a pickle or zip error of any kind: say which file
        fail(f"{args.checkpoint}: cannot read as a PyTorch checkpoint "
             f"({type(e).__name__}: {e})")
    found = state_dict_of(checkpoint, args.checkpoint)
    try:
        cfg = ref.load_config(args.config, args.set)
        expected = ref.TFLocoformer(cfg).state_dict()
    except Exception as e:
        fail(f"{args.config}: cannot build the model it describes ({e})")

    problems = []
    for name, tensor in expected.items():
        if name not in found:
            problems.append(f"missing '{name}' {list(tensor.shape)}")
        elif tuple(found[name].shape) != tuple(tensor.shape):
            problems.append(f"'{name}' has shape {list(found[name].shape)}, the "
                            f"config's model has {list(tensor.shape)}")
    for name in found:
        if name not in expected:
            problems.append(f"unexpected '{name}' {list(found[name].shape)}, "
                            "not in the config's model")
    if problems:
        fail(f"{args.checkpoint} does not match {args.config}:\n  " +
             "\n  ".join(problems))

    tensors = {}
    for name in expected:
        try:
            array = found[name].array().astype(np.float32)
        except safe_pth.Refused as e:
            fail(f"{args.checkpoint}: refused: '{name}': {e}")
        if not np.isfinite(array).all():
            fail(f"{args.checkpoint}: '{name}' holds a NaN or Inf")
        tensors[name] = array
    # A link: the file it names is replaced and the link kept; a device
    # (/dev/stdout) is written in place.
    target = os.path.realpath(args.output)
    in_place = os.path.exists(target) and not os.path.isfile(target)
    temporary = target if in_place else target + ".partial"
    try:
        write_safetensors(temporary, tensors, {
            "source": os.path.basename(args.checkpoint),
            "config": os.path.basename(args.config),
            "generator": "lococ tools/pth2safetensors.py"})
        if not in_place:
            os.replace(temporary, target)
    except OSError as e:
        try:
            if not in_place:
                os.remove(temporary)
        except OSError:
            pass
        fail(f"-o {args.output}: cannot write ({e.strerror or e}); nothing was written")
    print(f"{args.checkpoint} -> {args.output}: {len(tensors)} tensors, "
          f"{sum(a.size for a in tensors.values())} values")


if __name__ == "__main__":
    main()
