"""Bad arguments end with exit status 2 and one line on stderr naming the problem, never a traceback;
``--help``, ``python -m naivegrad`` and the console-script declaration work."""

import configparser
import importlib
import urllib.error

import pytest

from naivegrad.app import cli
from naivegrad.data import mnist_files

from cli_helpers import ROOT, one_line_error, run_module

BAD_TRAIN_ARGUMENTS = [
    (["--dataset", "mnistt"], "invalid choice: 'mnistt'"),
    (["--model", "convnet"], "--model convnet"),
    (["--dataset", "blobs", "--model", "convnet"], "blobs is a 2-D dataset"),
    (["--backend", "gpu"], "invalid choice: 'gpu'"),
    (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["--hidden", "16,x"], "--hidden"),
    (["--hidden", "16,0"], "--hidden"),
    (["--steps", "0"], "--steps must be >= 1"),
    (["--steps", "ten"], "invalid int value: 'ten'"),
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--batch-size", "0"], "--batch-size"),
    (["--seed", "-3"], "--seed"),
    (["--samples", "1"], "--samples"),
    (["--test-fraction", "1.5"], "--test-fraction"),
    (["--test-fraction", "0.001"], "--test-fraction"),
    (["--classes", "3"], "moons has 2 classes"),
    (["--dataset", "mnist", "--test-fraction", "0.1"], "--test-fraction applies to the 2-D datasets"),
    (["--dataset", "mnist", "--samples", "500"], "--samples applies to the 2-D datasets"),
    (["--save-every", "5"], "--save-every needs --save"),
    (["--plot", "moons.jpg"], "must end in .png"),
    (["--save", "model.pt"], "must end in .npz"),
    (["--plot", "no/such/folder/moons.png"], "does not exist"),
    (["--save", "no/such/folder/run.npz"], "does not exist"),
    (["--resume", "no/such/checkpoint.npz"], "no checkpoint at"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("argv, expected", BAD_TRAIN_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_TRAIN_ARGUMENTS])
def test_bad_train_arguments_exit_2_with_one_line(run_cli, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli("train", "--quiet", *argv)
    assert status == 2
    line = one_line_error(err)
    assert line.startswith("naivegrad: error: ")
    assert expected in line
    assert out == ""  # nothing was trained
    assert list(tmp_path.iterdir()) == []  # and nothing written


def test_no_command_and_bad_commands(run_cli):
    status, _, err = run_cli()
    assert status == 2 and "choose a command" in one_line_error(err)
    status, _, err = run_cli("fit")
    assert status == 2 and "invalid choice: 'fit'" in one_line_error(err)


def test_mnist_absent_and_offline_is_one_line_naming_the_files(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NAIVEGRAD_DATA", raising=False)
    attempts = []

    def offline(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(mnist_files._download, "download", offline)
    status, out, err = run_cli("train", "--dataset", "mnist", "--data-dir", tmp_path / "empty", "--quiet")
    assert status == 2
    line = one_line_error(err)
    assert "MNIST" in line and "not found" in line
    assert "t10k-images-idx3-ubyte.gz" in line and "network is unreachable" in line
    assert attempts  # it did try to download (and the test kept it offline)
    assert out == ""


def test_damaged_mnist_file_is_one_line_naming_it(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in mnist_files.FILES["test"]:
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)  # a header promising more than there is
    status, _, err = run_cli("train", "--dataset", "mnist", "--data-dir", tmp_path, "--quiet")
    assert status == 2
    assert "t10k-" in one_line_error(err)


def test_graph_errors(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (["x = 1; __import__('os')"], "'__import__' is not allowed"),
        (["a=2.0; b"], "unknown name 'b'"),
        (["a=(2.0"], "invalid syntax"),
        (["a=2.0; a*a", "-o", "graph.txt"], "unsupported file extension '.txt'"),
        (["a=2.0; a*a", "-o", "missing/graph.dot"], "does not exist"),
        (["a=2.0; a*a", "--max-nodes", "0"], "--max-nodes"),
    ]
    for argv, expected in cases:
        status, out, err = run_cli("graph", *argv)
        assert status == 2, argv
        assert expected in one_line_error(err), argv
        assert out == ""
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_commands_and_options(run_cli):
    status, out, _ = run_cli("--help")
    assert status == 0 and "train" in out and "graph" in out
    status, out, _ = run_cli("train", "--help")
    assert status == 0
    for option in ("--dataset", "--backend", "--model", "--hidden", "--optimizer", "--lr", "--steps",
                   "--batch-size", "--seed", "--data-dir", "--plot", "--save", "--resume", "--test-fraction"):
        assert option in out
    status, out, _ = run_cli("--version")
    assert status == 0


def test_python_dash_m_naivegrad_is_the_same_command():
    done = run_module("train", "--dataset", "nope")
    assert done.returncode == 2
    assert "invalid choice: 'nope'" in one_line_error(done.stderr)
    done = run_module("graph", "a=3.0; b=a*a")
    assert done.returncode == 0 and done.stdout.startswith("digraph")


def test_the_console_script_is_declared_and_points_at_main():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    scripts = dict(line.split("=", 1) for line in cfg["options.entry_points"]["console_scripts"].split("\n") if "=" in line)
    target = {k.strip(): v.strip() for k, v in scripts.items()}["naivegrad"]
    module, _, attr = target.partition(":")
    assert getattr(importlib.import_module(module), attr) is cli.main
