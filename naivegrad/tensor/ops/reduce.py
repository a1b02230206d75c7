"""Reductions over ``axis`` (None: all axes; an int; or a tuple of ints) with ``keepdims``.

The gradient of a reduction is spread back over the reduced axes: equally for ``sum`` and ``mean``,
through the softmax for ``logsumexp``, and to the maxima for ``max``/``min`` (ties split evenly among
the maxima, PyTorch's ``amax`` rule). Forward mode is the transpose: the tangent is reduced the same way,
weighted by the same local derivatives (the tangent of a max is the mean of the maxima's tangents).

With inf and nan, as ``torch.amax``: max's backward multiplies (the other elements get 0 * the gradient,
nan from an infinite one) while its forward mode selects (the maxima's tangents alone); a slice holding a nan
has no element equal to its maximum (nan), so its gradient and tangent are nan throughout (0 / 0).

PyTorch's reductions, with PyTorch's gradients at their non-differentiable points: ``MaxDim`` / ``MinDim``
(``max(dim=...)``: the first maximum, or the first nan, takes the whole gradient), ``Var`` / ``Std``
(``correction``; std's gradient is 0 where std is 0), ``Norm`` (any p, +-inf and 0; 0 at the zero vector),
``CumSum`` and ``Prod`` (the product of the others, exact with zeros). The argument helpers below
(``spellings``, ``stat_args``...) give the Tensor methods both numpy's ``axis=`` / ``keepdims=`` and
PyTorch's ``dim=`` / ``keepdim=``; ``arg_extremum`` is ``argmax`` / ``argmin`` (int64 indices, no node).

dtypes, as PyTorch's: bool and integer tensors sum, multiply and run cumulative sums in int64, keep their dtype
through max and min, go through logsumexp as float32, and are refused by mean, var, std and norm (and by argmax
/ argmin for bool); float16 statistics accumulate in float32 and float32 running sums in float64, rounded once.
"""

import math
import numbers
from collections import namedtuple

import numpy as np

from ..function import Function
from ..shapes import AxisError, normalize_axes
from ..tensor import Tensor, _make
from ._rules import spread, value
from ._tangents import fit
from .movement import scatter

__all__ = ["Sum", "Mean", "Max", "Min", "LogSumExp", "MaxDim", "MinDim", "Var", "Std", "Norm", "CumSum", "Prod"]


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
    return spread(g, ctx.kept_shape, ctx.in_shape)


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


def _accumulator(x):
    """The dtype to sum or multiply ``x`` in: int64 for bool and integer data, as PyTorch (numpy would sum uint8
    in uint64), None (x's own) for floating data."""
    return np.int64 if x.dtype.kind in "biu" else None


def _mean_of(x, axes, n):
    """The mean of x over ``axes`` (n elements each) with keepdims, in x's dtype: float16 summed in float32, as
    PyTorch accumulates it (their float16 sum overflows at 65504 where the mean need not)."""
    if x.dtype == np.float16 and type(x) is np.ndarray:
        return (x.sum(axis=axes, keepdims=True, dtype=np.float32) / np.float32(n)).astype(np.float16)
    return x.sum(axis=axes, keepdims=True) / x.dtype.type(n)  # 0 / 0 = nan when empty


def _floating_only(x, what):
    """PyTorch's mean, var, std and norm refuse bool and integer tensors; numpy would answer in float64, a dtype
    PyTorch never gives them."""
    if x.dtype.kind != "f":
        raise TypeError(f"{what}() needs a floating tensor, got one of dtype {x.dtype} (as in PyTorch): convert "
                        f"it first, with .float() or .double()")


class Sum(Function):
    """Sum over ``axis``; each summed element gets the output's gradient."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "sum")
        ctx.out = out = x.sum(axis=axes, keepdims=keepdims, dtype=_accumulator(x))
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
        _floating_only(x, "mean")
        axes = _reduce_setup(ctx, x, axis, keepdims, "mean")
        n = x.size if axes is None else math.prod([x.shape[i] for i in axes])
        ctx.count = n
        return _finish(ctx, _mean_of(x, axes, n), axes, keepdims)

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
        ctx.axes = axes
        out = _finish(ctx, out, axes, keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        # the elements that share the derivative (none where the extremum is nan): a constant mask
        hit = value(x) == value(out).reshape(ctx.kept_shape)
        share = g.reshape(ctx.kept_shape) / hit.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        return hit * share

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return _tangent(ctx, None)
        x, out = ctx.saved_tensors
        hit = x == out.reshape(ctx.kept_shape)
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
        if x.dtype.kind != "f":  # bool and integer input as float32, as PyTorch's (numpy's exp would give float64)
            x = x.astype(np.float32)
        axes = _reduce_setup(ctx, x, axis, keepdims, "logsumexp")
        m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        out = _finish(ctx, np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m, axes, keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g.reshape(ctx.kept_shape) * np.exp(x - out.reshape(ctx.kept_shape))

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return _tangent(ctx, None)
        x, out = ctx.saved_tensors
        weights = np.exp(x - out.reshape(ctx.kept_shape))
        return _tangent(ctx, (weights * t).sum(axis=_reduced_axes(ctx), keepdims=True))



# ---------------------------------------------------------------------------------------------- arguments
# numpy's ``axis=`` / ``keepdims=`` and PyTorch's ``dim=`` / ``keepdim=`` are two spellings of one argument: the
# Tensor methods take both (None: not given), and these helpers check them off the hot path.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """``max(dim=...)`` and ``min(dim=...)``'s result, as PyTorch's ``torch.return_types.max``: the
values (differentiable) and their int64 indices along ``dim`` (no gradient)."""


def spellings(what, axis, keepdims, dim, keepdim, keepdims_default=False):
    """(axis, keepdims) from both spellings; a TypeError naming the pair when one is given both ways."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{what}() got both axis= and dim= (two spellings of one argument): give one of them")
        axis = dim
    if keepdim is not None:
        if keepdims is not None and keepdims is not keepdims_default:
            raise TypeError(f"{what}() got both keepdims= and keepdim= (two spellings of one argument): give one "
                            f"of them")
        keepdims = keepdim
    return axis, bool(keepdims)


def check_dim(dim, shape, what):
    """One ``dim`` (an int, negative counting from the end) as a non-negative int; a 0-d tensor has dims 0 and
    -1, as in PyTorch. A tuple is a TypeError (PyTorch's ``max(dim)``, ``argmax``, ``cumsum`` take one dim)."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{what}: dim must be one int (as in PyTorch), got {type(dim).__name__}: {dim!r}")
    nd = max(len(shape), 1)
    if not -nd <= dim < nd:
        raise AxisError(f"{what}: dim {dim} is out of range for a tensor of shape {tuple(shape)} "
                         f"(dims {-nd} to {nd - 1})")
    return int(dim) % nd


def one_dim(dim, shape, what, allow_none=False):
    """``dim`` for an op along one axis (``cumsum``, ``prod``): an int in range, or None (all axes, where
    ``allow_none``; and for a 0-d tensor, whose only dims 0 and -1 leave it as it is)."""
    if dim is None and allow_none:
        return None
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{what}: dim must be one int (as in PyTorch), got {dim!r}")
    d = check_dim(dim, shape, what)
    return d if len(shape) else None


def one_axis(what, axis, dim):
    """softmax's ``dim=``, PyTorch's name for ``axis`` (whose default is -1)."""
    if axis != -1:
        raise TypeError(f"{what}() got both axis= and dim= (two spellings of one argument): give one of them")
    return dim


def stat_args(what, dim, unbiased, keepdim, correction, axis, keepdims):
    """``var`` / ``std``'s options as PyTorch takes them: ``(dim, unbiased, keepdim)`` positionally, a lone bool
    as ``unbiased`` (``x.var(False)``), or ``correction=`` (not both); numpy's axis= / keepdims= too."""
    if isinstance(dim, (bool, np.bool_)):  # PyTorch's var(unbiased)
        if unbiased is not None:
            raise TypeError(f"{what}() got unbiased twice (a bool as its first argument, and unbiased=)")
        dim, unbiased = None, bool(dim)
    dim, keepdim = spellings(what, dim, keepdim, axis, keepdims)
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{what}() got both unbiased= and correction= (unbiased=True is correction=1, False "
                            f"is correction=0): give one of them")
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{what}(): unbiased must be True or False, got {unbiased!r}")
        correction = 1.0 if unbiased else 0.0
    elif correction is None:
        correction = 1.0
    elif isinstance(correction, (bool, np.bool_)) or not isinstance(correction, numbers.Real):
        raise TypeError(f"{what}(): correction must be a number, got {type(correction).__name__}: {correction!r}")
    return {"axis": dim, "keepdims": keepdim, "correction": float(correction)}


def norm_args(p, dim, keepdim, axis, keepdims):
    """``norm``'s options: p a number (inf and -inf too) or "fro" (2: the vector 2-norm of the elements)."""
    dim, keepdim = spellings("norm", dim, keepdim, axis, keepdims)
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: p={p!r} is not supported: vector norms only (a number, inf, -inf or 'fro')")
        p = 2.0
    elif isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__}: {p!r}")
    return {"p": float(p), "axis": dim, "keepdims": keepdim}


def _empty_dim(x, d, dim, what):
    if x.ndim and x.shape[d] == 0:
        raise ValueError(f"{what}: dim {dim} of a tensor of shape {x.shape} has size 0: the {what} of nothing "
                         f"is undefined")


def arg_extremum(x, dim, keepdim, what):
    """``argmax`` / ``argmin`` of the array ``x`` as an int64 array: over the flattened array (``dim=None``,
    shape all ones with ``keepdim``) or along ``dim``; the first occurrence among ties, and a nan counts as
    the extremum (its first occurrence), as in PyTorch and numpy."""
    if x.dtype.kind == "b":  # PyTorch refuses bool input here (max(dim=...) takes it, with its indices)
        raise TypeError(f"{what}() does not take a bool tensor (as in PyTorch): convert it first, with .long()")
    pick = np.argmax if what == "argmax" else np.argmin
    keepdim = bool(keepdim)
    if dim is None:
        if x.size == 0:
            raise ValueError(f"{what}: a tensor of shape {x.shape} is empty: the {what} of nothing is undefined "
                             f"(give dim= to reduce a nonempty axis)")
        return np.asarray(pick(x, axis=None, keepdims=keepdim), dtype=np.int64)
    d = check_dim(dim, x.shape, what)
    if x.ndim == 0:
        return np.zeros((), np.int64)
    _empty_dim(x, d, dim, what)
    return np.asarray(pick(x, axis=d, keepdims=keepdim), dtype=np.int64)


def extremum_along(t, dim, keepdim, what):
    """``t.max(dim=...)`` / ``t.min(dim=...)``: (values, indices) as ``torch.max(t, dim)``."""
    x = t.data
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{what}(dim=...) takes one int, as PyTorch's, got {dim!r}: reduce several axes with "
                        f"axis={tuple(dim)!r} (the values alone)")
    d = check_dim(dim, x.shape, what)
    keepdim = bool(keepdim)
    if x.ndim == 0:
        idx = None
        indices = np.zeros((), np.int64)
    else:
        _empty_dim(x, d, dim, what)
        idx = (np.argmax if what == "max" else np.argmin)(x, axis=d, keepdims=True)
        indices = idx.astype(np.int64) if keepdim else idx.reshape(x.shape[:d] + x.shape[d + 1:]).astype(np.int64)
    values = (MaxDim if what == "max" else MinDim).apply(t, axis=d, keepdims=keepdim, indices=idx)
    return ValuesIndices(values, _make(indices, False, None))


# ---------------------------------------------------------------------------------------------- along one dim
class _SelectDim(Function):
    """The elements of x at ``indices`` (an array of x's shape with size 1 along ``axis``): their gradient goes to
    those elements alone (the others get exactly 0, whatever the gradient), their tangent is theirs."""

    _pick = None

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims, indices):
        ctx.in_shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        if x.ndim == 0:  # PyTorch's 0-d tensors reduce over "dim 0" to themselves
            ctx.indices = None
            ctx.out = x.copy()
            return ctx.out
        if indices is None:
            indices = cls._pick(x, axis=axis, keepdims=True)
        ctx.indices = indices
        ctx.out = out = cls._squeezed(ctx, np.take_along_axis(x, indices, axis=axis))
        return out

    @staticmethod
    def _squeezed(ctx, out):
        return out if ctx.keepdims else out.reshape(out.shape[:ctx.axis] + out.shape[ctx.axis + 1:])

    @staticmethod
    def backward(ctx, g):
        if ctx.indices is None:
            return g
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return scatter(g, _along(ctx.indices, ctx.axis, ctx.in_shape), ctx.in_shape, unique=True)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return np.zeros(ctx.out.shape, ctx.out.dtype)
        if ctx.indices is None:
            return t.copy()
        return _SelectDim._squeezed(ctx, np.take_along_axis(t, ctx.indices, axis=ctx.axis))


def _along(indices, axis, shape):
    """The integer-array index that ``np.put_along_axis(a, indices, v, axis)`` writes: ``indices`` along
    ``axis``, every position along the others."""
    return tuple(indices if i == axis else np.arange(n).reshape([n if j == i else 1 for j in range(len(shape))])
                 for i, n in enumerate(shape))


class MaxDim(_SelectDim):
    """``max(dim=...)``'s values: the first maximum along ``axis`` (a nan counts as the maximum: the first nan),
    as ``torch.max(x, dim)``; its gradient goes to that element alone (torch's choice, where ``amax`` shares it
    among ties). ``indices``: the caller's ``np.argmax(x, axis, keepdims=True)``, if it has it."""

    _pick = staticmethod(np.argmax)

    @staticmethod
    def forward(ctx, x, axis=0, keepdims=False, indices=None):
        return MaxDim._forward(ctx, x, axis, keepdims, indices)


class MinDim(_SelectDim):
    """``min(dim=...)``'s values: the first minimum along ``axis`` (or the first nan), as ``torch.min(x, dim)``;
    its gradient goes to that element alone."""

    _pick = staticmethod(np.argmin)

    @staticmethod
    def forward(ctx, x, axis=0, keepdims=False, indices=None):
        return MinDim._forward(ctx, x, axis, keepdims, indices)


# ---------------------------------------------------------------------------------------------- statistics
def _count(x, axes):
    return x.size if axes is None else math.prod([x.shape[i] for i in axes])


def _deviations(ctx, x):
    """x - mean(x) over the reduced axes (the mean of nothing is 0 / 0 = nan): computed in forward, and again
    by the rules (not saved: on the create_graph path they must be in the graph)."""
    return x - _mean_of(x, ctx.axes, ctx.count)


def _variance(ctx, x, axes, correction):
    """sum((x - mean)**2) / max(0, n - correction) with keepdims, as PyTorch: n <= correction divides by 0
    (inf, or nan where the sum is 0 too). Remembers 2 / that divisor for the rules."""
    ctx.count = n = _count(x, axes)
    ctx.axes = axes
    dt = x.dtype.type
    d = _deviations(ctx, x)
    dof = dt(max(0.0, n - correction))
    ctx.scale = dt(2) / dof  # PyTorch's var_backward: (2 / dof) * g * (x - mean)
    if x.dtype == np.float16:  # summed in float32, as PyTorch (see _mean_of)
        return ((d * d).sum(axis=axes, keepdims=True, dtype=np.float32) / np.float32(dof)).astype(np.float16), d
    return (d * d).sum(axis=axes, keepdims=True) / dof, d


class Var(Function):
    """The variance over ``axis``: sum((x - mean)**2) / max(0, n - correction) (``correction=1``: Bessel's,
    the unbiased estimate; 0: the population variance). Its gradient is 2 (x - mean) / (n - correction), as
    PyTorch's (the mean's own term vanishes: the deviations sum to 0); with n <= correction the division by
    0 gives inf, or nan where every deviation is 0."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, correction=1.0):
        _floating_only(x, "var")
        axes = _reduce_setup(ctx, x, axis, keepdims, "var")
        out, d = _variance(ctx, x, axes, correction)
        ctx.save_for_backward(x)
        return _finish(ctx, out, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.scale * g.reshape(ctx.kept_shape) * _deviations(ctx, x)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return _tangent(ctx, None)
        d = _deviations(ctx, ctx.saved_tensors[0])
        return _tangent(ctx, (ctx.scale * (d * t)).sum(axis=_reduced_axes(ctx), keepdims=True))


class Std(Function):
    """The standard deviation over ``axis``: sqrt(var(x, axis, correction)). Its gradient is
    (x - mean) / ((n - correction) std), and 0 where std is 0 (every element equal: PyTorch's choice at the
    kink of sqrt), its tangent too."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, correction=1.0):
        _floating_only(x, "std")
        axes = _reduce_setup(ctx, x, axis, keepdims, "std")
        var, d = _variance(ctx, x, axes, correction)
        out = _finish(ctx, np.sqrt(var), axes, keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        out = out.reshape(ctx.kept_shape)
        zero = np.zeros((), g.dtype)
        # selected: 0 even from inf
        g_var = np.where(value(out) == 0, zero, g.reshape(ctx.kept_shape) / (out + out))
        return ctx.scale * g_var * _deviations(ctx, x)

    @staticmethod
    def jvp(ctx, t):
        if t is None or ctx.count == 0:  # the std of nothing is nan whatever x is: its tangent is 0
            return _tangent(ctx, None)
        x, out = ctx.saved_tensors
        d, out = _deviations(ctx, x), out.reshape(ctx.kept_shape)
        t_var = (ctx.scale * (d * t)).sum(axis=_reduced_axes(ctx), keepdims=True)
        return _tangent(ctx, np.where(out == 0, np.zeros((), t_var.dtype), t_var / (out + out)))


def _sign(x):
    """PyTorch's sgn for real x: -1, 0 or 1, and 0 at nan."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


class Norm(Function):
    """The vector p-norm over ``axis`` (all of it by default), as ``torch.linalg.vector_norm``:
    (sum |x|**p)**(1/p) for any float p, max |x| for p = inf, min |x| for -inf, the count of nonzero elements
    for p = 0 (no gradient: nothing flows back, as in PyTorch). The gradients are PyTorch's, with its
    conventions where the norm is not differentiable: 0 at the zero vector (p > 1: x / norm is taken as 0
    there), sgn(x) for p = 1 (0 at 0), the gradient shared among the tied largest |x| for p = inf (a nan
    counts among them: nan's sgn is 0), and 0 for the zero elements when p < 1. p < 0 and p = +-inf have no
    value on an empty slice (an error)."""

    @staticmethod
    def forward(ctx, x, p=2.0, axis=None, keepdims=False):
        _floating_only(x, "norm")
        axes = _reduce_setup(ctx, x, axis, keepdims, "norm")
        p = float(p)
        if (p < 0 or math.isinf(p)) and x.size == 0 and (axes is None or any(x.shape[i] == 0 for i in axes)):
            raise ValueError(f"norm: the {p:g}-norm of an empty slice is undefined (a tensor of shape {x.shape}, "
                             f"axis={axis!r}): it has no identity, as max has none")
        w = x.astype(np.float32) if x.dtype == np.float16 else x  # float16 summed in float32, as PyTorch
        a = np.abs(w)
        if p == 2.0:
            out = np.sqrt((w * w).sum(axis=axes, keepdims=True))
        elif p == 1.0:
            out = a.sum(axis=axes, keepdims=True)
        elif p == math.inf:
            out = a.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = a.min(axis=axes, keepdims=True)
        elif p == 0.0:
            out = (w != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        else:
            out = (a ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        ctx.p, ctx.axes = p, axes
        out = _finish(ctx, out.astype(x.dtype, copy=False), axes, keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch's norm_backward, case by case; signs and masks (from the values) are constants.
        x, norm = ctx.saved_tensors
        p, g, norm = ctx.p, g.reshape(ctx.kept_shape), norm.reshape(ctx.kept_shape)
        vx, vnorm = value(x), value(norm)
        zero = np.zeros((), x.dtype)
        if p == 0.0:
            # No gradient at all (PyTorch's undefined one), not zeros: zeros would meet the derivatives of the
            # ops before this one, and 0 * inf or 0 * nan there is nan, where PyTorch passes nothing back.
            return None
        if p == 1.0:
            return _sign(vx) * g
        if p == 2.0:
            return g * np.where(vnorm == 0, zero, x / norm)
        if math.isinf(p):
            mask = _norm_inf_mask(vx, vnorm)
            count = mask.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)
            return _sign(vx) * ((g / count) * mask)
        a = np.abs(x)
        if p < 1.0:
            scaled = _sign(vx) * np.where(vx == 0, zero, a ** (p - 1.0))
            return scaled * g * norm ** (1.0 - p)
        scaled = _sign(vx) * a ** (p - 1.0) if p < 2.0 else x * a ** (p - 2.0)
        return scaled * np.where(vnorm == 0, zero, g / norm ** (p - 1.0))

    @staticmethod
    def jvp(ctx, t):
        if t is None or ctx.p == 0.0:
            return _tangent(ctx, None)
        x, norm = ctx.saved_tensors
        norm = norm.reshape(ctx.kept_shape)
        p, axes, zero = ctx.p, _reduced_axes(ctx), np.zeros((), x.dtype)
        if p == 1.0:
            return _tangent(ctx, (_sign(x) * t).sum(axis=axes, keepdims=True))
        if p == 2.0:
            return _tangent(ctx, np.where(norm == 0, zero, (x * t).sum(axis=axes, keepdims=True) / norm))
        if math.isinf(p):
            mask = _norm_inf_mask(x, norm)
            count = mask.sum(axis=axes, keepdims=True).astype(x.dtype)
            return _tangent(ctx, np.where(mask, _sign(x) * t, zero).sum(axis=axes, keepdims=True) / count)
        a = np.abs(x)
        if p < 1.0:
            terms = np.where(x == 0, zero, _sign(x) * a ** (p - 1.0) * t)  # zero elements: selected out
            return _tangent(ctx, terms.sum(axis=axes, keepdims=True) * norm ** (1.0 - p))
        total = (_sign(x) * a ** (p - 1.0) * t).sum(axis=axes, keepdims=True)
        return _tangent(ctx, np.where(norm == 0, zero, total / norm ** (p - 1.0)))


def _norm_inf_mask(x, norm):
    """The elements the inf-norm's gradient goes to: |x| equal to the norm, or nan (PyTorch's mask)."""
    return (np.abs(x) == norm) | np.isnan(x)


# ---------------------------------------------------------------------------------------------- scans, products
class CumSum(Function):
    """Running sums along ``axis`` (PyTorch's ``cumsum(dim)``); the gradient is the reversed running sum of
    the output's gradient. A 0-d tensor is its own running sum."""

    @staticmethod
    def forward(ctx, x, axis=0):
        if x.ndim == 0:
            ctx.axis = None
            out = x.astype(_accumulator(x) or x.dtype)  # a copy (int64 for integers, as a sum)
        else:
            ctx.axis = axis
            if x.dtype.kind == "f":  # accumulated in float64 then rounded, as PyTorch: a float32 running sum
                out = np.cumsum(x, axis=axis, dtype=np.float64).astype(x.dtype, copy=False)  # drifts by 1% in 1e6
            else:
                out = np.cumsum(x, axis=axis, dtype=_accumulator(x))
        ctx.shape, ctx.dtype = out.shape, out.dtype
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return g
        return np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return np.zeros(ctx.shape, ctx.dtype)
        return t.copy() if ctx.axis is None else np.cumsum(t, axis=ctx.axis)


def _others(x, axes):
    """For each element, the product of the other elements of its slice (the slices run over ``axes``; None:
    all): exclusive products from the left times those from the right, exact where x holds zeros (one zero
    gets the product of the rest, every other element 0), as PyTorch's prod_safe_zeros_backward."""
    nd = x.ndim
    axes = tuple(range(nd)) if axes is None else axes
    rest = [i for i in range(nd) if i not in axes]
    perm = rest + list(axes)
    moved = np.transpose(x, perm)
    n = math.prod([x.shape[i] for i in axes])
    if n == 0:
        return np.zeros(x.shape, x.dtype)
    y = moved.reshape(moved.shape[:len(rest)] + (n,))
    if type(x) is Tensor:
        # A Tensor (the create_graph path): row i of an (n, n) stack is the slice with its element i replaced
        # by 1, and the product of each row is Prod again, in the graph (n times the memory, differentiable).
        rows = np.where(np.eye(n, dtype=bool), 1.0, y.reshape(y.shape[:-1] + (1, n)))
        return np.transpose(rows.prod(dim=-1).reshape(moved.shape), tuple(np.argsort(perm).tolist()))
    ones = np.ones(y.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, y[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(y[..., 1:], -1)], axis=-1), axis=-1), -1)
    return np.transpose((left * right).reshape(moved.shape), np.argsort(perm))


class Prod(Function):
    """The product over ``axis`` (None: all elements; an int, as PyTorch's ``prod(dim)``). The gradient of each
    element is the product of the others (computed without dividing, so one zero or several are exact), times
    the output's gradient; as PyTorch, the product of everything (``axis=None``) with two zeros or more has
    the gradient 0 exactly (selected, even from an infinite gradient), and its tangent is 0. A create_graph
    backward there multiplies by the products of the others (all 0) instead, as PyTorch in grad mode: the
    gradient's own derivative is not 0."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _reduce_setup(ctx, x, axis, keepdims, "prod")
        out = np.prod(x, axis=axes, keepdims=True, dtype=_accumulator(x))
        ctx.axes = axes
        ctx.flat_zeros = axes is None and np.count_nonzero(x == 0) > 1
        ctx.save_for_backward(x)
        return _finish(ctx, out, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.flat_zeros and type(g) is not Tensor:
            return np.zeros(x.shape, g.dtype)
        # On the create_graph path (a Tensor g) the products of the others, as PyTorch with grad mode on (its
        # prod_safe_zeros_backward): their values are 0 as well, but their own derivatives are not (the
        # second derivative of x0 x1 ... in the two zeros is the product of the rest).
        return g.reshape(ctx.kept_shape) * _others(x, ctx.axes)

    @staticmethod
    def jvp(ctx, t):
        if t is None or ctx.flat_zeros:
            return _tangent(ctx, None)
        (x,) = ctx.saved_tensors
        return _tangent(ctx, (_others(x, ctx.axes) * t).sum(axis=_reduced_axes(ctx), keepdims=True))
