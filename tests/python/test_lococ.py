"""The Python module against the tools it wraps (ctest python-module).

Every comparison is with `lococ`/`locorun` run as processes on the same
inputs: the binding must add nothing and lose nothing. The golden tiny set
(tests/data/golden/tiny) gives real upstream weights and inputs.

Environment (set by ctest): PYTHONPATH (the build's python/ folder),
LOCO_TOOLS_DIR (lococ and locorun), LOCO_SOURCE_DIR (the repository).
"""

import json
import os
import struct
import subprocess
import warnings

import numpy as np
import pytest

import lococ

TOOLS = os.environ.get("LOCO_TOOLS_DIR", "")
SOURCE = os.environ.get(
    "LOCO_SOURCE_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GOLDEN = os.path.join(SOURCE, "tests", "data", "golden", "tiny")
TINY = os.path.join(SOURCE, "configs", "tiny.yaml")


def tool(name):
    path = os.path.join(TOOLS, name)
    if not os.path.exists(path):
        pytest.skip("%s not built (LOCO_TOOLS_DIR=%r)" % (name, TOOLS))
    return path


def run(*args):
    result = subprocess.run(list(args), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def read_safetensors(path):
    """An independent reader: 8-byte header length, JSON header, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(
            blob[8 + size + begin:8 + size + end],
            dtype="<f4").reshape(entry["shape"])
    return tensors


def read_float_wav(path):
    """[channels, frames] of a 32-bit float WAV (format 3), as locorun
    separate writes it by default."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE", path
    pos, channels, data = 12, None, None
    while pos + 8 <= len(blob):
        kind, size = blob[pos:pos + 4], struct.unpack(
            "<I", blob[pos + 4:pos + 8])[0]
        body = blob[pos + 8:pos + 8 + size]
        if kind == b"fmt ":
            fmt, channels = struct.unpack("<HH", body[:4])
            if fmt == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's
                fmt = struct.unpack("<H", body[24:26])[0]
            assert fmt == 3, "not float: format %d" % fmt
        elif kind == b"data":
            data = np.frombuffer(body, dtype="<f4")
        pos += 8 + size + (size & 1)
    return data.reshape(-1, channels).T


@pytest.fixture(scope="module")
def golden_artifact(tmp_path_factory):
    work = tmp_path_factory.mktemp("golden")
    return lococ.compile(os.path.join(GOLDEN, "config.yaml"),
                         set={"training.use_amp": False},
                         output=work / "train.so")


@pytest.fixture(scope="module")
def tiny_artifact(tmp_path_factory):
    return lococ.compile(TINY, set=["model.dropout=0.0"],
                         output=tmp_path_factory.mktemp("tiny") / "train.so")


def golden_batch():
    inputs = read_safetensors(os.path.join(GOLDEN, "inputs.safetensors"))
    targets = np.stack([inputs[s] for s in ("vocals", "drums", "bass",
                                            "other")], axis=1)
    return inputs["mixture"], np.ascontiguousarray(targets)


def test_step_equals_locorun_one_step_byte_for_byte(golden_artifact,
                                                   tmp_path):
    dump = tmp_path / "dump"
    run(tool("locorun"), golden_artifact.path, "--device", "cpu", "--init",
        os.path.join(GOLDEN, "weights.safetensors"), "--batch",
        os.path.join(GOLDEN, "inputs.safetensors"), "--dump", str(dump))
    session = lococ.Session(golden_artifact)
    session.load(os.path.join(GOLDEN, "weights.safetensors"))
    mixture, targets = golden_batch()
    result = session.train_step(mixture, targets, optimize=False)
    expected = json.load(open(dump / "loss.json"))
    # loss.json holds the float32 losses widened to double.
    assert np.float32(result["loss"]) == np.float32(expected["total_loss"])
    for name, value in expected["components"].items():
        assert np.float32(result["parts"][name]) == np.float32(value), name
    grads = read_safetensors(dump / "grads.safetensors")
    assert set(grads) == set(session.gradients)
    for name, grad in session.gradients.items():
        assert np.array_equal(grad, grads[name]), name
    step = session.optimizer_step()
    assert step["step"] == 1 and not step["skipped"]
    assert np.float32(step["grad_norm"]) == np.float32(
        expected["grad_norm_before_clip"])
    after = read_safetensors(dump / "weights_after_step.safetensors")
    for name, weight in session.parameters.items():
        assert np.array_equal(weight, after[name]), name


def test_parameter_views_are_views_with_upstream_names(golden_artifact):
    session = lococ.Session(golden_artifact)
    session.load(os.path.join(GOLDEN, "weights.safetensors"))
    golden = read_safetensors(os.path.join(GOLDEN, "weights.safetensors"))
    trainable = {n: w for n, w in golden.items() if not n.endswith("freqs")}
    params = session.parameters
    assert set(params) == set(trainable)
    for name, weight in params.items():
        assert weight.shape == trainable[name].shape, name
        assert np.array_equal(weight, trainable[name]), name
    mixture, targets = golden_batch()
    before = session.eval_step(mixture, targets)["loss"]
    # Writing into the view changes the next step, with no copy back.
    name = next(n for n in params if n.endswith("conv1d.weight"))
    params[name][...] = 0.0
    assert np.all(session.parameters[name] == 0.0)
    after = session.eval_step(mixture, targets)["loss"]
    assert after != before
    assert not session.parameters[name].flags.owndata


def synthetic_batches(session, count, seed=0):
    """Mixtures that are the sum of tone-and-noise sources."""
    rng = np.random.default_rng(seed)
    batch, length = session.batch_shape
    t = np.arange(length, dtype=np.float32) / 44100.0
    for _ in range(count):
        sources = []
        for s in range(len(session.sources)):
            freq = 110.0 * (s + 1) * rng.uniform(0.9, 1.1, size=(batch, 1))
            tone = np.sin(2 * np.pi * freq * t) * (0.3 if s % 2 else 0.1)
            sources.append(tone + 0.01 * rng.standard_normal((batch, length)))
        targets = np.stack(sources, axis=1).astype(np.float32)
        yield targets.sum(axis=1), targets


def test_training_from_a_generator_lowers_the_loss(tiny_artifact, tmp_path):
    session = lococ.Session(tiny_artifact)
    seen = []
    result = lococ.train(session, synthetic_batches(session, 20), steps=20,
                         callbacks=[seen.append], progress=False,
                         out=tmp_path / "run")
    assert result["step"] == 20 and session.step == 20
    assert [m["step"] for m in seen] == list(range(1, 21))
    first = np.mean([m["loss"] for m in seen[:3]])
    last = np.mean([m["loss"] for m in seen[-3:]])
    assert last < first, (first, last)
    # The checkpoint at the end is locorun's: a new session resumes it.
    resumed = lococ.Session(tiny_artifact)
    resumed.load(tmp_path / "run")
    assert resumed.step == 20
    for name, weight in session.parameters.items():
        assert np.array_equal(weight, resumed.parameters[name]), name


def test_an_exception_in_a_callback_stops_training_and_loses_nothing(
        tiny_artifact, tmp_path):
    session = lococ.Session(tiny_artifact)

    class Stop(Exception):
        pass

    def callback(metrics):
        if metrics["step"] == 3:
            raise Stop("from the callback")

    with pytest.raises(Stop, match="from the callback"):
        lococ.train(session, synthetic_batches(session, 10), steps=10,
                    callbacks=[callback], progress=False,
                    out=tmp_path / "run", save_every=100)
    assert session.step == 3
    resumed = lococ.Session(tiny_artifact)
    resumed.load(tmp_path / "run")
    assert resumed.step == 3
    for name, weight in session.parameters.items():
        assert np.array_equal(weight, resumed.parameters[name]), name


def test_a_short_iterable_is_a_clear_error(tiny_artifact):
    session = lococ.Session(tiny_artifact)
    with pytest.raises(lococ.RunError, match="the data ended before"):
        lococ.train(session, synthetic_batches(session, 2), steps=5,
                    progress=False)
    assert session.step == 2


def test_separate_equals_locorun_separate(golden_artifact, tmp_path):
    data = tmp_path / "songs"
    run(tool("locorun"), "make-synthetic", str(data), "--tracks", "1",
        "--test-tracks", "1", "--seconds", "1.5")
    song = data / "test" / "track_0" / "mixture.wav"
    weights = os.path.join(GOLDEN, "weights.safetensors")
    out = tmp_path / "out"
    run(tool("locorun"), "separate", golden_artifact.path, "--weights",
        weights, str(song), "-o", str(out), "--quiet")
    session = lococ.Session(golden_artifact)
    session.load(weights)
    # The same samples locorun read: 16-bit PCM, scaled by 1/32768.
    import wave
    with wave.open(str(song)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    audio = np.ascontiguousarray(
        (pcm.reshape(-1, channels).T / 32768.0).astype(np.float32))
    stems = session.separate(audio, rate)
    assert list(stems) == session.sources
    folder = next(p for p in out.iterdir() if p.is_dir())
    for name, estimate in stems.items():
        reference = read_float_wav(folder / (name + ".wav"))
        assert estimate.shape == reference.shape, name
        assert np.max(np.abs(estimate - reference)) <= 1e-6, name


def test_evaluate_equals_locorun_evaluate(golden_artifact, tmp_path, capfd):
    data = tmp_path / "musdb"
    run(tool("locorun"), "make-synthetic", str(data), "--tracks", "1",
        "--test-tracks", "1", "--seconds", "2")
    weights = os.path.join(GOLDEN, "weights.safetensors")
    run(tool("locorun"), "evaluate", golden_artifact.path, "--weights",
        weights, "--data", str(data), "--json", str(tmp_path / "e.json"),
        "--quiet")
    expected = json.load(open(tmp_path / "e.json"))
    capfd.readouterr()
    scores = lococ.evaluate(golden_artifact, data, weights=weights)
    assert scores == expected
    # Without progress, nothing is printed: no table rows on stdout.
    assert capfd.readouterr().out == ""
    lococ.evaluate(golden_artifact, data, weights=weights, progress=True)
    assert "track_0" in capfd.readouterr().out


def test_bad_input_raises_precise_errors(tiny_artifact):
    session = lococ.Session(tiny_artifact)
    batch, length = session.batch_shape
    sources = len(session.sources)
    mixture = np.zeros((batch, length), np.float32)
    targets = np.zeros((batch, sources, length), np.float32)
    with pytest.raises(ValueError, match=r"mixture has shape \(%d, %d\)"
                       % (batch, length + 1)):
        session.train_step(np.zeros((batch, length + 1), np.float32), targets)
    with pytest.raises(TypeError, match="mixture has dtype float64"):
        session.train_step(mixture.astype(np.float64), targets)
    with pytest.raises(ValueError, match="targets is not C-contiguous"):
        session.train_step(mixture, np.zeros((length, sources, batch),
                                             np.float32).T)
    bad = mixture.copy()
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="mixture holds NaN at flat index %d"
                       % (length + 7)):
        session.train_step(bad, targets)
    with pytest.raises(KeyError, match="targets has no 'vocals'"):
        session.train_step(mixture, {"drums": mixture})
    with pytest.raises(TypeError, match="numpy array or a DLPack tensor"):
        session.train_step([[0.0]], targets)
    with pytest.raises(TypeError, match="each batch must be a"):
        lococ.train(session, iter([mixture]), steps=1, progress=False)
    assert session.step == 0


def test_config_errors_name_the_key(tmp_path):
    import yaml  # python3-yaml
    with open(TINY) as f:
        config = yaml.safe_load(f)
    config["model"]["n_ffft"] = config["model"].pop("n_fft")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(lococ.ConfigError) as error:
            lococ.compile(config)
    message = str(error.value)
    assert "config['model']" in message and "model.n_fft" in message
    assert "did you mean 'model.n_fft'" in message
    assert any("config['model']['n_ffft']" in str(w.message)
               and "did you mean 'model.n_fft'" in str(w.message)
               for w in caught)
    with pytest.raises(lococ.ConfigError,
                       match=r"set\['model.dropout=1.5'\]: 'model.dropout' "
                             r"must be in \[0, 1\), got 1.5"):
        lococ.compile(TINY, set={"model.dropout": 1.5})
    # A file's errors carry its line:col.
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(TINY).read().replace("n_heads:", "n_heads: 3\n  x_n_heads:"))
    with pytest.raises(lococ.ConfigError, match=r"bad.yaml:\d+:\d+: "):
        lococ.compile(bad)
    with pytest.raises(lococ.ConfigError, match=r"set\['model.n_heads=3'\]"):
        lococ.compile(TINY, set=["model.n_heads=3"])
    with pytest.raises(lococ.CompileError,
                       match="smallest feasible budget found is"):
        lococ.compile(TINY, memory_budget="1KiB")


def test_compile_reports_the_plan(tiny_artifact):
    report = tiny_artifact.memory_report
    assert report["arena_bytes"] == tiny_artifact.manifest["arena_bytes"]
    assert "recompute_flops_ratio" in json.dumps(report)
    assert tiny_artifact.sources == ["vocals", "drums", "bass", "other"]


def test_dlpack_shares_memory_with_torch(golden_artifact):
    torch = pytest.importorskip("torch")
    session = lococ.Session(golden_artifact)
    name, view = next(iter(session.parameters.items()))
    tensor = torch.from_dlpack(view)
    tensor.mul_(0.0)
    assert np.all(session.parameters[name] == 0.0)
    # And a torch tensor is a step's input without a copy to numpy first.
    mixture, targets = golden_batch()
    loss = session.eval_step(torch.from_numpy(mixture.copy()),
                             torch.from_numpy(targets.copy()))["loss"]
    assert np.isfinite(loss)


def test_ctrl_c_stops_at_a_step_boundary_with_a_checkpoint(tiny_artifact,
                                                          tmp_path):
    import signal
    session = lococ.Session(tiny_artifact)

    def interrupt(metrics):
        if metrics["step"] == 2:
            os.kill(os.getpid(), signal.SIGINT)

    # The runner's handler takes the signal while training runs: the step
    # in flight completes and is checkpointed, then KeyboardInterrupt.
    with pytest.raises(KeyboardInterrupt, match="stopped after step 3"):
        lococ.train(session, synthetic_batches(session, 10), steps=10,
                    callbacks=[interrupt], progress=False,
                    out=tmp_path / "run", save_every=100)
    resumed = lococ.Session(tiny_artifact)
    resumed.load(tmp_path / "run")
    assert resumed.step == session.step == 3
    # Python's own handler is back.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_example_runs(tmp_path):
    import sys
    example = os.path.join(SOURCE, "examples", "train_from_python.py")
    result = run(sys.executable, example, "--steps", "5", "--out",
                 str(tmp_path / "run"))
    assert "trained 5 steps" in result.stdout
    assert "vocals" in result.stdout


def test_ready_callbacks_write_what_python_callbacks_see(tiny_artifact,
                                                         tmp_path):
    session = lococ.Session(tiny_artifact)
    seen = []
    lococ.train(session, synthetic_batches(session, 3), steps=3,
                progress=False,
                callbacks=[lococ.JsonLines(tmp_path / "m.jsonl"),
                           lococ.TensorBoard(tmp_path / "tb"), seen.append])
    with open(tmp_path / "m.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert lines == seen and len(lines) == 3
    assert any(p.name.startswith("events.out.tfevents")
               for p in (tmp_path / "tb").iterdir())


def test_cmake_install_gives_a_working_package(tmp_path):
    """`cmake --install` into a staging root (DESTDIR): the package found
    there compiles and steps, with its backends beside it."""
    build = os.environ.get("LOCO_BUILD_DIR")
    if not build:
        pytest.skip("LOCO_BUILD_DIR not set")
    stage = tmp_path / "stage"
    env = dict(os.environ, DESTDIR=str(stage))
    subprocess.run(["cmake", "--install", build], env=env, check=True,
                   capture_output=True)
    packages = [p.parent.parent for p in stage.rglob("lococ/__init__.py")]
    assert len(packages) == 1, packages
    assert (packages[0] / "lococ" / "libloco_cpu.so").exists()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LOCO_BACKEND_DIR",)}
    env["PYTHONPATH"] = str(packages[0])
    import sys
    script = ("import lococ, numpy as np;"
              "assert lococ.__file__.startswith(%r);"
              "s = lococ.Session(lococ.compile(%r)); b, n = s.batch_shape;"
              "t = np.full((b, 4, n), 0.01, np.float32);"
              "print(s.train_step(t.sum(1), t)['loss'])"
              % (str(packages[0]), TINY))
    result = subprocess.run([sys.executable, "-c", script], env=env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.isfinite(float(result.stdout.split()[-1]))


@pytest.fixture(scope="module")
def dropout_artifact(tmp_path_factory):
    # Dropout on and two micro-steps per optimizer step: the dropout keys
    # of every micro-step matter.
    return lococ.compile(TINY, set={"model.dropout": 0.1,
                                    "training.gradient_accumulation_steps": 2},
                         output=tmp_path_factory.mktemp("drop") / "train.so")


def test_train_from_an_iterable_is_train_step_with_locoruns_keys(
        dropout_artifact):
    looped = lococ.Session(dropout_artifact)
    lococ.train(looped, synthetic_batches(looped, 6), steps=3,
                progress=False)
    stepped = lococ.Session(dropout_artifact)
    for mixture, targets in synthetic_batches(stepped, 6):
        stepped.train_step(mixture, targets)
    assert looped.step == stepped.step == 3
    for name, weight in looped.parameters.items():
        assert np.array_equal(weight, stepped.parameters[name]), name


def test_an_iterable_is_read_when_needed_and_continues(tiny_artifact):
    session = lococ.Session(tiny_artifact)
    batches = list(synthetic_batches(session, 4))
    iterator = iter(batches)
    lococ.train(session, iterator, steps=2, progress=False)
    # Nothing was read ahead: the third batch is next.
    assert next(iterator)[0] is batches[2][0]


def test_a_failing_batch_source_drops_the_cut_steps_gradients(
        dropout_artifact):
    session = lococ.Session(dropout_artifact)

    def batches():
        source = synthetic_batches(session, 3)
        yield next(source)
        yield next(source)
        yield next(source)  # micro-step 1 of step 2
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        lococ.train(session, batches(), steps=5, progress=False)
    assert session.step == 1
    for name, grad in session.gradients.items():
        assert not np.any(grad), name


def test_pending_micro_steps_block_train_and_save(tiny_artifact, tmp_path):
    session = lococ.Session(tiny_artifact)
    mixture, targets = next(synthetic_batches(session, 1))
    session.train_step(mixture, targets, optimize=False)
    with pytest.raises(ValueError, match="optimizer_step\\(\\) first"):
        lococ.train(session, synthetic_batches(session, 1), steps=1)
    with pytest.raises(ValueError, match="optimizer_step\\(\\) first"):
        session.save(tmp_path / "ckpt")
    assert session.optimizer_step()["step"] == 1
    session.save(tmp_path / "ckpt")


def test_state_dict_copies_and_mono_separation(golden_artifact):
    session = lococ.Session(golden_artifact)
    copies = session.state_dict()
    for name, view in session.parameters.items():
        assert np.array_equal(copies[name], view) and copies[name].flags.owndata
    song = np.sin(np.arange(20000, dtype=np.float32) / 10.0) * 0.1
    stems = session.separate(song, 44100)
    assert all(stem.shape == (1, song.size) for stem in stems.values())
