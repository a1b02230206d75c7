"""The two engines seen from ``nn``: how a parameter is stored, how a layer computes, how data goes in and out.

Layers are written once against this small interface; ``ScalarBackend`` and ``TensorBackend`` implement it.

- scalar: a parameter is a numpy object array of ``Value``s with the state dict's shape; a batch travels
  between layers as a ``ScalarBatch`` (a list of rows, each a list of Values or numbers), and a neuron is one
  fused ``dot`` node.
- tensor: a parameter is an ``nn.Parameter`` (a ``Tensor`` marked as one); a batch is a Tensor of shape
  (B, features) and a layer is one matmul.

Inputs are real numbers: complex data (whose imaginary part would be dropped), strings and other non-numbers
raise ``TypeError`` naming the dtype. The module's dtype rules the computation (see ``Module``): inputs of
another float dtype, arrays and Tensors alike, are converted to it (Tensors through a differentiable cast).
"""

import numpy as np

from ..engines import ENGINES, SCALAR, TENSOR, is_tensor, is_value
from ..scalar import Value
from ..scalar import conv as _scalar_conv
from ..scalar._collector import pausing_collector
from ..scalar.fused import dots as _dots
from ..tensor import Function, Tensor
from ..tensor.tensor import linear as _linear  # one node: x @ W.T + b, as torch.nn.functional.linear

from .parameter import is_parameter, mark_parameter

__all__ = ["get_backend", "ScalarBackend", "TensorBackend", "ScalarBatch", "BACKENDS", "cast", "real_array"]

BACKENDS = ENGINES


class ScalarBatch(list):
    """Rows of a batch on the scalar engine, as passed between layers.

    ``single`` remembers that the user gave one 1-D sample, so the output is unwrapped the micrograd way.
    """

    __slots__ = ("single",)

    def __init__(self, rows, single=False):
        super().__init__(rows)
        self.single = single


def _is_number(x):
    return isinstance(x, (int, float, np.number)) and not isinstance(x, (bool, np.bool_, complex, np.complexfloating))


def _dtype_error(dtype, shape, what):
    hint = ": its imaginary part would be lost" if np.dtype(dtype).kind == "c" else ""
    return TypeError(f"{what} must be real numbers, got an array of dtype {dtype} and shape {shape}{hint}")


def real_array(x, what="nn input"):
    """``x`` as a numpy array of real numbers (bool, int or float); ``TypeError`` naming the dtype otherwise."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise _dtype_error(arr.dtype, arr.shape, what)
    return arr


class _Cast(Function):
    """x.astype(dtype), differentiable: the gradient goes back in the input's own dtype."""

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.dtype, ctx.in_dtype = dtype, x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.in_dtype)

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else t.astype(ctx.dtype)


def cast(x, dtype):
    """The Tensor ``x`` in ``dtype``: ``x`` itself when it already is, else one differentiable cast node."""
    return x if x.data.dtype == dtype else _Cast.apply(x, dtype=dtype)


def _leaf_values(arr):
    """True for a non-empty numpy object array whose elements are all leaf Values (a scalar-backend parameter)."""
    if not (isinstance(arr, np.ndarray) and arr.dtype == object and arr.size):
        return False
    return all(is_value(v) and not v._prev for v in arr.ravel().tolist())


class ScalarBackend:
    """Parameters as object arrays of ``Value``s (float64); math as fused ``dot`` nodes."""

    name = SCALAR

    def check_dtype(self, dtype):
        if dtype is not None and np.dtype(dtype) != np.float64:
            raise ValueError(f"the scalar backend computes in float64; got dtype={np.dtype(dtype).name}")
        return np.dtype(np.float64)

    # -- parameters
    def parameter(self, array, dtype):
        flat = [Value(float(v)) for v in np.asarray(array, dtype=np.float64).ravel().tolist()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(np.shape(array))

    def adopt(self, value, dtype, where, explicit):
        """``value`` as this backend's parameter: an object array of leaf Values is shared as it is; an
        ``nn.Parameter`` (any Tensor when ``explicit``: registered by name) becomes a new one with its values.
        None for anything else."""
        if _leaf_values(value):
            return value
        if is_tensor(value) and (explicit or is_parameter(value)):
            return self.parameter(value.data, dtype)
        return None

    def describe(self):
        return "a numpy object array of leaf Values (e.g. another module's parameter) or an nn.Parameter"

    def flat(self, param):
        return param.ravel().tolist()

    def to_numpy(self, param):
        return np.array([v.data for v in param.ravel().tolist()], dtype=np.float64).reshape(param.shape)

    def grad_numpy(self, param):
        return np.array([v.grad for v in param.ravel().tolist()], dtype=np.float64).reshape(param.shape)

    def assign(self, param, array):
        for v, x in zip(param.ravel().tolist(), np.asarray(array, dtype=np.float64).ravel().tolist()):
            v.data = x

    def zero_grad(self, param):
        for v in param.ravel().tolist():
            v.grad = 0.0

    # -- data in and out
    def to_input(self, x, dtype):
        if isinstance(x, ScalarBatch):
            return x
        if is_value(x) or _is_number(x):
            return ScalarBatch([[x]], single=True)
        if isinstance(x, np.ndarray) and x.dtype != object:
            if x.dtype.kind not in "biuf":
                raise _dtype_error(x.dtype, x.shape, "scalar backend inputs")
            if x.ndim == 0:
                return ScalarBatch([[float(x)]], single=True)
            rows = x.astype(np.float64, copy=False)
            if rows.ndim == 1:
                return ScalarBatch([rows.tolist()], single=True)
            # Images and other N-d samples stay arrays per row (conv layers index them).
            return ScalarBatch(rows.tolist() if rows.ndim == 2 else list(rows), single=False)
        if isinstance(x, (list, tuple, np.ndarray)):
            if len(x) and isinstance(x[0], (list, tuple, np.ndarray)):
                return ScalarBatch([_row(r) for r in x], single=False)
            return ScalarBatch([_row(x)], single=True)
        if is_tensor(x):
            raise TypeError("scalar backend got a Tensor; move the model with model.to('tensor'), or pass "
                            "tensor.numpy() to use its values as data")
        raise TypeError(f"scalar backend input must be a number, Value, list or array, got {type(x).__name__}")

    def to_output(self, batch):
        # Image rows (numpy object arrays, from the conv layers) come out as nested lists of their shape.
        rows = [r.tolist() if isinstance(r, np.ndarray) else r[0] if len(r) == 1 else list(r) for r in batch]
        return rows[0] if batch.single else rows

    # -- math. The calls that make nodes pause the cyclic garbage collector (naivegrad.scalar._collector): a
    # batch's graph is thousands of new objects, all alive, which it would otherwise walk again and again.
    @pausing_collector
    def linear(self, x, weight, bias):
        _check_features(x, weight.shape[1], "Linear")
        rows = weight.tolist()
        bs = bias.tolist() if bias is not None else [None] * len(rows)
        return ScalarBatch(_dots(rows, x, bs), x.single)

    @pausing_collector
    def neuron(self, x, weight, bias):
        _check_features(x, weight.shape[0], "Neuron")
        w = weight.tolist()
        b = bias.item() if bias is not None else None
        return ScalarBatch(_dots([w], x, [b]), x.single)

    @pausing_collector
    def activation(self, x, name):
        return ScalarBatch([_activate_row(r, name) for r in x], x.single)

    # -- images: each row is one (C, H, W) array of Values or floats; the scalar reference ops run per row
    @pausing_collector
    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        return ScalarBatch([_scalar_conv.conv2d(_image(r, "Conv2d"), weight, bias, stride, padding, dilation,
                                                groups) for r in x], x.single)

    @pausing_collector
    def max_pool2d(self, x, kernel_size, stride, padding):
        return ScalarBatch([_scalar_conv.max_pool2d(_image(r, "MaxPool2d"), kernel_size, stride, padding)
                            for r in x], x.single)

    @pausing_collector
    def avg_pool2d(self, x, kernel_size, stride, padding, count_include_pad):
        return ScalarBatch([_scalar_conv.avg_pool2d(_image(r, "AvgPool2d"), kernel_size, stride, padding,
                                                    count_include_pad) for r in x], x.single)

    def flatten(self, x, start_dim, end_dim):
        # The dims count the batch axis, as in PyTorch; a row has one axis fewer.
        rows = []
        for r in x:
            a = r if isinstance(r, np.ndarray) else np.asarray(r, dtype=object)
            s, e = _flatten_dims(start_dim, end_dim, a.ndim + 1)
            a = a.reshape(a.shape[:s - 1] + (-1,) + a.shape[e:])
            rows.append(a.tolist() if a.ndim == 1 else a)
        return ScalarBatch(rows, x.single)


def _check_features(x, nin, what):
    """Every row of ``x`` holds ``nin`` features (a flat list), or a ValueError naming the shapes."""
    for r in x:
        if isinstance(r, np.ndarray) or len(r) != nin:
            shape = np.shape(r) if isinstance(r, np.ndarray) else (len(r),)
            given = shape if x.single else (len(x),) + shape
            raise ValueError(f"{what} with {nin} input features on the scalar backend takes one sample of shape "
                             f"({nin},) or a batch of shape (N, {nin}), got shape {given}"
                             + ("; flatten the samples first (nn.Flatten)" if len(given) > 2 else ""))


def _image(r, what):
    a = r if isinstance(r, np.ndarray) else np.asarray(r, dtype=object)
    if a.ndim != 3:
        raise ValueError(f"{what} on the scalar backend needs each sample as a (C, H, W) image, got a sample of "
                         f"shape {a.shape}; pass a batch of shape (N, C, H, W)")
    return a


def _flatten_dims(start_dim, end_dim, ndim):
    """Flatten's (start, end) as non-negative dims of a batch with ``ndim`` axes; the batch axis must stay."""
    s = start_dim + ndim if start_dim < 0 else start_dim
    e = end_dim + ndim if end_dim < 0 else end_dim
    if not (1 <= s <= e < ndim):
        raise ValueError(f"Flatten(start_dim={start_dim}, end_dim={end_dim}) must keep the batch axis: on a batch "
                         f"with {ndim} axes it needs 1 <= start_dim <= end_dim < {ndim} (negative dims count "
                         f"from the end)")
    return s, e


def _row(r):
    if isinstance(r, np.ndarray) and r.dtype != object:
        if r.dtype.kind not in "biuf":
            raise _dtype_error(r.dtype, r.shape, "scalar backend inputs")
        return r.astype(np.float64, copy=False).tolist()
    out = list(r)
    for v in out:
        if not (is_value(v) or _is_number(v)):
            raise TypeError(f"scalar backend inputs must be real numbers or Values, got {type(v).__name__}: {v!r}")
    return out


_VALUE_TYPE = {Value}


def _activate_row(row, name):
    """Apply the activation to every element of a row (numbers become Values first): a flat list, or an image
    array of any shape."""
    values = row.ravel().tolist() if isinstance(row, np.ndarray) else row
    if set(map(type, values)) == _VALUE_TYPE:
        # A layer's outputs: the op on each, at C speed. The collector is paused already (activation() is), so
        # the op's own body does, without the pause every op takes when user code calls it.
        op = getattr(Value, name)
        flat = list(map(getattr(op, "__wrapped__", op), values))
    else:
        flat = [getattr(v if is_value(v) else Value(v), name)() for v in values]
    if not isinstance(row, np.ndarray):
        return flat
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(row.shape)


class TensorBackend:
    """Parameters as ``Tensor``s (float32 by default); a layer is one matmul plus a broadcast bias."""

    name = TENSOR

    def check_dtype(self, dtype):
        dt = np.dtype(np.float32 if dtype is None else dtype)
        if dt not in (np.float32, np.float64):
            raise ValueError(f"the tensor backend supports float32 and float64; got dtype={dt.name}")
        return dt

    def parameter(self, array, dtype):
        return mark_parameter(Tensor(np.array(array, dtype=dtype), requires_grad=True))

    def adopt(self, value, dtype, where, explicit):
        """``value`` itself, shared and marked as a parameter, if it is an ``nn.Parameter`` or (when
        ``explicit``: assigned to a parameter's name, or given to ``register_parameter``) a leaf Tensor; None if
        it is no parameter; TypeError for a Tensor of another dtype, or the result of an op."""
        if not is_tensor(value):
            return None
        if not is_parameter(value):
            if not explicit:
                return None
            if value._ctx is not None:
                raise TypeError(f"{where}: a parameter must be a leaf Tensor, not the result of an op "
                                f"({value._op}); wrap it as nn.Parameter(t) for a new leaf sharing its data")
        if dtype is not None and value.data.dtype != dtype:
            raise TypeError(f"{where}: the parameter is {value.data.dtype} but the module computes in "
                            f"{np.dtype(dtype).name}; make it with dtype={np.dtype(dtype).name} (or build the "
                            f"module with dtype={value.data.dtype.name})")
        return mark_parameter(value)

    def describe(self):
        return "an nn.Parameter or a leaf Tensor"

    def flat(self, param):
        return [param]

    def to_numpy(self, param):
        return param.data.copy()

    def grad_numpy(self, param):
        g = param.grad
        return np.zeros_like(param.data) if g is None else np.array(g, copy=True)

    def assign(self, param, array):
        param.data[...] = array

    def zero_grad(self, param):
        param.grad = None

    def to_input(self, x, dtype):
        # The module's dtype rules, for Tensors as for arrays; a module without one (dtype None) keeps the
        # input's, by Tensor()'s rules.
        if is_tensor(x):
            return x if dtype is None or x.data.dtype == dtype else _Cast.apply(x, dtype=dtype)
        if is_value(x) or (isinstance(x, (list, tuple)) and any(is_value(v) for v in x)):
            raise TypeError("tensor backend got scalar-engine Values; convert the model with model.to('scalar')")
        arr = x if type(x) is np.ndarray else np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise _dtype_error(arr.dtype, arr.shape, "tensor backend inputs")
        if dtype is not None and arr.dtype != dtype:
            arr = arr.astype(dtype)
        return Tensor(arr, requires_grad=False)

    def to_output(self, x):
        return x

    def linear(self, x, weight, bias):
        return _linear(x, weight, bias)

    def neuron(self, x, weight, bias):
        out = x @ weight
        return out if bias is None else out + bias

    def activation(self, x, name):
        return getattr(x, name)()

    # -- images: an NCHW Tensor
    def conv2d(self, x, weight, bias, stride, padding, dilation, groups):
        return x.conv2d(weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)

    def max_pool2d(self, x, kernel_size, stride, padding):
        return x.max_pool2d(kernel_size, stride=stride, padding=padding)

    def avg_pool2d(self, x, kernel_size, stride, padding, count_include_pad):
        return x.avg_pool2d(kernel_size, stride=stride, padding=padding, count_include_pad=count_include_pad)

    def flatten(self, x, start_dim, end_dim):
        s, e = _flatten_dims(start_dim, end_dim, x.ndim)
        return x.flatten(s, e)


_BACKENDS = {SCALAR: ScalarBackend(), TENSOR: TensorBackend()}


def get_backend(name):
    """The backend object for ``"scalar"`` or ``"tensor"``; a clear ValueError for anything else."""
    try:
        return _BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}") from None
