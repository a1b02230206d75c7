"""Shared cases for the functional-API tests: one entry per scalar op form, random programs, oracles.

Each ``Case`` builds one op node (its ``op`` name is what value.py records) from k Values, on a domain where
the op is smooth with modest derivatives, so that finite differences are a fair oracle. ``program`` draws
random straight-line programs over all ops (composed so as to stay smooth everywhere) that run alike on
Values, on torch tensors and on naivegrad Tensors.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np
from hypothesis import strategies as st

import naivegrad.scalar as S
from naivegrad.scalar import Value


@dataclass
class Case:
    name: str  # a unique id
    op: str  # the op name the node records
    fn: Callable  # fn(*Values) -> Value (one node of op ``op`` on top)
    domain: Tuple[Tuple[float, float], ...]  # per operand: a smooth interval
    torch_fn: Optional[Callable] = None  # the same on torch tensors (default: fn itself)


def _vsum(xs, start=0.0):
    return S.sum(xs, start)


C = Case
P = ((-3.0, 3.0),)
POS = ((0.3, 3.0),)
CASES = [
    C("add", "+", lambda a, b: a + b, P * 2),
    C("add_const", "+", lambda a: a + 1.5, P),
    C("radd_const", "+", lambda a: 1.5 + a, P),
    C("sub", "-", lambda a, b: a - b, P * 2),
    C("sub_const", "-", lambda a: a - 0.7, P),
    C("mul", "*", lambda a, b: a * b, P * 2),
    C("mul_self", "*", lambda a: a * a, P),
    C("mul_const", "*", lambda a: a * -2.5, P),
    C("div", "/", lambda a, b: a / b, P + POS),
    C("div_const", "/", lambda a: a / 3.0, P),
    C("rsub", "rsub", lambda a: 2.0 - a, P),
    C("rdiv", "rdiv", lambda a: 2.0 / a, POS),
    C("rpow", "rpow2.0", lambda a: 2.0 ** a, P),
    C("rpow_small_base", "rpow0.3", lambda a: 0.3 ** a, P),
    C("pow", "**", lambda a, b: a ** b, POS + ((-2.0, 2.0),)),
    C("pow_self", "**", lambda a: a ** a, POS),
    C("pow3", "**3.0", lambda a: a ** 3.0, P),
    C("pow_int", "**2.0", lambda a: a ** 2, P),
    C("pow_half", "**2.5", lambda a: a ** 2.5, POS),
    C("pow_neg", "**-1.5", lambda a: a ** -1.5, POS),
    C("pow1", "**1.0", lambda a: a ** 1.0, P),
    C("pow0", "**0.0", lambda a: a ** 0.0, P),
    C("neg", "neg", lambda a: -a, P),
    C("abs_pos", "abs", lambda a: abs(a), POS),
    C("abs_neg", "abs", lambda a: abs(a), ((-3.0, -0.3),)),
    C("exp", "exp", lambda a: a.exp(), P),
    C("log", "log", lambda a: a.log(), POS),
    C("sqrt", "sqrt", lambda a: a.sqrt(), POS),
    C("tanh", "tanh", lambda a: a.tanh(), P),
    C("sigmoid", "sigmoid", lambda a: a.sigmoid(), P),
    C("relu_pos", "relu", lambda a: a.relu(), POS),
    C("relu_neg", "relu", lambda a: a.relu(), ((-3.0, -0.3),)),
    C("sin", "sin", lambda a: a.sin(), P),
    C("cos", "cos", lambda a: a.cos(), P),
    C("sum", "sum", lambda a, b, c: _vsum([a, b, 2.0, c]), P * 3,
      torch_fn=lambda a, b, c: a + b + 2.0 + c),
    C("sum_start", "sum", lambda a, b: _vsum([b, a], a), P * 2, torch_fn=lambda a, b: a + b + a),
    C("dot", "dot:1", lambda a, b, c, d: S.dot([a, b, 1.5], [c, 0.5, d]), P * 4,
      torch_fn=lambda a, b, c, d: a * c + b * 0.5 + 1.5 * d),
    C("dot_bias", "dot:2", lambda a, b, c, d, e: S.dot([a, b], [c, d], e), P * 5,
      torch_fn=lambda a, b, c, d, e: a * c + b * d + e),
    C("dot_consts", "dot", lambda a, b: S.dot([a, 2.0], [3.0, b], a), P * 2,
      torch_fn=lambda a, b: a * 3.0 + 2.0 * b + a),
    C("dot_repeats", "dot:2", lambda a, b: S.dot([a, a, b], [a, b, 2.0], b), P * 2,
      torch_fn=lambda a, b: a * a + a * b + b * 2.0 + b),
]


def case_points(case):
    """A hypothesis strategy for one point (a tuple of floats) in the case's domain."""
    return st.tuples(*[st.floats(lo, hi, allow_nan=False) for lo, hi in case.domain])


# Operands anywhere, IEEE specials included: rules must equal the recorded floats everywhere, not only where
# the op is smooth.
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 1e-310, 1e300, -1e300, 710.0, -746.0, math.inf, -math.inf,
            math.nan]
anywhere = st.one_of(st.floats(), st.sampled_from(SPECIALS))


# ---------------------------------------------------------------------------- oracles
def central_difference(f, x, h=1e-6):
    """df/dx at x (f: float -> float) by a central difference with a step relative to |x|."""
    h = h * max(1.0, abs(x))
    return (f(x + h) - f(x - h)) / (2 * h)


def data(x):
    """Floats out of Values (in any nesting, or an object array); floats and float arrays as they are."""
    if type(x) is Value:
        return x.data
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return np.vectorize(lambda v: v.data if type(v) is Value else float(v), otypes=[np.float64])(x)
        return x
    if isinstance(x, (list, tuple)):
        return np.array([data(v) for v in x], dtype=np.float64)
    return x


# ---------------------------------------------------------------------------- random programs
# Steps built from every op, each composed to be smooth and bounded on all of R (so any point is fair).
class Backend:
    """How the program's steps compute, on one engine (Values, torch tensors, naivegrad Tensors)."""

    def __init__(self, vsum, vdot):
        self.sum, self.dot = vsum, vdot


SCALAR = Backend(lambda xs: S.sum(xs), lambda ws, xs, b: S.dot(ws, xs, b))


def _torch_backend():
    import torch

    return Backend(lambda xs: torch.stack(list(xs)).sum(),
                   lambda ws, xs, b: sum((w * x for w, x in zip(ws, xs)), b))


def _tensor_backend():
    from naivegrad.tensor import stack

    return Backend(lambda xs: stack(list(xs)).sum(), lambda ws, xs, b: sum((w * x for w, x in zip(ws, xs)), b))


UNARY_STEPS = [
    ("sin", lambda B, x: x.sin()),
    ("cos", lambda B, x: x.cos()),
    ("tanh", lambda B, x: (x * 0.7).tanh()),
    ("sigmoid", lambda B, x: x.sigmoid() * 2.0),
    ("neg_sq", lambda B, x: -(x ** 2.0) * 0.3),
    ("cube", lambda B, x: x.tanh() ** 3.0),
    ("exp", lambda B, x: x.tanh().exp()),
    ("log", lambda B, x: (x * x + 1.0).log()),
    ("sqrt", lambda B, x: (x * x + 0.5).sqrt()),
    ("rdiv", lambda B, x: 1.0 / (x * x + 1.0)),
    ("rsub", lambda B, x: 1.0 - x.sin()),
    ("rpow", lambda B, x: 2.0 ** x.tanh()),
    ("div_const", lambda B, x: x / 3.0 - 0.25),
    ("pow_frac", lambda B, x: (x.sigmoid() + 0.5) ** 1.5),
]
BINARY_STEPS = [
    ("add", lambda B, x, y: x + y),
    ("sub", lambda B, x, y: x - y * 0.5),
    ("mul", lambda B, x, y: x * y),
    ("div", lambda B, x, y: x / (y * y + 1.0)),
    ("pow", lambda B, x, y: (x.sigmoid() + 0.5) ** y.tanh()),
    ("sum", lambda B, x, y: B.sum([x, y, x]) * 0.5),
    ("dot", lambda B, x, y: B.dot([x, y], [y, 0.5], x) * 0.5),
]


@st.composite
def programs(draw, max_inputs=4, max_outputs=4, max_steps=6):
    """(n_inputs, steps, outputs): steps are (kind, index, operand indices) over earlier slots."""
    n = draw(st.integers(1, max_inputs))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        slots = n + k
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(UNARY_STEPS) - 1)), (draw(st.integers(0, slots - 1)),)))
        else:
            steps.append(("b", draw(st.integers(0, len(BINARY_STEPS) - 1)),
                          (draw(st.integers(0, slots - 1)), draw(st.integers(0, slots - 1)))))
    total = n + len(steps)
    m = draw(st.integers(1, max_outputs))
    outputs = tuple(draw(st.integers(0, total - 1)) for _ in range(m))
    # At least one output that is a computed slot, so the function is not only a projection.
    outputs = outputs[:-1] + (total - 1,)
    return n, tuple(steps), outputs


def run_program(prog, xs, B=SCALAR, outputs=None):
    """The program's outputs (a list) on inputs ``xs`` (a sequence of Values/tensors) with backend B."""
    n, steps, outs = prog
    slots = list(xs)
    for kind, i, args in steps:
        fn = (UNARY_STEPS if kind == "u" else BINARY_STEPS)[i][1]
        slots.append(fn(B, *[slots[a] for a in args]))
    return [slots[o] for o in (outs if outputs is None else outputs)]


def points(n, lo=-2.0, hi=2.0):
    return st.lists(st.floats(lo, hi, allow_nan=False), min_size=n, max_size=n)
