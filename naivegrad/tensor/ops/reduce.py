"""Reductions over ``axis`` (None: all axes; an int; or a tuple of ints) with ``keepdims``.

The gradient of a reduction is spread back over the reduced axes: equally for ``sum`` and ``mean``,
through the softmax for ``logsumexp``, and to the maxima for ``max``/``min`` (ties split evenly among
the maxima, PyTorch's ``amax`` rule).
"""

import math

import numpy as np

from ..function import Function
from ..shapes import normalize_axes

__all__ = ["Sum", "Mean", "Max", "Min", "LogSumExp"]


def _reduce_setup(ctx, x, axis, keepdims, what):
    """Checked axes; remembers what backward needs to put the gradient back in the input's shape."""
    if axis is None:
        axes = None
        kept = (1,) * x.ndim
    else:
        axes = normalize_axes(axis, x.ndim, x.shape, what)
        kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    ctx.in_shape, ctx.kept_shape = x.shape, kept
    return axes


def _spread(ctx, g):
    """The output gradient copied over the input's shape (each reduced element gets its slice's share)."""
    out = np.empty(ctx.in_shape, g.dtype)
    out[...] = g.reshape(ctx.kept_shape)
    return out


class Sum(Function):
    """Sum over ``axis``; each summed element gets the output's gradient."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "sum")
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g)


class Mean(Function):
    """Mean over ``axis`` (nan for an empty reduction, as numpy and PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "mean")
        n = x.size if axes is None else math.prod([x.shape[i] for i in axes])
        ctx.count = n
        return x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(n)  # 0 / 0 = nan when empty

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g / g.dtype.type(ctx.count))


class _Extremum(Function):
    _reduce = None  # np.max or np.min
    _name = ""

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims):
        axes = _reduce_setup(ctx, x, axis, keepdims, cls._name)
        if x.size == 0 and (axes is None or any(x.shape[i] == 0 for i in axes)):
            raise ValueError(f"{cls._name}: cannot reduce a tensor of shape {x.shape} over an empty axis "
                             f"(axis={axis!r}): the {cls._name} of nothing is undefined")
        out = cls._reduce(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axes = axes
        return out if keepdims else out.reshape(
            tuple(n for i, n in enumerate(x.shape) if axes is not None and i not in axes))

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        # Every element equal to the extremum shares the gradient equally (nan counts as equal to nan).
        hit = (x == out) | (np.isnan(x) & np.isnan(out))
        share = g.reshape(ctx.kept_shape) / hit.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        return hit * share


class Max(_Extremum):
    """Maximum over ``axis``; the gradient goes to the maxima, split evenly on ties."""

    _reduce = staticmethod(np.max)
    _name = "max"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Max._forward(ctx, x, axis, keepdims)


class Min(_Extremum):
    """Minimum over ``axis``; the gradient goes to the minima, split evenly on ties."""

    _reduce = staticmethod(np.min)
    _name = "min"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Min._forward(ctx, x, axis, keepdims)


class LogSumExp(Function):
    """log(sum(exp(x))) over ``axis``, stable for large magnitudes (the maximum is factored out);
    its gradient is the softmax of x along ``axis``. An empty reduction gives -inf."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "logsumexp")
        m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        return out if keepdims else out.reshape(
            tuple(n for i, n in enumerate(x.shape) if axes is not None and i not in axes))

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g.reshape(ctx.kept_shape) * np.exp(x - out)
