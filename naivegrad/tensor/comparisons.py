"""Comparisons and masks: ``== != < <= > >=``, ``& | ^ ~`` between bool masks, ``any`` and ``all``.

None of them builds a node: they give bool (or integer) Tensors that never require grad. The methods are
attached to ``Tensor`` by naivegrad.tensor.tensor. (``any`` and ``all`` shadow the builtins in this module:
nothing here uses those.)
"""

import numbers

import numpy as np

from .shapes import normalize_axes
from .tensor import Tensor, _make


# Elementwise with broadcasting, against Tensors, numbers, arrays and lists, as PyTorch's: bool mask
# Tensors that build no node (requires_grad False), for indexing (``t[t > 0]``: the gradient flows to t),
# ``where``, ``masked_fill``, ``& | ^ ~`` between masks, ``any``/``all``, and ``sum`` (a count). nan is
# unequal to everything, itself included. Hashing stays by identity (``Tensor.__hash__``).
def __eq__(self, other):
    return _compare(np.equal, self, other)


def __ne__(self, other):
    return _compare(np.not_equal, self, other)


def __lt__(self, other):
    return _compare(np.less, self, other)


def __le__(self, other):
    return _compare(np.less_equal, self, other)


def __gt__(self, other):
    return _compare(np.greater, self, other)


def __ge__(self, other):
    return _compare(np.greater_equal, self, other)


def __and__(self, other):
    return _logical(np.bitwise_and, self, other, "&")


def __or__(self, other):
    return _logical(np.bitwise_or, self, other, "|")


def __xor__(self, other):
    return _logical(np.bitwise_xor, self, other, "^")


__rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # all three commute


def __invert__(self):
    """``~mask``: logical not of a bool tensor (bitwise not of an integer one)."""
    _check_logical(self.data, "~")
    return _make(np.asarray(np.invert(self.data)), False, None)


def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where some element along ``dim`` (None: all of them; an int or a tuple) is nonzero (nan is),
    as a bool tensor (PyTorch's ``any``; ``axis``/``keepdims`` are numpy's names for the same)."""
    axis, keepdims = _dims(self, dim, keepdim, axis, keepdims, "any")
    return _make(np.asarray(np.any(self.data, axis=axis, keepdims=keepdims)), False, None)


def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where every element along ``dim`` is nonzero, as a bool tensor (True for no elements)."""
    axis, keepdims = _dims(self, dim, keepdim, axis, keepdims, "all")
    return _make(np.asarray(np.all(self.data, axis=axis, keepdims=keepdims)), False, None)


def _compare(op, a, b):
    """``op(a, b)`` elementwise (a comparison ufunc) as a bool mask Tensor, or NotImplemented for an operand
    that is not a Tensor, a number, an array or a list (``t == None`` is then False, as in PyTorch)."""
    if isinstance(b, Tensor):
        b = b.data
    elif isinstance(b, (numbers.Real, np.bool_)):
        if type(b) is not float and type(b) is not int and type(b) is not bool:
            # numpy scalars compare as Python numbers do: np.float64(0.1) must not widen float32 data.
            b = bool(b) if isinstance(b, np.bool_) else int(b) if isinstance(b, numbers.Integral) else float(b)
    elif isinstance(b, (list, tuple, np.ndarray)):
        b = np.asarray(b)
        if b.dtype.kind not in "biuf":
            return NotImplemented
    else:
        return NotImplemented
    try:
        out = op(a.data, b)
    except ValueError:
        raise ValueError(f"comparing a tensor of shape {a.shape} with shape {np.shape(b)}: the shapes do not "
                         f"broadcast") from None
    return _make(out if type(out) is np.ndarray else np.asarray(out), False, None)


def _check_logical(d, symbol):
    if d.dtype.kind not in "biu":
        raise TypeError(f"{symbol} is for bool masks (and integer tensors), got a {d.dtype} one: compare first "
                        f"(t > 0), or make a mask with .bool()")


def _logical(op, a, b, symbol):
    """``a & b`` (``|``, ``^``) between bool masks or integer tensors, as a Tensor out of the graph."""
    if isinstance(b, Tensor):
        b = b.data
    elif isinstance(b, (bool, np.bool_)):
        b = bool(b)
    elif isinstance(b, numbers.Integral):
        b = int(b)
    elif isinstance(b, (list, tuple, np.ndarray)):
        b = np.asarray(b)
    else:
        return NotImplemented
    _check_logical(a.data, symbol)
    if type(b) is np.ndarray:
        _check_logical(b, symbol)
    try:
        out = op(a.data, b)
    except ValueError:
        raise ValueError(f"{symbol} of a tensor of shape {a.shape} with shape {np.shape(b)}: the shapes do not "
                         f"broadcast") from None
    return _make(np.asarray(out), False, None)


def _dims(t, dim, keepdim, axis, keepdims, what):
    """PyTorch's ``dim``/``keepdim`` or numpy's ``axis``/``keepdims`` (one of each pair), as numpy's axes of
    ``t``, checked as the reductions check them (a 0-d tensor has the dims 0 and -1; out of range: AxisError)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{what}(): give dim or axis, not both")
        dim = axis
    if dim is not None:
        dim = normalize_axes(dim, t.data.ndim, t.data.shape, what)
    return dim, bool(keepdim if keepdims is None else keepdims)


METHODS = {"__eq__": __eq__, "__ne__": __ne__, "__lt__": __lt__, "__le__": __le__, "__gt__": __gt__, "__ge__": __ge__,
           "__and__": __and__, "__or__": __or__, "__xor__": __xor__, "__rand__": __rand__, "__ror__": __ror__,
           "__rxor__": __rxor__, "__invert__": __invert__, "any": any, "all": all}
