"""Rewrites one stem of a synthetic MUSDB folder as a 32-bit float WAV whose
samples are all NaN (a float file can hold them; libsndfile reads them)."""
import os
import struct
import sys

path = os.path.join(sys.argv[1], "train", "track_0", "vocals.wav")
frames, channels, rate = 22050, 2, 44100
data = struct.pack("<%df" % (frames * channels), *([float("nan")] * (frames * channels)))
fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)
body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
body += b"data" + struct.pack("<I", len(data)) + data
with open(path, "wb") as out:
    out.write(b"RIFF" + struct.pack("<I", len(body)) + body)
