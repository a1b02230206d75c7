"""Elementwise ops with numpy broadcasting: the scalar engine's set, plus maximum, minimum, clip and where.

Derivatives equal the scalar engine's local derivatives (the reference), written in the same form so
that the two engines agree to the last bit where they can: relu'(0) = 0, abs'(0) = 0, d/dx x**0 = 0,
d/db a**b = 0 where a == 0 and b >= 0. Every gradient of a broadcast operand goes through ``unbroadcast``.
A positional operand may be a Python float (a constant: ``t * 2.0``), which gets no gradient.

Forward mode (``jvp``) multiplies the same local derivatives by the operands' tangents and adds the terms,
as the scalar engine does; a broadcast operand's tangent broadcasts forward with it (nothing to undo).
"""

import numpy as np

from ..function import Function
from ..shapes import unbroadcast
from ._tangents import as_array, fit

__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Relu",
           "Sin", "Cos", "Maximum", "Minimum", "Clip", "Where"]

_ndarray = np.ndarray


def _shape(x):
    return x.shape if type(x) is _ndarray else np.shape(x)


class Add(Function):
    """a + b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape if type(a) is _ndarray else np.shape(a),
                      b.shape if type(b) is _ndarray else np.shape(b))
        ctx.out = out = np.add(a, b)  # its shape and dtype, for a tangent that must broadcast or widen
        return out

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)

    @staticmethod
    def jvp(ctx, ta, tb):
        return _plus(ta, tb, ctx.out)


def _plus(ta, tb, out):
    """ta + tb as the output's tangent: a lone tangent is spread over the output's shape and dtype."""
    if ta is None:
        return np.zeros(out.shape, out.dtype) if tb is None else fit(tb, out.shape, out.dtype)
    return fit(ta if tb is None else ta + tb, out.shape, out.dtype)


class Sub(Function):
    """a - b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.out = out = np.subtract(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)

    @staticmethod
    def jvp(ctx, ta, tb):
        if tb is None:
            return _plus(ta, None, ctx.out)
        return _plus(None, -tb, ctx.out) if ta is None else fit(ta - tb, ctx.out.shape, ctx.out.dtype)


class Mul(Function):
    """a * b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        return (unbroadcast(b * g, _shape(a)) if na else None, unbroadcast(a * g, _shape(b)) if nb else None)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return _terms(None if ta is None else ta * b, None if tb is None else a * tb, a, b)


def _terms(p, q, a, b):
    """p + q, the two operands' contributions to the output's tangent (None: a zero one), as an array.

    Each term already has the output's shape and dtype (a local derivative broadcast against a tangent),
    so only the case where both are zero has to work them out, from the operands a and b."""
    if p is None:
        if q is None:
            return np.zeros(np.broadcast_shapes(_shape(a), _shape(b)), np.result_type(a, b))
        return as_array(q)
    return as_array(p if q is None else p + q)


class Div(Function):
    """a / b, with IEEE results for a zero divisor (±inf, or nan for 0/0)."""

    @staticmethod
    def forward(ctx, a, b):
        q = np.true_divide(a, b)
        ctx.save_for_backward(a, b, q)
        return q

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b, q = ctx.saved_tensors
        # As the scalar engine: d/da = 1/b, d/db = -(q/b), each times g.
        ga = unbroadcast(_recip(b) * g, _shape(a)) if na else None
        gb = unbroadcast(-(q / b) * g, _shape(b)) if nb else None
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b, q = ctx.saved_tensors
        return _terms(None if ta is None else _recip(b) * ta, None if tb is None else -(q / b) * tb, a, b)


def _recip(b):
    """1 / b with IEEE results; a Python float stays one (a numpy float64 scalar would upcast float32)."""
    r = np.true_divide(1.0, b)
    return r if type(r) is np.ndarray else float(r)


def _dpow(a, b):
    """d/da a**b: b * a**(b - 1), taken as 0 where b == 0 (PyTorch's convention, as the scalar engine)."""
    if np.ndim(b) == 0:
        return np.zeros_like(a) if b == 0 else b * np.power(a, b - 1)
    return np.where(b == 0, 0.0, b * np.power(a, b - 1))


class Pow(Function):
    """a ** b (real results: nan where the real power does not exist, ±inf on overflow)."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        a, b, out = ctx.saved_tensors
        ga = unbroadcast(_dpow(a, b) * g, _shape(a)) if na else None
        gb = None
        if nb:
            gb = unbroadcast(_dpow_exponent(a, b, out) * g, _shape(b))
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b, out = ctx.saved_tensors
        return _terms(None if ta is None else _dpow(a, b) * ta,
                      None if tb is None else _dpow_exponent(a, b, out) * tb, a, b)


def _dpow_exponent(a, b, out):
    """d/db a**b: a**b ln a, taken as 0 where a == 0 and b >= 0 (the limit from a > 0), as PyTorch."""
    return np.where((a == 0) & (b >= 0), 0.0, out * np.log(a)).astype(out.dtype, copy=False)


class Neg(Function):
    """-x."""

    @staticmethod
    def forward(ctx, x):
        ctx.out = out = np.negative(x)  # only for its shape and dtype, should jvp get no tangent
        return out

    @staticmethod
    def backward(ctx, g):
        return -g

    @staticmethod
    def jvp(ctx, t):
        return _zero(ctx.out) if t is None else as_array(-t)


class Abs(Function):
    """|x|, with abs'(0) = 0 (and 0 at nan, as the scalar engine)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _sign(x, g.dtype) * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return _zero(x) if t is None else _like(_sign(x, t.dtype) * t, x)


def _sign(x, dtype):
    """abs'(x): 1 above 0, -1 below, 0 at 0 and at nan."""
    sign = (x > 0).astype(dtype)
    sign -= x < 0
    return sign


def _zero(like):
    """The tangent of an output like ``like`` when every input's tangent is zero (None)."""
    return np.zeros(like.shape, like.dtype)


def _like(t, like):
    """The tangent ``t`` as an array of the shape and dtype of ``like`` (the output, or an input of the same
    shape and dtype)."""
    return fit(t, like.shape, like.dtype)


class Exp(Function):
    """e ** x."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * g

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        return _zero(out) if t is None else _like(out * t, out)


class Log(Function):
    """Natural log: log(0) = -inf, log(x < 0) = nan."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return np.true_divide(1.0, x) * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return _zero(x) if t is None else _like(np.true_divide(1.0, x) * t, x)


class Sqrt(Function):
    """Square root (nan below 0); its derivative 0.5 / sqrt(x) is inf at 0."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return np.true_divide(0.5, out) * g

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        return _zero(out) if t is None else _like(np.true_divide(0.5, out) * t, out)


class Tanh(Function):
    """Hyperbolic tangent; derivative 1 - tanh(x)**2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (1.0 - out * out) * g

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        return _zero(out) if t is None else _like((1.0 - out * out) * t, out)


class Sigmoid(Function):
    """1 / (1 + e**-x), two-branched so that exp never overflows; derivative s * (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))  # e**x for x < 0 and e**-x for x >= 0: never above 1
        out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (out * (1.0 - out)) * g

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        return _zero(out) if t is None else _like((out * (1.0 - out)) * t, out)


class Relu(Function):
    """max(x, 0), nan kept; relu'(0) = 0."""

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        # out > 0 exactly where x > 0 (nan compares False in both): the scalar engine's local derivative.
        return g * (out > 0)

    @staticmethod
    def jvp(ctx, t):
        (out,) = ctx.saved_tensors
        return _zero(out) if t is None else _like(t * (out > 0), out)


class Sin(Function):
    """Sine; derivative cos(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return np.cos(x) * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return _zero(x) if t is None else _like(np.cos(x) * t, x)


class Cos(Function):
    """Cosine; derivative -sin(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -np.sin(x) * g

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return _zero(x) if t is None else _like(-np.sin(x) * t, x)


class Maximum(Function):
    """Elementwise max(a, b), nan propagated. Gradient: to the larger operand; on a tie each operand gets
    half (PyTorch's convention for ``torch.maximum``)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _tie_split(ctx, g, a, b, np.less, np.greater)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return _tie_tangent(ta, tb, a, b, np.less, np.greater)


class Minimum(Function):
    """Elementwise min(a, b), nan propagated. Gradient: to the smaller operand; on a tie each operand gets
    half (PyTorch's convention for ``torch.minimum``)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _tie_split(ctx, g, a, b, np.greater, np.less)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return _tie_tangent(ta, tb, a, b, np.greater, np.less)


def _tie_split(ctx, g, a, b, a_loses, b_loses):
    na, nb = ctx.needs_input_grad
    tie = np.equal(a, b)
    half = g * 0.5
    ga = gb = None
    if na:
        ga = unbroadcast(np.where(tie, half, np.where(a_loses(a, b), 0.0, g)).astype(g.dtype, copy=False),
                         _shape(a))
    if nb:
        gb = unbroadcast(np.where(tie, half, np.where(b_loses(a, b), 0.0, g)).astype(g.dtype, copy=False),
                         _shape(b))
    return ga, gb


def _tie_tangent(ta, tb, a, b, a_loses, b_loses):
    """Forward mode's side of ``_tie_split``: the winner's tangent, the mean of both tangents on a tie."""
    tie = np.equal(a, b)
    p = None if ta is None else np.where(tie, ta * 0.5, np.where(a_loses(a, b), 0.0, ta))
    q = None if tb is None else np.where(tie, tb * 0.5, np.where(b_loses(a, b), 0.0, tb))
    r = _terms(p, q, a, b)
    dtype = np.result_type(a, b)  # a lone float32 tangent against a float64 operand: widen it as the output
    return r if r.dtype == dtype else r.astype(dtype)


class Clip(Function):
    """x limited to [min, max] (keyword options; either may be None). Gradient 1 where
    min <= x <= max, bounds included, else 0 (PyTorch's ``clamp``)."""

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: give min, max or both (both are None)")
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        ctx.out = out = np.clip(x, min, max)  # its dtype may be wider than x's (numpy float64 bounds)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _inside(x, *ctx.bounds)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return _zero(ctx.out) if t is None else _like(t * _inside(x, *ctx.bounds), ctx.out)


def _inside(x, lo, hi):
    """Where clip lets x through, bounds included (nan never): clip's derivative, as a bool array."""
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return inside


class Where(Function):
    """``where(condition, a, b)``: a where condition is true, else b; condition (a bool array) gets no
    gradient, a gets the gradient where it was chosen and b elsewhere."""

    @staticmethod
    def forward(ctx, condition, a, b):
        c = np.asarray(condition)
        if c.dtype != bool:
            c = c != 0
        ctx.save_for_backward(c)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.out = out = np.where(c, a, b)  # its shape and dtype, for a lone tangent
        return out

    @staticmethod
    def backward(ctx, g):
        _, na, nb = ctx.needs_input_grad
        (c,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(c, g, zero), sa) if na else None
        gb = unbroadcast(np.where(c, zero, g), sb) if nb else None
        return None, ga, gb

    @staticmethod
    def jvp(ctx, tc, ta, tb):
        # The condition is piecewise constant: its tangent (were it a Tensor with one) contributes nothing.
        (c,) = ctx.saved_tensors
        out = ctx.out
        if ta is None and tb is None:
            return _zero(out)
        zero = np.zeros((), out.dtype)
        return _like(np.where(c, zero if ta is None else ta, zero if tb is None else tb), out)
