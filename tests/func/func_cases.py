"""Shared cases for the functional-API tests: one case per scalar op form of the op table, random programs, oracles.

``CASES`` is derived from the op table (``tests/harness``), never written by hand: for every op of the table with
scalar-engine forms (``Op.value_forms``), every form, on each kink-free piece of its inputs' smooth ranges, with
each constant its smooth-mode sampler draws (``x ** c``, ``c / x``...), and with one Value as both operands where
the op takes two; and for the fused ``scalar.sum`` / ``scalar.dot``, their seeded smooth cases (constants, repeated
operands). Each ``Case`` builds one op node from k Values, on intervals where the op is smooth with modest
derivatives, so that finite differences are a fair oracle. ``programs`` draws random straight-line programs over
all ops (composed so as to stay smooth everywhere) that run alike on Values, on torch tensors and on naivegrad
Tensors.
"""

import functools
import math
import zlib
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np
from hypothesis import strategies as st

import naivegrad.scalar as S
from naivegrad.scalar import Value

import harness
from harness.check import draw_case
from harness.draw import RandomDraw


@dataclass
class Case:
    name: str  # a unique id: the table's op, the form, the constants and the piece of the domain
    fn: Callable  # fn(*Values) -> Value (one node on top)
    domain: Tuple[Tuple[float, float], ...]  # per operand: a smooth interval
    torch_fn: Optional[Callable] = None  # the same on torch tensors (default: fn itself)

    @functools.cached_property
    def op(self):
        """The op name the engine records for this case's node (asked of the engine, at the intervals' middles)."""
        return self.fn(*[Value((lo + hi) / 2) for lo, hi in self.domain])._op


# ---------------------------------------------------------------------------- derived from the op table
_SEEDS = 64          # seeded smooth-mode draws per op, for its constants and (fused ops) its cases
_MAX_OPERANDS = 5    # fused cases with more scalar operands than this are left to tests/parity


def _pieces(domain):
    """The kink-free intervals of a Domain's smooth range, ``margin`` away from each kink, with a label."""
    kinks = sorted(k for k in domain.kinks if domain.lo < k < domain.hi)
    if not kinks:
        return [((domain.lo, domain.hi), "")]
    edges = [domain.lo] + kinks + [domain.hi]
    out = []
    for i, (a, b) in enumerate(zip(edges, edges[1:])):
        lo, hi = (a if i == 0 else a + domain.margin), (b if i == len(kinks) else b - domain.margin)
        if lo < hi:
            label = f"<{b:g}" if i == 0 else f">{a:g}" if i == len(kinks) else f"in({a:g},{b:g})"
            out.append(((lo, hi), label))
    return out


def _constants(op):
    """The distinct options the op's sampler draws in smooth mode (numbers as plain floats), in order."""
    if op.params is None:
        return [{}]
    seen = {}
    for i in range(_SEEDS):
        params = op.params(RandomDraw([zlib.crc32(op.name.encode()), i]), ((),), "smooth")
        params = {k: float(v) for k, v in params.items()}
        seen.setdefault(tuple(sorted(params.items())), params)
    return [seen[k] for k in sorted(seen)]


def _bound(fn, params):
    return lambda *xs: fn(*xs, **params)


def _elementwise_cases(op):
    """Each form, each kink-free piece, each constant of the sampler (at most two per recorded node kind: the
    engine records ``x ** 2.0`` and ``x ** 3.0`` as different nodes, ``x + 1.0`` and ``x + 2.0`` as one), and
    one Value as both operands of a binary op (``x * x``, ``x ** x``) where both ranges meet."""
    cases, per_node = [], {}
    forms = list(op.value_forms.items())
    for params in _constants(op):
        consts = ",".join(f"{k}={v:g}" for k, v in params.items())
        domains = op.input_domains(params)[:op.arity]
        torch_fn = _bound(op.torch, params) if op.torch else None
        for key, form in forms:
            tag = op.name + (f"[{key}]" if len(forms) > 1 else "") + (f"({consts})" if consts else "")
            fn = _bound(form, params)
            for combo in _product([_pieces(d) for d in domains]):
                where = ",".join(f"x{i}{label}" for i, (_, label) in enumerate(combo) if label)
                case = Case(tag + (f"[{where}]" if where else ""), fn, tuple(iv for iv, _ in combo), torch_fn)
                seen = per_node.setdefault((key, where, case.op), [])
                if len(seen) < 2:
                    seen.append(case)
                    cases.append(case)
            if op.arity == 2 and not params:  # x * x, x ** x: one Value as both operands
                for lo, hi in _intersect(_pieces(domains[0]), _pieces(domains[1])):
                    cases.append(Case(tag + f"[x,x in {lo:g}..{hi:g}]", (lambda f: lambda v: f(v, v))(fn),
                                      ((lo, hi),), (lambda f: lambda v: f(v, v))(torch_fn) if torch_fn else None))
    return cases


def _product(lists):
    out = [()]
    for options in lists:
        out = [prev + (o,) for prev in out for o in options]
    return out


def _intersect(a, b):
    out = []
    for (lo1, hi1), _ in a:
        for (lo2, hi2), _ in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo < hi:
                out.append((lo, hi))
    return out


def _fused_cases(op):
    """Seeded smooth cases of a fused scalar op (``scalar.sum``, ``scalar.dot``) as functions of their Value
    elements, constants baked in, a leaf feeding several inputs repeated: one per form, recorded node kind,
    pattern of constant leaves and of repeated leaves, with at most five operands."""
    cases, seen = [], set()
    for i in range(_SEEDS):
        case = draw_case(RandomDraw([zlib.crc32(op.name.encode()), i]), op, "smooth", dtype=np.float64)
        if case is None:
            continue
        sizes = [a.size for a, c in zip(case.leaves, case.constant) if not c]
        if not 1 <= sum(sizes) <= _MAX_OPERANDS:
            continue
        domain = op.input_domains(case.params)[0]
        consts = "".join("c" if c else "v" for c in case.constant)
        shapes = "x".join(str(a.size) for a in case.leaves)
        alias = "" if case.inputs == tuple(range(len(case.inputs))) else f",inputs={case.inputs}"
        for key, form in op.value_forms.items():
            c = Case(f"{op.name}[{key}]({shapes},{consts}{alias})", _fused_fn(case, form),
                     ((domain.lo, domain.hi),) * sum(sizes), _fused_torch(case, op.torch))
            signature = (key, c.op.split(":")[0], case.constant, case.inputs)  # dot:1, dot:2: one kind
            if signature not in seen:
                seen.add(signature)
                cases.append(c)
    return cases


def _leaves_from(case, scalars, make_constant):
    """The case's leaves with the non-constant elements taken from ``scalars`` in order."""
    out, k = [], 0
    for a, c in zip(case.leaves, case.constant):
        if c:
            out.append(make_constant(a))
        else:
            out.append((a.shape, scalars[k:k + a.size]))
            k += a.size
    return out


def _fused_fn(case, form):
    def fn(*vs):
        leaves = []
        for leaf in _leaves_from(case, vs, lambda a: np.array(a, dtype=object)):
            if isinstance(leaf, tuple):
                shape, elements = leaf
                arr = np.empty(shape, dtype=object)
                for i, v in zip(np.ndindex(shape), elements):
                    arr[i] = v
                leaf = arr
            leaves.append(leaf)
        out = form(*[leaves[i] for i in case.inputs], **case.params)
        return np.asarray(out, dtype=object)[()]
    return fn


def _fused_torch(case, torch_op):
    if torch_op is None:
        return None

    def fn(*ts):
        import torch

        leaves = []
        for leaf in _leaves_from(case, ts, lambda a: torch.tensor(a, dtype=torch.float64)):
            if isinstance(leaf, tuple):
                shape, elements = leaf
                leaf = torch.stack(list(elements)).reshape(shape) if elements else torch.zeros(shape,
                                                                                             dtype=torch.float64)
            leaves.append(leaf)
        return torch_op(*[leaves[i] for i in case.inputs], **case.params)
    return fn


def _derive_cases():
    cases = []
    for op in harness.OPS:
        if not op.value_forms or op.ties:
            continue  # tensor-only ops; and ties (amax): smooth only on distinct values, not on intervals
        if op.elementwise:
            cases += _elementwise_cases(op)
        elif all(len(s) <= 1 for s in op.draw_shapes_and_params(RandomDraw(0), "smooth")[0]):
            cases += _fused_cases(op)  # vectors and numbers (scalar.sum, scalar.dot), not images (conv)
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    return cases


CASES = _derive_cases()


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
