"""lococ from Python: compile a TF-Locoformer config, then train, separate
and evaluate it with lococ's runner, in this process.

    import lococ
    artifact = lococ.compile("configs/tiny.yaml", memory_budget="2GiB")
    session = lococ.Session(artifact)
    lococ.train(session, my_batches(), steps=100, callbacks=[print])

docs/PYTHON.md describes every function. The work is done by the same
libraries as the `lococ` and `locorun` tools, so a step here is a step
there: same dropout keys, same schedule, same checkpoints.
"""

import os as _os

from . import _lococ
from ._config import ConfigError, CompileError, ConfigWarning, compile, Artifact

RunError = _lococ.RunError

# The backends (libloco_cpu.so, ...): beside an installed package, else in
# the build tree this package was built in.
if "LOCO_BACKEND_DIR" not in _os.environ:
    _here = _os.path.dirname(_os.path.abspath(__file__))
    _os.environ["LOCO_BACKEND_DIR"] = (
        _here if _os.path.exists(_os.path.join(_here, "libloco_cpu.so"))
        else _lococ._build_lib_dir)

from ._session import Session  # noqa: E402
from ._train import (train, evaluate, ProgressBar, JsonLines,  # noqa: E402
                     TensorBoard)

__all__ = ["compile", "Artifact", "Session", "train", "evaluate",
           "ProgressBar", "JsonLines", "TensorBoard", "ConfigError",
           "ConfigWarning", "CompileError", "RunError"]
