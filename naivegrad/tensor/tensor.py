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
import weakref as _weakref

import numpy as np

from ..grad_mode import _state as _grad_state

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
    return arr if arr.dtype == target else arr.astype(target)


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

    # ------------------------------------------------------------------ reverse mode
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None, *, grad=None):
        """Accumulate d(self)/d(leaf) into the ``grad`` of every leaf that requires grad.

        ``gradient`` (or ``grad=``, the older name) is the gradient of some scalar with respect to ``self``
        (same shape); it may be omitted only for a single-element tensor, where it is 1. The graph is walked in
        an iterative topological order (no recursion limit). Afterwards the arrays the ops saved are released; a
        second backward through the same graph then raises, unless the first used ``retain_graph=True``
        (the default with ``create_graph``).

        ``create_graph=True`` records the backward itself as a graph: every ``grad`` it sets is then a Tensor
        that can be differentiated again (a Hessian-vector product is ``x.grad`` of ``(x.grad * v).sum()``); the
        ops' rules run on Tensors (see ``naivegrad.tensor.function``). Without it every ``grad`` is an ndarray.
        ``inputs`` (Tensors) limits the accumulation to their ``grad``: no other ``grad`` changes.

        Hooks (``register_hook``) run on each tensor's gradient as it is computed. If an array some op
        saved for its backward was modified in place since (``add_``, ``mul_``...), a RuntimeError names
        that op before any gradient is computed (see ``naivegrad.tensor.inplace``).
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward() got both gradient= and grad= (two names of one argument)")
            gradient = grad
        grad = gradient
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph or inputs is not None:
            return _backward_general(self, grad, retain_graph, create_graph, inputs)
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad (made with requires_grad=False, "
                "detached, or computed under no_grad)"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() needs grad= for a tensor of shape {self.shape}: the implicit gradient 1 "
                    f"exists only for single-element outputs"
                )
            grad = np.ones_like(self.data)
        else:
            grad = _check_grad(grad, self)
        order = _topological(self)
        # Leaves with hooks (register_hook) gather this backward's gradient in a cleared .grad: their hooks see
        # it alone, then what .grad held is added back (or restored as it was, if the backward fails).
        stashed = _stash_hooked_leaves() if _hooks else None
        hooked = stashed is not None
        try:
            with _quiet():
                for t in order:
                    t.grad = None
                _accumulate(self, grad, None, None)
                for t in reversed(order):
                    ctx = t._ctx
                    g = t.grad
                    if g is None:
                        continue
                    if hooked and id(t) in _hooks:
                        g = t.grad = _run_hooks(t, g)
                    grads = ctx.fn.backward(ctx, g)
                    if type(grads) is not tuple:
                        grads = tuple(grads) if isinstance(grads, list) else (grads,)
                    parents = ctx.parents
                    if len(grads) != len(parents):
                        raise TypeError(
                            f"{ctx.fn.__name__}.backward returned {len(grads)} gradients for {len(parents)} "
                            f"inputs"
                        )
                    for p, pg in zip(parents, grads):
                        if pg is None or p is None or not p.requires_grad:
                            continue
                        d = p.data
                        if type(pg) is not np.ndarray or pg.shape != d.shape or pg.dtype != d.dtype:
                            pg = _conform(pg, d, ctx)
                        if p.grad is None:
                            # A leaf's grad is the user's to modify: never let it alias an array others hold.
                            if p._ctx is None and (pg is g or pg.base is not None):
                                pg = pg.copy()
                            p.grad = pg
                        else:
                            p.grad = _add_grads(p.grad, pg)
                    if not retain_graph:
                        ctx.release()
                if stashed:
                    _unstash(stashed)
                    stashed = None
        finally:
            if stashed:  # the backward failed: the hooked leaves get their .grad back as it was
                for p, old in stashed:
                    p.grad = old

    # ------------------------------------------------------------------ hooks
    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever a backward computes this tensor's gradient, as PyTorch's.

        ``grad`` is an ndarray, as ``.grad`` is (read-only: return a new array instead of modifying it). A
        hook that returns something (an array or a Tensor of the same shape) replaces the gradient: what
        flows on to the tensor's operands, and what a leaf accumulates into ``.grad`` (a leaf's hooks see the
        gradient of this backward alone, before it is added to ``.grad``). Several hooks run in the order
        they were registered, each given the previous one's result. Returns a handle whose ``remove()``
        removes the hook.

        >>> h = w.register_hook(lambda g: g * 2)   # w.grad doubled from now on
        >>> h.remove()

        Hooks on a tensor later modified in place stay with its value from before (PyTorch's rule): they see
        the gradient with respect to that value; hooks registered after see the new one's.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if not callable(hook):
            raise TypeError(f"register_hook needs a callable, got {type(hook).__name__}: {_short(hook)}")
        return _add_hook(self, hook)

    def retain_grad(self):
        """Keep this interior tensor's gradient in ``.grad`` after backward (PyTorch's ``retain_grad``).

        Interior tensors here always keep it (micrograd style: each backward sets their ``grad``), so this
        only checks that the tensor requires grad, for code written for PyTorch. Returns None.
        """
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")

    @property
    def retains_grad(self):
        """True for an interior tensor that requires grad (they always keep their ``grad`` here)."""
        return self.requires_grad and self._ctx is not None

    # ------------------------------------------------------------------ in-place
    # PyTorch's in-place ops and rules (naivegrad.tensor.inplace): each writes into ``data`` (numpy views of it
    # see the change), keeps the shape and dtype, and returns self. Refused on a leaf that requires grad while
    # grad mode is on; recorded in the graph on other tensors; a backward that needs an array modified in place
    # after its op saved it raises instead of giving a wrong gradient. Writes through ``.data`` bypass the check.
    def add_(self, other, alpha=1):
        """self += alpha * other, in place (other: a Tensor, a number or an array; broadcast to self's shape)."""
        return _inplace.apply_inplace(_inplace.AddInplace, self, other, alpha=_alpha(alpha, "add_"))

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return _inplace.apply_inplace(_inplace.SubInplace, self, other, alpha=_alpha(alpha, "sub_"))

    def mul_(self, other):
        """self *= other, in place."""
        return _inplace.apply_inplace(_inplace.MulInplace, self, other)

    def div_(self, other):
        """self /= other, in place."""
        return _inplace.apply_inplace(_inplace.DivInplace, self, other)

    def zero_(self):
        """Every element set to 0, in place."""
        return _inplace.apply_inplace(_inplace.ZeroInplace, self, 0)

    def fill_(self, value):
        """Every element set to ``value`` (a number, or a 0-d Tensor, whose gradient is the sum), in place."""
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got shape {value.shape}")
        if not isinstance(value, Tensor) and np.ndim(value) != 0:
            raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got {_short(value)}")
        return _inplace.apply_inplace(_inplace.FillInplace, self, value)

    def copy_(self, src):
        """self's elements replaced by ``src``'s (broadcast to self's shape, cast to self's dtype), in place;
        the gradient flows to ``src``."""
        return _inplace.apply_inplace(_inplace.CopyInplace, self, src)

    def clamp_(self, min=None, max=None):
        """Values limited to [min, max] in place (``clip`` in place)."""
        return _inplace.apply_inplace(_inplace.ClampInplace, self, None, min=_bound(min, "min"),
                                      max=_bound(max, "max"))

    clip_ = clamp_

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

    # ------------------------------------------------------------------ comparisons
    # Elementwise with broadcasting, against Tensors, numbers, arrays and lists, as PyTorch's: bool mask
    # Tensors that build no node (requires_grad False), for indexing (``t[t > 0]``: the gradient flows to t),
    # ``where``, ``masked_fill``, ``& | ^ ~`` between masks, ``any``/``all``, and ``sum`` (a count). nan is
    # unequal to everything, itself included. Hashing stays by identity (``__hash__`` above).
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
        axis, keepdims = _dims(dim, keepdim, axis, keepdims, "any")
        return _make(np.asarray(np.any(self.data, axis=axis, keepdims=keepdims)), False, None)

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """True where every element along ``dim`` is nonzero, as a bool tensor (True for no elements)."""
        axis, keepdims = _dims(dim, keepdim, axis, keepdims, "all")
        return _make(np.asarray(np.all(self.data, axis=axis, keepdims=keepdims)), False, None)

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
        return Softmax.apply(self, axis=axis)

    def logsoftmax(self, axis=-1, *, dim=None):
        """log(softmax(self)) along ``axis`` (or ``dim``), computed as self - logsumexp(self) (seed name)."""
        if dim is not None:
            axis = _one_axis("logsoftmax", axis, dim)
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
        """numpy indexing: ints, slices, None, Ellipsis, bool masks and integer arrays (repeats accumulate)."""
        return GetItem.apply(self, index=_index(index))

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

    # ------------------------------------------------------------------ conversions
    # Last in the class body: ``float``, ``int`` and ``bool`` below shadow the builtins for any statement of
    # the class body after them (method bodies are not affected).
    def clone(self):
        """A copy in new memory, in the graph (the gradient flows back to self), as PyTorch's ``clone``."""
        return Clone.apply(self)

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


def _dims(dim, keepdim, axis, keepdims, what):
    """PyTorch's ``dim``/``keepdim`` or numpy's ``axis``/``keepdims`` (one of each pair), as numpy's."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{what}(): give dim or axis, not both")
        dim = axis
    if isinstance(dim, list):
        dim = tuple(dim)
    return dim, bool(keepdim if keepdims is None else keepdims)


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


def _check_grad(grad, t):
    if isinstance(grad, Tensor):
        grad = grad.data
    try:
        g = np.asarray(grad)
    except ValueError:
        raise ValueError(f"backward(): grad is not a rectangular array: {_short(grad)}") from None
    if g.dtype.kind not in "biuf":
        raise TypeError(f"backward(): grad must be real numbers, got dtype {g.dtype}: {_short(grad)}")
    if g.shape != t.shape:
        raise ValueError(f"backward(): grad has shape {g.shape} but the tensor has shape {t.shape}")
    return g.astype(t.dtype)  # a copy: the caller's array never becomes a .grad that we hand out


def _conform(pg, data, ctx):
    """A gradient from a backward rule as an array of the input's shape and dtype, or a clear error."""
    pg = np.asarray(pg)
    if pg.shape != data.shape:
        name = ctx.fn.__name__ + ".backward" if ctx is not None else "backward()"
        raise ValueError(f"{name} gave a gradient of shape {pg.shape} for an input of shape {data.shape}")
    return pg.astype(data.dtype, copy=False)


def _add_grads(a, b):
    """a + b as an ndarray: numpy gives a numpy scalar for two 0-d arrays, and ``.grad`` is always an array."""
    s = a + b
    return s if type(s) is np.ndarray else np.asarray(s)


def _accumulate(p, pg, g_out, ctx):
    """Add one gradient contribution into ``p.grad`` (never in place: arrays may be shared)."""
    d = p.data
    if type(pg) is not np.ndarray or pg.shape != d.shape or pg.dtype != d.dtype:
        pg = _conform(pg, d, ctx)
    if p.grad is None:
        if p._ctx is None and (pg is g_out or pg.base is not None):
            pg = pg.copy()
        p.grad = pg
    else:
        p.grad = _add_grads(p.grad, pg)


def _topological(root):
    """The recorded nodes reachable from ``root``, each after all its operands (iterative DFS).

    A node recorded before the latest in-place op (its ``ctx.epoch`` is older) is checked first: a
    RuntimeError if an array its backward reads was modified in place since; and its operands rebased by an
    in-place op since are replaced in ``ctx.parents`` by the snapshots of the values it used (see
    naivegrad.tensor.inplace).
    """
    ctx = root._ctx
    if ctx is None:
        return []
    if ctx.released:
        raise _released_error()
    epoch = _epoch[0]
    order = []
    seen = {root}
    stack = [(root, iter(ctx.parents if ctx.epoch == epoch else _stale(root, ctx)))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if p is not None and p._ctx is not None and p not in seen:
                c = p._ctx
                if c.released:
                    raise _released_error()
                seen.add(p)
                stack.append((p, iter(c.parents if c.epoch == epoch else _stale(p, c))))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _stale(node, ctx):
    """The parents of a node recorded before the latest in-place op, once checked (see _topological)."""
    _inplace.check(ctx)
    ctx.parents = parents = _inplace.resolve(node, ctx)  # for good: they stay the values it used
    return parents


def _released_error():
    return RuntimeError(
        "backward() through a graph whose saved arrays were already released by an earlier backward(); "
        "pass retain_graph=True to the first backward() to walk the graph more than once"
    )


# ---------------------------------------------------------------------- the general walk
# backward(create_graph=True), backward(inputs=...) and naivegrad.autograd.grad: the gradients are kept in a
# dict (no ``.grad`` is touched during the walk), arrays or, with create_graph, Tensors.
def _seed(t, g, create_graph, what):
    """The gradient ``g`` given for the output ``t`` (None: 1 for a single element), as the walk's start."""
    if not t.requires_grad:
        raise RuntimeError(f"{what} on a tensor that does not require grad (made with requires_grad=False, "
                           f"detached, or computed under no_grad)")
    if g is None:
        if t.data.size != 1:
            raise ValueError(f"{what} needs a gradient for an output of shape {t.shape}: the implicit gradient 1 "
                             f"exists only for single-element outputs")
        g = np.ones_like(t.data)
    elif create_graph and isinstance(g, Tensor):
        if g.shape != t.shape:
            raise ValueError(f"{what}: the gradient has shape {g.shape} but the output has shape {t.shape}")
        return g if g.data.dtype == t.data.dtype else Cast.apply(g, dtype=t.data.dtype)
    else:
        g = _check_grad(g, t)
    return _make(g, False, None) if create_graph else g


def _lift(ctx, t):
    """``ctx`` for its rule to run on Tensors (the ``create_graph`` contract, naivegrad.tensor.function): each
    saved array that is an operand's data becomes that operand, the output's data the output ``t``."""
    saved = ctx.saved_tensors
    lifted = []
    parents = ctx.parents
    out = t.data
    for s in saved:
        if isinstance(s, (np.ndarray, np.generic)):
            for p in parents:
                if p is not None and p.data is s:
                    s = p
                    break
            else:
                if s is not out:
                    raise NotImplementedError(
                        f"{ctx.fn.__name__}'s backward uses an array it derived in forward; it cannot be "
                        f"differentiated twice yet (backward(create_graph=True))")
                s = t
        lifted.append(s)
    c = _new(Context)
    c.fn, c.parents, c.needs_input_grad, c.epoch = ctx.fn, parents, ctx.needs_input_grad, ctx.epoch
    c.__dict__.update(ctx.__dict__)
    c.saved_tensors = tuple(lifted)
    return c


def _as_grad(pg, p, ctx, create_graph):
    """A rule's gradient for operand ``p`` as an array (or, with create_graph, a Tensor) of p's shape and dtype."""
    if not create_graph:
        if type(pg) is not np.ndarray or pg.shape != p.data.shape or pg.dtype != p.data.dtype:
            pg = _conform(pg, p.data, ctx)
        return pg
    if not isinstance(pg, Tensor):  # a constant (zeros, a number): no graph
        return _make(np.array(_conform(pg, p.data, ctx)), False, None)
    if pg.shape != p.data.shape:
        raise ValueError(f"{ctx.fn.__name__}.backward gave a gradient of shape {pg.shape} for an input of shape "
                         f"{p.data.shape}")
    return pg if pg.data.dtype == p.data.dtype else Cast.apply(pg, dtype=p.data.dtype)


def _plus(a, b):
    return b if a is None else _add_grads(a, b) if type(a) is np.ndarray and type(b) is np.ndarray else a + b


def _many(roots):
    """The recorded nodes reachable from any of ``roots``, each after its operands (_topological, merged)."""
    order, seen = [], set()
    for r in roots:
        for n in _topological(r):
            if n not in seen:
                seen.add(n)
                order.append(n)
    return order


def _walk(roots, seeds, retain_graph, create_graph):
    """Reverse mode from ``roots`` (Tensors) with gradients ``seeds``: (the nodes walked, a dict Tensor ->
    gradient for every tensor reached). Hooks run on each gradient once it is complete."""
    order = _many(roots)
    grads = {}
    for r, g in zip(roots, seeds):
        grads[r] = _plus(grads.get(r), g)
    hooked = bool(_hooks)
    enabled, lifting = _grad_state.enabled, _numpy.lifting[0]
    _grad_state.enabled = _numpy.lifting[0] = bool(create_graph)
    try:
        with _quiet():
            for t in reversed(order):
                g = grads.get(t)
                if g is None:
                    continue
                if hooked and id(t) in _hooks:
                    g = grads[t] = _run_hooks(t, g)
                ctx = t._ctx
                rule_grads = ctx.fn.backward(_lift(ctx, t) if create_graph else ctx, g)
                if type(rule_grads) is not tuple:
                    rule_grads = tuple(rule_grads) if isinstance(rule_grads, list) else (rule_grads,)
                parents = ctx.parents
                if len(rule_grads) != len(parents):
                    raise TypeError(f"{ctx.fn.__name__}.backward returned {len(rule_grads)} gradients for "
                                    f"{len(parents)} inputs")
                for p, pg in zip(parents, rule_grads):
                    if pg is None or p is None or not p.requires_grad:
                        continue
                    grads[p] = _plus(grads.get(p), _as_grad(pg, p, ctx, create_graph))
                if not retain_graph:
                    ctx.release()
            if hooked:
                for p in list(grads):
                    if p._ctx is None and id(p) in _hooks:
                        grads[p] = _run_hooks(p, grads[p])
    finally:
        _grad_state.enabled, _numpy.lifting[0] = enabled, lifting
    return order, grads


def _backward_general(t, gradient, retain_graph, create_graph, inputs):
    """``Tensor.backward`` with ``create_graph`` or ``inputs``: the general walk, then the ``.grad`` updates."""
    seed = _seed(t, gradient, create_graph, "backward()")
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for x in inputs:
            if not isinstance(x, Tensor) or not x.requires_grad:
                raise RuntimeError(f"backward(inputs=...): every input must be a Tensor that requires grad, got "
                                   f"{_short(x)}")
    order, grads = _walk([t], [seed], retain_graph, create_graph)
    if inputs is None:
        for n in order:
            n.grad = None
        targets = grads
    else:
        targets = {x: grads[x] for x in inputs if x in grads}
    for x, g in targets.items():
        if type(g) is np.ndarray and (x._ctx is None or inputs is not None):
            g = g.copy()  # a leaf's grad is the user's to modify: never an array the walk shares
        if x._ctx is None or inputs is not None:
            x.grad = g if x.grad is None else _plus(x.grad, g)
        else:
            x.grad = g


# ---------------------------------------------------------------------- hooks
# id(tensor) -> its hooks (a _Hooks list), for the tensors that have some: backward looks here only while
# the dict is not empty, so tensors pay nothing for hooks (no slot) until someone registers one.
_hooks = {}


class _Hooks(list):
    """One tensor's hooks, in order; ``ref`` is a weakref to the tensor (its entry goes when it dies)."""

    __slots__ = ("key", "ref")


def _drop(key, hooks):
    if _hooks.get(key) is hooks:
        del _hooks[key]


def _dead(ref, key):
    """A hooked tensor died: its hooks go (unless its id already belongs to a newer tensor's)."""
    hooks = _hooks.get(key)
    if hooks is not None and hooks.ref is ref:
        del _hooks[key]


def _attach(hooks, t):
    key = id(t)
    hooks.key = key
    hooks.ref = _weakref.ref(t, lambda ref, key=key: _dead(ref, key))
    _hooks[key] = hooks


def _hooks_of(t):
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        hooks = _Hooks()
        _attach(hooks, t)
    return hooks


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook away (again: nothing happens)."""

    __slots__ = ("_hooks", "_entry")

    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        hooks = self._hooks
        for i, e in enumerate(hooks):
            if e is self._entry:
                del hooks[i]
                break
        if not hooks:
            _drop(hooks.key, hooks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _add_hook(t, hook):
    hooks = _hooks_of(t)
    entry = [hook]  # a fresh object per registration: the same function registered twice runs twice
    hooks.append(entry)
    return RemovableHandle(hooks, entry)


def _move_hooks(t, to):
    """Give ``t``'s hooks to ``to`` (an in-place op's snapshot of t's old value)."""
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        return
    del _hooks[id(t)]
    _attach(hooks, to)


def _run_hooks(t, g):
    """``g`` (t's gradient) through t's hooks, in order; a hook's non-None result replaces it."""
    hooks = _hooks.get(id(t))
    if hooks is None or hooks.ref() is not t:
        return g
    if isinstance(g, Tensor):  # a create_graph backward: hooks see (and may return) Tensors
        for (hook,) in list(hooks):
            r = hook(g)
            if r is None or r is g:
                continue
            if not isinstance(r, Tensor):
                r = _make(np.array(r, dtype=t.dtype), False, None)
            if r.shape != t.shape:
                raise ValueError(f"a hook returned a gradient of shape {r.shape} for a tensor of shape {t.shape}: "
                                 f"a hook must keep the gradient's shape")
            g = r
        return g
    for (hook,) in list(hooks):  # a copy: a hook may remove itself
        view = g.view()
        view.flags.writeable = False
        r = hook(view)
        if r is None or r is view:
            continue
        if isinstance(r, Tensor):
            r = r.data
        r = np.asarray(r)
        if r.shape != t.shape:
            name = getattr(hook, "__qualname__", type(hook).__name__)
            raise ValueError(f"hook {name} returned a gradient of shape {r.shape} for a tensor of shape "
                             f"{t.shape}: a hook must keep the gradient's shape")
        if r.dtype.kind not in "biuf":
            raise TypeError(f"a hook returned a gradient of dtype {r.dtype}: it must hold real numbers")
        g = np.array(r, dtype=t.dtype)  # a copy: the hook may keep its result
    return g


def _stash_hooked_leaves():
    """[(leaf, its grad)] for the leaves that have hooks, each leaf's grad cleared (see backward)."""
    stashed = []
    for hooks in list(_hooks.values()):
        t = hooks.ref()
        if t is not None and t._ctx is None and hooks:
            stashed.append((t, t.grad))
            t.grad = None
    return stashed


def _unstash(stashed):
    """Each hooked leaf's gradient from this backward through its hooks, added to the grad it had."""
    for p, old in stashed:
        g = p.grad
        if g is None:  # not reached by this backward
            p.grad = old
            continue
        g = _run_hooks(p, g)
        p.grad = g if old is None else _add_grads(old, g)


def _alpha(alpha, what):
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{what}: alpha must be a real number, got {type(alpha).__name__}: {alpha!r}")
    return alpha if type(alpha) in (int, float) else float(alpha)


# ---------------------------------------------------------------------- creation helpers
def _rng(generator):
    if generator is None:
        return np.random  # the legacy global state: np.random.seed(...) makes it reproducible
    if isinstance(generator, (np.random.Generator, np.random.RandomState)):
        return generator
    if isinstance(generator, numbers.Integral):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy Generator, a seed int or None, got {type(generator).__name__}")


def _dtype_or_default(dtype, what):
    return _float32 if dtype is None else _float_dtype(dtype, what)


def zeros(*shape, dtype=None, requires_grad=True):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 unless ``dtype`` says otherwise."""
    shape = _shape_args(shape, "zeros")
    return _make(np.zeros(shape, _dtype_or_default(dtype, "zeros")), bool(requires_grad), None)


def ones(*shape, dtype=None, requires_grad=True):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    shape = _shape_args(shape, "ones")
    return _make(np.ones(shape, _dtype_or_default(dtype, "ones")), bool(requires_grad), None)


def eye(n, m=None, dtype=None, requires_grad=True):
    """The n x m identity matrix (m defaults to n)."""
    n, m = _shape_args((n, n if m is None else m), "eye")
    return _make(np.eye(n, m, dtype=_dtype_or_default(dtype, "eye")), bool(requires_grad), None)


def randn(*shape, generator=None, dtype=None, requires_grad=True):
    """Standard normal samples. ``generator``: a numpy Generator or an int seed (default: ``np.random``).

    >>> randn(2, 3, generator=0).shape      # the same numbers on every run
    (2, 3)
    """
    shape = _shape_args(shape, "randn")
    data = _rng(generator).standard_normal(shape).astype(_dtype_or_default(dtype, "randn"))
    return _make(data, bool(requires_grad), None)


def uniform(*shape, low=-1.0, high=1.0, generator=None, dtype=None, requires_grad=True):
    """Samples uniform in [low, high); ``generator`` as in ``randn``."""
    shape = _shape_args(shape, "uniform")
    data = _rng(generator).uniform(low, high, size=shape).astype(_dtype_or_default(dtype, "uniform"))
    return _make(data, bool(requires_grad), None)


def arange(start, stop=None, step=1, dtype=None, requires_grad=True):
    """Evenly spaced values in [start, stop), as ``np.arange``: ``arange(5)``, ``arange(1, 2, 0.25)``."""
    for v in (start, stop, step):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"arange: start, stop and step must be real numbers, got {v!r}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _make(data.astype(_dtype_or_default(dtype, "arange")), bool(requires_grad), None)


for _f in (zeros, ones, eye, randn, uniform, arange):
    setattr(Tensor, _f.__name__, staticmethod(_f))
Tensor.zeroes = staticmethod(zeros)  # the original project's spelling


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (broadcast together); gradients flow to a and b.

    >>> where(x > 0, x, 0.1 * x)    # condition: a bool mask Tensor or array (other dtypes taken as != 0)
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where.apply(np.asarray(condition), *_promoted(a, b))


def _promoted(a, b):
    """``a`` and ``b`` as a binary op's operands, either of them a Tensor (PyTorch's promotion, see _pair)."""
    if isinstance(a, Tensor):
        return _pair(a, b)
    if isinstance(b, Tensor):
        b, a = _pair(b, a)
        return a, b
    return _operand(a), _operand(b)


def concatenate(tensors, axis=None, dim=None):
    """Tensors joined along an existing axis (all shapes equal except along ``axis``; default 0; ``dim`` is
    PyTorch's name for it)."""
    axis = _axis_or_dim(axis, dim, "concatenate", 0)
    return Concatenate.apply(*[_operand_tensor(t) for t in _sequence(tensors, "concatenate")], axis=axis)


cat = concatenate


def stack(tensors, axis=None, dim=None):
    """Tensors of equal shape joined along a new axis (``axis`` or ``dim``, default 0)."""
    axis = _axis_or_dim(axis, dim, "stack", 0)
    return Stack.apply(*[_operand_tensor(t) for t in _sequence(tensors, "stack")], axis=axis)


def _axis_or_dim(axis, dim, what, default):
    """numpy's ``axis`` or PyTorch's ``dim`` (one of them, or neither: ``default``)."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise TypeError(f"{what}: give axis= or dim= (the same thing), not both")
    return dim


def _sequence(tensors, what):
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{what} needs a sequence of tensors, got {type(tensors).__name__}")
    return list(tensors)


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


def _operand_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x, requires_grad=False)


def _index(index):
    """Tensors inside an index become arrays: a bool mask (``t[t > 0]``) and integer indices (``long()``,
    argmax) as they are, and float data holding whole numbers as integers (the float32 default of
    ``Tensor([0, 2])``)."""
    if type(index) is tuple:
        for i in index:
            if isinstance(i, (Tensor, list)):
                return tuple([_index_part(i) for i in index])
        return index
    return _index_part(index)


def _index_part(i):
    if isinstance(i, Tensor):
        d = i.data
        if d.dtype.kind == "f":
            if not np.all(np.isfinite(d)) or np.any(d != np.round(d)):
                raise IndexError(f"a tensor used as an index must hold whole numbers, got {_short(d)}")
            return d.astype(np.intp)
        return d
    if isinstance(i, list):
        return np.asarray(i)
    return i


def nll_loss(input, target, reduction="mean"):
    """The negative log-likelihood of integer class ``target`` (N,) under log-probabilities ``input``
    (N, C), as ``torch.nn.functional.nll_loss``: one op (its backward is a scatter of -1/N).

    >>> nll_loss(logits.logsoftmax(axis=1), labels)    # the cross-entropy of a classifier
    """
    if isinstance(target, Tensor):
        target = target.data
    return NLLLoss.apply(_operand_tensor(input), target, reduction=reduction)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` as one op, as ``torch.nn.functional.linear``: ``weight`` is
    (out_features, in_features), ``input`` (..., in_features), ``bias`` (out_features,) or None.

    >>> h = linear(x, w1, b1).relu()     # a dense layer: one node in the graph, not three
    """
    return Linear.apply(_operand_tensor(input), _operand_tensor(weight),
                        None if bias is None else _operand_tensor(bias))


def cross_entropy(input, target, reduction="mean"):
    """``nll_loss(input.logsoftmax(axis=1), target)``: the cross-entropy of logits (N, C) and classes (N,)."""
    return nll_loss(_operand_tensor(input).logsoftmax(axis=1), target, reduction)


def maximum(a, b):
    """Elementwise max (see ``Tensor.maximum``)."""
    return Maximum.apply(*_promoted(a, b))


def minimum(a, b):
    """Elementwise min (see ``Tensor.minimum``)."""
    return Minimum.apply(*_promoted(a, b))


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
from .shapes import normalize_axis  # noqa: E402
from .ops import movement as _movement  # noqa: E402
from .ops.cast import Cast, Clone  # noqa: E402


# ---------------------------------------------------------------------- conversions: float-only functions
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


_promote_unary_methods()
