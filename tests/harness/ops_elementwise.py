"""Elementwise ops: the scalar engine's own (its Value forms are the reference) and the tensor engine's extras
(maximum, minimum, clip, where), whose references are scalar expressions (``scalar_ref``).

Binary ops draw broadcastable shapes; some cases pass one operand without ``requires_grad`` (a constant: the
scalar side then gets plain floats, which runs Value's folded-constant paths) or the same tensor twice
(``x * x``: gradients must add up). The ``*_const`` ops take a Python number on either side (``x + 2``,
``2 ** x``), the Value ``__r*__`` operators and the tensor engine's scalar paths.
"""

import math

import numpy as np

from naivegrad.tensor import elu as t_elu
from naivegrad.tensor import erf as t_erf
from naivegrad.tensor import gelu as t_gelu
from naivegrad.tensor import leaky_relu as t_leaky_relu
from naivegrad.tensor import maximum as t_maximum
from naivegrad.tensor import minimum as t_minimum
from naivegrad.tensor import silu as t_silu
from naivegrad.tensor import softplus as t_softplus
from naivegrad.tensor import where as t_where

from . import scalar_ref as ref
from .draw import broadcastable, shape
from .spec import Domain, Op

__all__ = ["OPS"]

REAL = Domain(-3.0, 3.0)
POSITIVE = Domain(0.05, 5.0, specials=(0.0, -1.0))     # log, sqrt: 0 -> -inf / 0, below 0 -> nan
KINK0 = Domain(-3.0, 3.0, kinks=(0.0,))
NONZERO = Domain(-3.0, 3.0, kinks=(0.0,), margin=0.25)  # divisors: a zero is a pole, visited by parity only
TIES = Domain(-3.0, 3.0, margin=0.01, step=1.0)  # parity: 7 grid values, ties galore


def _unary_shapes(draw):
    return (shape(draw),)


def _binary_shapes(draw):
    return broadcastable(draw, 2)


def _ties_smooth(arrays, params):
    a, b = np.broadcast_arrays(*arrays)
    return bool(np.all(np.abs(a - b) >= 0.005))


def _torch(name):
    def f(*xs, **params):
        import torch

        return getattr(torch, name)(*xs, **params)
    f.__name__ = f"torch.{name}"
    return f


def unary(name, value_forms, tensor_forms, domain=REAL, source=None, torch=None, function=None, **kw):
    return Op(name=name, arity=1, shapes=_unary_shapes, elementwise=True, domain=domain, exact=True,
              value_forms=value_forms, tensor_forms=tensor_forms, functions=(function or name,),
              torch=torch or _torch(name), source=source or "{0}.%s()" % name, **kw)


def _functional(name, **fixed):
    """``torch.nn.functional.<name>``, with options fixed (gelu's approximate) or passed on (the params)."""
    def f(x, **params):
        import torch.nn.functional as F

        return getattr(F, name)(x, **fixed, **params)
    f.__name__ = f"torch.nn.functional.{name}"
    return f


_EPS = 2.0 ** -52
_erf, _erfc = np.vectorize(math.erf, otypes=[np.float64]), np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid(x):
    """1 / (1 + e**-x) to the last ulp: sigmoid(|x|) through logaddexp (near 1: accurate), and for x < 0 e**x
    sigmoid(-x) (the exp of x itself, not of a rounded log)."""
    pos = np.exp(-np.logaddexp(0.0, -np.abs(x)))
    return np.where(x >= 0.0, pos, np.exp(np.minimum(x, 0.0)) * pos)


def _normal_cdf(x):
    return 0.5 * _erfc(-x * math.sqrt(0.5))  # erfc: exact in the left tail (1 + erf would cancel)


def _normal_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _gelu_tanh_arg(x):
    """2u, with (1 + tanh(u)) / 2 = sigmoid(2u): u = sqrt(2/pi) (x + 0.044715 x**3) (PyTorch's tanh gelu)."""
    return 2.0 * math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)


def _gelu_tanh_deriv(x):
    z = _gelu_tanh_arg(x)
    return _sigmoid(z) + x * _sigmoid(z) * _sigmoid(-z) * 2.0 * math.sqrt(2.0 / math.pi) * (1.0 + 3 * 0.044715 * x * x)


ELU = Domain(-3.0, 3.0, kinks=(0.0,), specials=(-40.0, -746.0), nonfinite=(math.inf, -math.inf))
_SLOPES = (0.01, 0.2, -0.5, 0.0, 2.0)
_ALPHAS = (1.0, 0.5, 2.0, -1.0, 0.0)
_BETAS = (1.0, 0.5, 2.0, -1.0)       # powers of two (and -1): beta x is exact in float32, so both engines and
_THRESHOLDS = (20.0, 1.0, 2.5)       # PyTorch take the same side of the threshold


def _option(name, values):
    def params(draw, shapes, mode):
        return {name: draw.sampled_from(values)}
    return params


def _softplus_params(draw, shapes, mode):
    return {"beta": draw.sampled_from(_BETAS), "threshold": draw.sampled_from(_THRESHOLDS)}


def _softplus_domain(params):
    # beta x > threshold switches to x itself: the value jumps a little (log1p(e**-t)) and the derivative to 1.
    return (Domain(-3.0, 3.0, kinks=(params["threshold"] / params["beta"],)),)


def binary(name, value_forms, tensor_forms, source, torch, domains=None, **kw):
    # One tensor as both operands (x * x) needs one domain for both.
    kw.setdefault("alias", domains is None)
    return Op(name=name, arity=2, shapes=_binary_shapes, elementwise=True, constants=True, domains=domains,
              value_forms=value_forms, tensor_forms=tensor_forms, functions=(name,), torch=torch, source=source,
              **kw)


OPS = [
    unary("neg", {"__neg__": lambda a: -a},
          {"__neg__": lambda a: -a, "neg": lambda a: a.neg()}, source="(-{0})", torch=lambda a: -a),
    unary("abs", {"__abs__": lambda a: abs(a), "abs": lambda a: a.abs()},
          {"__abs__": lambda a: abs(a), "abs": lambda a: a.abs()}, domain=KINK0),
    # Specials far out for exp, tanh and sigmoid: saturation, where out * (1 - out) or 1 - out**2 is tiny and
    # the ``exact`` comparison (relative to each element) shows a formula that loses it.
    unary("exp", {"exp": lambda a: a.exp()}, {"exp": lambda a: a.exp()},
          domain=Domain(-5.0, 5.0, specials=(-10.0, 10.0))),
    unary("log", {"log": lambda a: a.log()}, {"log": lambda a: a.log()}, domain=POSITIVE),
    # The pole at -1 (-inf, and nan below) and tiny x, where log(1 + x) would lose every digit: parity only.
    unary("log1p", {"log1p": lambda a: a.log1p()}, {"log1p": lambda a: a.log1p()},
          domain=Domain(-0.95, 5.0, specials=(-1.0, -2.0, 1e-20, -1e-300)),
          closed_form=dict(value=np.log1p, deriv=lambda x: 1.0 / (1.0 + x), domain=(-0.5, 1e3),
                           third=lambda lo, hi: 2.0 / (1.0 + lo) ** 3, ulps=2)),
    unary("sqrt", {"sqrt": lambda a: a.sqrt()}, {"sqrt": lambda a: a.sqrt()}, domain=POSITIVE),
    unary("tanh", {"tanh": lambda a: a.tanh()}, {"tanh": lambda a: a.tanh()},
          domain=Domain(-3.0, 3.0, specials=(-10.0, 10.0))),
    unary("sigmoid", {"sigmoid": lambda a: a.sigmoid()}, {"sigmoid": lambda a: a.sigmoid()},
          domain=Domain(-8.0, 8.0, specials=(-30.0, 30.0))),
    unary("relu", {"relu": lambda a: a.relu()}, {"relu": lambda a: a.relu()}, domain=KINK0),
    unary("sin", {"sin": lambda a: a.sin()}, {"sin": lambda a: a.sin()}, domain=Domain(-4.0, 4.0)),
    unary("cos", {"cos": lambda a: a.cos()}, {"cos": lambda a: a.cos()}, domain=Domain(-4.0, 4.0)),
    # Tiny x, where e**x - 1 would lose every digit; far left, out + 1 is 0 (the derivative, as PyTorch's); overflow.
    unary("expm1", {"expm1": lambda a: a.expm1()}, {"expm1": lambda a: a.expm1()},
          domain=Domain(-5.0, 5.0, specials=(1e-20, -1e-300, -40.0, 710.0)),
          closed_form=dict(value=np.expm1, deriv=np.exp, domain=(-30.0, 30.0), third=lambda lo, hi: math.exp(hi),
                           ulps=2, dulps=2, datol=_EPS)),
    unary("erf", {"erf": lambda a: a.erf()}, {"erf": lambda a: a.erf(), "tensor.erf": lambda a: t_erf(a)},
          domain=Domain(-3.0, 3.0, specials=(-10.0, 30.0, 1e-300)),
          closed_form=dict(value=_erf, deriv=lambda x: 2.0 / math.sqrt(math.pi) * np.exp(-x * x), domain=(-6.0, 6.0),
                           third=lambda lo, hi: 2.3, ulps=1, dulps=2)),
    # The left tail (erfc: gelu(-10) = -7.6e-23, where PyTorch's 1 + erf gives -0.0) and saturation; -inf gives
    # nan (-inf * 0) and the derivative at ±inf is nan, as in PyTorch.
    unary("gelu", {"gelu": lambda a: a.gelu()},
          {"gelu": lambda a: a.gelu(), "gelu#none": lambda a: a.gelu(approximate="none"),
           "tensor.gelu": lambda a: t_gelu(a)},
          domain=Domain(-4.0, 4.0, specials=(-10.0, -40.0, 30.0)), torch=_functional("gelu"),
          closed_form=dict(value=lambda x: x * _normal_cdf(x), deriv=lambda x: _normal_cdf(x) + x * _normal_pdf(x),
                           domain=(-10.0, 10.0), third=lambda lo, hi: 1.0, ulps=2, datol=4 * _EPS,
                           torch_atol=1e-15)),  # PyTorch's 1 + erf(x / sqrt 2) cancels for x < 0
    # x sigmoid(2u), not x (1 + tanh(u)) / 2, which is -0.0 below x = -5.5: the domain stays above, where the
    # two agree (PyTorch's derivative is 0 there, so an infinite gradient gives nan in PyTorch, inf here).
    unary("gelu_tanh", {"gelu#tanh": lambda a: a.gelu(approximate="tanh")},
          {"gelu#tanh": lambda a: a.gelu(approximate="tanh"), "gelu#tanh_positional": lambda a: a.gelu("tanh"),
           "tensor.gelu#tanh": lambda a: t_gelu(a, approximate="tanh")},
          domain=Domain(-4.0, 4.0, specials=(30.0, 1e10)), torch=_functional("gelu", approximate="tanh"),
          function="gelu", source="{0}.gelu(approximate='tanh')",
          closed_form=dict(value=lambda x: x * _sigmoid(_gelu_tanh_arg(x)), deriv=_gelu_tanh_deriv,
                           domain=(-5.0, 5.0), third=lambda lo, hi: 1.5, ulps=8, dulps=8, datol=4 * _EPS,
                           torch_atol=1e-15)),  # PyTorch's 1 + tanh(u) cancels for x < 0
    unary("silu", {"silu": lambda a: a.silu()}, {"silu": lambda a: a.silu(), "tensor.silu": lambda a: t_silu(a)},
          domain=Domain(-8.0, 8.0, specials=(-40.0, 40.0, -746.0)), torch=_functional("silu"),
          closed_form=dict(value=lambda x: x * _sigmoid(x), deriv=lambda x: _sigmoid(x) * (1.0 + x * _sigmoid(-x)),
                           domain=(-30.0, 30.0), third=lambda lo, hi: 0.6, ulps=2, datol=4 * _EPS)),
    # The threshold: x itself above 20 (its value jumps by log1p(e**-20), its derivative to 1).
    unary("softplus", {"softplus": lambda a: a.softplus()},
          {"softplus": lambda a: a.softplus(), "tensor.softplus": lambda a: t_softplus(a)},
          domain=Domain(-8.0, 8.0, kinks=(20.0,), specials=(20.0, 20.5, -40.0, -746.0)), torch=_functional("softplus"),
          closed_form=dict(value=lambda x: np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0)))),
                           deriv=lambda x: np.where(x > 20.0, 1.0, _sigmoid(x)), domain=(-30.0, 19.5),
                           third=lambda lo, hi: 0.1, ulps=2, datol=4 * _EPS)),
    unary("leaky_relu", {"leaky_relu": lambda a: a.leaky_relu()},
          {"leaky_relu": lambda a: a.leaky_relu(), "tensor.leaky_relu": lambda a: t_leaky_relu(a)},
          domain=KINK0, torch=_functional("leaky_relu"), function="leakyrelu",
          closed_form=dict(value=lambda x: np.where(x > 0.0, x, 0.01 * x),
                           deriv=lambda x: np.where(x > 0.0, 1.0, 0.01), domain=(-1e6, -1e-3),
                           third=lambda lo, hi: 0.0)),
    # No nan inputs: PyTorch's elu'(nan) is 1 (its formula, ours) on a few elements and nan on vectorised ones.
    unary("elu", {"elu": lambda a: a.elu()}, {"elu": lambda a: a.elu(), "tensor.elu": lambda a: t_elu(a)},
          domain=ELU, torch=_functional("elu"),
          closed_form=dict(value=lambda x: np.where(x > 0.0, x, np.expm1(x)),
                           deriv=lambda x: np.where(x <= 0.0, np.exp(x), 1.0), domain=(-30.0, -1e-3),
                           third=lambda lo, hi: 1.0, ulps=2, dulps=2)),
    # 0 is the pole (inf, -inf at -0.0; the derivative -out**3 / 2, as PyTorch), below it nan.
    unary("rsqrt", {"rsqrt": lambda a: a.rsqrt()}, {"rsqrt": lambda a: a.rsqrt()}, domain=POSITIVE,
          closed_form=dict(value=lambda x: 1.0 / np.sqrt(x), deriv=lambda x: -0.5 * (1.0 / np.sqrt(x)) ** 3,
                           domain=(0.05, 1e3), third=lambda lo, hi: 1.875 * lo ** -3.5, ulps=1)),
    unary("square", {"square": lambda a: a.square()}, {"square": lambda a: a.square()},
          domain=Domain(-3.0, 3.0, specials=(1e20, -1e-30)),
          closed_form=dict(value=lambda x: x * x, deriv=lambda x: 2.0 * x, domain=(-1e6, 1e6),
                           third=lambda lo, hi: 0.0)),
    unary("reciprocal", {"reciprocal": lambda a: a.reciprocal()}, {"reciprocal": lambda a: a.reciprocal()},
          domain=Domain(0.25, 3.0, specials=(0.0, -2.0, 1e-10, 1e30)),
          closed_form=dict(value=lambda x: 1.0 / x, deriv=lambda x: -(1.0 / x) ** 2, domain=(0.1, 100.0),
                           third=lambda lo, hi: 6.0 / lo ** 4)),
    # sign(nan) = 0 and sign(-0.0) = 0.0 (PyTorch's, not numpy's nan); its gradient is exactly 0, inf or nan.
    unary("sign", {"sign": lambda a: a.sign()}, {"sign": lambda a: a.sign()}, domain=KINK0,
          closed_form=dict(value=lambda x: np.where(np.isnan(x), 0.0, np.sign(x)) + 0.0,
                           deriv=lambda x: np.zeros_like(x), domain=(1e-3, 1e6), third=lambda lo, hi: 0.0)),

    binary("add", {"__add__": lambda a, b: a + b},
           {"__add__": lambda a, b: a + b, "add": lambda a, b: a.add(b), "__radd__": lambda a, b: b.__radd__(a)},
           "{0} + {1}", lambda a, b: a + b),
    binary("sub", {"__sub__": lambda a, b: a - b},
           {"__sub__": lambda a, b: a - b, "sub": lambda a, b: a.sub(b), "__rsub__": lambda a, b: b.__rsub__(a)},
           "{0} - {1}", lambda a, b: a - b),
    binary("mul", {"__mul__": lambda a, b: a * b},
           {"__mul__": lambda a, b: a * b, "mul": lambda a, b: a.mul(b), "__rmul__": lambda a, b: b.__rmul__(a)},
           "{0} * {1}", lambda a, b: a * b),
    binary("div", {"__truediv__": lambda a, b: a / b},
           {"__truediv__": lambda a, b: a / b, "div": lambda a, b: a.div(b),
            "__rtruediv__": lambda a, b: b.__rtruediv__(a)},
           "{0} / {1}", lambda a, b: a / b, domains=lambda p: (REAL, NONZERO)),
    binary("pow", {"__pow__": lambda a, b: a ** b},
           {"__pow__": lambda a, b: a ** b, "pow": lambda a, b: a.pow(b), "__rpow__": lambda a, b: b.__rpow__(a)},
           "{0} ** {1}", lambda a, b: a ** b,
           # a > 0 is smooth in both arguments; a == 0 runs the d/db = 0 convention (parity only).
           domains=lambda p: (Domain(0.1, 3.0, specials=(0.0,)), REAL)),
    # x.maximum(x) is a tie everywhere: half + half must give the whole gradient.
    binary("maximum", {}, {"maximum": lambda a, b: a.maximum(b), "tensor.maximum": lambda a, b: t_maximum(a, b)},
           "maximum({0}, {1})", _torch("maximum"), reference=ref.maximum, ties=True, domain=TIES,
           smooth=_ties_smooth),
    binary("minimum", {}, {"minimum": lambda a, b: a.minimum(b), "tensor.minimum": lambda a, b: t_minimum(a, b)},
           "minimum({0}, {1})", _torch("minimum"), reference=ref.minimum, ties=True, domain=TIES,
           smooth=_ties_smooth),
]


# ---------------------------------------------------------------------------------------------- options
# The activations with options, over a few values of them (their defaults are the entries above): the kinks and
# thresholds move with them, and PyTorch's conventions there (leaky_relu'(0) = slope, elu'(0) = alpha) follow.
OPS += [
    unary("leaky_relu_options", {"leaky_relu": lambda a, negative_slope: a.leaky_relu(negative_slope)},
          {"leaky_relu": lambda a, negative_slope: a.leaky_relu(negative_slope),
           "leaky_relu#keyword": lambda a, negative_slope: a.leaky_relu(negative_slope=negative_slope),
           "tensor.leaky_relu": lambda a, negative_slope: t_leaky_relu(a, negative_slope)},
          domain=KINK0, params=_option("negative_slope", _SLOPES), torch=_functional("leaky_relu"),
          function="leakyrelu", source="{0}.leaky_relu({negative_slope})"),
    unary("elu_options", {"elu": lambda a, alpha: a.elu(alpha)},
          {"elu": lambda a, alpha: a.elu(alpha), "elu#keyword": lambda a, alpha: a.elu(alpha=alpha),
           "tensor.elu": lambda a, alpha: t_elu(a, alpha)},
          domain=ELU, params=_option("alpha", _ALPHAS),
          torch=_functional("elu"), function="elu", source="{0}.elu({alpha})"),
    unary("softplus_options", {"softplus": lambda a, beta, threshold: a.softplus(beta, threshold)},
          {"softplus": lambda a, beta, threshold: a.softplus(beta, threshold),
           "softplus#keyword": lambda a, beta, threshold: a.softplus(threshold=threshold, beta=beta),
           "tensor.softplus": lambda a, beta, threshold: t_softplus(a, beta, threshold)},
          domains=_softplus_domain, params=_softplus_params, torch=_functional("softplus"), function="softplus",
          source="{0}.softplus({beta}, {threshold})"),
]


# ---------------------------------------------------------------------------------------------- constants
def _const_params(values, smooth_values=None):
    """A Python number (float, int or numpy float64: the last must not upcast float32 data)."""
    def params(draw, shapes, mode):
        c = draw.sampled_from(values if mode == "parity" or smooth_values is None else smooth_values)
        kind = draw.sampled_from(("float", "int", "np.float64") if float(c).is_integer() else ("float", "np.float64"))
        return {"c": int(c) if kind == "int" else np.float64(c) if kind == "np.float64" else float(c)}
    return params


_C = (-2.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.25)


def const(name, value_forms, tensor_forms, functions, source, torch, values=_C, smooth_values=None,
          domains=None):
    return Op(name=name, arity=1, shapes=_unary_shapes, elementwise=True, params=_const_params(values, smooth_values),
              domains=domains, value_forms=value_forms, tensor_forms=tensor_forms, functions=functions,
              source=source, torch=torch, exact=True)


def _pow_const_domain(params):
    n = float(params["c"])
    if n.is_integer():
        return (Domain(-3.0, 3.0, kinks=(0.0,) if n < 0 else (), specials=(0.0,)),)
    # A non-integer power of a negative number is nan. Not -inf either: x ** 0.5 at -inf is inf for C's pow
    # (the scalar engine), nan for numpy's and PyTorch's sqrt (and x ** -0.5 is nan for PyTorch's rsqrt).
    return (Domain(0.1, 3.0, specials=(0.0,), nonfinite=(math.inf, math.nan)),)


OPS += [
    const("add_const", {"__add__": lambda x, c: x + c, "__radd__": lambda x, c: c + x},
          {"__add__": lambda x, c: x + c, "__radd__": lambda x, c: c + x, "add#const": lambda x, c: x.add(c)},
          ("add",), "{0} + {c}", lambda x, c: x + c),
    const("sub_const", {"__sub__": lambda x, c: x - c},
          {"__sub__": lambda x, c: x - c, "sub#const": lambda x, c: x.sub(c)}, ("sub",), "{0} - {c}",
          lambda x, c: x - c),
    const("rsub_const", {"__rsub__": lambda x, c: c - x}, {"__rsub__": lambda x, c: c - x}, ("sub",),
          "{c} - {0}", lambda x, c: c - x),
    const("mul_const", {"__mul__": lambda x, c: x * c, "__rmul__": lambda x, c: c * x},
          {"__mul__": lambda x, c: x * c, "__rmul__": lambda x, c: c * x, "mul#const": lambda x, c: x.mul(c)},
          ("mul",), "{0} * {c}", lambda x, c: x * c),
    const("div_const", {"__truediv__": lambda x, c: x / c},
          {"__truediv__": lambda x, c: x / c, "div#const": lambda x, c: x.div(c)}, ("div",), "{0} / {c}",
          lambda x, c: x / c, smooth_values=(-2.5, -1.0, 0.5, 1.0, 2.0, 3.25)),
    const("rdiv_const", {"__rtruediv__": lambda x, c: c / x}, {"__rtruediv__": lambda x, c: c / x}, ("div",),
          "{c} / {0}", lambda x, c: c / x, domains=lambda p: (NONZERO,)),
    const("pow_const", {"__pow__": lambda x, c: x ** c},
          {"__pow__": lambda x, c: x ** c, "pow#const": lambda x, c: x.pow(c)}, ("pow",), "{0} ** {c}",
          lambda x, c: x ** c, values=(0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5),
          domains=_pow_const_domain),
    const("rpow_const", {"__rpow__": lambda x, c: c ** x}, {"__rpow__": lambda x, c: c ** x}, ("pow",),
          "{c} ** {0}", lambda x, c: c ** x, values=(0.0, 0.5, 2.0, 2.718281828459045, 3.0),
          smooth_values=(0.5, 2.0, 2.718281828459045, 3.0)),
]


def _torch_where(a, b, cond):
    import torch

    return torch.where(torch.from_numpy(cond), a, b)


# ---------------------------------------------------------------------------------------------- clip, where
def _clip_params(draw, shapes, mode):
    grid = REAL.grid()
    pick = (lambda: draw.sampled_from(grid)) if mode == "parity" else (lambda: draw.floats(-2.9, 2.9))
    lo = pick() if draw.booleans(0.75) else None
    hi = pick() if (lo is None or draw.booleans(0.66)) else None
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return {"lo": lo, "hi": hi}


def _clip_domain(params):
    # The bounds are where the derivative jumps: parity cases put values on them.
    return (Domain(-3.0, 3.0, kinks=tuple(b for b in (params["lo"], params["hi"]) if b is not None)),)


def _clip_smooth(arrays, params):
    (x,) = arrays
    return all(b is None or np.all(np.abs(x - b) >= 0.02) for b in (params["lo"], params["hi"]))


def _where_params(draw, shapes, mode):
    out = np.broadcast_shapes(*shapes)
    if draw.booleans(0.25):
        # The widest of the three: the condition broadcasts both operands (their gradients sum back).
        s = [draw.integers(1, 3) if n == 1 else n for n in out]
        if len(s) < 3 and draw.booleans():
            s = [draw.integers(2, 3)] + s
    else:
        s = list(out[len(out) - draw.integers(0, len(out)):])
        for i in range(len(s)):
            if draw.booleans(0.25):
                s[i] = 1
    cond = np.array([draw.booleans() for _ in range(int(np.prod(s)))], dtype=bool).reshape(s)
    return {"cond": cond}



OPS += [
    Op(name="clip", arity=1, shapes=_unary_shapes, elementwise=True, reference=ref.clip, params=_clip_params,
       smooth=_clip_smooth, domains=_clip_domain, exact=True,
       tensor_forms={"clip": lambda x, lo, hi: x.clip(lo, hi), "clamp": lambda x, lo, hi: x.clamp(min=lo, max=hi)},
       functions=("clip",), source="{0}.clip({lo}, {hi})",
       torch=lambda x, lo, hi: x.clamp(lo, hi),
       note="gradient 1 on the bounds themselves (PyTorch's clamp)"),
    Op(name="where", arity=2, shapes=_binary_shapes, params=_where_params, constants=True, alias=True,
       reference=lambda a, b, cond: np.where(cond, a, b),
       tensor_forms={"tensor.where": lambda a, b, cond: t_where(cond, a, b),
                     "where": lambda a, b, cond: a.where(cond, b),
                     "tensor.where#tensor_condition": lambda a, b, cond: t_where(
                         _as_tensor(cond.astype(np.float64)), a, b)},
       functions=("where",), source="where({cond}, {0}, {1})", torch=_torch_where),
]


def _as_tensor(x):
    from naivegrad.tensor import Tensor

    return Tensor(x, requires_grad=False)
