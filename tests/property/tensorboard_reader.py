"""locorun --tensorboard, read back as TensorBoard reads it.

Trains tiny (one layer) for 4 steps with a validation every 2, writing
--metrics and --tensorboard. Then, with the tensorboard package's own
reader (EventAccumulator, which TensorBoard's backend uses): every record's
masked CRC-32C checks out (by tensorboard's masked_crc32c); the scalars
hold, step by step, the losses and components of the metrics file (to
float32), the learning rate, gradient norm, step time and memory; the
validation loss and SI-SDR per source sit at the validation steps; and
each validation holds a WAV clip per source and of the mixture, at the
model's rate, of the first validation track (at most 5 s).
"""
import argparse
import io
import json
import os
import struct
import subprocess
import sys
import wave

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

parser = argparse.ArgumentParser()
parser.add_argument("--lococ", required=True)
parser.add_argument("--locorun", required=True)
parser.add_argument("--work", required=True)
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
config = os.path.join(here, "..", "..", "configs", "tiny.yaml")
so = os.path.join(args.work, "train.so")
board = os.path.join(args.work, "board")
metrics = os.path.join(args.work, "metrics.jsonl")
for path in (metrics,):
    if os.path.exists(path):
        os.remove(path)
subprocess.run(["rm", "-rf", board], check=True)
subprocess.run([args.lococ, config, "--set", "model.n_layers=1", "-o", so], check=True)
subprocess.run([args.locorun, so, "--synthetic", "--steps", "4", "--steps-per-epoch", "2",
                "--metrics", metrics, "--tensorboard", board], check=True,
               stderr=subprocess.DEVNULL)

files = [f for f in os.listdir(board) if "tfevents" in f]
assert len(files) == 1, files
raw = open(os.path.join(board, files[0]), "rb").read()
pos = records = 0
while pos < len(raw):
    header = raw[pos:pos + 8]
    (length,) = struct.unpack("<Q", header)
    (header_crc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
    data = raw[pos + 12:pos + 12 + length]
    (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
    assert header_crc == masked_crc32c(header), f"record {records}: length CRC"
    assert data_crc == masked_crc32c(data), f"record {records}: data CRC"
    pos += 16 + length
    records += 1
assert pos == len(raw)

acc = event_accumulator.EventAccumulator(board, size_guidance={
    event_accumulator.SCALARS: 0, event_accumulator.AUDIO: 0})
acc.Reload()
tags = acc.Tags()
lines = [json.loads(line) for line in open(metrics)]
steps = [line for line in lines if "type" not in line]
validations = [line for line in lines if line.get("type") == "validation"]
assert [s["step"] for s in steps] == [1, 2, 3, 4]


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def series(tag):
    assert tag in tags["scalars"], f"no scalar '{tag}' in {sorted(tags['scalars'])}"
    return {e.step: e.value for e in acc.Scalars(tag)}


loss = series("train/loss")
for line in steps:
    assert close(loss[line["step"]], line["loss"]), (line["step"], loss, line["loss"])
    for name, value in line["components"].items():
        assert close(series("train/" + name)[line["step"]], value), name
    assert close(series("train/lr")[line["step"]], line["lr"])
    assert close(series("train/grad_norm")[line["step"]], line["grad_norm"])
for tag in ("train/step_seconds", "train/memory_mib"):
    assert sorted(series(tag)) == [1, 2, 3, 4] and min(series(tag).values()) > 0, tag
val = series("validation/loss")
assert sorted(val) == [v["step"] for v in validations] == [2, 4]
for v in validations:
    assert close(val[v["step"]], v["val_loss"])
    for source, value in v["val_si_sdr"].items():
        assert close(series("validation/si_sdr/" + source)[v["step"]], value), source

for clip_tag in ("validation/mixture", "validation/vocals", "validation/drums",
                 "validation/bass", "validation/other"):
    assert clip_tag in tags["audio"], f"no audio '{clip_tag}' in {tags['audio']}"
    events = acc.Audio(clip_tag)
    assert [e.step for e in events] == [2, 4], clip_tag
    for e in events:
        assert e.content_type == "audio/wav" and e.sample_rate == 44100
        with wave.open(io.BytesIO(e.encoded_audio_string)) as w:
            assert w.getframerate() == 44100 and w.getnchannels() == 1
            # The first validation track in full: --synthetic's are two
            # segments long (2 x 4096), under the 5 s cap.
            assert w.getnframes() == e.length_frames == 8192, w.getnframes()
print(f"{records} records, CRCs valid; {len(tags['scalars'])} scalar tags and "
      f"{len(tags['audio'])} audio tags as the metrics file says")
