"""``naivegrad train --dataset mnist`` on small synthetic digits (so it runs anywhere, fast): the MLP and the
convnet learn, resume exactly, agree across engines and plot; the real digits are tried when present."""

import numpy as np
import pytest

from naivegrad.app import datasets, runs

from cli_helpers import ROOT, accuracies, checkpoint, one_line_error

MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def synthetic_digits(n, seed):
    """uint8 28x28 "digits": class c is a bright bar on rows 2c..2c+2, at a random column, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for i, c in enumerate(labels):
        left = rng.integers(0, 14)
        images[i, 2 * c + 4:2 * c + 7, left:left + 14] = 255
    return images.astype(np.uint8), labels.astype(np.int64)


@pytest.fixture
def fake_mnist(monkeypatch):
    """Replace the MNIST files with 96 training and 32 held-out synthetic digits."""
    calls = []

    def split(data_dir=None, n_train=8000, **kwargs):
        calls.append((data_dir, n_train))
        return synthetic_digits(96, 1), synthetic_digits(32, 2)

    monkeypatch.setattr(datasets, "mnist_t10k_split", split)
    return calls


def test_the_mlp_learns_the_digits_and_reports_held_out_accuracy(run_cli, fake_mnist, tmp_path):
    status, out, err = run_cli("train", "--dataset", "mnist", "--data-dir", tmp_path, "--steps", 60,
                               "--batch-size", 32, "--hidden", 32, "--quiet")
    assert status == 0, err
    assert fake_mnist == [(str(tmp_path), 8000)]  # --data-dir reaches the loader; 8,000 / 2,000 split asked
    assert "MLP(784, [32, 10])" in out and "tensor engine" in out and "cross-entropy" in out
    train_acc, test_acc = accuracies(out)["tensor"]
    assert train_acc >= 90.0 and test_acc >= 80.0


def test_the_mlp_agrees_across_engines_on_digits(run_cli, fake_mnist):
    status, out, _ = run_cli("train", "--dataset", "mnist", "--backend", "both", "--steps", 3, "--batch-size", 4,
                             "--hidden", "16", "--quiet")
    assert status == 0
    assert "engines agree" in out and "over 12730 final weights" in out  # 784*16 + 16 + 16*10 + 10


def test_the_digit_plot(run_cli, fake_mnist, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "digits.png"
    status, out, _ = run_cli("train", "--dataset", "mnist", "--steps", 2, "--plot", target, "--quiet")
    assert status == 0 and f"wrote {target}" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_convnet_learns_the_digits(run_cli, fake_mnist):
    status, out, err = run_cli("train", "--dataset", "mnist", "--model", "convnet", "--steps", 40,
                               "--batch-size", 32, "--lr", 0.01, "--quiet")
    assert status == 0, err
    assert "ConvNet(" in out
    assert accuracies(out)["tensor"][0] >= 80.0


def test_the_convnet_resumes_exactly(run_cli, fake_mnist, tmp_path, monkeypatch):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    argv = ["train", "--dataset", "mnist", "--model", "convnet", "--steps", 8, "--batch-size", 16, "--quiet"]
    assert run_cli(*argv, "--save", whole)[0] == 0
    real_step = runs.Run.train_step
    with monkeypatch.context() as patch:
        patch.setattr(runs.Run, "train_step",
                      lambda self, total: (_ for _ in ()).throw(KeyboardInterrupt) if self.step == 5
                      else real_step(self, total))
        status, _, err = run_cli(*argv, "--save", part)
    assert status == 130 and "at step 5 of 8" in one_line_error(err)
    assert run_cli("train", "--resume", part, "--save", part, "--quiet")[0] == 0
    a, b = checkpoint(part), checkpoint(whole)
    assert {k for k in a if k.startswith("model.")} == {"model.0.weight", "model.0.bias", "model.3.weight",
                                                       "model.3.bias", "model.7.weight", "model.7.bias"}
    for k in a:
        if k.startswith(("model.", "optimizer.", "loader.", "history.", "step")):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_the_convnet_agrees_across_engines(run_cli, fake_mnist):
    status, out, err = run_cli("train", "--dataset", "mnist", "--model", "convnet", "--backend", "both",
                               "--steps", 2, "--batch-size", 2, "--quiet")
    assert status == 0, err
    assert "engines agree" in out


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                    reason=f"the real MNIST test set is not in {MNIST_DIR}")
def test_the_convnet_on_real_digits(run_cli):
    status, out, err = run_cli("train", "--dataset", "mnist", "--model", "convnet", "--data-dir", MNIST_DIR,
                               "--steps", 40, "--quiet")
    assert status == 0, err
    assert "(2000 held out)" in out
    assert accuracies(out)["tensor"][1] > 40.0  # 40 steps are far from done, and far above chance (10%)
