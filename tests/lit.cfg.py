# The lit configuration of lococ's test suite (check-loco).
import os

import lit.formats
import lit.util

config.name = "LOCO"
config.test_format = lit.formats.ShTest(not lit.util.which("bash") is None)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "data", "unit", "lib", "CMakeLists.txt", "gpu"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.loco_obj_root, "tests")

# The tests' helper scripts need numpy and yaml, which scripts/setup.sh
# installs for Debian's /usr/bin/python3 (python3-numpy, python3-yaml); a
# `python3` earlier on PATH (pyenv, a virtual environment) may lack them. So
# `python3` in a RUN line is Debian's where it exists.
python_dir = os.path.join(config.loco_obj_root, "tests", "python-bin")
if os.path.exists("/usr/bin/python3"):
    os.makedirs(python_dir, exist_ok=True)
    link = os.path.join(python_dir, "python3")
    if os.path.realpath(link) != os.path.realpath("/usr/bin/python3"):
        if os.path.lexists(link):
            os.remove(link)
        os.symlink("/usr/bin/python3", link)

# Tools under test first, then FileCheck, not and count from LLVM.
config.environment["PATH"] = os.pathsep.join(
    [python_dir, config.loco_tools_dir, config.llvm_tools_dir,
     config.environment.get("PATH", "")]
)
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"

config.substitutions.append(("%configs", os.path.join(config.loco_src_root, "configs")))
config.substitutions.append(("%golden", os.path.join(config.loco_src_root, "tests", "data", "golden")))
config.substitutions.append(("%shared", config.loco_shared_dir))

# Tests on the upstream configs and the larger golden sets read ../shared
# beside the checkout; without it they are reported UNSUPPORTED.
if os.path.isdir(os.path.join(config.loco_shared_dir, "upstream-configs")):
    config.available_features.add("shared")
else:
    lit_config.note("../shared not found: tests that need it are skipped")

# Data parallelism: Open MPI's mpirun on this one machine. CI runs as root,
# which Open MPI refuses unless told; containers forbid the single-copy
# (CMA) transport between ranks; each rank takes one thread, as the ranks
# share the machine's cores.
for name, value in [
    ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
    ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
    ("OMPI_MCA_btl_vader_single_copy_mechanism", "none"),
    ("OMPI_MCA_rmaps_base_oversubscribe", "1"),
]:
    config.environment[name] = value
config.substitutions.append(("%mpirun", "mpirun --oversubscribe -x OMP_NUM_THREADS=1"))
