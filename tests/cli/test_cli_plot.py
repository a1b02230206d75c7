"""``naivegrad train --plot``: a PNG when matplotlib is there, a clear exit 2 naming the extra when it is not."""

import struct
import sys

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.app import plots

from cli_helpers import checkpoint, model_weights, one_line_error

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def test_without_matplotlib_plot_fails_before_training_and_names_the_extra(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    target = tmp_path / "moons.png"
    status, out, err = run_cli("train", "--plot", target)
    assert status == 2
    assert 'pip install "naivegrad[plot]"' in one_line_error(err)
    assert out == ""  # no time was spent training a model that could not be drawn
    assert not target.exists()


def test_the_plot_is_a_png_of_the_expected_size(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "moons.png"
    status, out, err = run_cli("train", "--backend", "tensor", "--steps", 20, "--test-fraction", 0.2,
                               "--plot", target, "--quiet")
    assert status == 0, err
    assert f"wrote {target}" in out
    data = target.read_bytes()
    assert png_size(data) == (1000, 420)
    assert len(data) < 200_000
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize("dataset, outputs", [("moons", 1), ("blobs", 3)])
def test_the_boundary_is_drawn_from_the_trained_weights_over_all_points(run_cli, tmp_path, monkeypatch,
                                                                        dataset, outputs):
    """A scalar run is drawn with a tensor twin (a 200x200 grid is too slow on Values): it must score like
    the scalar model with the saved weights, over a grid that covers every point."""
    pytest.importorskip("matplotlib")
    seen = {}
    real = plots.plot_points

    def spy(path, score_fn, X_train, y_train, X_test, y_test, history, title, classes):
        seen.update(score_fn=score_fn, points=np.concatenate([X_train, X_test]), history=history, classes=classes)
        grid = []
        real(path, lambda g: grid.append(g) or score_fn(g), X_train, y_train, X_test, y_test, history, title,
             classes)
        seen["grid"] = grid[0]

    monkeypatch.setattr(plots, "plot_points", spy)
    ckpt, target = tmp_path / "run.npz", tmp_path / "plot.png"
    status, _, err = run_cli("train", "--dataset", dataset, "--steps", 5, "--test-fraction", 0.25, "--save", ckpt,
                             "--plot", target, "--quiet")
    assert status == 0, err
    model = nn.MLP(2, [16, 16, outputs], backend="scalar")
    model.load_state_dict(model_weights(checkpoint(ckpt)))
    X = seen["points"]
    out = model(X)
    expected = np.array([[v.data for v in row] if isinstance(row, list) else [row.data] for row in out])
    np.testing.assert_allclose(seen["score_fn"](X), expected, rtol=1e-12, atol=1e-12)
    grid = seen["grid"]
    assert (grid.min(axis=0) < X.min(axis=0)).all() and (grid.max(axis=0) > X.max(axis=0)).all()
    assert len(seen["history"]["loss"]) == 5
    assert seen["classes"] == (3 if dataset == "blobs" else 2)
    assert png_size(target.read_bytes())[0] > 0


def test_the_digit_plot_shows_the_misclassified_ones(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    images = rng.random((50, 1, 28, 28))
    labels = rng.integers(0, 10, 50)
    predicted = labels.copy()
    wrong = [3, 17, 41]
    predicted[wrong] = (labels[wrong] + 1) % 10
    drawn = []
    from matplotlib.axes import Axes

    real_text = Axes.text
    monkeypatch.setattr(Axes, "text", lambda self, x, y, s, *a, **k: (drawn.append(s), real_text(self, x, y, s, *a, **k))[1])
    history = {"loss": [2.3, 1.0, 0.5], "accuracy": [0.1, 0.5, 0.8]}
    target = tmp_path / "digits.png"
    plots.plot_digits(target, images, labels, predicted, history, "test")
    assert drawn == [f"{predicted[i]} / {labels[i]}" for i in wrong]  # one caption per mistake, in order
    assert target.read_bytes()[:8] == PNG_SIGNATURE
