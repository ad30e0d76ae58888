#!/usr/bin/env python3
"""tools/pth2safetensors.py runs no code from a checkpoint.

Each payload below is a .pth whose pickle calls os.system (or another
callable) to create a marker file. The test first proves each payload live:
torch.load without weights_only, in a child process, creates the marker.
Then the conversion must refuse the file (exit 1, "refused", the callable
named, no traceback), create no marker and write no output. The payload
sits in each place a checkpoint can carry one: the whole object, one
state_dict entry, a side entry beside 'model_state_dict', a legacy
(pre-zip) torch.save stream, a bare pickle, a builtins.eval reached through
STACK_GLOBAL, and a tensor rebuilt from a storage named by an unknown
persistent id. Also refused: integer and complex tensors, a tensor reaching
past its storage, an unwritable -o (nothing left behind). Accepted and
equal to the source: the same weights in the legacy format and as
nn.Parameters. Exits 77 (skipped) without torch.

  /usr/bin/python3 pth_payloads_test.py --golden tests/data/golden/tiny --work DIR
"""
import argparse
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

try:
    import torch
except ImportError as e:
    print(f"SKIPPED: needs torch ({e})")
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
tool = os.path.join(here, "..", "..", "tools", "pth2safetensors.py")
sys.path.insert(0, os.path.join(here, "..", "..", "bench"))
import torch_reference as ref  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--golden", required=True)
parser.add_argument("--work", required=True)
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
config = os.path.join(args.golden, "config.yaml")
golden = ref.read_safetensors(os.path.join(args.golden, "weights.safetensors"))
marker = os.path.join(args.work, "PWNED")


class System:
    """Unpickles as os.system('touch MARKER')."""

    def __reduce__(self):
        return (os.system, (f"touch {marker}",))


def convert(pth, out):
    return subprocess.run([sys.executable, tool, pth, "--config", config, "-o", out],
                          capture_output=True, text=True)


def clear():
    if os.path.exists(marker):
        os.remove(marker)


def live(pth):
    """torch.load without weights_only runs the payload: the marker appears."""
    clear()
    subprocess.run([sys.executable, "-c",
                    "import sys, torch; torch.load(sys.argv[1], map_location='cpu')", pth],
                   capture_output=True)
    assert os.path.exists(marker), f"{pth}: the payload is not live"
    clear()


def refused(pth, *needles, proven=True):
    if proven:
        live(pth)
    out = os.path.join(args.work, "out.safetensors")
    result = convert(pth, out)
    assert result.returncode == 1, (pth, result)
    assert not os.path.exists(marker), f"{pth}: the payload ran"
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, (pth, needle, result.stderr)
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")
    print(f"refused {os.path.basename(pth)}: {result.stderr.strip().splitlines()[0][:150]}")


def path(name):
    return os.path.join(args.work, name)


# The payload in each place a checkpoint can carry one.
torch.save(System(), path("whole.pth"))
refused(path("whole.pth"), "refused", "posix.system")

entry = dict(golden)
entry["conv.0.weight"] = System()
torch.save({"model_state_dict": entry}, path("entry.pth"))
refused(path("entry.pth"), "refused", "posix.system")

torch.save({"model_state_dict": golden, "epoch": 3, "hook": System()}, path("side.pth"))
refused(path("side.pth"), "refused", "posix.system")

torch.save({"model_state_dict": golden, "hook": System()}, path("legacy.pth"),
           _use_new_zipfile_serialization=False)
refused(path("legacy.pth"), "refused", "posix.system")

with open(path("bare.pkl"), "wb") as f:
    pickle.dump({"model_state_dict": System()}, f)
refused(path("bare.pkl"), "refused", "posix.system")

# builtins.eval through STACK_GLOBAL (protocol 4), in a zip of torch's layout.
program = f"__import__('os').system('touch {marker}')"
data = (b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93" +
        b"\x8c" + bytes([len(program)]) + program.encode() + b"\x85R.")
with zipfile.ZipFile(path("eval.pth"), "w") as archive:
    archive.writestr("archive/data.pkl", data)
    archive.writestr("archive/version", "3\n")
refused(path("eval.pth"), "refused", "builtins.eval")

# A persistent id that is not a storage.
with zipfile.ZipFile(path("pid.pth"), "w") as archive:
    buffer = io.BytesIO()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "os") if obj is marker else None

    Pickler(buffer, protocol=2).dump({"x": marker})
    archive.writestr("archive/data.pkl", buffer.getvalue())
refused(path("pid.pth"), "refused", "persistent id", proven=False)

# Tensors of the wrong kind.
for name, value in (("int64", torch.zeros(8, dtype=torch.int64)),
                    ("complex64", torch.zeros(8, dtype=torch.complex64))):
    bad = dict(golden)
    bad["deconv.bias"] = value
    torch.save({"model_state_dict": bad}, path(f"{name}.pth"))
    refused(path(f"{name}.pth"), f"'deconv.bias' is {name}", proven=False)

# A tensor whose size reaches past its storage (the pickle edited).
small = dict(golden)
small["deconv.bias"] = torch.zeros(8)
buffer = io.BytesIO()
torch.save({"model_state_dict": small}, buffer)
with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
    contents = {n: source.read(n) for n in source.namelist()}
victim = max((n for n in contents if "/data/" in n), key=lambda n: len(contents[n]))
contents[victim] = contents[victim][:len(contents[victim]) // 2]
with zipfile.ZipFile(path("overrun.pth"), "w") as archive:
    for n, blob in contents.items():
        archive.writestr(n, blob)
refused(path("overrun.pth"), "refused", "past its storage", proven=False)

# A storage record that inflates a thousandfold (a zip bomb), a zip cut
# short, a tensor offset that is not a whole number, and one name given
# twice (with and without DataParallel's prefix).
with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
    contents = {n: source.read(n) for n in source.namelist()}
victim = max((n for n in contents if "/data/" in n), key=lambda n: len(contents[n]))
contents[victim] = bytes(len(contents[victim]) * 2000)
with zipfile.ZipFile(path("bomb.pth"), "w", compression=zipfile.ZIP_DEFLATED) as archive:
    for n, blob in contents.items():
        archive.writestr(n, blob)
refused(path("bomb.pth"), "refused", "inflates from", proven=False)
open(path("cut.pth"), "wb").write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
refused(path("cut.pth"), "cut short or damaged", proven=False)
pickled = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
names = pickled.namelist()
pkl = [n for n in names if n.endswith("data.pkl")][0]
data = pickled.read(pkl)
# _rebuild_tensor_v2(storage, 0, ...): make the first offset 0.5 (BININT1 0
# after the storage's BINPERSID becomes BINFLOAT 0.5).
at = data.index(b"Q") + 1
assert data[at:at + 2] == b"K\x00", data[at:at + 8]
data = data[:at] + b"G" + struct.pack(">d", 0.5) + data[at + 2:]
with zipfile.ZipFile(path("offset.pth"), "w") as archive:
    for n in names:
        archive.writestr(n, data if n == pkl else pickled.read(n))
refused(path("offset.pth"), "refused", "offset 0.5", proven=False)
twice = dict(golden)
twice["module.deconv.bias"] = golden["deconv.bias"] + 1
torch.save(twice, path("twice.pth"))
refused(path("twice.pth"), "'deconv.bias' is there twice", proven=False)

# An -o that cannot be written: a clear error, nothing left behind.
torch.save({"model_state_dict": golden}, path("good.pth"))
for out, needle in ((path("missing/model.safetensors"), "does not exist"),
                    (args.work, "is a folder")):
    result = convert(path("good.pth"), out)
    assert result.returncode == 1 and needle in result.stderr, result
    assert "Traceback" not in result.stderr, result.stderr
    assert not os.path.exists(path("missing")), "created a folder"
print("refused: integer and complex tensors, a tensor past its storage, a zip bomb, a cut "
      "zip, a fractional offset, a name twice, an unwritable -o")

# Accepted: the legacy format, and nn.Parameter values, equal to the source.
params = {k: torch.nn.Parameter(v.clone()) for k, v in golden.items()}
torch.save({"model_state_dict": golden}, path("legacy_ok.pth"),
           _use_new_zipfile_serialization=False)
torch.save(params, path("params.pth"))
for source in ("legacy_ok.pth", "params.pth"):
    out = path(source + ".safetensors")
    result = convert(path(source), out)
    assert result.returncode == 0, result.stderr
    back = ref.read_safetensors(out)
    assert back.keys() == golden.keys()
    for name in golden:
        assert torch.equal(back[name], golden[name]), (source, name)
print("accepted: the legacy format and nn.Parameters, every value equal")
