"""Normalising activations along an axis: ``softmax`` and ``logsoftmax``, stable for large logits.

Both subtract the maximum along ``axis`` first, so logits of magnitude 1e3 and more (and -inf entries,
as from masking) give exact results instead of inf / inf. ``x`` of any shape; ``axis`` defaults to the last.
"""

import numpy as np

from ..function import Function
from ..shapes import normalize_axis

__all__ = ["Softmax", "LogSoftmax"]


def _shifted(x, axis):
    """x minus its maximum along ``axis``, so that exp never overflows. As in PyTorch, a row whose maximum
    is infinite gives nan (inf - inf); -inf entries below a finite maximum give exp(-inf) = 0."""
    if x.shape[axis] == 0:
        return x
    return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``axis``."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "softmax")
        e = np.exp(_shifted(x, axis))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * (g - (g * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x) along ``axis``: log-probabilities."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "logsoftmax")
        s = _shifted(x, axis)
        out = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True)
