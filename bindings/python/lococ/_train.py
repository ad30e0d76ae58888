"""lococ.train and lococ.evaluate, and the runner's ready callbacks."""

import json
import os
import signal

from . import _lococ
from ._session import Session


def ProgressBar():
    """locorun's progress line on stderr."""
    return _lococ._progress_bar()


def JsonLines(path):
    """Appends the lines of locorun's --metrics to `path`."""
    return _lococ._json_lines(os.fspath(path))


def TensorBoard(logdir):
    """TensorBoard event files in `logdir`, as locorun's --tensorboard."""
    return _lococ._tensorboard(os.fspath(logdir))


def train(session, data, *, steps=None, epochs=None, steps_per_epoch=None,
          out=None, resume=None, callbacks=(), validation=None, augment=True,
          metrics=None, tensorboard=None, progress=True, save_every=0,
          keep=None):
    """Trains `session` as locorun does. `data` is a MUSDB-layout folder
    (train/ with the config's loader and augmentation; test/ validates) or
    an iterable of (mixture [B, N], targets [B, S, N]) batches, one per
    micro-step. `steps` (the optimizer step to reach, counting the
    session's) or `epochs` set the length; an iterable with a len() gives
    one pass over it when neither is set. Each
    callable in `callbacks` receives the dict --metrics writes, at every
    step and validation; an exception in one ends training (the last
    completed step is checkpointed in `out` first) and propagates. Ctrl-C
    stops after the step in flight, checkpointed, then raises
    KeyboardInterrupt. Returns {"step": ..., "stopped_by_signal": ...}."""
    if not isinstance(session, Session):
        raise TypeError("train() takes a lococ.Session")
    folder, batches = "", None
    if isinstance(data, (str, os.PathLike)):
        folder = os.fspath(data)
        if not os.path.isdir(os.path.join(folder, "train")):
            raise FileNotFoundError(
                "%s has no train/ folder (a MUSDB18-HQ layout: "
                "train/<track>/<source>.wav)" % folder)
    else:
        batches = data
        if steps is None and epochs is None and hasattr(data, "__len__"):
            per_step = session.manifest["training"][
                "gradient_accumulation_steps"]
            # One pass over it, from where the session is.
            steps = session.step + max(1, len(data) // max(1, per_step))
    result = _lococ._train(
        session._session, folder, batches,
        -1 if steps is None else int(steps),
        -1 if epochs is None else int(epochs),
        -1 if steps_per_epoch is None else int(steps_per_epoch),
        os.fspath(out) if out else "", os.fspath(resume) if resume else "",
        list(callbacks), os.fspath(validation) if validation else "",
        bool(augment), os.fspath(metrics) if metrics else "",
        os.fspath(tensorboard) if tensorboard else "", bool(progress),
        int(save_every), -1 if keep is None else int(keep))
    if result["stopped_by_signal"] == signal.SIGINT:
        raise KeyboardInterrupt("training stopped after step %d"
                                % result["step"])
    return result


def evaluate(model, data, *, weights=None, split="test", tracks=0,
             estimates=None, sources=None, overlap=0.25, mono=False,
             rescale="auto", progress=False, device="cpu"):
    """The scores `locorun evaluate --json` writes (BSSEval v4 SDR, ISR,
    SIR, SAR per track and as the median over tracks; SI-SDR and uSDR as
    the mean), as a dict. `model` is a Session, or an artifact with
    `weights`; None scores `estimates` (a folder of <track>/<source>.wav)."""
    session = None
    if isinstance(model, Session):
        session = model
        if weights is not None:
            session.load(weights)
    elif model is not None:
        if weights is None:
            raise ValueError("evaluate() of an artifact needs weights= "
                             "(a model.safetensors or checkpoint folder)")
        session = Session(model, device=device)
        session.load(weights)
    elif estimates is None:
        raise ValueError("give a model (a Session, or an artifact with "
                         "weights=) or estimates=")
    text = _lococ._evaluate(
        session._session if session else None, os.fspath(data), split,
        int(tracks), os.fspath(estimates) if estimates else "",
        list(sources or []), float(overlap), bool(mono), rescale,
        bool(progress))
    return json.loads(text)
