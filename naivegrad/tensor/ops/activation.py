"""Normalising activations along an axis: ``softmax`` and ``logsoftmax``, stable for large logits.

Both subtract the maximum along ``axis`` first, so logits of magnitude 1e3 and more (and -inf entries,
as from masking) give exact results instead of inf / inf. ``x`` of any shape; ``axis`` defaults to the last.
Forward mode uses the saved output only, as backward does: softmax's Jacobian is symmetric, so one product
(``_softmax_times``) serves both modes; logsoftmax's is not (I minus a row of softmax weights), so its tangent
is t minus the softmax-weighted mean of t and its gradient is g minus softmax times the sum of g.
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
        return _softmax_times(ctx, g)

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        if t is None:
            return np.zeros(out.shape, out.dtype)
        return fit(_softmax_times(ctx, t), out.shape, out.dtype)


def _softmax_times(ctx, v):
    """J v for softmax's Jacobian J = diag(s) - s s^T along the axis, which is symmetric: so also J^T v, the
    gradient when v is the output's gradient, and the output's tangent when v is the input's."""
    (s,) = ctx.saved_tensors
    return s * (v - _reduce(np.add, v * s, ctx.axis))


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
