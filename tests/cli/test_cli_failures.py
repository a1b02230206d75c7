"""Failures that lose nothing: an output path that cannot be written is refused before training; a save that
fails anyway says so in one line; stale temporary files of a killed save are cleaned up; a crafted checkpoint
is refused in one line without allocating what it claims; a run whose loss blows up stops and says so."""

import errno
import json
import os
import zipfile

import numpy as np
import pytest

from naivegrad.app import checkpoint as checkpoint_format
from naivegrad.app import config, datasets, runs
from naivegrad.nn.serialization import atomic_savez

from cli_helpers import checkpoint, one_line_error

QUICK = ("train", "--quiet", "--backend", "tensor", "--steps", 5)


def _fail_os_open_under(monkeypatch, folder, code):
    """Make creating files in ``folder`` fail with ``code``, as a read-only or full file system would."""
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)


def _unwritable(kind, tmp_path, monkeypatch, ext):
    """A path of ``kind`` that cannot be written, and the words the refusal must contain."""
    if kind == "parent is a file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file" / f"out{ext}", "not a folder"
    if kind == "a folder":
        (tmp_path / f"out{ext}").mkdir()
        return tmp_path / f"out{ext}", "folder"
    if kind == "a named pipe":
        os.mkfifo(tmp_path / f"out{ext}")
        return tmp_path / f"out{ext}", "not a regular file"
    if kind == "/proc":
        if not os.path.isdir("/proc/self"):
            pytest.skip("needs Linux's /proc")
        return f"/proc/naivegrad-test{ext}", "cannot write"
    code = {"read-only file system": errno.EROFS, "permission denied": errno.EACCES}[kind]
    _fail_os_open_under(monkeypatch, tmp_path, code)
    return tmp_path / f"out{ext}", os.strerror(code)


KINDS = ["parent is a file", "a folder", "a named pipe", "/proc", "read-only file system", "permission denied"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option, ext", [("--save", ".npz"), ("--plot", ".png")])
def test_an_output_path_that_cannot_be_written_is_refused_before_training(run_cli, tmp_path, monkeypatch,
                                                                           kind, option, ext):
    before = set(os.listdir(tmp_path))
    path, words = _unwritable(kind, tmp_path, monkeypatch, ext)
    trained = []
    monkeypatch.setattr(runs.Run, "train_step", lambda self, total: trained.append(1))
    status, out, err = run_cli(*QUICK, option, path)
    assert status == 2
    line = one_line_error(err)
    assert line.startswith(f"naivegrad: error: {option} {path}") and words in line, line
    assert out == "" and not trained
    assert set(os.listdir(tmp_path)) - before <= {"file", f"out{ext}"}  # no probe file left behind


def test_disk_full_at_the_final_save_is_one_line_and_keeps_the_previous_checkpoint(run_cli, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    assert run_cli(*QUICK, "--save", ckpt)[0] == 0
    good = ckpt.read_bytes()

    def full(fd):  # a full disk often shows only when the data is flushed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    status, out, err = run_cli(*QUICK, "--steps", 8, "--save", ckpt)
    assert status == 1
    line = one_line_error(err)
    assert str(ckpt) in line and "No space left on device" in line
    assert "step 8 of 8" in line and "not saved" in line
    assert ckpt.read_bytes() == good  # the earlier checkpoint is intact
    assert os.listdir(tmp_path) == ["run.npz"]  # and no temporary file is left


def test_disk_full_at_a_periodic_save_stops_and_says_what_the_file_holds(run_cli, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    real_fsync, calls = os.fsync, []

    def full_on_the_second(fd):
        calls.append(fd)
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_on_the_second)
    trained = []
    real_step = runs.Run.train_step
    monkeypatch.setattr(runs.Run, "train_step", lambda self, total: (trained.append(1), real_step(self, total))[1])
    status, out, err = run_cli(*QUICK, "--steps", 10, "--save", ckpt, "--save-every", 3)
    assert status == 1
    line = one_line_error(err)
    assert str(ckpt) in line and "No space left on device" in line and "step 6 of 10" in line
    assert "holds step 3" in line
    assert len(trained) == 6  # training stopped at the failed save
    assert int(checkpoint(ckpt)["step"]) == 3
    assert os.listdir(tmp_path) == ["run.npz"]


def test_ctrl_c_whose_save_fails_is_one_line_with_status_130(run_cli, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    real_step = runs.Run.train_step

    def interrupted(self, total):
        if self.step == 2:
            raise KeyboardInterrupt
        return real_step(self, total)

    def read_only(fd):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(runs.Run, "train_step", interrupted)
    monkeypatch.setattr(os, "fsync", read_only)
    status, _, err = run_cli(*QUICK, "--save", ckpt)
    assert status == 130
    line = one_line_error(err)
    assert "interrupted at step 2 of 5" in line and str(ckpt) in line and "Read-only file system" in line
    assert os.listdir(tmp_path) == []


def test_a_plot_that_cannot_be_written_at_the_end_is_one_line(run_cli, tmp_path, monkeypatch):
    from naivegrad.app import plots

    def failing_plot(path, *args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(plots, "require_matplotlib", lambda: None)
    monkeypatch.setattr(plots, "plot_run", failing_plot)
    ckpt, png = tmp_path / "run.npz", tmp_path / "run.png"
    status, out, err = run_cli(*QUICK, "--save", ckpt, "--plot", png)
    assert status == 1
    line = one_line_error(err)
    assert str(png) in line and "No space left on device" in line
    assert f"saved checkpoint {ckpt}" in out and int(checkpoint(ckpt)["step"]) == 5


# -- stale temporary files of a killed save


def test_saving_and_resuming_remove_the_stale_temporary_files_of_that_checkpoint(run_cli, tmp_path):
    ckpt = tmp_path / "run.npz"
    stale, other = tmp_path / ".run.npz.k1ll3d00.tmp", tmp_path / ".other.npz.k1ll3d00.tmp"
    for p in (stale, other):
        p.write_bytes(b"\0" * 50_000)
    assert run_cli(*QUICK, "--save", ckpt)[0] == 0
    assert not stale.exists() and other.exists()

    stale.write_bytes(b"\0" * 50_000)  # killed again, this time before a --resume
    assert run_cli("train", "--quiet", "--resume", ckpt, "--steps", 6)[0] == 0
    assert sorted(os.listdir(tmp_path)) == [".other.npz.k1ll3d00.tmp", "run.npz"]


# -- crafted checkpoints


@pytest.fixture
def saved(run_cli, tmp_path):
    ckpt = tmp_path / "run.npz"
    assert run_cli("train", "--quiet", "--backend", "tensor", "--steps", 3, "--optimizer", "adam",
                   "--batch-size", 30, "--save", ckpt)[0] == 0
    return ckpt


def _settings(**changes):
    def change(arrays):
        s = json.loads(str(arrays["args"]))
        s.update(changes)
        arrays["args"] = np.array(json.dumps(s))
    return change


def _entry(key, value):
    def change(arrays):
        arrays[key] = value
    return change


CRAFTED = {
    "step an array": _entry("step", np.array([1, 2])),
    "step text": _entry("step", np.array("3")),
    "history of text": _entry("history.loss", np.array(["a", "b", "c"])),
    "history 2-D": _entry("history.loss", np.zeros((3, 1))),
    "args a number": _entry("args", np.array(5)),
    "args a JSON list": _entry("args", np.array("[1, 2]")),
    "hidden a number": _settings(hidden=5),
    "hidden huge": _settings(hidden=[10 ** 12]),
    "samples huge": _settings(samples=10 ** 12),
    "data_dir a number": _settings(data_dir=5),
    "data_dir a list": _settings(data_dir=["x"]),
    "optimizer lr text": _entry("optimizer.param_groups.0.lr", np.array("x")),
    "optimizer sizes text": _entry("optimizer.param_groups.0.sizes", np.array(["a"] * 6)),
    "optimizer sizes wrong": _entry("optimizer.param_groups.0.sizes", np.array([337, 0, 0, 0, 0, 0])),
    "optimizer step float": _entry("optimizer.state.0.step", np.ones(6)),
    "loader epoch an array": _entry("loader.epoch", np.array([1, 2])),
    "loader shuffle text": _entry("loader.shuffle", np.array("no")),
    "loader shuffle an array": _entry("loader.shuffle", np.array([True, False])),
    "loader seed a float": _entry("loader.seed", np.array(0.5)),
    "weights of bools": _entry("model.layers.0.weight", np.zeros((16, 2), bool)),
    "weights nan": _entry("model.layers.0.weight", np.full((16, 2), np.nan)),
    "version a number": _entry("naivegrad_version", np.array(5)),
}


@pytest.mark.parametrize("craft", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_checkpoint_is_refused_in_one_line(run_cli, saved, craft):
    arrays = checkpoint(saved)
    craft(arrays)
    atomic_savez(saved, arrays)
    status, out, err = run_cli("train", "--resume", saved, "--quiet")
    assert status == 2
    line = one_line_error(err)
    assert line.startswith("naivegrad: error: ") and str(saved) in line
    assert out == ""


def _npz_claiming(path, shape, dtype="<f8", deflated=False):
    """An .npz whose one member's header claims an array of ``shape`` but holds a few bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED) as z:
        with z.open("model.layers.0.weight.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
            f.write(b"\0" * 64)


@pytest.mark.parametrize("shape", [(10 ** 12,), (10 ** 6, 10 ** 6), (2 ** 62, 4)])
@pytest.mark.parametrize("deflated", [False, True])
def test_an_npz_claiming_a_huge_array_is_refused_without_allocating_it(run_cli, tmp_path, shape, deflated):
    path = tmp_path / "huge.npz"
    _npz_claiming(path, shape, deflated=deflated)
    with pytest.raises(checkpoint_format.CheckpointError, match="claims"):
        checkpoint_format.read(path)
    assert issubclass(checkpoint_format.CheckpointError, ValueError)
    status, out, err = run_cli("train", "--resume", path, "--quiet")
    assert status == 2 and str(path) in one_line_error(err)


def test_the_size_check_accepts_real_checkpoints_compressed_or_not(saved, tmp_path):
    arrays = checkpoint(saved)
    arrays["model.layers.1.weight"] = np.zeros((16, 16))  # compresses ~100x
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, **arrays)
    settings, loaded = checkpoint_format.read(packed)
    assert settings["optimizer"] == "adam" and int(loaded["step"]) == 3


def _run(optimizer="adam", engine="tensor"):
    cfg = config.resolve({"optimizer": optimizer, "batch_size": 30, "steps": 3})
    return runs.Run(cfg, datasets.load_data(cfg), engine)


@pytest.mark.parametrize("broken", ["optimizer.param_groups.0.lr", "optimizer.state.0.exp_avg", "loader.epoch",
                                    "step"])
def test_run_load_state_dict_is_all_or_nothing(broken):
    donor = _run()
    for _ in range(3):
        donor.train_step(3)
    arrays = donor.state_dict()
    arrays[broken] = np.array("x")

    run = _run()
    before = {k: np.array(v, copy=True) for k, v in run.state_dict().items()}
    model, optimizer, loader = run.model, run.optimizer, run.loader
    with pytest.raises(checkpoint_format.CheckpointError, match="does not fit this run"):
        run.load_state_dict(arrays, source="the donor")
    after = run.state_dict()
    assert sorted(after) == sorted(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    assert run.model is model and run.optimizer is optimizer and run.loader is loader


def test_run_load_state_dict_still_loads_a_good_state():
    donor = _run()
    for _ in range(3):
        donor.train_step(3)
    run = _run()
    run.load_state_dict(donor.state_dict())
    a, b = run.state_dict(), donor.state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert run.train_step(5) == donor.train_step(5)


# -- a loss that becomes nan or inf


def test_a_diverging_run_stops_with_one_line_naming_the_step_and_suggesting_a_smaller_lr(run_cli):
    status, out, err = run_cli("train", "--lr", "1e6", "--quiet")  # micrograd's moons, scalar engine
    assert status == 1
    line = one_line_error(err)
    assert "step 7 of 100" in line and "inf" in line and "smaller --lr" in line, line
    assert "engine:" not in out  # no summary of a run that did not finish


@pytest.mark.parametrize("backend", ["tensor", "both"])
def test_a_diverging_run_on_numpy_prints_no_warnings(run_cli, backend):
    status, _, err = run_cli("train", "--lr", "1e6", "--quiet", "--backend", backend)
    assert status == 1
    assert "smaller --lr" in one_line_error(err)  # no RuntimeWarning lines from numpy either


def test_a_diverging_run_does_not_overwrite_a_good_checkpoint(run_cli, tmp_path):
    ckpt = tmp_path / "run.npz"
    assert run_cli(*QUICK, "--save", ckpt)[0] == 0
    good = ckpt.read_bytes()
    status, _, err = run_cli("train", "--quiet", "--backend", "tensor", "--lr", "1e6", "--save", ckpt)
    assert status == 1
    line = one_line_error(err)
    assert "smaller --lr" in line and str(ckpt) in line
    assert ckpt.read_bytes() == good
    assert os.listdir(tmp_path) == ["run.npz"]


def test_periodic_checkpoints_stop_before_the_weights_blow_up(run_cli, tmp_path):
    ckpt = tmp_path / "run.npz"
    status, _, err = run_cli("train", "--quiet", "--backend", "tensor", "--lr", "1e6", "--save", ckpt,
                             "--save-every", 1)
    assert status == 1
    line = one_line_error(err)
    assert "step 7 of 100" in line and f"{ckpt} holds step" in line
    saved = checkpoint(ckpt)
    assert all(np.isfinite(v).all() for k, v in saved.items() if k.startswith("model."))


def test_weights_that_become_nan_in_the_last_update_are_not_saved(run_cli, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    real_step = runs.Run.train_step

    def poisoned(self, total):
        result = real_step(self, total)
        if self.step == total:
            self.params[0].data[0, 0] = np.nan
        return result

    monkeypatch.setattr(runs.Run, "train_step", poisoned)
    status, _, err = run_cli(*QUICK, "--save", ckpt)
    assert status == 1
    line = one_line_error(err)
    assert "nan" in line and "step 5 of 5" in line and "smaller --lr" in line
    assert not ckpt.exists()


def test_settings_describing_a_model_far_larger_than_the_weights_held_are_refused_before_building_it(
        run_cli, saved, monkeypatch):
    arrays = checkpoint(saved)
    _settings(hidden=[4000, 4000])(arrays)  # 16 million weights claimed, 337 held
    atomic_savez(saved, arrays)
    monkeypatch.setattr(runs.Run, "__init__", lambda *a, **k: pytest.fail("a model was built"))
    status, _, err = run_cli("train", "--resume", saved, "--quiet")
    assert status == 2
    assert "far more than the 337 it holds" in one_line_error(err)
