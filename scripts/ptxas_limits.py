#!/usr/bin/env python3
"""The CUDA backend's compiler launcher: every kernel within sm_90's limits.

CMake runs each nvcc compile of runtime/cuda/ through this script (the
target's CUDA_COMPILER_LAUNCHER, ahead of ccache). It adds --resource-usage,
passes the compiler's own output through without ptxas's report, and fails
the compile, naming the kernel, when a kernel does not fit the launches the
backend makes:

- static shared memory in a kernel that takes dynamic shared memory (the
  --dynamic-shared names: Attention.cu's and Norm.cu's kernels). Their
  dynamic sizes are checked against the 227 KiB opt-in limit where they
  are computed (static_assert at the largest shape the compiler lets
  through), which holds only while they have no static shared memory;
- a kernel without __launch_bounds__ in the compiled file or the backend's
  headers it includes. With its bound, ptxas fits the kernel's registers to
  that many threads (registers x threads within the SM's 65536) or spills,
  and -Xptxas=--warn-on-spills,--warning-as-error fails the build on a
  spill; without one, ptxas assumes 1024 threads.

(Static shared memory above sm_90's 48 KiB per block ptxas refuses itself.)

Usage: ptxas_limits.py [--dynamic-shared NAME ...] -- COMPILER ARGS...
(NAME: a substring of the mangled names of the kernels that take dynamic
shared memory.)
"""

import re
import subprocess
import sys
from pathlib import Path

ENTRY = re.compile(r"ptxas info\s*: Compiling entry function '([^']+)'")
USED = re.compile(r"ptxas info\s*: Used (\d+) registers")
SMEM = re.compile(r"(\d+) bytes smem")
STACK = re.compile(r"^\s*(\d+) bytes stack frame")
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
INCLUDE = re.compile(r'#include "(runtime/cuda/[^"]+)"')
GLOBAL = re.compile(r"__global__\s+void\s+(__launch_bounds__\s*\()?")


def main(argv):
    dynamic = []
    while argv and argv[0] != "--":
        if argv[0] == "--dynamic-shared" and len(argv) > 1:
            dynamic.append(argv[1])
            argv = argv[2:]
        else:
            sys.exit(f"ptxas_limits.py: unknown argument {argv[0]}")
    command = argv[1:]
    if not command:
        sys.exit("ptxas_limits.py: no compiler command after --")
    try:
        result = subprocess.run(command + ["--resource-usage"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    except OSError as error:
        sys.exit(f"ptxas_limits.py: cannot run {command[0]}: {error}")
    report, rest = [], []
    for line in result.stderr.splitlines():
        (report if line.startswith("ptxas info") or STACK.match(line)
         else rest).append(line)
    sys.stdout.write(result.stdout)
    if rest:
        print("\n".join(rest), file=sys.stderr)
    if result.returncode != 0:
        return result.returncode

    problems = []
    source = next((a for a in command if a.endswith(".cu")), None)
    if source:
        problems += unbounded_kernels(source)
    entry = None
    for line in report:
        match = ENTRY.search(line)
        if match:
            entry = match.group(1)
            continue
        match = USED.search(line)
        if entry is None or not match:
            continue
        shared = SMEM.search(line)
        static = int(shared.group(1)) if shared else 0
        if static and any(name in entry for name in dynamic):
            problems.append(f"{entry}: {static} bytes of static shared "
                            "memory beside its dynamic shared memory, whose "
                            "limit is checked without it")
        entry = None
    if problems:
        print(f"{source or '?'}: error: kernels outside sm_90's limits:",
              file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def unbounded_kernels(source):
    """Kernels of `source` and of the runtime/cuda headers it includes that
    declare no __launch_bounds__."""
    root = Path(source).resolve().parents[2]
    files, seen, found = [Path(source)], set(), []
    while files:
        path = files.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        # Comments go, their newlines stay (for the line numbers).
        text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"),
                           path.read_text())
        files += [root / name for name in INCLUDE.findall(text)]
        for match in GLOBAL.finditer(text):
            if not match.group(1):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path}:{line}: a kernel without "
                             "__launch_bounds__")
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
