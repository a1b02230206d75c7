"""Conversions between dtypes: ``to``, ``type_as``, ``double``, ``half``, ``float``, ``long``, ``int``, ``bool``,
``clone``; iteration (``for row in t``); and the float-only elementwise functions (``exp``, ``log``, ``tanh``...)
made to take bool and integer input as float32, as PyTorch's do.

Between floating dtypes a cast is a node (``Cast``: the gradient comes back in the source dtype); to or from
bool and integers it is a constant. The methods are attached to ``Tensor`` by naivegrad.tensor.tensor, which
also runs ``_promote_unary_methods`` once every op is registered. (``float``, ``int`` and ``bool`` below shadow
the builtins in this module: nothing here calls those.)
"""

from .tensor import Tensor, _as_float, _bool, _dtype, _float16, _float32, _float64, _int32, _int64, _make
from .function import quiet as _quiet
from .ops.cast import Cast, Clone


def clone(self):
    """A copy in new memory, in the graph (the gradient flows back to self), as PyTorch's ``clone``."""
    return Clone.apply(self)


def to(self, dtype, copy=False):
    """This tensor as ``dtype``: a numpy dtype or type, a name ("float64", "int64", "bool"), a torch dtype
    (``torch.float64``), or a Tensor whose dtype to take; "cpu" (the only device) changes nothing.

    Self when it already has that dtype (unless ``copy``). Between floating dtypes the cast is in the graph
    and the gradient comes back in self's dtype; a cast to or from bool and integers builds no node (they
    never require grad), truncating toward zero as numpy's and PyTorch's.
    """
    if isinstance(dtype, Tensor):
        dtype = dtype.data.dtype
    elif str(dtype) == "cpu" and (isinstance(dtype, str) or type(dtype).__name__ == "device"):
        return self.clone() if copy else self
    return _cast(self, _dtype(dtype, "to()"), copy)


def type_as(self, other):
    """This tensor in ``other``'s dtype (``to(other.dtype)``)."""
    return _cast(self, other.data.dtype, False)


def double(self):
    """``to(float64)``: in the graph, the gradient comes back in self's dtype."""
    return _cast(self, _float64, False)


def half(self):
    """``to(float16)``."""
    return _cast(self, _float16, False)


def long(self):
    """``to(int64)``: an index tensor, out of the graph (values truncated toward zero)."""
    return _cast(self, _int64, False)


def float(self):
    """``to(float32)``."""
    return _cast(self, _float32, False)


def int(self):
    """``to(int32)``, out of the graph."""
    return _cast(self, _int32, False)


def bool(self):
    """``to(bool)``: a mask, True where nonzero (nan is), out of the graph."""
    return _cast(self, _bool, False)


def __iter__(self):
    """The sub-tensors along the first axis, ``self[0]``, ``self[1]``... (in the graph); a 0-d tensor raises
    TypeError, as PyTorch's (Python's fallback through ``__getitem__`` would iterate it as an empty list)."""
    if self.data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.data.shape[0]))


def _cast(t, dtype, copy):
    """``t.to(dtype)``: t itself for its own dtype (unless ``copy``); a ``Cast`` node between floating
    dtypes; a constant Tensor (no node, requires_grad False) to or from bool and integer dtypes."""
    src = t.data.dtype
    if dtype == src and not copy:
        return t
    if dtype.kind == "f" and src.kind == "f":
        return Cast.apply(t, dtype=dtype)
    with _quiet():  # nan or inf to an integer: whatever the cast gives, as PyTorch, without numpy's warning
        return _make(t.data.astype(dtype), False, None)


def _floating_method(fn, method):
    """``method`` (an elementwise op's Tensor method) taking bool and integer input as float32, as PyTorch's
    exp, log, sqrt, tanh... do: never numpy's float64 from int64."""
    if getattr(fn, "options", None) is not None:  # an op with options (t.gelu(approximate="tanh")): passed on
        def promoted(self, *args, **kwargs):
            return method(self if self.data.dtype.kind == "f" else _as_float(self, _float32), *args, **kwargs)
    else:
        def promoted(self):
            if self.data.dtype.kind == "f":
                return fn.apply(self)
            return fn.apply(_as_float(self, _float32))

    promoted.__name__, promoted.__qualname__, promoted.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return promoted


# The one-operand methods PyTorch runs on integers too, keeping their dtype.
_INTEGER_METHODS = frozenset(["abs", "__abs__", "relu", "sign", "square", "neg", "__neg__"])


def _promote_unary_methods():
    """Every elementwise op's one-operand Tensor method (ops/elementwise.py's ``methods``), except those in
    _INTEGER_METHODS, made to promote: an op added to ops/ later gets it too."""
    from .ops import REGISTRY
    from .ops.elementwise import Unary

    for fn in REGISTRY.values():
        if issubclass(fn, Unary):
            for name in fn.__dict__.get("methods", ()):
                if name not in _INTEGER_METHODS:
                    setattr(Tensor, name, _floating_method(fn, getattr(Tensor, name)))



METHODS = {"clone": clone, "to": to, "type_as": type_as, "double": double, "half": half, "long": long,
           "float": float, "int": int, "bool": bool, "__iter__": __iter__}
