"""Checkpoints: a run interrupted at step k and resumed ends exactly where the uninterrupted run ends; Ctrl-C
saves and exits with 130; damaged or mismatched checkpoints are refused with exit 2 and one line."""

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naivegrad import optim
from naivegrad.app import config, runs
from naivegrad.app.checkpoint import save as save_checkpoint
from naivegrad.nn.serialization import atomic_savez

from cli_helpers import checkpoint, model_weights, module_command, module_env, one_line_error

RUN_STATE = ("model.", "optimizer.", "loader.", "history.", "step")


def interrupter(k, where="step"):
    """(method name, replacement) raising KeyboardInterrupt, as Ctrl-C would, in step ``k``: as it starts
    (``where="step"``), or in its forward pass, after its batch was taken from the loader (``"loss"``)."""
    name = "train_step" if where == "step" else "loss"
    real = getattr(runs.Run, name)

    def interrupted(self, *args):
        if self.step == k:
            raise KeyboardInterrupt
        return real(self, *args)

    return name, interrupted


def interrupt_at(monkeypatch, k, where="step"):
    """Interrupt step ``k`` (see ``interrupter``) for the rest of the test; returns the real ``train_step``."""
    real_step = runs.Run.train_step
    monkeypatch.setattr(runs.Run, *interrupter(k, where))
    return real_step


def assert_same_run(a, b):
    keys = sorted(k for k in a if k.startswith(RUN_STATE))
    assert keys == sorted(k for k in b if k.startswith(RUN_STATE))
    assert any(k.startswith("optimizer.state.") for k in keys) or "sgd" in str(a["args"])
    for k in keys:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


RECIPES = [
    ("scalar", ["--steps", 9]),                                              # micrograd's: SGD, full batch
    ("scalar", ["--steps", 9, "--optimizer", "adam", "--batch-size", 32]),  # shuffled batches across epochs
    ("tensor", ["--steps", 30, "--optimizer", "rmsprop", "--batch-size", 24, "--dataset", "blobs"]),
    ("tensor", ["--steps", 30, "--optimizer", "adam", "--batch-size", 16, "--dataset", "spirals"]),
    ("both", ["--steps", 7, "--optimizer", "adam", "--batch-size", 40]),   # the checkpoint keeps the scalar run
]


@pytest.mark.parametrize("where", ["step", "loss"])
@pytest.mark.parametrize("engine, recipe", RECIPES, ids=[f"{e} {' '.join(map(str, r))}" for e, r in RECIPES])
def test_interrupted_then_resumed_equals_uninterrupted(run_cli, tmp_path, monkeypatch, engine, recipe, where):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    argv = ["train", "--backend", engine, "--quiet", *recipe]
    assert run_cli(*argv, "--save", whole)[0] == 0

    k = 4
    with monkeypatch.context() as patch:
        interrupt_at(patch, k, where)
        status, out, err = run_cli(*argv, "--save", part)
    assert status == 130
    line = one_line_error(err)
    assert f"interrupted at step {k} of" in line and f"saved to {part}" in line
    assert int(checkpoint(part)["step"]) == k

    status, out, err = run_cli("train", "--resume", part, "--save", part, "--quiet")  # settings from the file
    assert status == 0, err
    assert f"resuming {part} at step {k}" in out
    assert_same_run(checkpoint(part), checkpoint(whole))


# run_cli reads and clears the captured output on every call, so sharing it between examples is safe.
@settings(max_examples=max(5, settings.default.max_examples // 6),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dataset=st.sampled_from(config.POINT_DATASETS), optimizer=st.sampled_from(config.OPTIMIZERS),
       batch_size=st.integers(1, 100), steps=st.integers(2, 25), data=st.data(), seed=st.integers(0, 3),
       test_fraction=st.sampled_from([0.0, 0.2]), where=st.sampled_from(["step", "loss"]))
def test_resume_equals_uninterrupted_for_generated_recipes(run_cli, dataset, optimizer, batch_size, steps, data,
                                                           seed, test_fraction, where):
    k = data.draw(st.integers(1, steps - 1), label="interrupted before step")
    argv = ["train", "--backend", "tensor", "--quiet", "--dataset", dataset, "--optimizer", optimizer,
            "--batch-size", batch_size, "--steps", steps, "--seed", seed, "--test-fraction", test_fraction]
    with tempfile.TemporaryDirectory() as folder:
        whole, part = Path(folder, "whole.npz"), Path(folder, "part.npz")
        assert run_cli(*argv, "--save", whole)[0] == 0
        with mock.patch.object(runs.Run, *interrupter(k, where)):
            assert run_cli(*argv, "--save", part)[0] == 130
        assert run_cli("train", "--resume", part, "--save", part, "--quiet")[0] == 0
        assert_same_run(checkpoint(part), checkpoint(whole))


def test_a_checkpoint_resumes_on_the_other_engine(run_cli, tmp_path, monkeypatch):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    argv = ["train", "--quiet", "--steps", 10, "--optimizer", "adam", "--batch-size", 50]
    assert run_cli(*argv, "--backend", "scalar", "--save", whole)[0] == 0
    real_step = interrupt_at(monkeypatch, 5)
    assert run_cli(*argv, "--backend", "scalar", "--save", part)[0] == 130
    monkeypatch.setattr(runs.Run, "train_step", real_step)
    assert run_cli("train", "--quiet", "--resume", part, "--backend", "tensor", "--save", part)[0] == 0
    a, b = model_weights(checkpoint(part)), model_weights(checkpoint(whole))
    for name in a:  # the same float64 arithmetic, summed in another order
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-12, err_msg=name)
    a, b = checkpoint(part), checkpoint(whole)  # Adam's moments carried over too
    for name in ("optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-15, err_msg=name)


def test_ctrl_c_without_save_exits_130_and_says_nothing_was_kept(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    interrupt_at(monkeypatch, 2)
    status, _, err = run_cli("train", "--backend", "tensor", "--quiet")
    assert status == 130
    assert "interrupted at step 2 of 100" in one_line_error(err) and "no checkpoint" in err
    assert list(tmp_path.iterdir()) == []


def test_interrupted_inside_a_parameter_update_keeps_the_previous_checkpoint(run_cli, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    assert run_cli("train", "--backend", "tensor", "--quiet", "--steps", 5, "--save", ckpt)[0] == 0
    before = checkpoint(ckpt)
    real = optim.SGD.step
    calls = []

    def torn_step(self, closure=None):
        calls.append(1)
        if len(calls) == 3:
            self.param_groups[0]["params"][0].data[...] += 1.0  # half of the update written...
            raise KeyboardInterrupt  # ...when the interrupt arrives
        return real(self, closure)

    monkeypatch.setattr(optim.SGD, "step", torn_step)
    status, _, err = run_cli("train", "--backend", "tensor", "--quiet", "--steps", 5, "--save", ckpt)
    assert status == 130
    assert "no checkpoint written: interrupted in the middle of a parameter update" in one_line_error(err)
    assert_same_run(checkpoint(ckpt), before)


def test_save_every_writes_periodically_and_at_the_end(run_cli, tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr("naivegrad.app.checkpoint.save", lambda path, cfg, run: (written.append(run.step),
                                                                                save_checkpoint(path, cfg, run)))
    ckpt = tmp_path / "run.npz"
    assert run_cli("train", "--backend", "tensor", "--quiet", "--steps", 10, "--save", ckpt, "--save-every", 4)[0] == 0
    assert written == [4, 8, 10]
    saved = checkpoint(ckpt)
    assert int(saved["step"]) == 10 and len(saved["history.loss"]) == 10
    settings = json.loads(str(saved["args"]))
    assert settings["steps"] == 10 and settings["dataset"] == "moons" and settings["hidden"] == [16, 16]


@pytest.fixture
def saved_run(run_cli, tmp_path):
    ckpt = tmp_path / "run.npz"
    assert run_cli("train", "--backend", "tensor", "--quiet", "--steps", 6, "--save", ckpt)[0] == 0
    return ckpt


@pytest.mark.parametrize("argv, expected", [
    (["--hidden", "32"], "was trained with --hidden 16,16, not 32"),
    (["--dataset", "circles"], "was trained with --dataset moons, not circles"),
    (["--optimizer", "adam"], "was trained with --optimizer sgd, not adam"),
    (["--seed", "1"], "was trained with --seed 0, not 1"),
    (["--steps", "3"], "already at step 6, past --steps 3"),
])
def test_resume_refuses_settings_that_contradict_the_checkpoint(run_cli, saved_run, argv, expected):
    status, out, err = run_cli("train", "--resume", saved_run, "--quiet", *argv)
    assert status == 2
    assert expected in one_line_error(err)
    assert out == ""


def _rewrite(path, change):
    arrays = checkpoint(path)
    change(arrays)
    atomic_savez(path, arrays)


def _shrink_layer(arrays):
    arrays["model.layers.0.weight"] = arrays["model.layers.0.weight"][:8]


def _drop_entry(arrays):
    del arrays["optimizer.param_groups.0.lr"]


def _edit_architecture(arrays):
    settings = json.loads(str(arrays["args"]))
    settings["hidden"] = [8]
    arrays["args"] = np.array(json.dumps(settings))


def _damage_settings(arrays):
    arrays["args"] = np.array("{not json")


def _forget_settings(arrays):
    del arrays["args"]


@pytest.mark.parametrize("change, expected", [
    (_shrink_layer, "'layers.0.weight' has shape (8, 2)"),
    (_drop_entry, "param_groups.0.lr"),
    (_edit_architecture, "does not fit this run"),
    (_damage_settings, "damaged settings"),
    (_forget_settings, "not a training checkpoint"),
])
def test_a_checkpoint_that_does_not_fit_is_refused(run_cli, saved_run, change, expected):
    _rewrite(saved_run, change)
    status, out, err = run_cli("train", "--resume", saved_run, "--quiet")
    assert status == 2
    line = one_line_error(err)
    assert expected in line and str(saved_run) in line


def test_a_damaged_file_is_refused(run_cli, saved_run):
    raw = saved_run.read_bytes()
    for damaged in (raw[: len(raw) // 2], b"not a checkpoint at all", b""):
        saved_run.write_bytes(damaged)
        status, _, err = run_cli("train", "--resume", saved_run, "--quiet")
        assert status == 2
        assert str(saved_run) in one_line_error(err)


def test_real_ctrl_c_stops_after_a_whole_step_and_saves(run_cli, tmp_path, monkeypatch):
    """SIGINT to a real process: exit 130, one line, and a checkpoint identical to stopping at that step."""
    ckpt = tmp_path / "run.npz"
    argv = ["train", "--backend", "tensor", "--steps", 1_000_000, "--quiet", "--optimizer", "adam",
            "--batch-size", 10, "--save", ckpt]
    proc = subprocess.Popen(module_command(*argv, "--save-every", 1), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=module_env())
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ckpt.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint after 60 s"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    line = one_line_error(err)
    assert f"saved to {ckpt}" in line
    saved = checkpoint(ckpt)
    k = int(saved["step"])
    assert k >= 1 and f"interrupted at step {k} of 1000000" in line
    # Not torn: exactly the state of the same run stopped in-process before step k.
    reference = tmp_path / "reference.npz"
    interrupt_at(monkeypatch, k)
    assert run_cli(*argv[:-1], reference)[0] == 130
    assert_same_run(saved, checkpoint(reference))
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no temporary file left behind
