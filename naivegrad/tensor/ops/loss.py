"""Losses that are one op rather than a chain: ``nll_loss`` (PyTorch's ``F.nll_loss``).

``-logp[range(N), target].mean()`` would be three ops (an advanced index, a mean, a negation), each
with its own backward; as one op the backward writes -g / N straight into the N picked entries.
"""

import numpy as np

from ..function import Function
from ._tangents import fit
from .movement import scatter

__all__ = ["NLLLoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _targets(target, n, classes):
    """The class indices as an integer array of shape (n,), or a clear error."""
    t = np.asarray(target)
    if t.dtype.kind == "f" and np.all(np.isfinite(t)) and np.all(t == np.round(t)):
        t = t.astype(np.intp)  # Tensors hold floats: whole numbers are class indices
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {t.dtype}")
    if t.shape != (n,):
        raise ValueError(f"nll_loss: target of shape {t.shape} does not match input of shape ({n}, {classes})")
    if t.size and (np.minimum.reduce(t) < 0 or np.maximum.reduce(t) >= classes):
        bad = t[(t < 0) | (t >= classes)][0]
        raise ValueError(f"nll_loss: target {bad} is not a class index in [0, {classes})")
    return t


class NLLLoss(Function):
    """Negative log-likelihood of class ``target`` (N integers) under log-probabilities ``input`` (N, C):
    ``-input[i, target[i]]``, averaged (``reduction="mean"``), summed (``"sum"``) or per sample (``"none"``)."""

    @staticmethod
    def forward(ctx, logp, target, reduction="mean"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"nll_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        if logp.ndim != 2:
            raise ValueError(f"nll_loss: input must be (N, C) log-probabilities, got shape {logp.shape}")
        n, classes = logp.shape
        index = (np.arange(n), _targets(target, n, classes))
        ctx.index, ctx.shape, ctx.reduction, ctx.dtype = index, logp.shape, reduction, logp.dtype
        picked = logp[index]
        if reduction == "none":
            return -picked
        total = -np.add.reduce(picked)
        return total / logp.dtype.type(n) if reduction == "mean" else total  # mean of nothing: nan

    @staticmethod
    def backward(ctx, g):
        n = ctx.shape[0]
        if ctx.reduction == "mean":
            g = g / g.dtype.type(n)
        return scatter(-g, ctx.index, ctx.shape, unique=True), None  # one entry per row: an assignment

    @staticmethod
    def jvp(ctx, t, _):
        # Linear in logp: the loss of the tangent. The target (class indices) has no derivative.
        n = ctx.shape[0]
        shape = (n,) if ctx.reduction == "none" else ()
        if t is None or (n == 0 and shape == ()):  # a loss over no samples is constant (0 or nan)
            return np.zeros(shape, ctx.dtype)
        picked = -t[ctx.index]
        if ctx.reduction != "none":
            picked = picked.sum()
            if ctx.reduction == "mean":
                picked = picked / picked.dtype.type(n)
        return fit(picked, shape, ctx.dtype)
