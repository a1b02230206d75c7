"""Pictures of a training run, as PNG files: the decision boundary of a 2-D classifier with its points and
loss curve, for MNIST the loss curve and the held-out digits it got wrong, for a language model its training
and validation loss curves (``plot_run`` picks one).

matplotlib is an optional extra (``pip install "naivegrad[plot]"``). Figures are drawn with its Agg canvas
directly, never through pyplot, so no window opens and no global backend is switched.
"""

import io

import numpy as np

from .._atomic import atomic_write
from ..engines import TENSOR
from .runs import Run

__all__ = ["PlotUnavailable", "require_matplotlib", "plot_run", "plot_points", "plot_digits", "plot_lm_losses",
           "INSTALL_HINT"]

INSTALL_HINT = 'pip install "naivegrad[plot]"'


class PlotUnavailable(RuntimeError):
    """Plotting was asked for but matplotlib is not installed."""


def require_matplotlib():
    """(Figure, FigureCanvasAgg) from matplotlib, or ``PlotUnavailable`` naming the extra to install."""
    try:
        import matplotlib  # noqa: F401  (imported first: a blocked top-level package must fail here)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise PlotUnavailable(f"--plot needs matplotlib, which is not installed ({e}): {INSTALL_HINT}") from None
    return Figure, FigureCanvasAgg


def plot_run(path, config, data, run):
    """Draw ``run`` to ``path`` (PNG): misclassified held-out digits for MNIST, else the decision boundary."""
    if config.language_model:
        title = (f"names, {config.model}: held-out loss {run.loss_on('test'):.4f} per character "
                 f"({run.engine} engine, {run.step} steps)")
        return plot_lm_losses(path, run.history, title)
    acc = run.accuracy(data.X_train, data.y_train)
    title = f"{config.dataset}: {acc:.1%} train accuracy ({run.engine} engine, {run.step} steps)"
    if config.dataset == "mnist":
        predicted = run.predict(data.X_test)
        test = float((predicted == data.y_test).mean())
        title = f"mnist {config.model}: {test:.1%} held-out accuracy ({run.step} steps)"
        return plot_digits(path, data.X_test, data.y_test, predicted, run.history, title)
    if run.engine == TENSOR:
        score_fn = run.scores
    else:
        # The scalar engine would take seconds over a 200x200 grid; the same weights on the tensor engine in
        # float64 give the same scores at once.
        twin = Run(config, data, TENSOR, both=True)
        twin.model.load_state_dict(run.model.state_dict())
        score_fn = twin.scores
    return plot_points(path, score_fn, data.X_train, data.y_train, data.X_test, data.y_test,
                       run.history, title, config.classes)


def _save_png(fig, canvas_cls, path):
    """Render ``fig`` to PNG and write it to ``path`` atomically (a temporary file, then a rename)."""
    canvas_cls(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    with atomic_write(path) as f:
        f.write(buf.getvalue())
    return path


def _loss_axes(ax, history, title="loss and batch accuracy"):
    """The loss curve with the batch accuracy on a second axis."""
    loss = np.asarray(history["loss"], dtype=np.float64)
    steps = np.arange(1, len(loss) + 1)
    ax.plot(steps, loss, color="#1f4e9c", lw=1.5, label="loss")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel("loss", color="#1f4e9c")
    ax.set_title(title)
    acc = np.asarray(history.get("accuracy", []), dtype=np.float64)
    if len(acc):
        ax2 = ax.twinx()
        ax2.plot(steps, 100 * acc, color="#d9822b", lw=1.0, alpha=0.8)
        ax2.set_ylabel("batch accuracy %", color="#d9822b")
        ax2.set_ylim(0, 101)
    ax.grid(alpha=0.3)


def plot_points(path, score_fn, X_train, y_train, X_test, y_test, history, title, classes):
    """Decision boundary, points (train as dots, held-out as triangles) and loss curve, to ``path`` (PNG).

    ``score_fn(grid)`` returns the model's scores (n, 1) for two classes or (n, classes) otherwise.
    """
    Figure, Canvas = require_matplotlib()
    fig = Figure(figsize=(10, 4.2))
    ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    everything = np.concatenate([X_train, X_test]) if len(X_test) else X_train
    lo, hi = everything.min(axis=0) - 0.4, everything.max(axis=0) + 0.4
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    scores = np.asarray(score_fn(np.stack([gx.ravel(), gy.ravel()], axis=1)))
    cmap = "coolwarm" if classes == 2 else "tab10"
    vmax = 1 if classes == 2 else 9
    if scores.shape[1] == 1:
        regions = (scores[:, 0] > 0).astype(int).reshape(gx.shape)
        ax.contour(gx, gy, scores[:, 0].reshape(gx.shape), levels=[0.0], colors="k", linewidths=1.0)
    else:
        regions = scores.argmax(axis=1).reshape(gx.shape)
    ax.contourf(gx, gy, regions, levels=np.arange(-0.5, classes), cmap=cmap, vmin=0, vmax=vmax, alpha=0.35)
    ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap=cmap, vmin=0, vmax=vmax, s=22,
               edgecolors="k", linewidths=0.5, label="train")
    if len(X_test):
        ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap=cmap, vmin=0, vmax=vmax, s=40, marker="^",
                   edgecolors="k", linewidths=0.8, label="held out")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(title, fontsize=10)
    _loss_axes(ax_loss, history)
    fig.tight_layout()
    return _save_png(fig, Canvas, path)


def plot_digits(path, images, labels, predicted, history, title, limit=32):
    """The loss curve and a grid of up to ``limit`` misclassified digits (captioned predicted/true), to ``path``.

    ``images`` is (n, 28, 28) (or (n, 1, 28, 28)) in [0, 1]; ``labels`` and ``predicted`` are class arrays.
    """
    Figure, Canvas = require_matplotlib()
    images = np.asarray(images).reshape(len(images), 28, 28)
    wrong = np.flatnonzero(np.asarray(predicted) != np.asarray(labels))[:limit]
    fig = Figure(figsize=(11, 4.2))
    ax_loss, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    _loss_axes(ax_loss, history)
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    cell = 28 + 12  # room under each digit for its caption
    sheet = np.ones((rows * cell, cols * 30))
    for i, idx in enumerate(wrong):
        r, c = divmod(i, cols)
        sheet[r * cell:r * cell + 28, c * 30:c * 30 + 28] = 1.0 - images[idx]
    ax.imshow(sheet, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for i, idx in enumerate(wrong):
        r, c = divmod(i, cols)
        ax.text(c * 30 + 14, r * cell + 35, f"{predicted[idx]} / {labels[idx]}", ha="center", va="center",
                fontsize=7, color="#b00020")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}\nmisclassified held-out digits (predicted / true): "
                 f"{len(wrong)} shown of {int(np.sum(np.asarray(predicted) != np.asarray(labels)))}", fontsize=9)
    fig.tight_layout()
    return _save_png(fig, Canvas, path)


def plot_lm_losses(path, history, title):
    """A language model's training loss (each step's batch, and its running mean over 100 steps) and
    validation loss (``history["val_step"]``, ``history["val_loss"]``) against the step, to ``path`` (PNG)."""
    Figure, Canvas = require_matplotlib()
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    loss = np.asarray(history["loss"], dtype=np.float64)
    steps = np.arange(1, len(loss) + 1)
    ax.plot(steps, loss, color="#1f4e9c", lw=0.6, alpha=0.25)
    if len(loss):
        k = min(100, len(loss))
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1:], smooth, color="#1f4e9c", lw=1.5, label=f"train (batch loss, mean of {k} steps)")
    if history.get("val_loss"):
        ax.plot(history["val_step"], history["val_loss"], "o-", color="#d9822b", lw=1.5, ms=3,
                label="validation (3,203 names)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss per character (nats)")
    if len(loss):
        ax.set_ylim(max(0.0, float(loss.min()) - 0.2), min(float(loss.max()), float(np.log(27)) + 0.5) + 0.05)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _save_png(fig, Canvas, path)
