#!/usr/bin/env python3
"""Writes a WAV with any header rate and channel count: 16-bit noise, or
with --nan 32-bit float samples that are all NaN (a float file can hold
them; libsndfile reads them).

  make_wav.py OUT --rate R --channels C --seconds S [--seed N] [--nan]
"""
import argparse
import random
import struct
import wave

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--rate", type=int, required=True)
parser.add_argument("--channels", type=int, required=True)
parser.add_argument("--seconds", type=float, required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--nan", action="store_true")
args = parser.parse_args()
frames = max(1, round(args.seconds * args.rate))
if args.nan:
    count = frames * args.channels
    data = struct.pack(f"<{count}f", *([float("nan")] * count))
    fmt = struct.pack("<HHIIHH", 3, args.channels, args.rate,
                      args.rate * args.channels * 4, args.channels * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    with open(args.out, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", len(body)) + body)
else:
    generator = random.Random(args.seed)
    with wave.open(args.out, "wb") as out:
        out.setnchannels(args.channels)
        out.setsampwidth(2)
        out.setframerate(args.rate)
        out.writeframes(b"".join(struct.pack("<h", generator.randint(-8000, 8000))
                                 for _ in range(frames * args.channels)))
