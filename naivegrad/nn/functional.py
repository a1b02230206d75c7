"""PyTorch's functional forms under PyTorch's names: ``from naivegrad.nn import functional as F``.

Each function takes the tensor engine's ``Tensor`` (numbers, lists and numpy arrays become constant Tensors)
and follows ``torch.nn.functional``'s signature and conventions, so code written against one reads the same
against the other::

    h = F.gelu(F.linear(x, w1, b1))
    loss = F.cross_entropy(F.linear(h, w2), targets)

The elementwise activations (``relu``, ``gelu``, ``silu``, ``tanh``, ``sigmoid``...) also take the scalar
engine's ``Value``, or nested lists / object arrays of Values (plain numbers among them become Values), and
apply the Value method of the same name: the same function runs on either engine. Options PyTorch has and
naivegrad does not yet (``ceil_mode``, ``dilation`` of pooling, padding modes other than ``"constant"``) raise
``NotImplementedError`` naming the option, rather than being ignored.
"""

import numbers

import numpy as np

from ..engines import is_value
from ..scalar import Value
from ..tensor import Tensor
from ..tensor import tensor as _tensor_module
from ..tensor.ops import conv as _conv
from ..tensor.tensor import _operand_tensor as _t

__all__ = [
    "relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu", "elu", "softplus",
    "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "linear", "conv2d", "max_pool2d",
    "avg_pool2d", "embedding", "layer_norm", "dropout", "one_hot", "pad",
]


def _holds_values(x):
    """Is ``x`` a Value, or nested lists / tuples / an object array with a Value anywhere inside?"""
    if is_value(x):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype == object and any(_holds_values(v) for v in x.ravel().tolist())
    return isinstance(x, (list, tuple)) and any(_holds_values(v) for v in x)


def _map_values(x, method, kwargs):
    """The Value method ``method`` applied to every element of a Value / nested lists / an object array that
    holds Values (plain numbers among them become Values first, as the scalar backend's activations do), or
    None when ``x`` holds no Value (it is then taken as a Tensor)."""
    return _apply_values(x, method, kwargs) if _holds_values(x) else None


def _apply_values(x, method, kwargs):
    if is_value(x):
        return getattr(x, method)(**kwargs)
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        for i in np.ndindex(x.shape):
            out[i] = _apply_values(x[i], method, kwargs)
        return out
    if isinstance(x, (list, tuple)):
        return [_apply_values(v, method, kwargs) for v in x]
    if isinstance(x, (numbers.Real, np.number)) and not isinstance(x, (bool, np.bool_, np.complexfloating)):
        return getattr(Value(float(x)), method)(**kwargs)
    raise TypeError(f"{method}: expected Values or real numbers among the Values, got {type(x).__name__}: {x!r}")


def _elementwise(method, doc):
    def f(input, **kwargs):
        if not isinstance(input, Tensor):
            mapped = _map_values(input, method, kwargs)
            if mapped is not None:
                return mapped
        return getattr(_t(input, method), method)(**kwargs)

    f.__name__ = f.__qualname__ = method
    f.__doc__ = doc
    return f


relu = _elementwise("relu", "max(x, 0), elementwise (``torch.nn.functional.relu``); relu'(0) = 0.")
tanh = _elementwise("tanh", "tanh(x), elementwise.")
sigmoid = _elementwise("sigmoid", "1 / (1 + exp(-x)), elementwise.")
silu = _elementwise("silu", "x * sigmoid(x), elementwise (``torch.nn.functional.silu``).")
_gelu = _elementwise("gelu", "")
_leaky_relu = _elementwise("leaky_relu", "")
_elu = _elementwise("elu", "")
_softplus = _elementwise("softplus", "")


def gelu(input, approximate="none"):
    """x * Phi(x) (the Gaussian CDF, through erf), or its tanh approximation with ``approximate="tanh"``,
    as ``torch.nn.functional.gelu``."""
    return _gelu(input, approximate=approximate)


def leaky_relu(input, negative_slope=0.01):
    """x where x > 0, else ``negative_slope * x`` (``torch.nn.functional.leaky_relu``)."""
    return _leaky_relu(input, negative_slope=negative_slope)


def elu(input, alpha=1.0):
    """x where x > 0, else ``alpha * (exp(x) - 1)`` (``torch.nn.functional.elu``)."""
    return _elu(input, alpha=alpha)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (``torch.nn.functional.softplus``)."""
    return _softplus(input, beta=beta, threshold=threshold)


def _dim(dim, what):
    if dim is None:
        # torch's implicit dim is deprecated because it guesses; naivegrad does not guess.
        raise TypeError(f"{what}: give dim= (the axis the probabilities sum to 1 over)")
    return dim


def softmax(input, dim=None):
    """exp(x) / sum(exp(x)) along ``dim`` (required), stable for large logits."""
    return _t(input, "softmax").softmax(axis=_dim(dim, "softmax"))


def log_softmax(input, dim=None):
    """log(softmax(x)) along ``dim`` (required), computed as x - logsumexp(x)."""
    return _t(input, "log_softmax").log_softmax(axis=_dim(dim, "log_softmax"))


# ---------------------------------------------------------------------------------------------- losses
_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, what):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{what}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _class_targets(target, what):
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind == "f" and t.size and np.all(np.isfinite(t)) and np.all(t == np.round(t)):
        t = t.astype(np.intp)  # float Tensors holding whole numbers are class indices (Tensor() makes floats)
    elif t.dtype.kind == "f" and not t.size:
        t = t.astype(np.intp)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{what}: target must hold integer class indices, got dtype {t.dtype}")
    return t


def _classes_last(input, target, what):
    """(N*, C) scores and (N*,) targets from torch's layouts: (C,) with (), (N, C) with (N,), and
    (N, C, d1, ...) with (N, d1, ...); also the shape of the per-sample losses."""
    x = input
    if x.ndim == 0:
        raise ValueError(f"{what}: input must have a class dimension, got a 0-d tensor")
    if x.ndim == 1:
        if target.shape != ():
            raise ValueError(f"{what}: input of shape {x.shape} (one sample) needs a 0-d target, "
                             f"got shape {target.shape}")
        return x.reshape(1, -1), target.reshape(1), ()
    expected = (x.shape[0],) + x.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{what}: target of shape {target.shape} does not match input of shape {x.shape} "
                         f"(expected {expected}: the class dimension is dim 1, as in PyTorch)")
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1)
    return x.reshape(-1, input.shape[1]), target.reshape(-1), expected


def _check_classes(t, classes, ignore_index, what):
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"{what}: target {t[bad][0]} is not a class index in [0, {classes})")


def _picked_loss(logp, t, weight, ignore_index, reduction, label_smoothing, shape, what):
    """The negative log-likelihood of classes ``t`` under log-probabilities ``logp`` (M, C), reduced."""
    m, classes = logp.shape
    _check_classes(t, classes, ignore_index, what)
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    loss = _tensor_module.nll_loss(logp, safe, reduction="none")
    w = np.ones(m, logp.dtype) if weight is None else np.asarray(weight.data if isinstance(weight, Tensor)
                                                                 else weight, dtype=logp.dtype)
    if weight is not None:
        if w.shape != (classes,):
            raise ValueError(f"{what}: weight must have shape ({classes},), one per class, got {w.shape}")
        loss = loss * w[safe]
        w = w[safe]
    if label_smoothing:
        smooth = -logp.mean(axis=1)
        loss = loss * (1.0 - label_smoothing) + smooth * label_smoothing
    w = np.where(keep, w, 0.0).astype(logp.dtype)
    if not keep.all():
        loss = _tensor_module.where(keep, loss, 0.0)  # selects: an ignored sample's gradient is exactly 0
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    return total if reduction == "sum" else total / float(w.sum())


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """-log softmax(input)[target], as ``torch.nn.functional.cross_entropy`` with class indices.

    ``input`` is (N, C) with ``target`` (N,), one sample's (C,) with a 0-d target, or (N, C, d1, ...) with
    (N, d1, ...): the classes are dim 1. ``weight`` (C,) rescales each class (the mean divides by the
    weights of the targets, as PyTorch); targets equal to ``ignore_index`` count for nothing;
    ``label_smoothing`` mixes in the uniform distribution over classes.
    """
    what = "cross_entropy"
    _reduction(reduction, what)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if weight is not None and label_smoothing:
        raise NotImplementedError(f"{what}: weight= together with label_smoothing= is not supported yet")
    x = _t(input, what)
    t = _class_targets(target, what)
    flat, tflat, shape = _classes_last(x, t, what)
    return _picked_loss(flat.log_softmax(axis=1), tflat, weight, ignore_index, reduction, label_smoothing,
                        shape, what)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[target] for log-probabilities ``input``, as ``torch.nn.functional.nll_loss`` (layouts and
    options as ``cross_entropy``)."""
    what = "nll_loss"
    _reduction(reduction, what)
    x = _t(input, what)
    t = _class_targets(target, what)
    flat, tflat, shape = _classes_last(x, t, what)
    return _picked_loss(flat, tflat, weight, ignore_index, reduction, 0.0, shape, what)


def mse_loss(input, target, reduction="mean"):
    """(input - target) ** 2, averaged, summed or per element. The shapes must match: PyTorch broadcasts
    with a warning, which here would be a silently wrong number, so a mismatch raises naming both."""
    _reduction(reduction, "mse_loss")
    x = _t(input, "mse_loss")
    y = target if isinstance(target, Tensor) else _t(target, "mse_loss: target")
    if x.shape != y.shape:
        raise ValueError(f"mse_loss: target of shape {y.shape} does not match input of shape {x.shape}")
    d = x - y
    sq = d * d
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


# ---------------------------------------------------------------------------------------------- layers
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: ``weight`` is (out_features, in_features), as PyTorch's."""
    return _tensor_module.linear(input, weight, bias)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution, NCHW input and OIHW weight (see ``naivegrad.tensor.ops.conv.conv2d``)."""
    return _conv.conv2d(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _unsupported(what, **options):
    for name, (value, default) in options.items():
        if value != default:
            raise NotImplementedError(f"{what}: {name}={value!r} is not supported yet (only {default!r})")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows, as ``torch.nn.functional.max_pool2d`` (no dilation, ceil_mode or indices yet)."""
    _unsupported("max_pool2d", dilation=(dilation, 1), ceil_mode=(ceil_mode, False),
                 return_indices=(return_indices, False))
    return _conv.max_pool2d(input, kernel_size, stride=stride, padding=padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows, as ``torch.nn.functional.avg_pool2d`` (no ceil_mode or divisor_override yet)."""
    _unsupported("avg_pool2d", ceil_mode=(ceil_mode, False), divisor_override=(divisor_override, None))
    return _conv.avg_pool2d(input, kernel_size, stride=stride, padding=padding,
                            count_include_pad=count_include_pad)


def _indices(input, what):
    """Integer ids as an intp array: ints, int arrays, or Tensors (float Tensors holding whole numbers)."""
    ids = input.data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind == "f":
        if ids.size and not (np.all(np.isfinite(ids)) and np.all(ids == np.round(ids))):
            raise TypeError(f"{what}: indices must be whole numbers, got {ids.dtype} values such as "
                            f"{ids.reshape(-1)[0]!r}")
        ids = ids.astype(np.intp)
    elif ids.dtype.kind not in "iu":
        raise TypeError(f"{what}: indices must be integers, got dtype {ids.dtype}")
    return ids


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer ids in ``input`` (any shape): the result
    is ``input.shape + (dim,)``. Repeated ids accumulate their gradients; the row ``padding_idx`` gets none,
    as in PyTorch."""
    w = _t(weight, "embedding: weight")
    if w.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, embedding_dim), got shape {w.shape}")
    ids = _indices(input, "embedding")
    n = w.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= n):  # negative ids too: a bug upstream, as torch says
        bad = ids[(ids < 0) | (ids >= n)].reshape(-1)[0]
        raise IndexError(f"embedding: id {bad} is out of range for {n} embeddings (ids must be in 0..{n - 1})")
    out = w[ids]
    if padding_idx is not None:
        p = int(padding_idx) + (n if padding_idx < 0 else 0)
        if not 0 <= p < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings")
        mask = (ids == p)[..., None]
        if mask.any():
            # the padding row's value passes through; its gradient is exactly 0 (a selecting op, not * 0)
            out = _tensor_module.where(mask, out.detach(), out)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over the last ``len(normalized_shape)`` dims (biased variance, as PyTorch),
    then ``* weight + bias`` if given."""
    x = _t(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape or k > x.ndim:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} does not match the last dims of "
                         f"input shape {x.shape}")
    dims = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=dims, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=dims, keepdims=True)
    y = xc * (var + eps) ** -0.5
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(np.shape(p.data if isinstance(p, Tensor) else p)) != normalized_shape:
            raise ValueError(f"layer_norm: {name} of shape {np.shape(p.data if isinstance(p, Tensor) else p)} "
                             f"does not match normalized_shape {normalized_shape}")
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


_DROPOUT_RNG = []  # made on first use: numpy's Generator machinery is not worth loading on import


def dropout(input, p=0.5, training=True, generator=None):
    """Zeroes each element with probability ``p`` and scales the rest by 1 / (1 - p) when ``training``;
    the identity otherwise. ``generator``: a numpy Generator or an int seed, for reproducible masks."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be between 0 and 1, got {p!r}")
    x = _t(input, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    if generator is None:
        if not _DROPOUT_RNG:
            _DROPOUT_RNG.append(np.random.default_rng())
        rng = _DROPOUT_RNG[0]
    else:
        rng = _tensor_module._rng(generator)
    keep = rng.random(x.shape) >= p
    scale = np.where(keep, 1.0 / (1.0 - p), 0.0).astype(x.dtype)
    return x * scale


def one_hot(tensor, num_classes=-1):
    """(..., num_classes) rows of zeros with a 1 at each class index, as ``torch.nn.functional.one_hot``
    (``num_classes=-1``: one more than the largest index). An int64 Tensor without gradient."""
    ids = _indices(tensor, "one_hot")
    if ids.size and ids.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {ids.min()}")
    if num_classes == -1:
        if not ids.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; give num_classes=")
        num_classes = int(ids.max()) + 1
    elif ids.size and ids.max() >= num_classes:
        raise ValueError(f"one_hot: class index {ids.max()} is out of range for num_classes={num_classes}")
    out = (ids[..., None] == np.arange(num_classes)).astype(np.int64)
    return _tensor_module._make(out, False, None)


def pad(input, pad, mode="constant", value=None):
    """Pads (and, for negative amounts, crops) the last dims, as ``torch.nn.functional.pad``: ``pad`` lists
    (before, after) pairs starting from the LAST dim, e.g. ``(1, 1)`` pads the last dim by one on each side,
    ``(1, 1, 2, 0)`` also the second-to-last by two before."""
    _unsupported("pad", mode=(mode, "constant"))
    x = _t(input, "pad")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs pairs for at most {x.ndim} dims of input shape {x.shape}, got {pad}")
    for n in pad:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"pad: amounts must be ints, got {n!r} in {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for d, (lo, hi) in enumerate(widths):
        if x.shape[d] + lo + hi < 0:
            raise ValueError(f"pad: cropping {(lo, hi)} leaves a negative size in dim {d} of shape {x.shape}")
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if any(lo or hi for lo, hi in grow):
        x = x.pad(grow, value=0.0 if value is None else value)
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        x = x[tuple(slice(-lo if lo < 0 else 0, x.shape[d] + hi if hi < 0 else None)
                    for d, (lo, hi) in enumerate(widths))]
    return x
