"""``naivegrad train``: the default job learns the moons, runs follow micrograd's recipe exactly, both engines
agree, held-out accuracy is measured on the held-out points, and the progress bar shows loss and accuracy."""

import re
from pathlib import Path

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.app import runs
from naivegrad.data import blobs, moons
from naivegrad.examples import moons as moons_example

from cli_helpers import ROOT, accuracies, checkpoint, model_weights

MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def test_the_default_job_reaches_97_percent_with_a_progress_bar(run_cli):
    status, out, err = run_cli("train")
    assert status == 0, err
    train_acc, test_acc = accuracies(out)["scalar"]
    assert train_acc >= 97.0
    assert test_acc is None  # nothing held out by default
    assert re.search(r"scalar engine: 100 steps in [\d.]+ s \([\d.]+ steps/s\)", out)
    assert "hinge loss" in out
    # tqdm's bar on stderr, with the loss and accuracy as its postfix.
    assert "train scalar" in err and "100/100" in err
    assert re.search(r"loss=\d\.\d{4}, acc=\d+\.\d%", err)


@pytest.mark.parametrize("engine, steps", [("tensor", 100), ("scalar", 8)])
def test_runs_are_micrograds_recipe_exactly(run_cli, tmp_path, engine, steps):
    """The command trains what naivegrad.examples.moons (micrograd's notebook) trains, to the last bit."""
    ckpt = tmp_path / "run.npz"
    status, out, _ = run_cli("train", "--backend", engine, "--steps", steps, "--save", ckpt, "--quiet")
    assert status == 0
    expected, _ = moons_example.train(backend=engine, steps=steps, seed=0, log=None)
    got = model_weights(checkpoint(ckpt))
    want = expected.state_dict()
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    # The printed accuracy is that of the final weights on the 100 points.
    X, y = moons(100, noise=0.1, seed=0)
    scores = np.array(expected(X).data if engine == "tensor" else [[v.data] for v in expected(X)]).ravel()
    assert accuracies(out)[engine][0] == pytest.approx(100 * np.mean((scores > 0) == (y == 1)), abs=0.051)


def test_both_engines_side_by_side_agree_and_the_reported_difference_is_true(run_cli, tmp_path):
    both, alone = tmp_path / "both.npz", tmp_path / "tensor.npz"
    status, out, _ = run_cli("train", "--backend", "both", "--steps", 20, "--save", both, "--quiet")
    assert status == 0
    assert set(accuracies(out)) == {"scalar", "tensor"}
    m = re.search(r"engines agree: max \|scalar - tensor\| over (\d+) final weights = (\S+)", out)
    assert m, out
    # Side by side changes nothing: the tensor engine alone (float64) reaches the same weights.
    assert run_cli("train", "--backend", "tensor", "--steps", 20, "--save", alone, "--quiet")[0] == 0
    s, t = model_weights(checkpoint(both)), model_weights(checkpoint(alone))  # --save keeps the scalar run
    diff = max(float(np.abs(s[k] - t[k]).max()) for k in s)
    assert int(m.group(1)) == sum(v.size for v in s.values()) == 337
    assert float(m.group(2)) == pytest.approx(diff, rel=0.01, abs=1e-300)
    assert diff < 1e-12


def test_engines_that_drift_apart_are_reported_as_disagreeing(run_cli, monkeypatch):
    real_step = runs.Run.train_step

    def drifting(self, total):
        result = real_step(self, total)
        if self.engine == "tensor" and self.step == 3:
            self.params[0].data[0, 0] += 1e-6  # a bug in one engine, as small as a float32 rounding
        return result

    monkeypatch.setattr(runs.Run, "train_step", drifting)
    status, out, _ = run_cli("train", "--backend", "both", "--steps", 6, "--quiet")
    assert status == 1
    assert "engines DISAGREE" in out


def _independent_accuracy(weights, X, y, outputs):
    model = nn.MLP(2, [16, 16, outputs], backend="tensor", dtype=np.float64)
    model.load_state_dict(weights)
    scores = model(X).data
    predicted = (scores[:, 0] > 0).astype(int) if outputs == 1 else scores.argmax(axis=1)
    return 100 * float(np.mean(predicted == y))


def test_a_multi_class_set_uses_cross_entropy_and_holds_out_its_last_points(run_cli, tmp_path):
    ckpt = tmp_path / "blobs.npz"
    status, out, _ = run_cli("train", "--dataset", "blobs", "--test-fraction", 0.3, "--backend", "tensor",
                             "--save", ckpt, "--quiet")
    assert status == 0
    assert "cross-entropy" in out and "(30 held out)" in out
    weights = model_weights(checkpoint(ckpt))
    assert weights["layers.2.weight"].shape == (3, 16)  # one output per class
    X, y = blobs(100, centers=3, std=0.25, seed=0)
    train_acc, test_acc = accuracies(out)["tensor"]
    assert train_acc == pytest.approx(_independent_accuracy(weights, X[:70], y[:70], 3), abs=0.051)
    assert test_acc == pytest.approx(_independent_accuracy(weights, X[70:], y[70:], 3), abs=0.051)
    assert train_acc >= 95.0  # three well-separated clusters are learned


def test_a_binary_set_uses_one_output_and_the_hinge_loss(run_cli, tmp_path):
    ckpt = tmp_path / "moons.npz"
    status, out, _ = run_cli("train", "--test-fraction", 0.2, "--backend", "tensor", "--samples", 200,
                             "--save", ckpt, "--quiet")
    assert status == 0
    assert "hinge loss" in out and "(40 held out)" in out
    weights = model_weights(checkpoint(ckpt))
    assert weights["layers.2.weight"].shape == (1, 16)
    X, y = moons(200, noise=0.1, seed=0)
    assert accuracies(out)["tensor"][1] == pytest.approx(_independent_accuracy(weights, X[160:], y[160:], 1),
                                                         abs=0.051)


def test_quiet_hides_the_progress_bar(run_cli):
    status, _, err = run_cli("train", "--backend", "tensor", "--steps", 3, "--quiet")
    assert status == 0 and err == ""
    status, _, err = run_cli("train", "--backend", "tensor", "--steps", 3)
    assert "train tensor" in err and "3/3" in err


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                    reason=f"the real MNIST test set is not in {MNIST_DIR}")
def test_mnist_trains_on_8000_digits_and_reports_the_2000_held_out(run_cli, tmp_path):
    plot = tmp_path / "digits.png"
    argv = ["train", "--dataset", "mnist", "--data-dir", MNIST_DIR, "--steps", 25, "--quiet"]
    pytest.importorskip("matplotlib")
    status, out, err = run_cli(*argv, "--plot", plot)
    assert status == 0, err
    assert "8000 train / 2000 test digits" in out and "(2000 held out)" in out
    train_acc, test_acc = accuracies(out)["tensor"]
    assert test_acc > 60.0  # 25 Adam steps already learn most digits (chance is 10%)
    assert Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
