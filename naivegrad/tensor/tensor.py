"""``Tensor``: a numpy array that remembers how it was computed, so that ``backward()`` can find gradients.

>>> x = Tensor([[1.0, -2.0], [3.0, 4.0]])
>>> y = (x * x).relu().sum(); y.backward(); x.grad
array([[2., 0.], [6., 8.]], dtype=float32)

Ops are ``Function`` subclasses (``naivegrad.tensor.ops``); the methods here are thin wrappers around
``SomeOp.apply``. The dtype rules are PyTorch's: floating numpy arrays keep their dtype, and everything
else (Python numbers, lists, integer and bool arrays) becomes float32 unless ``dtype=`` says otherwise.
"""

import numbers

import numpy as np

from ..grad_mode import _state as _grad_state

__all__ = ["Tensor", "zeros", "ones", "eye", "randn", "uniform", "arange", "where", "maximum", "minimum",
           "concatenate", "cat", "stack", "nll_loss", "cross_entropy", "linear"]

_new = object.__new__
_float32 = np.dtype(np.float32)


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


def _as_array(data, dtype):
    """Validate user data and apply the dtype rules; floating numpy arrays are used as they are (no copy)."""
    keep = False  # floating numpy data keeps its dtype; Python numbers and lists become float32
    if isinstance(data, np.ndarray):
        arr, keep = data, True
    elif isinstance(data, Tensor):
        arr, keep = data.data, True
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
    gradient (same shape and dtype, None before any backward), ``requires_grad`` (default True: every
    tensor a user makes remembers its gradient; pass False for data). Interior tensors of a graph get their
    ``grad`` set by each ``backward``, as in micrograd; leaves accumulate it across calls.
    """

    __slots__ = ("data", "grad", "requires_grad", "tangent", "_ctx", "__weakref__")

    # numpy defers to Tensor's reflected operators (np.float64(2) * t, array + t) instead of looping.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=True, dtype=None):
        if dtype is not None:
            dtype = _float_dtype(dtype)
        self.data = _as_array(data, dtype)
        self.grad = None
        if not isinstance(requires_grad, (bool, np.bool_)):  # bool('no') is True: a flag must be a flag
            raise TypeError(f"Tensor(): requires_grad must be True or False, got "
                            f"{type(requires_grad).__name__}: {requires_grad!r}")
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

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def numpy(self):
        """The data as a numpy array (shared with the tensor, as in PyTorch)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) shares the data, as torch's; numpy 2's copy= keyword is honoured.
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data.copy() if copy else self.data
        if copy is False:
            raise ValueError(f"converting a {self.dtype} tensor to {np.dtype(dtype)} needs a copy")
        return self.data.astype(dtype)

    def item(self):
        """The value of a single-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return float(self.data.reshape(()))

    def __float__(self):
        return self.item()

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
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
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into the ``grad`` of every leaf that requires grad.

        ``grad`` is the gradient of some scalar with respect to ``self`` (same shape); it may be omitted
        only for a single-element tensor, where it is 1. The graph is walked in an iterative topological
        order (no recursion limit). Afterwards the arrays the ops saved are released; a second backward
        through the same graph then raises, unless the first used ``retain_graph=True``.
        """
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
        with _quiet():
            for t in order:
                t.grad = None
            _accumulate(self, grad, None, None)
            for t in reversed(order):
                ctx = t._ctx
                g = t.grad
                if g is None:
                    continue
                grads = ctx.fn.backward(ctx, g)
                if type(grads) is not tuple:
                    grads = tuple(grads) if isinstance(grads, list) else (grads,)
                parents = ctx.parents
                if len(grads) != len(parents):
                    raise TypeError(
                        f"{ctx.fn.__name__}.backward returned {len(grads)} gradients for {len(parents)} inputs"
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
                        p.grad = p.grad + pg
                if not retain_graph:
                    ctx.release()

    # ------------------------------------------------------------------ elementwise ops
    def __add__(self, other):
        return Add.apply(self, other if type(other) is Tensor else _operand(other))

    def __radd__(self, other):
        return Add.apply(_operand(other), self)

    def __sub__(self, other):
        return Sub.apply(self, other if type(other) is Tensor else _operand(other))

    def __rsub__(self, other):
        return Sub.apply(_operand(other), self)

    def __mul__(self, other):
        return Mul.apply(self, other if type(other) is Tensor else _operand(other))

    def __rmul__(self, other):
        return Mul.apply(_operand(other), self)

    def __truediv__(self, other):
        return Div.apply(self, other if type(other) is Tensor else _operand(other))

    def __rtruediv__(self, other):
        return Div.apply(_operand(other), self)

    def __pow__(self, other):
        return Pow.apply(self, other if type(other) is Tensor else _operand(other))

    def __rpow__(self, other):
        return Pow.apply(_operand(other), self)

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
        return Maximum.apply(self, _operand(other))

    def minimum(self, other):
        """Elementwise min of self and other (ties share the gradient half/half, as in PyTorch)."""
        return Minimum.apply(self, _operand(other))

    def clip(self, min=None, max=None):
        """Values limited to [min, max] (either may be None); gradient 1 inside, bounds included, else 0."""
        return Clip.apply(self, min=_bound(min, "min"), max=_bound(max, "max"))

    clamp = clip

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's ``Tensor.where``)."""
        return where(condition, self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (None: everything; an int or a tuple of ints)."""
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis``."""
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; the gradient is split evenly among tied maxima."""
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``; the gradient is split evenly among tied minima."""
        return Min.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(self))) over ``axis``, computed stably."""
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    # ------------------------------------------------------------------ matrix products
    def matmul(self, other):
        """self @ other with numpy's rules (1-D, 2-D, batched); a ValueError names both shapes on mismatch."""
        return MatMul.apply(self, other if type(other) is Tensor else _operand(other))

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return MatMul.apply(_operand(other), self)

    def dot(self, other):
        """The seed's name for ``matmul``."""
        return MatMul.apply(self, other if type(other) is Tensor else _operand(other))

    # ------------------------------------------------------------------ activations along an axis
    def softmax(self, axis=-1):
        """exp(self) / sum(exp(self)) along ``axis``, stable for large logits."""
        return Softmax.apply(self, axis=axis)

    def logsoftmax(self, axis=-1):
        """log(softmax(self)) along ``axis``, computed as self - logsumexp(self) (seed name)."""
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

    def squeeze(self, axis=None):
        """Size-1 axes removed (all, or ``axis``: an int or a tuple, each of size 1)."""
        return Squeeze.apply(self, axis=axis)

    def unsqueeze(self, axis):
        """A size-1 axis inserted at ``axis``."""
        return Unsqueeze.apply(self, axis=axis)

    def pad(self, pad_width, value=0.0):
        """Constant padding with numpy's ``pad_width`` forms: ``t.pad(1)``, ``t.pad(((0, 0), (1, 2)))``."""
        return Pad.apply(self, pad_width=pad_width, value=value)

    def __getitem__(self, index):
        """numpy indexing: ints, slices, None, Ellipsis, bool masks and integer arrays (repeats accumulate)."""
        return GetItem.apply(self, index=_index(index))

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
        p.grad = p.grad + pg


def _topological(root):
    """The recorded nodes reachable from ``root``, each after all its operands (iterative DFS)."""
    ctx = root._ctx
    if ctx is None:
        return []
    if ctx.released:
        raise _released_error()
    order = []
    seen = {root}
    stack = [(root, iter(ctx.parents))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if p is not None and p._ctx is not None and p not in seen:
                if p._ctx.released:
                    raise _released_error()
                seen.add(p)
                stack.append((p, iter(p._ctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _released_error():
    return RuntimeError(
        "backward() through a graph whose saved arrays were already released by an earlier backward(); "
        "pass retain_graph=True to the first backward() to walk the graph more than once"
    )


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

    >>> where(x.data > 0, x, 0.1 * x)    # condition: a bool array (or a Tensor, taken as != 0)
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where.apply(np.asarray(condition), _operand(a), _operand(b))


def concatenate(tensors, axis=0):
    """Tensors joined along an existing axis (all shapes equal except along ``axis``)."""
    return Concatenate.apply(*[_operand_tensor(t) for t in _sequence(tensors, "concatenate")], axis=axis)


cat = concatenate


def stack(tensors, axis=0):
    """Tensors of equal shape joined along a new axis."""
    return Stack.apply(*[_operand_tensor(t) for t in _sequence(tensors, "stack")], axis=axis)


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
    """Tensors inside an index become arrays (integral float data as integers, since Tensors are float)."""
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
    return Maximum.apply(_operand(a), _operand(b))


def minimum(a, b):
    """Elementwise min (see ``Tensor.minimum``)."""
    return Minimum.apply(_operand(a), _operand(b))


# The ops import this module (for Tensor), so they are imported after the class exists.
from .function import quiet as _quiet  # noqa: E402
from .ops.elementwise import (  # noqa: E402
    Abs, Add, Clip, Cos, Div, Exp, Log, Maximum, Minimum, Mul, Neg, Pow, Relu, Sigmoid, Sin, Sqrt, Sub,
    Tanh, Where,
)
from .ops.reduce import LogSumExp, Max, Mean, Min, Sum  # noqa: E402
from .ops.linalg import Linear, MatMul  # noqa: E402
from .ops.loss import NLLLoss  # noqa: E402
from .ops.activation import LogSoftmax, Softmax  # noqa: E402
from .ops.movement import (  # noqa: E402
    Concatenate, Expand, GetItem, Pad, Reshape, Squeeze, Stack, Transpose, Unsqueeze,
)
from .shapes import normalize_axis  # noqa: E402
