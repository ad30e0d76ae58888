#!/usr/bin/env python3
"""Checks the include graph: no cycle, no edge a layer may not take.

    scripts/check_layers.py [--dot] [ROOT]

Every source file belongs to the component of its folder (runtime/session,
passes/analysis, ...; docs/ARCHITECTURE.md draws them). A component may
include itself and the components LAYERS lists for it, and what those may
include in turn; any other #include "..." of a project file is an upward or
sideways edge and fails the check, as does a cycle between files (a header
and its .cpp count as one). Generated files (*.inc, *.pb.h) belong to the
component that generates them. --dot prints the component graph.
"""
import argparse
import os
import re
import sys

# What each component may include directly (the closure is allowed too).
LAYERS = {
    # The contract between compiler and runtime: depends on nothing.
    "runtime/abi": [],
    "runtime/support": [],
    # Backend loader, safetensors, and the headers the backends share.
    "runtime": ["runtime/abi"],
    "runtime/cpu": ["runtime"],
    "runtime/cuda": ["runtime"],
    # The host-side runner, lowest first.
    "runtime/dist": ["runtime", "runtime/support"],
    "runtime/io": ["runtime", "runtime/support"],
    "runtime/data": ["runtime", "runtime/support"],
    "runtime/session": ["runtime/io", "runtime/dist"],
    "runtime/eval": ["runtime/session", "runtime/data"],
    "runtime/observe": ["runtime/session"],
    "runtime/train": ["runtime/eval", "runtime/observe"],
    "runtime/render": ["runtime/data"],
    # The compiler, lowest first.
    "dialect": ["runtime/abi"],
    "passes/analysis": ["dialect"],
    "passes": ["passes/analysis"],
    "frontend": ["passes"],
    "frontend/compile": ["frontend", "runtime"],
    # The mains: flags over libraries.
    "tools/locorun": ["runtime/train", "runtime/render"],
    "tools/lococ": ["frontend/compile", "runtime"],
    "tools/loco-opt": ["passes", "tests/lib"],
    "tools/loco-budget-gap": ["frontend/compile"],
    # The Python module: a thin layer over the compile flow and the runner.
    "bindings/python": ["frontend/compile", "runtime/train"],
    "tests/lib": ["passes"],
}
SOURCE_DIRS = ["dialect", "passes", "frontend", "runtime", "tools",
               "tests/lib", "bindings"]
EXTENSIONS = (".cpp", ".h", ".cu", ".cuh", ".td")
# Unit cycles that are an idiom, not a tangle: a dialect's .cpp registers
# the ops whose header includes the dialect's (MLIR upstream does the same).
ALLOWED_CYCLES = [{"dialect/LocoDialect", "dialect/LocoOps"}]
# Folders that are part of their parent's component.
MERGED = {"passes/conversion": "passes"}


def component(path):
    folder = os.path.dirname(path)
    while folder and folder not in LAYERS:
        if folder in MERGED:
            return MERGED[folder]
        folder = os.path.dirname(folder)
    return folder or None


def closure(name, seen=None):
    seen = set() if seen is None else seen
    for dep in LAYERS.get(name, []):
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen


def generated_source(include):
    """The file that a generated include comes from: passes/Passes.h.inc
    from passes/Passes.td, x.pb.h from x.proto."""
    for suffix, source in ((".h.inc", ".td"), (".cpp.inc", ".td"),
                           (".pb.h", ".proto")):
        if include.endswith(suffix):
            return include[: -len(suffix)] + source
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?",
                        default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--dot", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    os.chdir(root)

    files = []
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(top):
            files += [os.path.join(dirpath, n) for n in names
                      if n.endswith(EXTENSIONS)]
    errors = []
    unit_edges = {}  # file stem -> set of stems (a header and its .cpp)
    component_edges = set()
    for path in sorted(files):
        here = component(path)
        if here is None:
            errors.append(f"{path}: error: no layer for this folder; add it "
                          f"to LAYERS in scripts/check_layers.py")
            continue
        allowed = closure(here) | {here}
        text = open(path, encoding="utf-8", errors="replace").read()
        for number, line in enumerate(text.splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            include = m.group(1)
            target = include if os.path.exists(include) else \
                generated_source(include)
            if not target or not os.path.exists(target):
                beside = os.path.join(os.path.dirname(path), include)
                if os.path.exists(beside) and "/" not in include:
                    errors.append(f"{path}:{number}: error: include "
                                  f"\"{include}\" by its path from the root "
                                  f"(\"{os.path.normpath(beside)}\"), so "
                                  f"that its layer is checked")
                continue  # a system or third-party header
            there = component(target)
            if there != here:
                component_edges.add((here, there))
            if there not in allowed:
                errors.append(f"{path}:{number}: error: {here} may not "
                              f"include {include} ({there}); allowed: "
                              f"{', '.join(sorted(allowed - {here})) or 'none'}")
            a, b = os.path.splitext(path)[0], os.path.splitext(target)[0]
            if a != b:
                unit_edges.setdefault(a, set()).add(b)

    # Cycles between units (Tarjan's strongly connected components).
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(unit_edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1 and set(scc) not in ALLOWED_CYCLES:
                cycles.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in sorted(unit_edges):
        if v not in index:
            visit(v)
    for scc in cycles:
        errors.append("error: include cycle between " + ", ".join(scc))

    if args.dot:
        print("digraph layers {")
        for a, b in sorted(component_edges):
            print(f'  "{a}" -> "{b}";')
        print("}")
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"layers: {len(files)} files in {len(LAYERS)} components, "
          f"{len(component_edges)} component edges, no cycle, no upward edge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
