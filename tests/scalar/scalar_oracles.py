"""Independent oracles for the scalar engine's tests: numpy float64 closed forms, finite differences, helpers.

Every op is described once, here or in its op-table entry (``Op.closed_form``, the same fields: its value and
derivatives in numpy, the domain where it is smooth, a bound on its third derivative there), and the test files
loop over these tables. How an op is applied to Values is the op table's reference (``tests/harness``,
``Op.value_reference``): these closed forms check that very oracle.
The closed forms are written from the mathematics in numpy, not copied from the engine, so an engine bug
shows up as a disagreement. Where the derivative at a point is a convention rather than mathematics
(relu'(0), abs'(0), d/dx x**0 at 0, d/db a**b at a == 0) the convention is PyTorch's, stated in the issue.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st

from naivegrad.scalar import Value

import harness

EPS = float(np.finfo(np.float64).eps)
INF, NAN = math.inf, math.nan
LARGEST_ODD = 2.0**53 - 1  # the largest odd integer a float holds: pow's sign rule at huge exponents

# Points where IEEE-754 rules decide the answer: signed zeros, infinities, nan, subnormals, overflow edges.
SPECIALS = [
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, -8.0, 1 / 3, 0.1, -2.5,
    5e-324, -5e-324, 1e-300, -1e-300, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308,
    709.78, 710.0, -745.2, -746.0, 40.0, -40.0, 1e16, LARGEST_ODD, -LARGEST_ODD, INF, -INF, NAN,
]

any_float = st.one_of(st.floats(), st.sampled_from(SPECIALS))
# A plain-number operand: a float (any, including inf/nan) or a Python int small enough to become a float.
any_number = st.one_of(any_float, st.integers(-(10**6), 10**6))


def as_array(x):
    """x as a one-element float64 array. Closed forms run on arrays, not numpy scalars: a numpy scalar's
    ``power`` takes a sqrt shortcut for exponent 0.5 ((-0.0) ** 0.5 = -0.0, (-inf) ** 0.5 = nan) where the
    array ufunc, C99's pow and the engine give +0.0 and inf."""
    return np.array([x], dtype=np.float64)


def first(a):
    return np.asarray(a, dtype=np.float64).reshape(-1)[0]


# ---------------------------------------------------------------------------------------------- comparing
def ulp(x):
    return float(np.spacing(abs(np.float64(x)))) if math.isfinite(x) else 0.0


def close(got, want, ulps=0.0, atol=0.0):
    """got == want up to ``ulps`` units in the last place (plus ``atol``); nan matches nan, inf only itself."""
    want = float(want)
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if got == want:
        return True
    if math.isinf(want) or math.isinf(got):
        return False
    return abs(got - want) <= ulps * max(ulp(want), ulp(got)) + atol


def assert_close(got, want, ulps=0.0, atol=0.0, what=""):
    assert type(got) is float, f"{what}: {got!r} is a {type(got).__name__}, not a float"
    assert close(got, want, ulps, atol), f"{what}: got {got!r}, want {float(want)!r} (ulps={ulps}, atol={atol})"


def same_sign_of_zero(got, want):
    return not (got == 0.0 and want == 0.0) or math.copysign(1.0, got) == math.copysign(1.0, float(want))


def _reference(name, form=None):
    """How the op table applies op ``name`` to single Values: its reference, or its value form ``form``."""
    op = harness.get(name)
    return op.value_forms[form] if form else op.value_reference


# ---------------------------------------------------------------------------------------------- unary ops
@dataclass
class Unary:
    name: str
    apply: Callable  # Value -> Value
    value: Callable  # float64 array -> array, the closed form
    deriv: Callable  # float64 array -> array, the closed-form derivative
    domain: st.SearchStrategy  # points where the op is smooth (for finite differences)
    third: Callable  # bound on |f'''| over [lo, hi], for the finite-difference tolerance
    ulps: float = 0.0  # allowed value difference: 0 for correctly rounded IEEE ops, a few for libm functions
    dulps: float = 4.0  # allowed derivative difference in ulps
    datol: float = 0.0  # allowed absolute derivative difference (1 - out**2 style cancellation)
    sign_of_zero: bool = True  # whether the sign of a zero result is specified
    nan_deriv: bool = True  # whether the derivative at nan is specified (not for sub-gradient conventions)
    torch: Optional[Callable] = None  # the op on torch tensors, where ``apply`` is not a torch.Tensor method (gelu)
    torch_atol: float = 0.0  # absolute slack against torch, where torch's formula cancels (gelu's 1 + erf)


def _sigmoid(x):
    # sigmoid(|x|) = exp(-log(1 + e^-|x|)) via logaddexp: no overflow, and the log is small, so accurate.
    # For x < 0, sigmoid(x) = e^x sigmoid(-x): exp of the exact x, not of a rounded large logaddexp.
    pos = np.exp(-np.logaddexp(0.0, -np.abs(x)))
    return np.where(x >= 0.0, pos, np.exp(np.minimum(x, 0.0)) * pos)


def finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo, hi):
    """Floats with lo <= |x| <= hi, either sign."""
    return st.builds(lambda m, s: m if s else -m, finite(lo, hi), st.booleans())


UNARY = [
    Unary("neg", _reference("neg"), lambda x: -x, lambda x: -np.ones_like(x), finite(-1e6, 1e6), lambda lo, hi: 0.0),
    Unary("abs", _reference("abs", "__abs__"), np.abs, np.sign, away_from_zero(1e-3, 1e6), lambda lo, hi: 0.0,
          nan_deriv=False),
    Unary("abs_method", _reference("abs", "abs"), np.abs, np.sign, away_from_zero(1e-3, 1e6), lambda lo, hi: 0.0,
          nan_deriv=False),
    Unary("exp", _reference("exp"), np.exp, np.exp, finite(-30, 30), lambda lo, hi: math.exp(hi),
          ulps=2, dulps=2),
    Unary("log", _reference("log"), np.log, lambda x: 1.0 / x, finite(0.05, 1e3),
          lambda lo, hi: 2 / lo**3, ulps=2),
    Unary("sqrt", _reference("sqrt"), np.sqrt, lambda x: 0.5 / np.sqrt(x), finite(0.05, 1e3),
          lambda lo, hi: 0.375 * lo**-2.5),
    Unary("tanh", _reference("tanh"), np.tanh, lambda x: 1.0 - np.tanh(x) ** 2, finite(-20, 20),
          lambda lo, hi: 2.0, ulps=4, datol=4 * EPS),
    Unary("sigmoid", _reference("sigmoid"), _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x), finite(-20, 20),
          lambda lo, hi: 0.125, ulps=4, datol=4 * EPS),
    Unary("relu", _reference("relu"), lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(np.float64),
          away_from_zero(1e-3, 1e6), lambda lo, hi: 0.0, sign_of_zero=False, nan_deriv=False),
    Unary("sin", _reference("sin"), np.sin, np.cos, finite(-100, 100), lambda lo, hi: 1.0, ulps=2, dulps=2),
    Unary("cos", _reference("cos"), np.cos, lambda x: -np.sin(x), finite(-100, 100), lambda lo, hi: 1.0,
          ulps=2, dulps=2),
]


# ---------------------------------------------------------------------------------------------- binary ops
def _pow_da(a, b):
    # d/da a**b = b a**(b-1); PyTorch takes 0 when b == 0 (not 0 * inf at a == 0).
    return np.where(b == 0.0, 0.0, b * np.power(a, b - 1.0))


def _pow_db(a, b):
    # d/db a**b = a**b ln a; PyTorch takes 0 at a == 0, b >= 0 (the limit from a > 0).
    return np.where((a == 0.0) & (b >= 0.0), 0.0, np.power(a, b) * np.log(a))


@dataclass
class Binary:
    name: str
    apply: Callable  # (Value|number, Value|number) -> Value
    value: Callable  # (a, b) -> closed form
    da: Callable
    db: Callable
    domain_a: st.SearchStrategy
    domain_b: st.SearchStrategy
    third_a: Callable  # (a_lo, a_hi, b) -> bound on |d^3 f / da^3|
    third_b: Callable  # (a, b_lo, b_hi) -> bound on |d^3 f / db^3|
    ulps: float = 0.0
    dulps: float = 4.0


BINARY = [
    Binary("add", _reference("add"), lambda a, b: a + b, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b),
           finite(-1e6, 1e6), finite(-1e6, 1e6), lambda *_: 0.0, lambda *_: 0.0),
    Binary("sub", _reference("sub"), lambda a, b: a - b, lambda a, b: np.ones_like(a), lambda a, b: -np.ones_like(b),
           finite(-1e6, 1e6), finite(-1e6, 1e6), lambda *_: 0.0, lambda *_: 0.0),
    Binary("mul", _reference("mul"), lambda a, b: a * b, lambda a, b: b, lambda a, b: a,
           finite(-1e6, 1e6), finite(-1e6, 1e6), lambda *_: 0.0, lambda *_: 0.0),
    # d/db (a / b) = -a / b**2, written -(a / b) / b (PyTorch's rounding: b**2 would overflow first).
    Binary("div", _reference("div"), lambda a, b: a / b, lambda a, b: 1.0 / b, lambda a, b: -(a / b) / b,
           finite(-100, 100), away_from_zero(0.1, 100), lambda *_: 0.0,
           lambda a, lo, hi: 6 * abs(a) / min(abs(lo), abs(hi)) ** 4),
    Binary("pow", _reference("pow"), np.power, _pow_da, _pow_db, finite(0.1, 10), finite(-4, 4),
           lambda lo, hi, b: abs(b * (b - 1) * (b - 2)) * max(lo ** (b - 3), hi ** (b - 3)),
           lambda a, lo, hi: max(a**lo, a**hi) * abs(math.log(a)) ** 3, ulps=1, dulps=4),
]



def _closed_forms_from_the_table(kind, arity):
    """The ops whose closed form is written in their op-table entry (``Op.closed_form``): the same fields as
    above, a ``(lo, hi)`` pair for each domain. A new op needs no line in this file."""
    out = []
    for op in harness.OPS:
        if op.closed_form is not None and op.arity == arity:
            fields = {k: (finite(*v) if k.startswith("domain") else v) for k, v in op.closed_form.items()}
            if kind is Unary:
                fields.setdefault("torch", op.torch)
            out.append(kind(op.name, op.value_reference, **fields))
    return out


UNARY += _closed_forms_from_the_table(Unary, 1)
BINARY += _closed_forms_from_the_table(Binary, 2)

# Operand forms: both Values, Value on the left with a number on the right, number on the left.
FORMS = ["value_value", "value_number", "number_value"]


def run_binary(op, a, b, form):
    """Apply ``op`` in ``form``; returns (out, grad wrt a or None, grad wrt b or None) after backward()."""
    va = Value(a) if form in ("value_value", "value_number") else a
    vb = Value(b) if form in ("value_value", "number_value") else b
    out = op.apply(va, vb)
    assert type(out) is Value, f"{op.name} {form} gave {type(out).__name__}"
    out.backward()
    return (out, va.grad if type(va) is Value else None, vb.grad if type(vb) is Value else None)


# ---------------------------------------------------------------------------------------------- finite differences
def central_difference(f, x, third):
    """(f(x + h) - f(x - h)) / 2h and a bound on its error.

    h = eps**(1/3) * max(1, |x|) balances the two errors: rounding, at most a few ulps of f at each end
    divided by 2h (ulps, not eps * |f|, so that subnormal values count right), and truncation,
    h**2 / 6 * max |f'''| on [x - h, x + h] (Taylor's remainder).
    """
    h = EPS ** (1 / 3) * max(1.0, abs(x))
    xp, xm = x + h, x - h
    fp, fm = f(xp), f(xm)
    width = xp - xm  # the step actually taken, after rounding x +- h
    estimate = (fp - fm) / width
    rounding = 8 * (ulp(fp) + ulp(fm)) / width
    truncation = (width / 2) ** 2 / 6 * third(xm, xp)
    return estimate, 2 * (rounding + truncation) + 4 * ulp(estimate)
