"""``Tensor``: a numpy array that remembers how it was computed, so that ``backward()`` can find gradients.

>>> x = Tensor([[1.0, -2.0], [3.0, 4.0]])
>>> y = (x * x).relu().sum(); y.backward(); x.grad
array([[2., 0.], [6., 8.]], dtype=float32)

Ops are ``Function`` subclasses (``naivegrad.tensor.ops``); the methods here are thin wrappers around
``SomeOp.apply``. The dtype rules are PyTorch's: floating numpy arrays keep their dtype, and everything
else (Python numbers, lists, integer and bool arrays) becomes float32 unless ``dtype=`` says otherwise;
bool masks (``t > 0``) and integer indices never require grad, and promote to the floating operand's dtype
(see ``Tensor``'s docstring).
"""

import numbers
from types import FunctionType as _FunctionType

import numpy as np


__all__ = ["Tensor", "zeros", "ones", "eye", "randn", "uniform", "arange", "where", "maximum", "minimum",
           "concatenate", "cat", "stack", "nll_loss", "cross_entropy", "linear"]

_new = object.__new__
_float32 = np.dtype(np.float32)
_float64, _float16 = np.dtype(np.float64), np.dtype(np.float16)
_int64, _int32, _bool = np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.bool_)


def _make(data, requires_grad, ctx):
    """The engine's own constructor: ``data`` is an ndarray it made itself, so nothing is checked."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t.tangent = None
    t._ctx = ctx
    return t


def _float_dtype(dtype, what="Tensor()"):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a numpy dtype") from None
    if dt.kind != "f":
        raise TypeError(f"{what}: dtype must be a floating type (float16, float32, float64), got {dt}")
    return dt


# PyTorch's names for dtypes (torch.float is float32, torch.long int64...), for ``t.to(torch.float64)`` and
# ``t.to("torch.long")``; plain strings and types are numpy's (np.dtype("float") is float64, as Python's float).
_TORCH_DTYPES = {
    "float": "float32", "float32": "float32", "double": "float64", "float64": "float64", "half": "float16",
    "float16": "float16", "long": "int64", "int64": "int64", "int": "int32", "int32": "int32", "short": "int16",
    "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}


def _dtype(dtype, what):
    """A real numpy dtype (bool, integer or floating) from a numpy dtype or type, a name ("float64"), or a
    torch dtype (``torch.float32``, or its name "torch.float32")."""
    name = str(dtype)
    if name.startswith("torch."):
        if name[6:] not in _TORCH_DTYPES:
            raise TypeError(f"{what}: {name} has no numpy counterpart here (real dtypes only)")
        return np.dtype(_TORCH_DTYPES[name[6:]])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a dtype (give a numpy dtype, a name such as "
                        f"'float64', or a torch dtype)") from None
    if dt.kind not in "biuf":
        raise TypeError(f"{what}: tensors hold real numbers or bools, not {dt}")
    return dt


def _as_array(data, dtype):
    """Validate user data and apply the dtype rules; floating numpy arrays are used as they are (no copy)."""
    keep = False  # floating numpy data keeps its dtype; Python numbers and lists become float32
    if isinstance(data, np.ndarray):
        arr, keep = data, True
    elif isinstance(data, Tensor):
        arr = data.data
        if dtype is None:  # a Tensor's dtype is kept, bool and integer ones too
            return arr
    elif isinstance(data, (numbers.Real, np.bool_)):
        arr = np.array(data)
        keep = isinstance(data, np.floating)
    elif isinstance(data, (list, tuple)) or hasattr(data, "__array__"):
        try:
            arr = np.array(data)
        except ValueError:
            raise ValueError(
                f"Tensor() got a ragged nested sequence (rows of different lengths): {_short(data)}"
            ) from None
    else:
        raise TypeError(
            f"Tensor() needs a number, a nested list of numbers or a numpy array, got "
            f"{type(data).__name__}: {_short(data)}"
        )
    kind = arr.dtype.kind
    if kind == "f" and keep:
        target = arr.dtype if dtype is None else dtype
    elif kind in "biuf":
        target = _float32 if dtype is None else dtype
    else:
        raise TypeError(
            f"Tensor() needs real numbers, got an array of dtype {arr.dtype} and shape {arr.shape}: "
            f"{_short(data)}"
        )
    if arr.dtype == target:
        return arr
    if np.dtype(target).kind in "iu" and kind in "iuf" and arr.size:
        _check_fits(arr, np.dtype(target))
    return arr.astype(target)


def _check_fits(arr, target):
    """Data for an integer dtype must lie in its range, as PyTorch's ``tensor(list, dtype=)`` requires (127.5 does
    not fit int8; 1.9 becomes 1): numpy's cast wraps 300 to 44 in int8 and makes nan INT_MIN, silently. Unlike
    PyTorch, numpy arrays are checked too (PyTorch casts those, wrapping as numpy does)."""
    info = np.iinfo(target)
    if arr.dtype.kind == "f":  # compared in float64: the bounds as float16 would overflow (with a warning)
        arr = arr.astype(np.float64, copy=False)
    bad = (arr < info.min) | (arr > info.max)
    if arr.dtype.kind == "f":
        # float(info.max) rounds up to 2**63 for int64 (2**64 for uint64), a value that does not fit either
        bad |= ~np.isfinite(arr) | (arr >= 2.0 ** (info.bits - (info.min < 0)))
    if bad.any():
        value = arr[bad].flat[0].item()
        raise ValueError(f"Tensor(): the value {value!r} cannot be converted to {target} without overflow "
                         f"(as in PyTorch; numpy would wrap it around)")


class _FloatingDefault:
    """``Tensor()``'s default ``requires_grad``: True for a floating dtype, False for bool and integers (an
    explicit True for those raises)."""

    __slots__ = ()

    def __repr__(self):
        return "<True if floating>"


_FLOATING = _FloatingDefault()


def _not_floating(dtype):
    return RuntimeError(f"only floating tensors can require gradients, got a {dtype} tensor (PyTorch's "
                        f"rule): make it a float first (t.float()), or pass requires_grad=False")


def _short(x, n=80):
    r = repr(x)
    return r if len(r) <= n else r[: n - 3] + "..."


def _operand(x):
    """The other operand of a binary op: Tensors and Python floats as they are, numbers as floats, and
    anything else (arrays, lists) as a constant Tensor."""
    if isinstance(x, Tensor) or type(x) is float:
        return x
    if isinstance(x, (numbers.Real, np.bool_)):
        # numpy scalars become Python floats: numpy would otherwise let an np.float64 upcast float32 data.
        return float(x)
    return Tensor(x, requires_grad=False)


def _pair(a, b, divide=False, subtract=False):
    """The operands of a binary op between the Tensor ``a`` and ``b`` (a Tensor, a number, an array or a
    list), promoted as PyTorch does (see the Tensor docstring): a bool or integer tensor becomes the other
    operand's floating dtype, or float32 beside a Python float (or, with ``divide``, beside anything: true
    division of integers is float32). Floating ``a`` with a number gives what ``_operand`` gives. With
    ``subtract``, a bool operand is refused, as PyTorch refuses it.

    The operators call this only off their hot path (two tensors of one dtype, a floating tensor and a Python
    float), so the float-only training step never pays for it."""
    floating = a.data.dtype.kind == "f"
    if subtract and (a.data.dtype.kind == "b" or isinstance(b, (bool, np.bool_))
                     or isinstance(b, Tensor) and b.data.dtype.kind == "b"):
        raise TypeError("- with a bool operand is not supported (as in PyTorch): invert a mask with ~mask, or "
                        "make it a number first with .float() or .long()")
    if not isinstance(b, Tensor):
        if isinstance(b, (numbers.Real, np.bool_)):
            if floating:
                return a, float(b)  # as _operand: an np.float64 must not upcast float32 data
            if isinstance(b, (bool, np.bool_)):
                b = bool(b)
            elif isinstance(b, numbers.Integral):
                b = int(b)
            else:
                return _as_float(a, _float32), float(b)
            return (_as_float(a, _float32), float(b)) if divide else (a, b)
        if floating:
            b = _operand(b)
        else:  # an integer or bool array or list keeps its dtype beside an integer tensor
            arr = np.asarray(b) if isinstance(b, (list, tuple, np.ndarray)) else None
            b = _make(arr, False, None) if arr is not None and arr.dtype.kind in "biu" else _operand(b)
    if floating != (b.data.dtype.kind == "f"):
        if floating:
            return a, _as_float(b, a.data.dtype)
        return _as_float(a, b.data.dtype), b
    if divide and not floating:
        return _as_float(a, _float32), _as_float(b, _float32)
    return a, b


def _as_float(t, dtype):
    """The bool or integer Tensor ``t`` as a constant of the floating ``dtype`` (it never requires grad)."""
    return _make(t.data.astype(dtype), False, None)


def _shape_args(shape, what):
    """``f(2, 3)`` and ``f((2, 3))`` alike, as a tuple of non-negative ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (numbers.Integral,)):
            raise TypeError(f"{what}: sizes must be ints, got {type(n).__name__}: {n!r} in {shape!r}")
        if n < 0:
            raise ValueError(f"{what}: sizes must be non-negative, got {shape!r}")
    return tuple(int(n) for n in shape)


def _shape_from_array(a):
    """A shape held in a Tensor or numpy array (0-d or 1-d, whole numbers); only its values are used."""
    arr = np.asarray(a.data if isinstance(a, Tensor) else a)
    whole = arr.dtype.kind in "iu" or arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr) & (arr == np.round(arr))))
    if arr.ndim > 1 or not whole:
        raise ValueError(f"reshape: a shape given as an array must be whole numbers in one dimension, "
                         f"got {_short(arr)}")
    return tuple(int(n) for n in arr.reshape(-1))


class Tensor:
    """An n-dimensional float array with automatic differentiation (reverse mode through ``backward``;
    forward mode through the ``tangent`` each op carries along with its value).

    >>> w = Tensor(np.ones((3, 2)));  x = Tensor([[1.0, 2.0, 3.0]], requires_grad=False)
    >>> (x @ w).sum().backward();  w.grad.shape
    (3, 2)

    ``data`` is the ndarray (shared, not copied, when a floating array is given), ``grad`` the accumulated
    gradient (same shape and dtype, None before any backward), ``requires_grad`` (default True for floating
    tensors: every tensor a user makes remembers its gradient; pass False for data). Interior tensors of a
    graph get their ``grad`` set by each ``backward``, as in micrograd; leaves accumulate it across calls.

    dtypes, as PyTorch's:

    - Floating tensors (float16, float32, float64) are the differentiable ones. Python numbers, lists and
      integer or bool arrays become float32 (a floating array keeps its dtype, a Tensor any dtype), unless
      ``dtype=`` names another: a floating one, or ``bool`` / an integer dtype (``np.int64``, "int64",
      ``torch.long``) for masks and indices.
    - Non-floating tensors never require grad: ``requires_grad`` defaults to False for them, and asking for
      True (here or with ``requires_grad_()``) raises RuntimeError, as in PyTorch. Comparisons (``t > 0``)
      give bool masks; ``long()``, ``int()`` and ``bool()`` give integer and bool tensors; none builds a node.
    - Promotion in ``+ - * / ** @`` (and ``maximum``, ``minimum``, ``where``): a bool or integer tensor
      meeting a floating tensor takes the floating tensor's dtype (int64 + float32 is float32, not numpy's
      float64), and meeting a Python float it becomes float32; ``/`` of two integer tensors is float32, and
      the float-only functions (``exp``, ``log``, ``sqrt``, ``tanh``...) turn integer input into float32.
      Bool and integer tensors among themselves follow numpy (int64 + bool is int64), as do two floating
      tensors (float32 + float64 is float64).
    - Tensors hash by identity (dict keys, sets, optimizer state) while ``==`` compares elementwise: find a
      tensor in a list with ``is``, never ``in`` or ``list.index``.
    """

    __slots__ = ("data", "grad", "requires_grad", "tangent", "_ctx", "__weakref__")

    # numpy hands ufuncs (np.exp(t), np.float64(2) * t, array + t) and functions (np.where, np.sum, np.matmul...)
    # that meet a Tensor to Tensor, which runs its own op: the derivative rules, written once with numpy calls,
    # then build a graph when given Tensors (backward(create_graph=True)). Anything else runs on the arrays.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _numpy.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _numpy.function(func, args, kwargs)

    # ``==`` is elementwise (see the comparisons below), and a class defining __eq__ loses the inherited
    # __hash__: tensors stay hashable by identity, as PyTorch's.
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=_FLOATING, dtype=None):
        if dtype is not None:
            dtype = _dtype(dtype, "Tensor()")
        self.data = arr = _as_array(data, dtype)
        self.grad = None
        if requires_grad is _FLOATING:  # the default: True for floating tensors, the only ones with gradients
            requires_grad = arr.dtype.kind == "f"
        elif not isinstance(requires_grad, (bool, np.bool_)):  # bool('no') is True: a flag must be a flag
            raise TypeError(f"Tensor(): requires_grad must be True or False, got "
                            f"{type(requires_grad).__name__}: {requires_grad!r}")
        elif requires_grad and arr.dtype.kind != "f":
            raise _not_floating(arr.dtype)
        self.requires_grad = bool(requires_grad)
        self.tangent = None
        self._ctx = None

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        """The shape of ``data``, a tuple of ints."""
        return self.data.shape

    @property
    def dtype(self):
        """The numpy dtype of ``data`` (float32 unless a float64/float16 array or ``dtype=`` said otherwise)."""
        return self.data.dtype

    @property
    def ndim(self):
        """The number of axes."""
        return self.data.ndim

    def numel(self):
        """The number of elements."""
        return self.data.size

    def size(self, dim=None):
        """PyTorch's ``size``: the shape (a tuple), or with ``dim`` the size of that axis (negative counts from
        the end)."""
        if dim is None:
            return self.data.shape
        return self.data.shape[normalize_axis(dim, self.data.ndim, self.data.shape, "size")]

    def element_size(self):
        """The bytes of one element (4 for float32)."""
        return self.data.itemsize

    @property
    def nbytes(self):
        """The bytes of all the elements."""
        return self.data.nbytes

    def is_floating_point(self):
        """True for float16, float32 and float64 tensors: the ones that can require grad."""
        return self.data.dtype.kind == "f"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numpy(self):
        """The data as a numpy array (shared with the tensor, as in PyTorch)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) shares the data, as torch's; numpy 2's copy= keyword is honoured. While a create_graph
        # backward runs the rules (naivegrad.tensor._numpy), an array made of a Tensor that requires grad would
        # be a derivative treated as a constant: refused.
        if _numpy.lifting[0] and self.requires_grad:
            raise NotImplementedError(
                "a derivative rule turned a Tensor that requires grad into an array during "
                "backward(create_graph=True): the second derivative would treat it as a constant")
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data.copy() if copy else self.data
        if copy is False:
            raise ValueError(f"converting a {self.dtype} tensor to {np.dtype(dtype)} needs a copy")
        return self.data.astype(dtype)

    def item(self):
        """The value of a single-element tensor as a Python number: a float (an int or a bool for integer and
        bool tensors, as PyTorch's)."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        """The data as nested Python lists of Python numbers; a 0-d tensor gives the number (as PyTorch's)."""
        return self.data.tolist()

    def __float__(self):
        if self.data.size != 1:
            raise ValueError(f"float() needs a tensor with one element, got shape {self.shape}")
        return float(self.data.reshape(()))

    def __int__(self):
        if self.data.size != 1:
            raise ValueError(f"int() needs a tensor with one element, got shape {self.shape}")
        return int(self.data.reshape(()))

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous: use .any() or "
                             f".all() (and `is` to find a tensor in a list: == compares elementwise)")
        return bool(self.data.reshape(()))

    def detach(self):
        """A tensor sharing this data, cut from the graph (``requires_grad=False``)."""
        return _make(self.data, False, None)

    @property
    def is_leaf(self):
        """True for tensors the user made (no op recorded them), the ones whose ``grad`` accumulates."""
        return self._ctx is None

    @property
    def _op(self):
        """The name of the op that made this tensor ("" for a leaf), as micrograd's ``_op``."""
        return self._ctx.fn.__name__ if self._ctx is not None else ""

    @property
    def _prev(self):
        """The Tensor operands of the op that made this tensor, in order (micrograd's ``_prev``)."""
        if self._ctx is None:
            return ()
        return tuple(p for p in self._ctx.parents if p is not None)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", op={self._op}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self (PyTorch's). Only floating tensors can require grad,
        and only a leaf can stop requiring it (``detach()`` gives a tensor cut from the graph)."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad_(): requires_grad must be True or False, got "
                            f"{type(requires_grad).__name__}: {requires_grad!r}")
        if requires_grad:
            if self.data.dtype.kind != "f":
                raise _not_floating(self.data.dtype)
        elif self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a tensor an op computed: only a leaf's flag can change "
                               "(use detach() for a tensor cut from the graph)")
        self.requires_grad = bool(requires_grad)
        return self

    # ------------------------------------------------------------------ defined beside this file
    # Reverse mode (backward.py: ``backward``), hooks (hooks.py: ``register_hook``, ``retain_grad``), in-place
    # ops (inplace.py: ``add_``, ``mul_``...), comparisons and masks (comparisons.py: ``== < & ~ any all``),
    # conversions (conversions.py: ``to``, ``float``, ``long``, ``clone``...) and the creation functions
    # (creation.py: ``Tensor.zeros``...) are defined with their machinery and attached at the end of this file.

    # ------------------------------------------------------------------ elementwise ops
    # Each operator's first test is its hot path (two tensors of one dtype, or a floating tensor and a Python
    # float: nothing to promote); everything else goes through _pair, PyTorch's dtype promotion.
    def __add__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype or (
                type(other) is float and self.data.dtype.kind == "f"):
            return Add.apply(self, other)
        return Add.apply(*_pair(self, other))

    def __radd__(self, other):
        if type(other) is float and self.data.dtype.kind == "f":
            return Add.apply(other, self)
        a, b = _pair(self, other)
        return Add.apply(b, a)

    def __sub__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype or (
                type(other) is float and self.data.dtype.kind == "f"):
            return Sub.apply(self, other)
        return Sub.apply(*_pair(self, other, subtract=True))

    def __rsub__(self, other):
        if type(other) is float and self.data.dtype.kind == "f":
            return Sub.apply(other, self)
        a, b = _pair(self, other, subtract=True)
        return Sub.apply(b, a)

    def __mul__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype or (
                type(other) is float and self.data.dtype.kind == "f"):
            return Mul.apply(self, other)
        return Mul.apply(*_pair(self, other))

    def __rmul__(self, other):
        if type(other) is float and self.data.dtype.kind == "f":
            return Mul.apply(other, self)
        a, b = _pair(self, other)
        return Mul.apply(b, a)

    def __truediv__(self, other):
        if (type(other) is Tensor and other.data.dtype is self.data.dtype or type(other) is float) and (
                self.data.dtype.kind == "f"):
            return Div.apply(self, other)
        return Div.apply(*_pair(self, other, divide=True))

    def __rtruediv__(self, other):
        if type(other) is float and self.data.dtype.kind == "f":
            return Div.apply(other, self)
        a, b = _pair(self, other, divide=True)
        return Div.apply(b, a)

    def __pow__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype or (
                type(other) is float and self.data.dtype.kind == "f"):
            return Pow.apply(self, other)
        return Pow.apply(*_pair(self, other))

    def __rpow__(self, other):
        if type(other) is float and self.data.dtype.kind == "f":
            return Pow.apply(other, self)
        a, b = _pair(self, other)
        return Pow.apply(b, a)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def add(self, other):
        """self + other (seed name)."""
        return self.__add__(other)

    def sub(self, other):
        """self - other."""
        return self.__sub__(other)

    def mul(self, other):
        """self * other (seed name)."""
        return self.__mul__(other)

    def div(self, other):
        """self / other."""
        return self.__truediv__(other)

    def pow(self, other):
        """self ** other; d/dx x**0 = 0 and d/db a**b = 0 where a == 0 and b >= 0, as in PyTorch."""
        return self.__pow__(other)

    def neg(self):
        """-self."""
        return Neg.apply(self)

    # The unary elementwise methods (abs, exp, log, ...) are defined with their ops, by their Functions in
    # ops/elementwise.py (``methods = ("exp",)``): one place per elementwise op, none here.

    def maximum(self, other):
        """Elementwise max of self and other (ties share the gradient half/half, as in PyTorch)."""
        return Maximum.apply(*_pair(self, other))

    def minimum(self, other):
        """Elementwise min of self and other (ties share the gradient half/half, as in PyTorch)."""
        return Minimum.apply(*_pair(self, other))

    def clip(self, min=None, max=None):
        """Values limited to [min, max] (either may be None); gradient 1 inside, bounds included, else 0."""
        return Clip.apply(self, min=_bound(min, "min"), max=_bound(max, "max"))

    clamp = clip

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's ``Tensor.where``)."""
        return where(condition, self, other)

    # ------------------------------------------------------------------ reductions
    # numpy's ``axis=`` / ``keepdims=`` and PyTorch's ``dim=`` / ``keepdim=`` both work (one spelling of each pair:
    # both is a TypeError); positionally, ``x.sum(0, True)`` is axis 0 with keepdims. The PyTorch spelling costs
    # one identity test when it is absent.
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over ``axis`` (None: everything; an int or a tuple of ints); ``dim``, ``keepdim``: PyTorch's names."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _spellings("sum", axis, keepdims, dim, keepdim)
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Mean over ``axis`` (or ``dim``)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _spellings("mean", axis, keepdims, dim, keepdim)
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Maximum over ``axis`` (numpy's ``max``: the gradient is split evenly among tied maxima, as
        ``torch.amax``). With PyTorch's ``dim=`` (one int): ``(values, indices)`` as ``torch.max(x, dim)``, a
        namedtuple whose int64 ``indices`` give the first maximum (or the first nan) along ``dim``, where the
        gradient of ``values`` goes."""
        if dim is None:
            if keepdim is not None:
                axis, keepdims = _spellings("max", axis, keepdims, None, keepdim)
            return Max.apply(self, axis=axis, keepdims=keepdims)
        axis, keepdims = _spellings("max", axis, keepdims, dim, keepdim)
        return _extremum_along(self, axis, keepdims, "max")

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Minimum over ``axis`` (tied minima share the gradient); with ``dim=``: ``(values, indices)`` as
        ``torch.min(x, dim)`` (see ``max``)."""
        if dim is None:
            if keepdim is not None:
                axis, keepdims = _spellings("min", axis, keepdims, None, keepdim)
            return Min.apply(self, axis=axis, keepdims=keepdims)
        axis, keepdims = _spellings("min", axis, keepdims, dim, keepdim)
        return _extremum_along(self, axis, keepdims, "min")

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """log(sum(exp(self))) over ``axis`` (or ``dim``), computed stably."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _spellings("logsumexp", axis, keepdims, dim, keepdim)
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """The variance over ``dim`` (None: everything; an int or a tuple), as ``torch.var``: sum((x - mean)**2)
        / (n - correction), ``correction=1`` by default (Bessel's), or the legacy ``unbiased=`` (True: 1,
        False: 0; ``x.var(0, False)`` is dim 0, biased). n <= correction gives inf or nan, as in PyTorch."""
        return Var.apply(self, **_stat_args("var", dim, unbiased, keepdim, correction, axis, keepdims))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """The standard deviation over ``dim``, sqrt(var) (arguments as ``var``); its gradient is 0 where it is
        0, as in PyTorch."""
        return Std.apply(self, **_stat_args("std", dim, unbiased, keepdim, correction, axis, keepdims))

    def norm(self, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The vector p-norm over ``dim`` (None: all elements, flattened), as ``torch.linalg.vector_norm``: p = 2
        (or "fro", the default), 1, inf, -inf, 0 (the count of nonzeros) or any float; PyTorch's gradients,
        0 at the zero vector."""
        return Norm.apply(self, **_norm_args(p, dim, keepdim, axis, keepdims))

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The product of all elements, or along ``dim`` (one int, as ``torch.prod``); each element's gradient
        is the product of the others, exact with zeros among them."""
        dim, keepdim = _spellings("prod", dim, keepdim, axis, keepdims)
        return Prod.apply(self, axis=_one_dim(dim, self.shape, "prod", allow_none=True), keepdims=keepdim)

    def cumsum(self, dim=None, *, axis=None):
        """Running sums along ``dim`` (required, as in PyTorch's ``cumsum(dim)``; ``axis=`` is numpy's name)."""
        dim, _ = _spellings("cumsum", dim, False, axis, None)
        if dim is None:
            raise TypeError("cumsum() needs dim (the axis to run along), as PyTorch's cumsum(dim)")
        return CumSum.apply(self, axis=_one_dim(dim, self.shape, "cumsum"))

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The index of the maximum, over the flattened tensor (``dim=None``) or along ``dim``: an int64 tensor
        without gradient, the first occurrence among ties, a nan counting as the maximum, as ``torch.argmax``."""
        dim, keepdim = _spellings("argmax", dim, keepdim, axis, keepdims)
        return _make(_arg_extremum(self.data, dim, keepdim, "argmax"), False, None)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The index of the minimum (see ``argmax``)."""
        dim, keepdim = _spellings("argmin", dim, keepdim, axis, keepdims)
        return _make(_arg_extremum(self.data, dim, keepdim, "argmin"), False, None)

    # ------------------------------------------------------------------ matrix products
    def matmul(self, other):
        """self @ other with numpy's rules (1-D, 2-D, batched); a ValueError names both shapes on mismatch."""
        if type(other) is Tensor and other.data.dtype is self.data.dtype:
            return MatMul.apply(self, other)
        return MatMul.apply(*_pair(self, other))

    __matmul__ = matmul

    def __rmatmul__(self, other):
        a, b = _pair(self, other)
        return MatMul.apply(b, a)

    def dot(self, other):
        """The seed's name for ``matmul``."""
        return self.matmul(other)

    # ------------------------------------------------------------------ activations along an axis
    def softmax(self, axis=-1, *, dim=None):
        """exp(self) / sum(exp(self)) along ``axis`` (or PyTorch's ``dim``), stable for large logits."""
        if dim is not None:
            axis = _one_axis("softmax", axis, dim)
        if self.data.ndim == 0:  # a 0-d tensor has dims 0 and -1, as in PyTorch: its softmax is 1
            scalar_dims(axis, "softmax")
            return Softmax.apply(self.reshape(1), axis=0).reshape(())
        return Softmax.apply(self, axis=axis)

    def logsoftmax(self, axis=-1, *, dim=None):
        """log(softmax(self)) along ``axis`` (or ``dim``), computed as self - logsumexp(self) (seed name)."""
        if dim is not None:
            axis = _one_axis("logsoftmax", axis, dim)
        if self.data.ndim == 0:
            scalar_dims(axis, "logsoftmax")
            return LogSoftmax.apply(self.reshape(1), axis=0).reshape(())
        return LogSoftmax.apply(self, axis=axis)

    log_softmax = logsoftmax

    # ------------------------------------------------------------------ movement
    def reshape(self, *shape):
        """The same elements in a new shape: ``t.reshape(2, -1)`` or ``t.reshape((2, -1))``; a shape held in a
        1-d Tensor or array of whole numbers works too (the original project's ``reshape`` took one)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        elif len(shape) == 1 and isinstance(shape[0], (Tensor, np.ndarray)):
            shape = _shape_from_array(shape[0])
        return Reshape.apply(self, shape=shape)

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes start_dim..end_dim merged into one (PyTorch's ``flatten``; all of them by default)."""
        shape = self.data.shape
        if not shape:
            return Reshape.apply(self, shape=(1,))
        s = normalize_axis(start_dim, len(shape), shape, "flatten")
        e = normalize_axis(end_dim, len(shape), shape, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {shape})")
        merged = 1
        for n in shape[s:e + 1]:
            merged *= n
        return Reshape.apply(self, shape=shape[:s] + (merged,) + shape[e + 1:])

    def transpose(self, *axes):
        """Axes reordered. No argument reverses them (numpy's ``transpose()``, the matrix transpose); two
        axes are swapped (PyTorch's ``transpose(dim0, dim1)``, so ``m.transpose(0, 1)`` is ``m.T``); three or
        more are a permutation of all the axes (numpy; ``permute`` says it explicitly)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            return Transpose.apply(self, axes=None)
        nd = self.data.ndim
        if len(axes) == 2 and nd == 0:  # dims 0 and -1, as in PyTorch: nothing to swap
            return Transpose.apply(self, axes=scalar_dims(axes, "transpose", distinct=False))
        if len(axes) == 2:
            i, j = (normalize_axis(a, nd, self.shape, "transpose") for a in axes)
            perm = list(range(nd))
            perm[i], perm[j] = j, i
            return Transpose.apply(self, axes=tuple(perm))
        return Transpose.apply(self, axes=axes)

    def permute(self, *dims):
        """Axes in the order ``dims`` (a permutation of range(ndim)), as PyTorch's ``permute``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return Transpose.apply(self, axes=dims)

    @property
    def T(self):
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return Transpose.apply(self, axes=None)

    def expand(self, *shape):
        """A broadcast view of a larger shape; -1 keeps a size (PyTorch's ``expand``)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Expand.apply(self, shape=shape)

    def broadcast_to(self, shape):
        """numpy's name for ``expand``."""
        return Expand.apply(self, shape=tuple(shape))

    def squeeze(self, axis=None, dim=None):
        """Size-1 axes removed (all, or ``axis``: an int or a tuple, each of size 1); ``dim`` is PyTorch's
        name for ``axis``."""
        return Squeeze.apply(self, axis=_axis_or_dim(axis, dim, "squeeze", None))

    def unsqueeze(self, axis=None, dim=None):
        """A size-1 axis inserted at ``axis`` (``dim``, PyTorch's name)."""
        if axis is None and dim is None:
            raise TypeError("unsqueeze() needs the position of the new axis (axis= or dim=)")
        return Unsqueeze.apply(self, axis=_axis_or_dim(axis, dim, "unsqueeze", None))

    def pad(self, pad_width, value=0.0):
        """Constant padding with numpy's ``pad_width`` forms: ``t.pad(1)``, ``t.pad(((0, 0), (1, 2)))``."""
        return Pad.apply(self, pad_width=pad_width, value=value)

    def __getitem__(self, index):
        """numpy indexing: ints, slices, None, Ellipsis, bool masks and integer arrays (repeats accumulate).
        Where an int stands apart from the index arrays (``t[0, :, ids]``), the result's axes are PyTorch's
        (the int selects first, then the arrays index what is left), not numpy's (the arrays' axes first)."""
        index = _index(index)
        if type(index) is _Split:
            return GetItem.apply(GetItem.apply(self, index=index.first), index=index.rest)
        return GetItem.apply(self, index=index)

    def view(self, *shape):
        """PyTorch's name for ``reshape`` (one size may be -1); the result is a new node, as reshape's."""
        return self.reshape(*shape)

    def gather(self, dim, index):
        """PyTorch's ``gather``: along ``dim``, the elements at ``index`` (integers, as many axes as self, at
        most self's size along the others): out[i][j] = self[i][index[i][j]] for dim=1."""
        return _movement.gather(self, dim, index)

    def index_select(self, dim, index):
        """The entries ``index`` (a 1-D list, array or integer Tensor; repeats allowed) along ``dim``."""
        return _movement.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        """``value`` where the bool ``mask`` (an array or a bool Tensor, broadcast with self) is true, else
        self; ``value`` may be inf or -inf (attention masks). Filled elements get exactly 0 gradient."""
        return _movement.masked_fill(self, mask, value)

    def split(self, split_size_or_sections, dim=0):
        """A tuple of pieces along ``dim``: of ``split_size`` each (the last one smaller), or of the sizes
        listed (which must add up to the size of ``dim``), as PyTorch's ``split``."""
        return _movement.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` pieces along ``dim``, each ceil(size / chunks) long but the last (PyTorch's)."""
        return _movement.chunk(self, chunks, dim)

    def repeat(self, *sizes):
        """PyTorch's ``repeat`` (numpy's ``tile``, not numpy's ``repeat``): the whole tensor copied
        ``sizes[i]`` times along axis i, at least one size per axis (extra ones add leading axes)."""
        return _movement.repeat(self, sizes)

    def tile(self, *dims):
        """As ``repeat``, with fewer sizes than axes allowed (padded with 1s in front), as ``torch.tile``."""
        return _movement.tile(self, dims)

    def flip(self, *dims):
        """The order of the elements reversed along ``dims`` (ints, or one tuple of them)."""
        return _movement.flip(self, dims)

    def roll(self, shifts, dims=None):
        """Elements shifted cyclically by ``shifts`` along ``dims`` (ints or tuples of the same length);
        without ``dims``, the flattened tensor is rolled and reshaped back (PyTorch's ``roll``)."""
        return _movement.roll(self, shifts, dims)

    def tril(self, diagonal=0):
        """The lower triangle of the last two axes (on and below ``diagonal``), zeros elsewhere."""
        return _movement.triangle(self, diagonal, upper=False)

    def triu(self, diagonal=0):
        """The upper triangle of the last two axes (on and above ``diagonal``), zeros elsewhere."""
        return _movement.triangle(self, diagonal, upper=True)

    # ------------------------------------------------------------------ convolution (naivegrad.tensor.ops.conv)
    def conv2d(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        """2-D convolution of an NCHW input with an OIHW weight, as ``torch.nn.functional.conv2d``."""
        from .ops import conv

        return conv.conv2d(self, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)

    def max_pool2d(self, kernel_size, stride=None, padding=0):
        """Max pooling over NCHW windows, as ``torch.nn.functional.max_pool2d``."""
        from .ops import conv

        return conv.max_pool2d(self, kernel_size, stride=stride, padding=padding)

    def avg_pool2d(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        """Average pooling over NCHW windows, as ``torch.nn.functional.avg_pool2d``."""
        from .ops import conv

        return conv.avg_pool2d(self, kernel_size, stride=stride, padding=padding,
                               count_include_pad=count_include_pad)

    def maxpool2x2(self):
        """The seed's 2x2 max pooling (stride 2)."""
        return self.max_pool2d(2)


def _axis_or_dim(axis, dim, what, default):
    """numpy's ``axis`` or PyTorch's ``dim`` (one of them, or neither: ``default``)."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise TypeError(f"{what}: give axis= or dim= (the same thing), not both")
    return dim


def _bound(x, name):
    """A bound of ``clip``: None, a real number, or real numbers in an array or Tensor (a constant)."""
    if x is None or type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)):
        return float(x)
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"clip: {name} must be None, a real number or an array of them, got "
                        f"{type(x).__name__}: {_short(x)}")
    return a


def _operand_tensor(x, what=None):
    """A Tensor as it is; numbers, lists and arrays as a constant Tensor. With ``what`` (the function's name),
    what Tensor() refuses becomes a TypeError naming it."""
    if isinstance(x, Tensor):
        return x
    if what is None:
        return Tensor(x, requires_grad=False)
    try:
        return Tensor(x, requires_grad=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: expected a Tensor or an array of numbers ({e})") from None


def _index(index):
    """Tensors inside an index become arrays: a bool mask (``t[t > 0]``) and integer indices (``long()``,
    argmax) as they are, and float data holding whole numbers as integers (the float32 default of
    ``Tensor([0, 2])``). A tuple whose ints numpy would place differently from PyTorch becomes a ``_Split``."""
    if type(index) is tuple:
        for i in index:
            if isinstance(i, (Tensor, list)):
                index = tuple([_index_part(i) for i in index])
                break
        for i in index:
            if type(i) is np.ndarray and i.ndim:
                return _torch_placement(index)
        return index
    return _index_part(index)


class _Split:
    """An index applied in two steps, as PyTorch applies it: ``first`` (the ints, full slices elsewhere), then
    ``rest`` (everything but the ints)."""

    __slots__ = ("first", "rest")

    def __init__(self, first, rest):
        self.first, self.rest = first, rest


def _is_int(p):
    if isinstance(p, (bool, np.bool_)):
        return False
    return isinstance(p, numbers.Integral) or type(p) is np.ndarray and p.ndim == 0 and p.dtype.kind in "iu"


def _torch_placement(index):
    """``index`` (a tuple holding an index array) as it is, or as a ``_Split`` where numpy and PyTorch place
    the indexed axes differently. numpy counts ints (and 0-d integer arrays) among the advanced indices, so an
    int apart from the arrays (``t[0, :, ids]``) makes them non-adjacent and puts their axes first; PyTorch
    selects with the ints first, and adjacent arrays keep their axes where they are."""
    ints, arrays = [], []
    for k, p in enumerate(index):
        if type(p) is np.ndarray and p.ndim:
            arrays.append(k)
        elif _is_int(p):
            ints.append(k)
    if not ints or arrays[-1] - arrays[0] + 1 != len(arrays):
        return index  # no int, or arrays apart from one another: their axes go first in numpy and PyTorch alike
    both = sorted(ints + arrays)
    if both[-1] - both[0] + 1 == len(both):
        return index  # ints and arrays adjacent: the same place in both
    first, rest = [], []
    for p in index:
        if _is_int(p):
            first.append(p)
        elif p is None or isinstance(p, (bool, np.bool_)) or type(p) is np.ndarray and not p.ndim:
            rest.append(p)  # consumes no axis (a 0-d bool; 0-d integer arrays are ints, above)
        elif p is Ellipsis:
            first.append(p)
            rest.append(p)
        else:
            first.extend([slice(None)] * (p.ndim if type(p) is np.ndarray and p.dtype.kind == "b" else 1))
            rest.append(p)
    return _Split(tuple(first), tuple(rest))


def _index_part(i):
    if isinstance(i, Tensor):
        d = i.data
        if d.dtype.kind == "f":
            if not np.all(np.isfinite(d)) or np.any(d != np.round(d)):
                raise IndexError(f"a tensor used as an index must hold whole numbers, got {_short(d)}")
            return d.astype(np.intp)
        if d.dtype.kind == "u" and d.dtype.itemsize == 1:
            raise IndexError("a uint8 tensor used as an index is ambiguous: PyTorch reads it as a mask (deprecated), "
                             "numpy as integer indices; make it .bool() or .long()")
        return d
    if isinstance(i, list):
        arr = np.asarray(i)
        if arr.size == 0 and arr.dtype.kind == "f":  # [] is float64 to numpy; an empty index to PyTorch
            return arr.astype(np.intp)
        return arr
    return i


# The ops import this module (for Tensor), so they are imported after the class exists.
from .function import Context, quiet as _quiet  # noqa: E402
from . import _numpy  # noqa: E402
from . import inplace as _inplace  # noqa: E402
from .inplace import _epoch  # noqa: E402
from .ops.elementwise import Add, Clip, Div, Maximum, Minimum, Mul, Neg, Pow, Sub, Where  # noqa: E402
from .ops.reduce import (  # noqa: E402
    CumSum, LogSumExp, Max, Mean, Min, Norm, Prod, Std, Sum, Var, arg_extremum as _arg_extremum,
    extremum_along as _extremum_along, norm_args as _norm_args, one_axis as _one_axis, one_dim as _one_dim,
    spellings as _spellings, stat_args as _stat_args,
)
from .ops.linalg import Linear, MatMul  # noqa: E402
from .ops.loss import NLLLoss  # noqa: E402
from .ops.activation import LogSoftmax, Softmax  # noqa: E402
from .ops.movement import (  # noqa: E402
    Concatenate, Expand, GetItem, Pad, Reshape, Squeeze, Stack, Transpose, Unsqueeze,
)
from .shapes import normalize_axis, scalar_dims  # noqa: E402
from .ops import movement as _movement  # noqa: E402
from .ops.cast import Cast, Clone  # noqa: E402


# ---------------------------------------------------------------------- the methods defined beside this file
# Each mechanism's module defines its Tensor methods next to the machinery they use and lists them in its
# ``METHODS``; they are attached here, in one place (as ops/elementwise.py's ``methods`` attach the unary ops).
from . import backward as _backward  # noqa: E402
from . import hooks as _hooks_module  # noqa: E402
from . import comparisons as _comparisons  # noqa: E402
from . import conversions as _conversions  # noqa: E402
from . import creation as _creation  # noqa: E402


def _attach_methods(module):
    for name, method in module.METHODS.items():
        fn = getattr(method, "fget", method)  # a property's function
        if type(fn) is _FunctionType and fn.__name__ == name:
            fn.__qualname__ = f"Tensor.{name}"  # named as if defined in the class body (help(), repr)
        setattr(Tensor, name, method)


for _module in (_backward, _hooks_module, _inplace, _comparisons, _conversions, _creation):
    _attach_methods(_module)
_conversions._promote_unary_methods()  # last: every op's method exists by now

# The names this module held before backward, hooks, creation... moved beside it, still importable from it.
from .backward import (  # noqa: E402,F401
    _accumulate, _add_grads, _as_grad, _backward_general, _check_grad, _conform, _lift, _many, _plus,
    _released_error, _seed, _stale, _stash_hooked_leaves, _topological, _unstash, _walk,
)
from .hooks import (  # noqa: E402,F401
    RemovableHandle, _add_hook, _attach, _dead, _drop, _Hooks, _hooks, _hooks_of, _move_hooks, _run_hooks,
)
from .inplace import _alpha  # noqa: E402,F401
from .comparisons import _check_logical, _compare, _dims, _logical  # noqa: E402,F401
from .conversions import _INTEGER_METHODS, _cast, _floating_method, _promote_unary_methods  # noqa: E402,F401
from .creation import _dtype_or_default, _rng, arange, eye, ones, randn, uniform, zeros  # noqa: E402,F401
from .functional import (  # noqa: E402,F401
    _promoted, _sequence, cat, concatenate, cross_entropy, linear, maximum, minimum, nll_loss, stack, where,
)
