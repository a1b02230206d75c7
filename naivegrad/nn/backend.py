"""The two engines seen from ``nn``: how a parameter is stored, how a layer computes, how data goes in and out.

Layers are written once against this small interface; ``ScalarBackend`` and ``TensorBackend`` implement it.

- scalar: a parameter is a numpy object array of ``Value``s with the state dict's shape; a batch travels
  between layers as a ``ScalarBatch``: a list of samples, each a flat list of Values or numbers (features), or
  a numpy array of any rank (an image (C, H, W) for the conv layers; a sequence (T, C), from ``Embedding``),
  and a neuron is one fused ``dot`` node. A batch of any rank (N, ..., C) is thus N arrays of shape
  (..., C); ``_stacked`` views it as one object array (N, ..., C) and ``_batch`` turns such an array back, so
  the sequence ops below are written with numpy's indexing and broadcasting on Values, while a linear layer
  stays one fused ``dot`` node per output (the last axis of every position goes through ``fused.dots``).
- tensor: a parameter is an ``nn.Parameter`` (a ``Tensor`` marked as one); a batch is a Tensor of shape
  (B, features), or (B, ..., C) for the sequence layers, and a layer is one matmul.

Inputs are real numbers: complex data (whose imaginary part would be dropped), strings and other non-numbers
raise ``TypeError`` naming the dtype. The module's dtype rules the computation (see ``Module``): inputs of
another float dtype, arrays and Tensors alike, are converted to it (Tensors through a differentiable cast).
"""

import numpy as np

from ..engines import ENGINES, SCALAR, TENSOR, is_tensor, is_value
from ..scalar import Value
from ..scalar import conv as _scalar_conv
from ..scalar._collector import pausing_collector
from ..scalar.fused import dot as _dot, dots as _dots, sum as _vsum
from ..tensor import Function, Tensor
from ..tensor.tensor import where as _where
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
    def linear(self, x, weight, bias, any_rank=True):
        """x W^T + b: one fused ``dot`` node per output. Samples that are arrays (sequences (T, C), images)
        are mapped along their last axis, as ``torch.nn.Linear`` does, unless ``any_rank`` is False
        (micrograd's ``Layer``, which takes feature rows only)."""
        rows = weight.tolist()
        bs = bias.tolist() if bias is not None else [None] * len(rows)
        if any_rank and len(x) and isinstance(x[0], np.ndarray):
            arr = _stacked(x)
            nout, nin = weight.shape
            if arr.shape[-1] != nin:
                given = arr.shape[1:] if x.single else arr.shape
                raise ValueError(f"Linear with {nin} input features takes input of shape (..., {nin}), got shape "
                                 f"{given}; to use all of a sample's features, flatten it first (nn.Flatten)")
            outs = _dots(rows, arr.reshape(-1, nin).tolist(), bs)
            return _batch(_object_array([v for r in outs for v in r], arr.shape[:-1] + (nout,)), x.single)
        _check_features(x, weight.shape[1], "Linear")
        return ScalarBatch(_dots(rows, x, bs), x.single)

    @pausing_collector
    def neuron(self, x, weight, bias):
        _check_features(x, weight.shape[0], "Neuron")
        w = weight.tolist()
        b = bias.item() if bias is not None else None
        return ScalarBatch(_dots([w], x, [b]), x.single)

    @pausing_collector
    def activation(self, x, name, **options):
        return ScalarBatch([_activate_row(r, name, options) for r in x], x.single)

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

    # -- batches of any rank (N, ..., C), for the sequence layers: each op works on the stacked object array,
    # per vector along the last axis, with the fused sum and dot where a vector is reduced.
    def shape(self, x):
        """The batch's shape (N, ...): its number of samples, then a sample's shape."""
        r = x[0] if len(x) else []
        return (len(x),) + (r.shape if isinstance(r, np.ndarray) else (len(r),))

    def values(self, x):
        """The batch's numbers, a float array (N, ...): read without making nodes."""
        return _numbers(_stacked(x))

    @pausing_collector
    def embedding(self, ids, weight):
        # The looked-up rows are the parameter's own Values: their gradients are the table's.
        out = weight[ids]
        return ScalarBatch([out.tolist()], single=True) if ids.ndim == 0 else _batch(out)

    @pausing_collector
    def add(self, a, b):
        A, B = _stacked(a), _stacked(b)
        try:
            return _batch(A + B, a.single)  # numpy's broadcasting; each sum is one Value node
        except ValueError:
            raise ValueError(f"cannot add batches of shapes {A.shape} and {B.shape}") from None

    @pausing_collector
    def rms_norm(self, x, ndim, weight, eps):
        arr = _stacked(x)
        n = int(np.prod(arr.shape[-ndim:]))
        eps = np.finfo(np.float64).eps if eps is None else eps
        w = None if weight is None else weight.ravel().tolist()
        out = []
        for v in arr.reshape(-1, n).tolist():
            scale = (_dot(v, v) * (1.0 / n) + eps) ** -0.5  # 1 / sqrt(mean(x^2) + eps)
            out += [vi * scale for vi in v] if w is None else [vi * scale * wi for vi, wi in zip(v, w)]
        return _batch(_object_array(out, arr.shape), x.single)

    @pausing_collector
    def layer_norm(self, x, ndim, weight, bias, eps):
        arr = _stacked(x)
        n = int(np.prod(arr.shape[-ndim:]))
        w = None if weight is None else weight.ravel().tolist()
        b = None if bias is None else bias.ravel().tolist()
        out = []
        for v in arr.reshape(-1, n).tolist():
            mean = _vsum(v) * (1.0 / n)
            d = [vi - mean for vi in v]
            inv = (_dot(d, d) * (1.0 / n) + eps) ** -0.5  # the biased variance, as torch normalizes with
            y = [di * inv for di in d]
            if w is not None:
                y = [yi * wi for yi, wi in zip(y, w)]
            if b is not None:
                y = [yi + bi for yi, bi in zip(y, b)]
            out += y
        return _batch(_object_array(out, arr.shape), x.single)

    @pausing_collector
    def attention(self, q, k, v, n_head, causal):
        # microgpt's loops: per sample, head and position, a logit per key is one dot node, the output per
        # channel one dot node of the attention weights with the values.
        Q, K, V = _stacked(q), _stacked(k), _stacked(v)
        N, T, C = Q.shape
        D = C // n_head
        scale = 1.0 / float(np.sqrt(D))
        out = np.empty((N, T, C), dtype=object)
        for b in range(N):
            for h in range(n_head):
                cols = slice(h * D, (h + 1) * D)
                qh, kh, vcols = Q[b, :, cols].tolist(), K[b, :, cols].tolist(), V[b, :, cols].T.tolist()
                for t in range(T):
                    seen = t + 1 if causal else T
                    p = _softmax_values([_dot(qh[t], kh[s]) * scale for s in range(seen)])
                    out[b, t, cols] = [_dot(p, col[:seen]) for col in vcols]
        return _batch(out, q.single)

    @pausing_collector
    def dropout(self, x, p, rng):
        arr = _stacked(x)
        factors = _dropout_factors(rng, arr.shape, p)
        out = [(v if type(v) is Value else Value(v)) * f for v, f in zip(arr.ravel().tolist(),
                                                                         factors.ravel().tolist())]
        return _batch(_object_array(out, arr.shape), x.single)

    @pausing_collector
    def batch_norm(self, x, weight, bias, mean, var, eps):
        arr = _stacked(x)
        C = arr.shape[1]
        moved = np.moveaxis(arr, 1, -1)  # (N, C) or (N, L, C): a channel is a column
        w = None if weight is None else weight.tolist()
        b = None if bias is None else bias.tolist()
        chans, means, variances = [], [], []
        for c, vals in enumerate(moved.reshape(-1, C).T.tolist()):
            if mean is None:  # the batch's statistics: the biased variance normalizes
                n = len(vals)
                m = _vsum(vals) * (1.0 / n)
                d = [vi - m for vi in vals]
                v = _dot(d, d) * (1.0 / n)
                inv = (v + eps) ** -0.5
                means.append(m.data)
                variances.append(v.data)
            else:  # the running estimates: constants
                d = [vi - float(mean[c]) for vi in vals]
                inv = 1.0 / float(np.sqrt(float(var[c]) + eps))
            y = [di * inv for di in d]
            if w is not None:
                y = [yi * w[c] + b[c] for yi in y] if b is not None else [yi * w[c] for yi in y]
            chans.append(y)
        flat = _object_array([v for y in chans for v in y], (C, -1)).T.reshape(moved.shape)
        stats = (np.array(means), np.array(variances)) if mean is None else (None, None)
        return (_batch(np.moveaxis(flat, -1, 1), x.single),) + stats


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
    if len(r) and isinstance(r[0], (list, tuple, np.ndarray)):
        return _sample_array(r)  # a sample of rank 2 or more, e.g. a sequence (T, C) of Values
    out = list(r)
    for v in out:
        if not (is_value(v) or _is_number(v)):
            raise TypeError(f"scalar backend inputs must be real numbers or Values, got {type(v).__name__}: {v!r}")
    return out


def _sample_array(r):
    """One sample of rank >= 2 (nested lists or an object array of Values and numbers) as an object array of
    Values and floats."""
    a = np.array(r, dtype=object)
    flat = a.ravel().tolist()
    for i, v in enumerate(flat):
        if type(v) is Value or type(v) is float:
            continue
        if not (is_value(v) or _is_number(v)):
            what = "a ragged sample (rows of different lengths)" if isinstance(v, (list, tuple)) else \
                f"{type(v).__name__}: {v!r}"
            raise TypeError(f"scalar backend inputs must be real numbers or Values, got {what}")
        if not is_value(v):
            flat[i] = float(v)
    return _object_array(flat, a.shape)


def _object_array(flat, shape):
    """A numpy object array of ``shape`` holding the items of the list ``flat`` (Values stay Values)."""
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def _stacked(x):
    """A scalar batch as one object array (N, ...) of Values and floats: its samples stacked.

    List samples are rows of features; array samples (images, sequences) keep their shape. Samples of
    different shapes raise ValueError naming them.
    """
    if not len(x):
        raise ValueError("empty batch: no samples")
    if isinstance(x[0], np.ndarray):
        shapes = {r.shape if isinstance(r, np.ndarray) else (len(r),) for r in x}
        if len(shapes) != 1:
            raise ValueError(f"the samples of a batch must have one shape, got {sorted(shapes)}")
        arr = np.stack(x)
        return arr if arr.dtype == object else arr.astype(np.float64).astype(object)
    lengths = set(map(len, x))
    if len(lengths) != 1:
        raise ValueError(f"the samples of a batch must have one length, got rows of lengths {sorted(lengths)}")
    return _object_array([v for r in x for v in r], (len(x), lengths.pop()))


def _batch(arr, single=False):
    """The object array ``arr`` (N, ...) as a ``ScalarBatch``: rows of features (lists) when it is (N, C),
    samples as arrays of shape (...) otherwise (views of ``arr``)."""
    if arr.ndim < 2:
        raise ValueError(f"a batch has a batch axis and features: got shape {arr.shape}")
    return ScalarBatch(arr.tolist() if arr.ndim == 2 else list(arr), single)


def _numbers(arr):
    """The float array of an object array of Values and numbers."""
    return np.array([v.data if type(v) is Value else float(v) for v in arr.ravel().tolist()],
                    dtype=np.float64).reshape(arr.shape)


_VALUE_TYPE = {Value}


def _activate_row(row, name, options=None):
    """Apply the activation to every element of a row (numbers become Values first): a flat list, or an image
    array of any shape. ``options`` are passed to the Value method (GELU's ``approximate``)."""
    values = row.ravel().tolist() if isinstance(row, np.ndarray) else row
    if options:
        flat = [getattr(v if is_value(v) else Value(v), name)(**options) for v in values]
    elif set(map(type, values)) == _VALUE_TYPE:
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

    def linear(self, x, weight, bias, any_rank=True):
        return _linear(x, weight, bias)  # any rank (..., nin), as torch.nn.functional.linear

    def neuron(self, x, weight, bias):
        out = x @ weight
        return out if bias is None else out + bias

    def activation(self, x, name, **options):
        return getattr(x, name)(**options)

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

    # -- batches of any rank (N, ..., C), for the sequence layers
    def shape(self, x):
        return x.shape

    def values(self, x):
        return x.data

    def embedding(self, ids, weight):
        return weight[ids]  # a gather; its backward adds into the rows looked up

    def add(self, a, b):
        return a + b

    def rms_norm(self, x, ndim, weight, eps):
        eps = np.finfo(x.data.dtype).eps if eps is None else eps
        axes = tuple(range(-ndim, 0))
        y = x * ((x * x).mean(axis=axes, keepdims=True) + eps) ** -0.5
        return y if weight is None else y * weight

    def layer_norm(self, x, ndim, weight, bias, eps):
        axes = tuple(range(-ndim, 0))
        d = x - x.mean(axis=axes, keepdims=True)
        y = d * ((d * d).mean(axis=axes, keepdims=True) + eps) ** -0.5
        if weight is not None:
            y = y * weight
        return y if bias is None else y + bias

    def attention(self, q, k, v, n_head, causal):
        N, T, C = q.shape
        D = C // n_head

        def heads(t):  # (N, T, C) -> (N, n_head, T, D)
            return t.reshape(N, T, n_head, D).transpose(1, 2)

        att = (heads(q) @ heads(k).transpose(2, 3)) * (1.0 / np.sqrt(D))
        if causal:
            att = _where(np.tril(np.ones((T, T), dtype=bool)), att, -np.inf)
        return (att.softmax(axis=-1) @ heads(v)).transpose(1, 2).reshape(N, T, C)

    def dropout(self, x, p, rng):
        factors = _dropout_factors(rng, x.shape, p).astype(x.data.dtype)
        return x * Tensor(factors, requires_grad=False)

    def batch_norm(self, x, weight, bias, mean, var, eps):
        C = x.shape[1]
        axes, shape = ((0,), (1, C)) if x.ndim == 2 else ((0, 2), (1, C, 1))
        dt = x.data.dtype
        if mean is None:
            m = x.mean(axis=axes, keepdims=True)
            d = x - m
            v = (d * d).mean(axis=axes, keepdims=True)
            y = d * (v + eps) ** -0.5
            stats = (m.data.reshape(C).astype(np.float64), v.data.reshape(C).astype(np.float64))
        else:
            inv = (1.0 / np.sqrt(np.asarray(var, np.float64) + eps)).reshape(shape).astype(dt)
            y = (x - Tensor(np.asarray(mean).reshape(shape).astype(dt), requires_grad=False)) \
                * Tensor(inv, requires_grad=False)
            stats = (None, None)
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        return (y,) + stats


def _dropout_factors(rng, shape, p):
    """Dropout's multipliers: 0 where an element is dropped (probability p), 1 / (1 - p) where it is kept.

    The draw depends on ``rng`` and the shape only, so both backends drop the same elements from one seed."""
    keep = rng.random(shape) >= p
    return np.where(keep, 1.0 / (1.0 - p) if p < 1 else 0.0, 0.0)


def _softmax_values(logits):
    """softmax of a list of Values, shifted by the largest (a constant: softmax does not depend on it)."""
    m = max(v.data for v in logits)
    e = [(v - m).exp() for v in logits]
    z = _vsum(e)
    return [ei / z for ei in e]


_BACKENDS = {SCALAR: ScalarBackend(), TENSOR: TensorBackend()}


def get_backend(name):
    """The backend object for ``"scalar"`` or ``"tensor"``; a clear ValueError for anything else."""
    try:
        return _BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}") from None
