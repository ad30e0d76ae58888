"""lococ.compile: a config (a YAML file or a dict in its schema) to an
artifact, with config errors raised as ConfigError at the key they concern.
"""

import json
import os
import tempfile
import warnings

from . import _lococ


class CompileError(RuntimeError):
    """lococ could not compile the config (an infeasible memory budget, a
    target without a device, ...). The message is lococ's own."""


class ConfigError(CompileError, ValueError):
    """A config key is missing, unknown, of the wrong type or out of range.
    The message names it: `file:line:col` for a YAML file, the key path
    (config['model']['n_fft']) for a dict, or the `set=` override."""


class ConfigWarning(UserWarning):
    """An unknown key (with a did-you-mean) that lococ ignores."""


def _yaml_scalar(value):
    # JSON's scalars and lists are YAML flow syntax.
    if isinstance(value, dict):
        raise TypeError("a mapping inside a list is not part of the schema")
    return json.dumps(value)


def _dict_to_yaml(config):
    """Block YAML of `config`, and the key path of each line (1-based)."""
    lines, paths = [], {}

    def emit(mapping, indent, path):
        for key, value in mapping.items():
            if not isinstance(key, str):
                raise TypeError("config keys are strings; got %r at %s"
                                % (key, _path_text(path)))
            here = path + [key]
            if isinstance(value, dict):
                lines.append(" " * indent + key + ":")
                paths[len(lines)] = here
                emit(value, indent + 2, here)
            else:
                lines.append(" " * indent + key + ": " + _yaml_scalar(value))
                paths[len(lines)] = here

    emit(config, 0, [])
    return "\n".join(lines) + "\n", paths


def _path_text(path):
    return "config" + "".join("[%r]" % key for key in path)


def _overrides(set_):
    if set_ is None:
        return []
    if isinstance(set_, dict):
        return ["%s=%s" % (key, json.dumps(value))
                for key, value in set_.items()]
    if isinstance(set_, str):
        return [set_]
    return list(set_)


class Artifact:
    """A compiled train.so (or separate.so): its path, its manifest and the
    memory plan's report, as dicts."""

    def __init__(self, path, memory_report=None, log=""):
        self.path = os.fspath(path)
        self.manifest = json.loads(_lococ._peek_manifest(self.path))
        if self.manifest is None:
            raise CompileError("%s is not a lococ artifact" % self.path)
        self.memory_report = memory_report
        self.log = log

    @property
    def sources(self):
        return [t["name"] for t in self.manifest.get("inputs", [])[1:]]

    def __repr__(self):
        return "lococ.Artifact(%r)" % self.path

    def __fspath__(self):
        return self.path


def compile(config, *, set=None, memory_budget=None, target="cpu",
            mode="train", output=None, batch_segments=None):
    """Compiles `config` (a path, or a dict in the YAML schema) for `target`
    ("cpu", "cuda" or "auto") into `output` (a temporary folder's file when
    None) and returns its Artifact. `set` overrides keys ({"model.dropout":
    0.0} or ["model.dropout=0.0"]); `memory_budget` ("24GiB") makes lococ
    fit the step into it. Raises ConfigError for a bad key and
    CompileError for the rest; unknown keys are ConfigWarnings."""
    work = tempfile.mkdtemp(prefix="lococ-")
    paths = {}
    if isinstance(config, dict):
        text, paths = _dict_to_yaml(config)
        config_file = os.path.join(work, "config.yaml")
        with open(config_file, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        config_file = os.fspath(config)
    if output is None:
        output = os.path.join(
            work, "separate.so" if mode == "separate" else "train.so")
    report_file = os.path.join(work, "memory_report.json")
    overrides = _overrides(set)
    result = _lococ._compile(
        config=config_file, overrides=overrides,
        memory_budget=memory_budget or "", target=target, mode=mode,
        output=os.fspath(output), batch_segments=batch_segments,
        report_json=report_file)

    def where(d):
        if paths and d["file"] == config_file:
            return _path_text(paths.get(d["line"], []))
        if d["file"] == "--set" and 0 < d["line"] <= len(overrides):
            return "set[%r]" % overrides[d["line"] - 1]
        if d["line"]:
            return "%s:%d:%d" % (d["file"], d["line"], d["column"])
        return d["file"]

    messages, warned = [], []
    config_errors = False
    for d in result["diagnostics"]:
        text = "%s: %s" % (where(d), d["message"])
        for note in d["notes"]:
            text += "\n  note: " + note
        if d["severity"] == "warning":
            warnings.warn(text, ConfigWarning, stacklevel=2)
            warned.append("warning: " + text)
        elif d["severity"] == "error":
            messages.append(text)
            config_errors |= d["file"] in (config_file, "--set")
    if not result["ok"]:
        # The warnings too: an unknown key's did-you-mean often explains
        # the missing key's error.
        text = "\n".join(messages + [line for line in
                                     result["errors"].splitlines() if line]
                         + warned)
        raise (ConfigError if config_errors else CompileError)(
            text or "lococ could not compile %s" % config_file)
    report = None
    if os.path.exists(report_file):
        with open(report_file, encoding="utf-8") as f:
            report = json.load(f)
    return Artifact(output, report, result["log"])
