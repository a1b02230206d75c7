"""Activations: pointwise ones with options (gelu, silu, softplus, leaky_relu, elu), and the normalising
ones along an axis, ``softmax`` and ``logsoftmax``, stable for large logits.

The pointwise ones are ``Unary`` ops (see ``elementwise.py``): a forward and one rule, ``local``, each a Tensor
method (``methods``) whose options are checked by ``options`` and passed to ``forward`` as keywords. Their values
and derivatives are the scalar engine's (the reference), PyTorch's conventions at the kinks and the thresholds
(leaky_relu'(0) = negative_slope, elu'(0) = alpha, softplus = x where beta x > threshold).

Both subtract the maximum along ``axis`` first, so logits of magnitude 1e3 and more (and -inf entries,
as from masking) give exact results instead of inf / inf. ``x`` of any shape; ``axis`` defaults to the last.
Forward mode uses the saved output only, as backward does: softmax's Jacobian is symmetric, so one product
(``_softmax_times``) serves both modes; logsoftmax's is not (I minus a row of softmax weights), so its tangent
is t minus the softmax-weighted mean of t and its gradient is g minus softmax times the sum of g.
"""

import math

import numpy as np

from ...op_options import gelu_approximate, number as _number
from ..function import Function
from ..shapes import normalize_axis
from ..tensor import Tensor
from ._tangents import fit
from ._rules import value
from .elementwise import Unary, _erfc, _sigmoid

__all__ = ["Gelu", "Silu", "Softplus", "LeakyRelu", "Elu", "Softmax", "LogSoftmax"]

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_SCALE = 2.0 * math.sqrt(2.0 / math.pi)  # (1 + tanh(u)) / 2 = sigmoid(2u), u = sqrt(2/pi) (x + c x**3)
_GELU_TANH_CUBIC = 0.044715


# ---------------------------------------------------------------------------------------------- pointwise
class Gelu(Unary):
    """x Phi(x), Phi the standard normal distribution function (erfc(-x / sqrt 2) / 2, exact in the left tail);
    with ``approximate="tanh"`` x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2, computed as x sigmoid(2u).
    As PyTorch's ``gelu``: gelu(-inf) = nan, and the derivative is nan at ±inf (inf * 0)."""

    methods = ("gelu",)

    @staticmethod
    def options(approximate="none"):
        return {"approximate": gelu_approximate(approximate)}

    @staticmethod
    def forward(ctx, x, approximate="none"):
        out = x * _gelu_weight(x, approximate)[0]
        ctx.save_for_backward(x, approximate, out)
        return out

    @staticmethod
    def local(x, approximate, out):
        # The weight is computed again from x (not saved): on the create_graph path it must be in the graph.
        w, z = _gelu_weight(x, approximate)
        if z is None:  # Phi(x) + x phi(x)
            return w + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
        # s(2u) + x s(2u) s(-2u) d(2u)/dx
        return w + x * (w * _sigmoid(-z)) * (_GELU_TANH_SCALE * (1.0 + 3.0 * _GELU_TANH_CUBIC * x * x))


def _gelu_weight(x, approximate):
    """(w, z): gelu(x) = x w, w = Phi(x) (z None), or sigmoid(z) with z = 2 sqrt(2/pi) (x + 0.044715 x**3)."""
    if approximate == "none":
        return 0.5 * _erfc(-x * _SQRT1_2), None
    z = _GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x * x * x)
    return _sigmoid(z), z


class Silu(Unary):
    """x sigmoid(x) (swish); derivative sigmoid(x) (1 + x sigmoid(-x))."""

    methods = ("silu",)

    @staticmethod
    def forward(ctx, x):
        out = x * _sigmoid(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def local(x, out):
        return _sigmoid(x) * (1.0 + x * _sigmoid(-x))


class Softplus(Unary):
    """log(1 + e**(beta x)) / beta, and x itself where beta x > threshold (PyTorch's ``softplus``, defaults
    beta=1, threshold=20); derivative sigmoid(beta x), and 1 above the threshold."""

    methods = ("softplus",)

    @staticmethod
    def options(beta=1.0, threshold=20.0):
        return {"beta": _number(beta, "beta", "softplus"), "threshold": _number(threshold, "threshold", "softplus")}

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        bx = x * beta
        out = np.where(bx > threshold, x, np.log1p(np.exp(bx)) / beta)
        ctx.save_for_backward(x, (beta, threshold), out)  # the options: constants
        return out

    @staticmethod
    def local(x, options, out):
        beta, threshold = options
        bx = x * beta
        return np.where(value(bx) > threshold, 1.0, _sigmoid(bx))


class LeakyRelu(Unary):
    """x where x > 0, else ``negative_slope`` (default 0.01) times x; derivative 1 above 0 and the slope at 0,
    below and at nan (PyTorch's). It multiplies the gradient (a slope of 0 gives 0 * inf = nan, as PyTorch)."""

    methods = ("leaky_relu",)

    @staticmethod
    def options(negative_slope=0.01):
        return {"negative_slope": _number(negative_slope, "negative_slope", "leaky_relu")}

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        out = np.where(x > 0, x, x * negative_slope)
        ctx.save_for_backward(x, negative_slope, out)
        return out

    @staticmethod
    def local(x, negative_slope, out):
        return np.where(x > 0, np.ones((), x.dtype), np.asarray(negative_slope, x.dtype))


class Elu(Unary):
    """x where x > 0, else alpha (e**x - 1) (default alpha=1); derivative 1 above 0 (and at nan), alpha e**x at
    0 and below: elu'(0) = alpha, as PyTorch."""

    methods = ("elu",)

    @staticmethod
    def options(alpha=1.0):
        return {"alpha": _number(alpha, "alpha", "elu")}

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        out = np.where(x > 0, x, alpha * np.expm1(x))
        ctx.save_for_backward(x, alpha, out)
        return out

    @staticmethod
    def local(x, alpha, out):
        return np.where(x <= 0, alpha * np.exp(x), 1.0)


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def gelu(x, approximate="none"):
    """``torch.nn.functional.gelu``: ``x.gelu(approximate)`` for a Tensor (or what ``Tensor()`` takes)."""
    return _tensor(x).gelu(approximate)


def silu(x):
    """``torch.nn.functional.silu``: ``x.silu()``."""
    return _tensor(x).silu()


def softplus(x, beta=1.0, threshold=20.0):
    """``torch.nn.functional.softplus``: ``x.softplus(beta, threshold)``."""
    return _tensor(x).softplus(beta, threshold)


def leaky_relu(x, negative_slope=0.01):
    """``torch.nn.functional.leaky_relu``: ``x.leaky_relu(negative_slope)``."""
    return _tensor(x).leaky_relu(negative_slope)


def elu(x, alpha=1.0):
    """``torch.nn.functional.elu``: ``x.elu(alpha)``."""
    return _tensor(x).elu(alpha)


# ---------------------------------------------------------------------------------------------- along an axis


def _reduce(ufunc, x, axis):
    """``ufunc.reduce(x, axis, keepdims=True)`` (np.maximum or np.add), quick for a short last axis too.

    numpy reduces a short innermost axis row by row: the max over 10 classes of a (128, 10) batch costs
    ~10 us. Reducing the outer axis of the transposed copy is one vectorised pass per class, ~1 us.
    """
    k = x.shape[axis]
    if type(x) is np.ndarray and axis == x.ndim - 1 and 1 < k <= 64 and x.size >= 16 * k:
        columns = np.ascontiguousarray(x.reshape(-1, k).T)
        return ufunc.reduce(columns, axis=0).reshape(x.shape[:-1] + (1,))
    return ufunc.reduce(x, axis=axis, keepdims=True)


def _shifted(x, axis):
    """x minus its maximum along ``axis``, so that exp never overflows. As in PyTorch, a row whose maximum
    is infinite gives nan (inf - inf); -inf entries below a finite maximum give exp(-inf) = 0."""
    if x.shape[axis] == 0:
        return x
    return x - _reduce(np.maximum, x, axis)


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``axis``."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "softmax")
        e = np.exp(_shifted(x, axis))
        out = e / _reduce(np.add, e, axis)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return _softmax_times(ctx, g)

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        if t is None:
            return np.zeros(out.shape, out.dtype)
        return fit(_softmax_times(ctx, t), out.shape, out.dtype)


def _softmax_times(ctx, v):
    """J v for softmax's Jacobian J = diag(s) - s s^T along the axis, which is symmetric: so also J^T v, the
    gradient when v is the output's gradient, and the output's tangent when v is the input's."""
    (s,) = ctx.saved_tensors
    return s * (v - _reduce(np.add, v * s, ctx.axis))


class LogSoftmax(Function):
    """x - logsumexp(x) along ``axis``: log-probabilities."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        axis = normalize_axis(axis, x.ndim, x.shape, "logsoftmax")
        s = _shifted(x, axis)
        out = s - np.log(_reduce(np.add, np.exp(s), axis))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * _reduce(np.add, g, ctx.axis)

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        if t is None:
            return np.zeros(out.shape, out.dtype)
        return fit(t - _reduce(np.add, np.exp(out) * t, ctx.axis), out.shape, out.dtype)
