"""Reductions over ``axis`` (None: all axes; an int; or a tuple of ints) with ``keepdims``.

The gradient of a reduction is spread back over the reduced axes: equally for ``sum`` and ``mean``,
through the softmax for ``logsumexp``, and to the maxima for ``max``/``min`` (ties split evenly among
the maxima, PyTorch's ``amax`` rule). Forward mode is the transpose: the tangent is reduced the same way,
weighted by the same local derivatives (the tangent of a max is the mean of the maxima's tangents).

With inf and nan, as ``torch.amax``: max's backward multiplies (the other elements get 0 * the gradient,
nan from an infinite one) while its forward mode selects (the maxima's tangents alone); a slice holding a nan
has no element equal to its maximum (nan), so its gradient and tangent are nan throughout (0 / 0).
"""

import math

import numpy as np

from ..function import Function
from ..shapes import normalize_axes
from ._tangents import fit

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


def _reduced_axes(ctx):
    """The axes a tangent is reduced over (with keepdims): the reduced ones, and any other of size 1,
    where reducing changes nothing."""
    return tuple([i for i, k in enumerate(ctx.kept_shape) if k == 1])


def _tangent(ctx, t):
    """A tangent reduced with keepdims, as an array in the shape and dtype of the output (``ctx.out``)."""
    out = ctx.out
    if t is None:  # no input had a tangent
        return np.zeros(out.shape, out.dtype)
    return fit(t.reshape(out.shape), out.shape, out.dtype)


def _finish(ctx, out, axes, keepdims):
    """``out``, reduced with keepdims, in the shape asked for; remembered (a reference) for forward mode."""
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(ctx.in_shape) if axes is not None and i not in axes))
    ctx.out = out
    return out


class Sum(Function):
    """Sum over ``axis``; each summed element gets the output's gradient."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "sum")
        ctx.out = out = x.sum(axis=axes, keepdims=keepdims)
        return out

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g)

    @staticmethod
    def jvp(ctx, t):
        return _tangent(ctx, None if t is None else t.sum(axis=_reduced_axes(ctx), keepdims=True))


class Mean(Function):
    """Mean over ``axis`` (nan for an empty reduction, as numpy and PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "mean")
        n = x.size if axes is None else math.prod([x.shape[i] for i in axes])
        ctx.count = n
        ctx.out = out = x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(n)  # 0 / 0 = nan when empty
        return out

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g / g.dtype.type(ctx.count))

    @staticmethod
    def jvp(ctx, t):
        if t is None or ctx.count == 0:  # the mean of nothing is nan whatever x is: its tangent is 0
            return _tangent(ctx, None)
        return _tangent(ctx, t.sum(axis=_reduced_axes(ctx), keepdims=True) / t.dtype.type(ctx.count))


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
        return _finish(ctx, out, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        hit = x == out  # the elements that share the derivative: none where the extremum is nan
        share = g.reshape(ctx.kept_shape) / hit.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        return hit * share

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return _tangent(ctx, None)
        x, out = ctx.saved_tensors
        hit = x == out
        count = hit.sum(axis=ctx.axes, keepdims=True).astype(t.dtype)
        picked = np.where(hit, t, np.zeros((), t.dtype))  # selected, as torch's amax jvp: not 0 * inf
        return _tangent(ctx, picked.sum(axis=ctx.axes, keepdims=True) / count)


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
        return _finish(ctx, out, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g.reshape(ctx.kept_shape) * np.exp(x - out)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return _tangent(ctx, None)
        x, out = ctx.saved_tensors
        return _tangent(ctx, (np.exp(x - out) * t).sum(axis=_reduced_axes(ctx), keepdims=True))
