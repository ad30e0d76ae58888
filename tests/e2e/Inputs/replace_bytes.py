#!/usr/bin/env python3
"""Copies a binary file with one byte string replaced by another of the same
length (a train.so's embedded manifest edited in place, for the tests of
corrupt artifacts).

  replace_bytes.py IN OUT OLD NEW
"""
import re
import sys


def main():
    source, target, old, new = sys.argv[1:5]
    data = open(source, "rb").read()
    # OLD may be a regular expression (bytes); NEW is padded with spaces on
    # the left to the matched length, which JSON ignores before a value.
    match = re.search(old.encode(), data)
    if not match:
        sys.exit("replace_bytes.py: %r not found in %s" % (old, source))
    replacement = new.encode().rjust(len(match.group(0)))
    if len(replacement) != len(match.group(0)):
        sys.exit("replace_bytes.py: %r is longer than the match" % new)
    data = data[: match.start()] + replacement + data[match.end() :]
    open(target, "wb").write(data)


if __name__ == "__main__":
    main()
