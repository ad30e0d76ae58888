"""lococ.Session: a compiled step on a device, with its parameters as numpy
views, its training state and locorun's checkpoints."""

import json
import os

from . import _lococ


class Session:
    """Opens `artifact` (an Artifact or a path to a train.so/separate.so) on
    `device` ("cpu", "cuda", "cuda:N"), with PyTorch's initialisation from
    `seed` (the config's seed when None)."""

    def __init__(self, artifact, device="cpu", seed=None):
        self.artifact_path = os.fspath(artifact)
        self._session = _lococ._Session(self.artifact_path, device, seed)
        self.manifest = json.loads(self._session.manifest())

    # Views into the arena (the CPU backend): writing into one changes the
    # next step. numpy arrays export DLPack, so torch.from_dlpack(view)
    # shares the memory too.
    @property
    def parameters(self):
        """Upstream state_dict names to float32 views of the weights."""
        return self._session.parameters()

    @property
    def gradients(self):
        """The same names to views of the gradient accumulators."""
        return self._session.gradients()

    def state_dict(self):
        """Copies of the parameters (any device)."""
        return self._session.state_dict()

    @property
    def step(self):
        """Optimizer steps taken (restored by load() of a checkpoint)."""
        return self._session.step

    @property
    def sources(self):
        return [t["name"] for t in self.manifest.get("inputs", [])[1:]]

    @property
    def batch_shape(self):
        """(B, N): the mixture the compiled step takes."""
        return tuple(self.manifest["inputs"][0]["shape"])

    def train_step(self, mixture, targets, optimize=True):
        """Forward and backward of one batch: `mixture` [B, N] and `targets`
        [B, S, N] (or a dict of [B, N] per source), float32, C-contiguous,
        finite (numpy arrays or CPU DLPack tensors). With `optimize`, the
        optimizer step follows once the config's gradient_accumulation_steps
        batches are in. Returns the loss, its parts and, after an optimizer
        step, its step, lr, grad_norm, clip_coef and skipped."""
        return self._session.train_step(mixture, targets, optimize)

    def optimizer_step(self):
        """Clip and AdamW with what was accumulated since the last one."""
        return self._session.optimizer_step()

    def eval_step(self, mixture, targets):
        """The forward pass and losses (no gradients, no dropout)."""
        return self._session.eval_step(mixture, targets)

    def separate(self, audio, sample_rate, *, overlap=0.25):
        """A whole song [channels, samples] (or [samples]) to a dict of one
        [channels, samples] array per source, by the overlap-add of
        `locorun separate` (resampled to the model's rate and back)."""
        return self._session.separate(audio, int(sample_rate), float(overlap))

    def load(self, path):
        """A checkpoint folder of locorun (weights, optimizer state and step)
        or a weights file (model.safetensors with upstream names)."""
        self._session.load(os.fspath(path))

    def save(self, directory, *, keep=2):
        """A checkpoint of the current step in `directory`, as locorun
        writes it (one transaction), keeping the newest `keep`."""
        self._session.save(os.fspath(directory), int(keep))

    def __repr__(self):
        return "lococ.Session(%r, step=%d)" % (self.artifact_path, self.step)
