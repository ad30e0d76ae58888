#!/usr/bin/env python3
"""The source checks fail on what they exist to catch.

scripts/check_layers.py on a small tree with an upward include and with an
include cycle, and scripts/function_sizes.py on a long function: each must
fail, naming the file, and pass once the fault is gone.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LAYERS = os.path.join(ROOT, "scripts", "check_layers.py")
SIZES = os.path.join(ROOT, "scripts", "function_sizes.py")
ABI = os.path.join(ROOT, "scripts", "check_abi.py")


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def run(script, root, *args):
    result = subprocess.run([sys.executable, script, *args, root],
                            capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def expect(condition, message, output):
    if not condition:
        print("FAIL:", message)
        print(output)
        sys.exit(1)


def main():
    with tempfile.TemporaryDirectory() as root:
        write(root, "runtime/abi/api.h", "#pragma once\n")
        write(root, "runtime/io/Files.h", '#include "runtime/abi/api.h"\n')
        write(root, "runtime/session/Session.h",
              '#include "runtime/io/Files.h"\n')
        code, out = run(LAYERS, root)
        expect(code == 0, "a clean tree passes", out)

        # io is below session: an include upwards fails, naming the line.
        write(root, "runtime/io/Files.cpp",
              '#include "runtime/io/Files.h"\n'
              '#include "runtime/session/Session.h"\n')
        code, out = run(LAYERS, root)
        expect(code == 1 and "runtime/io/Files.cpp:2" in out and
               "may not include runtime/session/Session.h" in out,
               "an upward edge fails", out)
        os.remove(os.path.join(root, "runtime/io/Files.cpp"))

        # A cycle inside one component.
        write(root, "runtime/io/A.h", '#include "runtime/io/B.h"\n')
        write(root, "runtime/io/B.cpp", '#include "runtime/io/A.h"\n')
        write(root, "runtime/io/B.h", "#pragma once\n")
        code, out = run(LAYERS, root)
        expect(code == 1 and "include cycle between runtime/io/A, "
               "runtime/io/B" in out, "a cycle fails", out)

        body = "".join(f"  x += {i};\n" for i in range(160))
        write(root, "runtime/io/Long.cpp",
              "namespace {\nint helper(int x) {\n" + body +
              "  return x;\n}\n} // namespace\n")
        code, out = run(SIZES, root, "--check")
        expect(code == 1 and "runtime/io/Long.cpp:2" in out and
               "'helper' is 163 lines" in out, "a long function fails", out)
        # The numerical kernels are exempt.
        os.makedirs(os.path.join(root, "runtime/cpu"))
        os.rename(os.path.join(root, "runtime/io/Long.cpp"),
                  os.path.join(root, "runtime/cpu/Long.cpp"))
        code, out = run(SIZES, root, "--check")
        expect(code == 0, "a long kernel passes", out)
    # The ABI: a function api.h declares but the backend table lacks.
    cxx = sys.argv[1] if len(sys.argv) > 1 else "c++"
    with tempfile.TemporaryDirectory() as root:
        for path in ("runtime/abi/api.h", "runtime/Backend.h"):
            write(root, path, open(os.path.join(ROOT, path)).read())
        code, out = run(ABI, root, "--cxx", cxx)
        expect(code == 0, "the real ABI passes", out)
        backend = os.path.join(root, "runtime/Backend.h")
        text = open(backend).read()
        write(root, "runtime/Backend.h",
              text.replace("  X(loco_adamw_check) \\\n", ""))
        code, out = run(ABI, root, "--cxx", cxx)
        expect(code == 1 and "'loco_adamw_check' is declared but not in "
               "LOCO_ABI_FUNCTIONS" in out, "a missing table entry fails", out)
    print("source checks: an upward edge, a cycle, a long function and an "
          "ABI function missing from the backend table are each caught")


if __name__ == "__main__":
    main()
