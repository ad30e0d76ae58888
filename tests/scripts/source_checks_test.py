#!/usr/bin/env python3
"""The source checks fail on what they exist to catch.

scripts/check_layers.py on a small tree with an upward include and with an
include cycle, and scripts/function_sizes.py on a long function: each must
fail, naming the file, and pass once the fault is gone. Where nvcc is,
scripts/ptxas_limits.py (the CUDA backend's compiler launcher) on a kernel
without __launch_bounds__ and on one with static shared memory beside its
dynamic shared memory.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LAYERS = os.path.join(ROOT, "scripts", "check_layers.py")
SIZES = os.path.join(ROOT, "scripts", "function_sizes.py")
ABI = os.path.join(ROOT, "scripts", "check_abi.py")
PTXAS = os.path.join(ROOT, "scripts", "ptxas_limits.py")
# The build's nvcc (LOCO_NVCC, which CMake sets where it found one).
NVCC = os.environ.get("LOCO_NVCC", "/usr/local/cuda/bin/nvcc")

UNFIT_KERNELS = """
__global__ void unbounded(float *x) { x[threadIdx.x] += 1.0f; }
/* __global__ void commented(float *x); */
__global__ void __launch_bounds__(256) flashLike(float *x) {
  __shared__ float tile[256];
  extern __shared__ float dynamic[];
  tile[threadIdx.x] = x[threadIdx.x] + dynamic[0];
  __syncthreads();
  x[threadIdx.x] = tile[(threadIdx.x + 1) % 256];
}
"""
FIT_KERNELS = """
__global__ void __launch_bounds__(256) bounded(float *x) {
  __shared__ float tile[256];
  tile[threadIdx.x] = x[threadIdx.x];
  __syncthreads();
  x[threadIdx.x] = tile[(threadIdx.x + 1) % 256];
}
"""


def check_ptxas_limits(root):
    """The launcher fails a compile whose kernels do not fit, naming them,
    and passes one whose kernels do (without ptxas's report)."""
    if not os.path.exists(NVCC):
        print("ptxas limits: skipped (no nvcc at " + NVCC + ")")
        return
    for name, text in (("Unfit.cu", UNFIT_KERNELS), ("Fit.cu", FIT_KERNELS)):
        write(root, "runtime/cuda/" + name, text)
    def compile(name):
        source = os.path.join(root, "runtime/cuda", name)
        result = subprocess.run(
            [sys.executable, PTXAS, "--dynamic-shared", "flashLike", "--",
             NVCC, "--generate-code=arch=compute_90,code=[compute_90,sm_90]",
             "-c", source, "-o", source + ".o"],
            capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr
    code, out = compile("Unfit.cu")
    expect(code == 1 and "Unfit.cu:2: a kernel without __launch_bounds__"
           in out and "Unfit.cu:3" not in out and "flashLike" in out and "1024 bytes of static shared "
           "memory beside its dynamic shared memory" in out,
           "kernels outside the limits fail the compile", out)
    code, out = compile("Fit.cu")
    expect(code == 0 and "ptxas info" not in out,
           "kernels within the limits compile quietly", out)


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
    with tempfile.TemporaryDirectory() as root:
        check_ptxas_limits(root)
    print("source checks: an upward edge, a cycle, a long function, an "
          "ABI function missing from the backend table and (with nvcc) "
          "kernels outside sm_90's limits are each caught")


if __name__ == "__main__":
    main()
