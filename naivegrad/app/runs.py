"""``Run``: one model on one engine with its optimizer, batch loader, step count and history.

The recipe is micrograd's: a two-class set is learned with the max-margin (hinge) loss on one output with
labels -1/1, a set of more classes (and MNIST) with cross-entropy on one output per class; an L2 penalty
``l2 * sum(p**2)`` joins the loss; the learning rate decays linearly from ``lr`` to ``lr / 10`` over the
planned steps. Everything random comes from ``seed``: the data, the initial weights and the batch order.

>>> from naivegrad.app import config, datasets, loop, runs
>>> cfg = config.resolve({"dataset": "moons"})
>>> run = runs.Run(cfg, datasets.load_data(cfg), "scalar")
>>> result = loop.fit([run], cfg.steps)                  # micrograd's demo: ~99% in 100 steps
"""

import math

import numpy as np

from .. import nn
from ..data import DataLoader
from ..engines import ENGINES, SCALAR, TENSOR, is_tensor
from ..grad_mode import no_grad
from ..scalar import sum as vsum
from . import checkpoint
from .models import as_scores, build_model, build_optimizer, engine_dtype, model_input, predictions

__all__ = ["Run", "Diverged"]


class Diverged(ArithmeticError):
    """Training produced a loss (or weights) that are not finite: ``value`` ("nan", "inf" or "-inf") in
    ``what`` at step ``step`` (counted from 1) of ``steps``, on ``engine``, with initial learning rate ``lr``.
    ``saved_step`` is filled in by the loop: the step of the last checkpoint it wrote, if any."""

    def __init__(self, step, value, engine, lr, what="loss", steps=None):
        super().__init__(f"the {what} became {value} at step {step}")
        self.step, self.value, self.engine, self.lr, self.what, self.steps = step, value, engine, lr, what, steps
        self.saved_step = None


class Run:
    """One model on one engine, with its optimizer, batch loader, step count and history.

    ``train_step()`` takes one optimizer step on the next batch; ``state_dict()`` / ``load_state_dict()``
    are what a checkpoint holds. Parameters, optimizer state and the step change together only inside
    ``train_step``'s final update, so interrupting anywhere else leaves a consistent state to save.
    ``both=True`` computes in float64 on the tensor engine too, as when the engines run side by side.
    """

    def __init__(self, config, data, engine, both=False):
        if engine not in ENGINES:
            raise ValueError(f"engine must be 'scalar' or 'tensor', got {engine!r}")
        self.config, self.data, self.engine = config, data, engine
        self.dtype = engine_dtype(config, engine, both)
        self.model, self.params, self.optimizer, self.loader = self._build()
        self.step = 0
        self.history = {"loss": [], "accuracy": []}
        self._committed_loader = self.loader.state_dict()
        self._batches = None
        self._updating = False  # True while parameters and optimizer state are half-written

    def _build(self):
        """A fresh (model, its parameters, optimizer, batch loader) for this run's settings."""
        model = build_model(self.config, self.engine, self.dtype)
        params = model.parameters()
        optimizer = build_optimizer(self.config, params)
        n = len(self.data.X_train)
        loader = DataLoader(self.data.X_train, self.data.y_train, batch_size=self.config.batch_size,
                            shuffle=self.config.batch_size < n, seed=self.config.seed)
        return model, params, optimizer, loader

    @property
    def consistent(self):
        """False only if an exception struck in the middle of a parameter update."""
        return not self._updating

    def loss(self, xb, yb):
        """(total loss, scores as an array) for one batch: data loss plus the L2 penalty."""
        out = self.model(model_input(self.config, xb))
        if self.config.binary:
            data_loss = nn.hinge_loss(out, yb * 2.0 - 1.0)
        else:
            data_loss = nn.cross_entropy(out, yb)
        loss = data_loss
        if self.config.l2:
            if self.engine == SCALAR:
                penalty = vsum([p * p for p in self.params])
            else:
                penalty = sum((p * p).sum() for p in self.params)
            loss = data_loss + self.config.l2 * penalty
        return loss, as_scores(out)

    def learning_rate(self, step, total):
        """micrograd's schedule: linear from ``lr`` at step 0 towards ``lr / 10`` at step ``total``."""
        return self.config.lr * (1.0 - 0.9 * step / total)

    def _next_batch(self):
        # One iterator per epoch (it draws the epoch's permutation once); the loader's own state moves on with
        # every batch handed out, so a new iterator after load_state_dict starts at the right batch.
        if self._batches is None:
            self._batches = iter(self.loader)
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = iter(self.loader)
            return next(self._batches)

    def train_step(self, total):
        """One step on the next batch; returns (loss, batch accuracy) measured before the update.

        A loss that is not finite raises ``Diverged`` before anything is updated: the run keeps the state of
        the previous step.
        """
        xb, yb = self._next_batch()
        loss, scores = self.loss(xb, yb)
        loss_value = float(loss.data)
        if not math.isfinite(loss_value):
            raise Diverged(self.step + 1, str(loss_value), self.engine, self.config.lr, steps=total)
        self.optimizer.zero_grad()
        loss.backward()
        lr = self.learning_rate(self.step, total)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        acc = float(np.mean(predictions(scores) == yb))
        self._updating = True
        self.optimizer.step()
        self.step += 1
        self.history["loss"].append(loss_value)
        self.history["accuracy"].append(acc)
        self._committed_loader = self.loader.state_dict()
        self._updating = False
        return loss_value, acc

    def scores(self, X, chunk=1000):
        """Model outputs for ``X`` as a float64 array (n, outputs), without recording a graph.

        Digits on the scalar engine are scored by a float64 tensor-engine copy of the model (the same numbers
        to ~1e-15): thousands of images through Values would take many minutes.
        """
        model = self.model
        if self.engine == SCALAR and self.config.dataset == "mnist":
            model = build_model(self.config, TENSOR, np.float64)
            model.load_state_dict(self.model.state_dict())
        out = []
        with no_grad():
            for i in range(0, len(X), chunk):
                out.append(as_scores(model(model_input(self.config, X[i:i + chunk]))))
        return np.concatenate(out) if out else np.zeros((0, self.config.n_outputs))

    def predict(self, X):
        """Predicted classes for ``X``."""
        return predictions(self.scores(X))

    def accuracy(self, X, y):
        """Fraction of ``X`` classified as ``y`` (None when there are no samples)."""
        return float(np.mean(self.predict(X) == y)) if len(X) else None

    def weights(self):
        """The model's state dict (name -> float64 array)."""
        return {k: np.asarray(v, dtype=np.float64) for k, v in self.model.state_dict().items()}

    # -- checkpoints
    def state_dict(self):
        """Flat name -> array dict of everything needed to continue this run exactly."""
        if self._updating:
            raise RuntimeError("the run was interrupted in the middle of a parameter update; its state is torn")
        out = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        out.update({f"optimizer.{k}": v for k, v in self.optimizer.state_dict().items()})
        out.update({f"loader.{k}": v for k, v in self._committed_loader.items()})
        out["step"] = np.int64(self.step)
        out["history.loss"] = np.array(self.history["loss"], dtype=np.float64)
        out["history.accuracy"] = np.array(self.history["accuracy"], dtype=np.float64)
        return out

    def load_state_dict(self, arrays, source="checkpoint"):
        """Continue from ``state_dict()`` output; raises ``CheckpointError`` naming ``source`` if it does not fit.

        All or nothing: everything is loaded into a fresh model, optimizer and loader first, and the run takes
        them only when all of it fits; a checkpoint that does not fit leaves the run as it was.
        """
        def part(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        progress = checkpoint.progress(arrays, source)
        model, params, optimizer, loader = self._build()
        try:
            model_state, loader_state = part("model."), part("loader.")
            _check_weights(model_state)
            _check_loader_state(loader_state)
            model.load_state_dict(model_state)
            optimizer.load_state_dict(_for_layout(part("optimizer."), optimizer, model))
            loader.load_state_dict(loader_state)
        except Exception as e:  # noqa: BLE001 (whatever the parts raise, the checkpoint does not fit)
            detail = e.args[0] if isinstance(e, KeyError) and e.args else e
            if not isinstance(e, (KeyError, ValueError, TypeError)):
                detail = f"{type(e).__name__}: {detail}"
            raise checkpoint.CheckpointError(f"{source} does not fit this run: {detail}") from None
        self.model, self.params, self.optimizer, self.loader = model, params, optimizer, loader
        self.step = progress.step
        self.history = progress.history
        self._committed_loader = self.loader.state_dict()
        self._batches = None


def _check_weights(state):
    """``ValueError`` unless every saved weight is an array of finite real numbers."""
    for name, w in state.items():
        w = np.asarray(w)
        if w.dtype.kind not in "fiu":
            raise ValueError(f"weight {name!r} is an array of {w.dtype}, not of numbers")
        if w.dtype.kind == "f" and not np.isfinite(w).all():
            raise ValueError(f"weight {name!r} holds nan or inf (saved from a run that diverged?)")


def _check_loader_state(state):
    """``ValueError`` unless every saved loader entry is a single integer (``shuffle``, ``drop_last``: a bool)."""
    for key, value in state.items():
        a = np.asarray(value)
        kinds = "b" if key in ("shuffle", "drop_last") else "iu"
        if a.ndim != 0 or a.dtype.kind not in kinds:
            wanted = "true or false" if kinds == "b" else "an integer"
            raise ValueError(f"its loader entry {key!r} is an array of {a.dtype} and shape {a.shape}, "
                             f"not {wanted}")


def _for_layout(state, optimizer, model):
    """An optimizer state dict saved on the other engine, laid out for ``optimizer``'s parameters.

    Both engines pack the state of a model's weights in the same (state-dict) order; only the bookkeeping
    differs: one entry per Value on the scalar engine, one per weight array on the tensor engine. When every
    weight took the same number of steps (as in any ``Run``), the packed state carries over unchanged. Only
    the other engine's exact layout of ``model``'s weights is converted; anything else is left for the
    optimizer's ``load_state_dict`` to judge.
    """
    state = dict(state)
    if len(optimizer.param_groups) != 1:
        return state
    group = optimizer.param_groups[0]
    sizes_key, step_key = "param_groups.0.sizes", "state.0.step"
    if sizes_key not in state or step_key not in state:
        return state
    own = np.array([p.data.size if is_tensor(p) else 1 for p in group["params"]], np.int64)
    saved, steps = np.asarray(state[sizes_key]), np.asarray(state[step_key])
    if saved.dtype.kind not in "iu" or steps.dtype.kind not in "iu" or steps.size == 0:
        return state
    if saved.shape == own.shape and (saved == own).all():
        return state
    if any(is_tensor(p) for p in group["params"]):
        other = np.ones(int(own.sum()), np.int64)  # the scalar engine's: one entry per number
    else:
        other = np.array([np.asarray(w).size for w in model.state_dict().values()], np.int64)  # per array
    if other.sum() != own.sum() or saved.shape != other.shape or (saved != other).any():
        return state
    if steps.shape != saved.shape or (steps != steps.flat[0]).any():
        return state  # weights that took different numbers of steps: let load_state_dict report it
    state[sizes_key] = own
    state[step_key] = np.full(len(own), steps.flat[0], np.int64)
    return state
