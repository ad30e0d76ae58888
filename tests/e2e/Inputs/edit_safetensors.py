#!/usr/bin/env python3
"""Writes a copy of a safetensors file with one change, for the tests of bad
inputs (pure Python: no numpy or safetensors package needed).

  edit_safetensors.py IN OUT --fill TENSOR VALUE   every element of an F32
                                                   tensor set to VALUE (nan,
                                                   inf, 1e38, ...)
  edit_safetensors.py IN OUT --meta KEY VALUE      a __metadata__ entry set
"""
import argparse
import json
import struct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--fill", nargs=2, metavar=("TENSOR", "VALUE"))
    parser.add_argument("--meta", nargs=2, metavar=("KEY", "VALUE"))
    args = parser.parse_args()

    data = open(args.input, "rb").read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = bytearray(data[8 + length :])
    if args.fill:
        name, value = args.fill
        entry = header[name]
        assert entry["dtype"] == "F32", entry
        begin, end = entry["data_offsets"]
        count = (end - begin) // 4
        body[begin:end] = struct.pack("<%df" % count, *([float(value)] * count))
    if args.meta:
        header.setdefault("__metadata__", {})[args.meta[0]] = args.meta[1]
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(args.output, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + bytes(body))


if __name__ == "__main__":
    main()
