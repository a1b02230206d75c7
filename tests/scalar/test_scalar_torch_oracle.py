"""PyTorch float64 as an independent oracle: every op at every special point, and random mixed expressions.

Skipped when torch is not installed. Plain-number operands are given to torch as 0-d float64 tensors:
torch's own Python-scalar fast paths (``c / t`` as ``c * t.reciprocal()``, ``t ** 0.5`` as ``sqrt``) round
differently from a real division or C99 ``pow``, and the tensor-tensor forms are the semantics both naivegrad
engines share (numpy arrays compute C99 ``pow`` too).
"""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from naivegrad.scalar import Value
from naivegrad.scalar.value import _topological
from scalar_oracles import BINARY, FORMS, SPECIALS, UNARY, assert_close, finite

torch = pytest.importorskip("torch")


def tensor(x, grad=False):
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=grad)


def torch_grad(t):
    return 0.0 if t.grad is None else float(t.grad)


@pytest.mark.parametrize("op", UNARY, ids=[op.name for op in UNARY])
def test_unary_agrees_with_torch_at_special_points(op):
    for x in SPECIALS:
        v, t = Value(x), tensor(x, grad=True)
        out, tout = op.apply(v), (op.torch or op.apply)(t)
        out.backward()
        tout.backward()
        assert_close(out.data, tout.item(), max(1, op.ulps), op.torch_atol, what=f"{op.name}({x!r})")  # sqrt: 1 ulp
        if math.isnan(x) and op.name == "relu":
            continue  # torch's relu'(nan) = 1 is an artefact of testing the result, not the input, against 0
        assert_close(v.grad, torch_grad(t), op.dulps, max(op.datol, op.torch_atol), what=f"d {op.name}({x!r})")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("op", BINARY, ids=[op.name for op in BINARY])
def test_binary_agrees_with_torch_at_special_points(op, form):
    for a in SPECIALS:
        for b in SPECIALS:
            va = Value(a) if form != "number_value" else a
            vb = Value(b) if form != "value_number" else b
            ta = tensor(a, grad=form != "number_value")
            tb = tensor(b, grad=form != "value_number")
            out, tout = op.apply(va, vb), op.apply(ta, tb)
            out.backward()
            tout.backward()
            what = f"{op.name}({a!r}, {b!r}) [{form}]"
            assert_close(out.data, tout.item(), op.ulps, what=what)
            if type(va) is Value:
                assert_close(va.grad, torch_grad(ta), op.dulps, what="d/da " + what)
            if type(vb) is Value:
                assert_close(vb.grad, torch_grad(tb), op.dulps, what="d/db " + what)


# ---------------------------------------------------------------------------------------------- random expressions
# Each production applies raw engine ops; a few wrap an operand (1 + e*e, tanh(e)) so that the expression stays
# where both engines are well conditioned: a 1-ulp difference between libm and torch must not be amplified
# into a different answer by a log of a cancellation.
N_LEAVES = 3
CONST = finite(-2, 2)
NONZERO = st.one_of(finite(0.5, 2), finite(-2, -0.5))

UNARY_EXPR = {
    "neg": lambda e: -e, "abs": lambda e: abs(e), "exp": lambda e: e.exp(), "tanh": lambda e: e.tanh(),
    "sigmoid": lambda e: e.sigmoid(), "relu": lambda e: e.relu(), "sin": lambda e: e.sin(), "cos": lambda e: e.cos(),
    "log": lambda e: (1.0 + e * e).log(), "sqrt": lambda e: (e * e + 1.0).sqrt(),
}
BINARY_EXPR = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.0 + b * b), "pow": lambda a, b: (1.0 + a * a) ** b.tanh(),
}
NUMBER_EXPR = {  # (number strategy, f(expr, number))
    "addc": (CONST, lambda e, c: e + c), "radd": (CONST, lambda e, c: c + e),
    "subc": (CONST, lambda e, c: e - c), "rsub": (CONST, lambda e, c: c - e),
    "mulc": (CONST, lambda e, c: e * c), "rmul": (CONST, lambda e, c: c * e),
    "divc": (NONZERO, lambda e, c: e / c), "rdiv": (CONST, lambda e, c: c / (e * e + 1.0)),
    "powc": (st.sampled_from([2, 3, 2.0, 0]), lambda e, n: e**n),
    "powc_frac": (st.sampled_from([0.5, -1.5, 1.5, 1 / 3, -1]), lambda e, n: (e * e + 1.0) ** n),
    "rpow": (finite(0.5, 3), lambda e, c: c ** e.tanh()),
}

leaf = st.tuples(st.just("leaf"), st.integers(0, N_LEAVES - 1))


def extend(children):
    return st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY_EXPR)), children),
        st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY_EXPR)), children, children),
        st.sampled_from(sorted(NUMBER_EXPR)).flatmap(
            lambda name: st.tuples(st.just("number"), st.just(name), children, NUMBER_EXPR[name][0])),
    )


expressions = st.recursive(leaf, extend, max_leaves=8)


def evaluate(expr, leaves):
    kind = expr[0]
    if kind == "leaf":
        return leaves[expr[1]]
    if kind == "unary":
        return UNARY_EXPR[expr[1]](evaluate(expr[2], leaves))
    if kind == "binary":
        return BINARY_EXPR[expr[1]](evaluate(expr[2], leaves), evaluate(expr[3], leaves))
    return NUMBER_EXPR[expr[1]][1](evaluate(expr[2], leaves), expr[3])


def agree(got, want):
    if math.isnan(want) or math.isinf(want):
        return math.isnan(got) if math.isnan(want) else got == want
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=max(30, settings.default.max_examples))
@given(expr=expressions, xs=st.lists(finite(-2, 2), min_size=N_LEAVES, max_size=N_LEAVES))
def test_random_expressions_agree_with_torch(expr, xs):
    leaves = [Value(x) for x in xs]
    tleaves = [tensor(x, grad=True) for x in xs]
    out, tout = evaluate(expr, leaves), evaluate(expr, tleaves)
    if type(out) is not Value:  # a bare leaf
        out, tout = out * 1.0, tout * 1.0
    out.backward()
    tout.backward()
    assert agree(out.data, tout.item()), f"value {out.data!r} vs torch {tout.item()!r}"
    # Gradients are compared where the whole graph stayed finite. Past an overflow the engines part ways on
    # purpose: the engine multiplies every local derivative (relu'(0) * inf = nan, as IEEE says), torch masks
    # relu's gradient instead (0). The special-point tests above compare every op's IEEE cases one by one.
    assume(all(math.isfinite(n.data) and math.isfinite(n.grad) for n in _topological(out)))
    for i, (v, t) in enumerate(zip(leaves, tleaves)):
        assert agree(v.grad, torch_grad(t)), f"leaf {i}: grad {v.grad!r} vs torch {torch_grad(t)!r}"
