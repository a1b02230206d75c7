"""Normalising activations along an axis: ``softmax`` and ``logsoftmax``, stable for large logits.

Both subtract the maximum along ``axis`` first, so logits of magnitude 1e3 and more (and -inf entries,
as from masking) give exact results instead of inf / inf. ``x`` of any shape; ``axis`` defaults to the last.
Forward mode uses the saved output only, as backward does: softmax's Jacobian is symmetric, so its tangent
is backward's formula; logsoftmax's tangent is t minus the softmax-weighted mean of t.
"""

import numpy as np

from ..function import Function
from ..shapes import normalize_axis
from ._tangents import fit

__all__ = ["Softmax", "LogSoftmax"]


def _reduce(ufunc, x, axis):
    """``ufunc.reduce(x, axis, keepdims=True)`` (np.maximum or np.add), quick for a short last axis too.

    numpy reduces a short innermost axis row by row: the max over 10 classes of a (128, 10) batch costs
    ~10 us. Reducing the outer axis of the transposed copy is one vectorised pass per class, ~1 us.
    """
    k = x.shape[axis]
    if axis == x.ndim - 1 and 1 < k <= 64 and x.size >= 16 * k:
        columns = np.ascontiguousarray(x.reshape(-1, k).T)
        return ufunc.reduce(columns, axis=0).reshape(x.shape[:-1] + (1,))
    return ufunc.reduce(x, axis=axis, keepdims=True)


def _shifted(x, axis):
    """x minus its maximum along ``axis``, so that exp never overflows. As in PyTorch, a row whose maximum
    is infinite gives nan (inf - inf); -inf entries below a finite maximum give exp(-inf) = 0."""
    if x.shape[axis] == 0:
        return x
    return x - _reduce(np.maximum, x, axis)


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``axis``."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "softmax")
        e = np.exp(_shifted(x, axis))
        out = e / _reduce(np.add, e, axis)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * (g - _reduce(np.add, g * out, ctx.axis))

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        if t is None:
            return np.zeros(out.shape, out.dtype)
        return fit(out * (t - _reduce(np.add, t * out, ctx.axis)), out.shape, out.dtype)


class LogSoftmax(Function):
    """x - logsumexp(x) along ``axis``: log-probabilities."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "logsoftmax")
        s = _shifted(x, axis)
        out = s - np.log(_reduce(np.add, np.exp(s), axis))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * _reduce(np.add, g, ctx.axis)

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        if t is None:
            return np.zeros(out.shape, out.dtype)
        return fit(t - _reduce(np.add, np.exp(out) * t, ctx.axis), out.shape, out.dtype)
