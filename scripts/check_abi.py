#!/usr/bin/env python3
"""Checks the compiler/runtime contract against its one list.

    scripts/check_abi.py --cxx COMPILER [ROOT]

runtime/abi/api.h declares the C ABI; runtime/Backend.h's
LOCO_ABI_FUNCTIONS is the table a backend is loaded through (each entry's
type is decltype(&::name), so an entry api.h does not declare fails to
compile); the dialect and the lowering name the functions train.so calls.
This check, on the preprocessed headers, closes the other directions: every
function api.h declares is in the table (a backend missing one is refused
when it is opened), and every runtime function the compiler names is
declared.
"""
import argparse
import os
import re
import subprocess
import sys


def preprocess(cxx, root, text):
    result = subprocess.run([cxx, "-E", "-P", "-x", "c++", "-std=c++17",
                             "-I", root, "-"], input=text, text=True, cwd=root,
                            capture_output=True, check=True)
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?",
                        default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--cxx", default="c++")
    args = parser.parse_args()
    root = os.path.abspath(args.root)

    declared = set(re.findall(
        r"\b(loco_[a-z0-9_]+)\s*\(",
        preprocess(args.cxx, root, '#include "runtime/abi/api.h"\n')))
    table_text = preprocess(
        args.cxx, root,
        '#include "runtime/Backend.h"\n'
        "#define LOCO_ABI_ENTRY(name) LOCO_ABI_ENTRY_IS name;\n"
        "LOCO_ABI_FUNCTIONS(LOCO_ABI_ENTRY)\n")
    table = set(re.findall(r"LOCO_ABI_ENTRY_IS (loco_[a-z0-9_]+);",
                           table_text))
    named = {}
    for top in ("dialect", "passes"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith(".cpp"):
                    path = os.path.join(dirpath, f)
                    text = open(path, encoding="utf-8").read()
                    for name in re.findall(r'"(loco_[a-z0-9_]+)"', text):
                        named.setdefault(name, os.path.relpath(path, root))

    errors = []
    for name in sorted(declared - table):
        errors.append(f"runtime/abi/api.h: error: '{name}' is declared but "
                      f"not in LOCO_ABI_FUNCTIONS (runtime/Backend.h)")
    for name in sorted(table - declared):
        errors.append(f"runtime/Backend.h: error: '{name}' is in "
                      f"LOCO_ABI_FUNCTIONS but api.h does not declare it")
    for name, path in sorted(named.items()):
        # A kernel family the lowering suffixes by dtype (loco_cast ->
        # loco_cast_f32_bf16) is declared as its members.
        family = any(d.startswith(name + "_") for d in declared)
        if name not in declared and not family:
            errors.append(f"{path}: error: the compiler calls '{name}', "
                          f"which runtime/abi/api.h does not declare")
    for e in errors:
        print(e)
    if errors or not declared:
        return 1
    print(f"abi: {len(declared)} functions declared, loaded and called "
          f"consistently ({len(named)} named by the compiler)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
