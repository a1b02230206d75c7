"""Every scalar op: value and derivative against numpy float64 closed forms and central finite differences.

Three checks per op and operand form (Value op Value, Value op number, number op Value):
- at every IEEE special point (signed zeros, infinities, nan, subnormals, overflow edges), exhaustively;
- at hypothesis-generated floats anywhere, including inf and nan;
- in the op's smooth domain, the derivative against a central finite difference of the engine's own values,
  with a tolerance derived from eps and the step (see ``scalar_oracles.central_difference``).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naivegrad.scalar import Value
from scalar_oracles import (
    BINARY, FORMS, LARGEST_ODD, SPECIALS, UNARY, any_float, any_number, as_array, assert_close, central_difference,
    close, first,
    finite, same_sign_of_zero, run_binary,
)

unary_ids = [op.name for op in UNARY]
binary_ids = [op.name for op in BINARY]


# ---------------------------------------------------------------------------------------------- unary
def check_unary(op, x):
    v = Value(x)
    out = op.apply(v)
    assert type(out) is Value
    out.backward()
    with np.errstate(all="ignore"):
        want, dwant = first(op.value(as_array(x))), first(op.deriv(as_array(x)))
    # At an infinity every op has an exact limit (1, 0, inf, nan): no ulps of libm slack there.
    assert_close(out.data, want, 0 if math.isinf(x) else op.ulps, what=f"{op.name}({x!r})")
    assert same_sign_of_zero(out.data, want) or not op.sign_of_zero, f"{op.name}({x!r}) = {out.data!r}"
    if math.isnan(x) and not op.nan_deriv:
        assert type(v.grad) is float
        return
    assert_close(v.grad, dwant, op.dulps, op.datol, what=f"d {op.name}({x!r})")


@pytest.mark.parametrize("op", UNARY, ids=unary_ids)
def test_unary_at_special_points(op):
    for x in SPECIALS:
        check_unary(op, x)


@pytest.mark.parametrize("op", UNARY, ids=unary_ids)
@given(x=any_float)
def test_unary_at_any_float(op, x):
    check_unary(op, x)


@pytest.mark.parametrize("op", UNARY, ids=unary_ids)
@given(data=st.data())
def test_unary_finite_difference(op, data):
    x = data.draw(op.domain, label="x")
    v = Value(x)
    op.apply(v).backward()
    estimate, tol = central_difference(lambda t: op.apply(Value(t)).data, x, op.third)
    assert abs(v.grad - estimate) <= tol, f"d {op.name}({x!r}): backward {v.grad!r}, finite difference {estimate!r}"


def test_subgradient_conventions():
    # PyTorch's choices, named in the issue: relu'(0) = 0, abs'(0) = 0, d/dx x**0 = 0 even at x = 0.
    for x in (0.0, -0.0):
        for f in (lambda v: v.relu(), abs, lambda v: v**0, lambda v: v**0.0):
            v = Value(x)
            f(v).backward()
            assert v.grad == 0.0


# ---------------------------------------------------------------------------------------------- binary
def check_binary(op, a, b, form):
    out, ga, gb = run_binary(op, a, b, form)
    na, nb = as_array(a), as_array(b)
    with np.errstate(all="ignore"):
        want, da, db = first(op.value(na, nb)), first(op.da(na, nb)), first(op.db(na, nb))
    what = f"{op.name}({a!r}, {b!r}) [{form}]"
    assert_close(out.data, want, 0 if math.isinf(a) or math.isinf(b) else op.ulps, what=what)
    assert same_sign_of_zero(out.data, want), f"{what} = {out.data!r}, want {want!r}"
    if ga is not None:
        assert_close(ga, da, op.dulps, what="d/da " + what)
    if gb is not None:
        assert_close(gb, db, op.dulps, what="d/db " + what)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("op", BINARY, ids=binary_ids)
def test_binary_at_special_points(op, form):
    for a in SPECIALS:
        for b in SPECIALS:
            check_binary(op, a, b, form)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("op", BINARY, ids=binary_ids)
@given(data=st.data())
def test_binary_at_any_float(op, form, data):
    a = data.draw(any_number if form == "number_value" else any_float, label="a")
    b = data.draw(any_number if form == "value_number" else any_float, label="b")
    check_binary(op, a, b, form)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("op", BINARY, ids=binary_ids)
@given(data=st.data())
def test_binary_finite_difference(op, form, data):
    a = data.draw(op.domain_a, label="a")
    b = data.draw(op.domain_b, label="b")
    _, ga, gb = run_binary(op, a, b, form)
    if ga is not None:
        f = lambda t: op.apply(Value(t), b).data  # noqa: E731
        estimate, tol = central_difference(f, a, lambda lo, hi: op.third_a(lo, hi, b))
        assert abs(ga - estimate) <= tol, f"d/da {op.name}({a!r}, {b!r}): {ga!r} vs {estimate!r}"
    if gb is not None:
        f = lambda t: op.apply(a, Value(t)).data  # noqa: E731
        estimate, tol = central_difference(f, b, lambda lo, hi: op.third_b(a, lo, hi))
        assert abs(gb - estimate) <= tol, f"d/db {op.name}({a!r}, {b!r}): {gb!r} vs {estimate!r}"


@given(x=finite(-10, 10).filter(lambda x: abs(x) > 0.1), n=st.integers(-4, 5))
def test_pow_integer_exponent_of_negative_base(x, n):
    # Integer powers are real for a negative base: value and derivative must not be nan there.
    v = Value(x)
    out = v**n
    out.backward()
    assert_close(out.data, np.power(np.float64(x), np.float64(n)), 1, what=f"{x!r} ** {n}")
    estimate, tol = central_difference(
        lambda t: (Value(t) ** n).data, x,
        lambda lo, hi: abs(n * (n - 1) * (n - 2)) * max(abs(lo) ** (n - 3), abs(hi) ** (n - 3)),
    )
    assert abs(v.grad - estimate) <= tol, f"d/dx {x!r} ** {n}: {v.grad!r} vs {estimate!r}"


@pytest.mark.parametrize(
    "base, exponent, want",
    [(-2.0, LARGEST_ODD, -math.inf), (-2.0, -LARGEST_ODD, -0.0), (-0.0, -3.0, -math.inf), (-0.0, -2.0, math.inf),
     (-8.0, 0.5, math.nan), (-8.0, 1 / 3, math.nan), (0.0, -0.5, math.inf), (-math.inf, 3.0, -math.inf),
     (math.nan, 0.0, 1.0), (1.0, math.nan, 1.0), (10.0, 400.0, math.inf), (-10.0, 401.0, -math.inf)],
)
def test_pow_sign_rules(base, exponent, want):
    # C99 pow's rules, the ones the fallback in ieee.pow_ rebuilds by hand after math.pow raises.
    with np.errstate(all="ignore"):
        assert close(first(np.power(as_array(base), as_array(exponent))), want)
    for got in ((Value(base) ** exponent).data, (base ** Value(exponent)).data, (Value(base) ** Value(exponent)).data):
        assert_close(got, want, what=f"{base!r} ** {exponent!r}")
        assert same_sign_of_zero(got, want)


@given(x=finite(-1e3, 1e3).filter(lambda x: abs(x) > 1e-3))
def test_same_value_as_both_operands(x):
    # Both operands are one node: both local derivatives must reach it.
    cases = [
        (lambda v: v + v, 2.0), (lambda v: v - v, 0.0), (lambda v: v * v, 2 * x), (lambda v: v / v, 0.0),
    ]
    for f, want in cases:
        v = Value(x)
        f(v).backward()
        assert_close(v.grad, want, 2, atol=4 * np.finfo(float).eps * abs(x), what="reuse")
    if 0 < x <= 100:  # x**x stays finite
        v = Value(x)
        (v**v).backward()  # d/dx x**x = x**x (ln x + 1)
        assert_close(v.grad, x**x * (math.log(x) + 1), 64, atol=1e-9 * x**x, what=f"d/dx {x!r}**{x!r}")


def test_node_records_operands_in_order_and_op_name():
    a, b = Value(2.0), Value(3.0)
    assert (a - b)._prev == (a, b) and (b - a)._prev == (b, a)
    assert (a / b)._prev == (a, b) and (a**b)._prev == (a, b)
    assert (2.0 - a)._prev == (a,)  # a number operand is folded into the derivative, not a node
    names = {(a + b)._op, (a * b)._op, (a - b)._op, (a / b)._op, a.exp()._op, a.tanh()._op, a.relu()._op}
    assert len(names) == 7 and all(isinstance(n, str) and n for n in names)
    # The names micrograd users read (and graphs draw): a number operand shows only where it always has.
    ops = [(a * 2.0)._op, (2.0 * a)._op, (a + 1)._op, (2.0 - a)._op, (2.0 / a)._op, (a ** 2)._op, (2 ** a)._op]
    assert ops == ["*", "*", "+", "rsub", "rdiv", "**2.0", "rpow2.0"]
    assert [str(op) for op in ops] == ops and [f"{op}" for op in ops] == ops and repr((a * b)._op) == "'*'"


@settings(max_examples=max(20, settings.default.max_examples // 2))
@given(xs=st.lists(any_float, min_size=2, max_size=2), c=any_number)
def test_no_exception_and_no_complex_at_any_input(xs, c):
    # Every op in every form at every float, chained: only floats come out, and nothing raises.
    x, y = Value(xs[0]), Value(xs[1])
    outs = [op.apply(x) for op in UNARY]
    for op in BINARY:
        outs += [op.apply(x, y), op.apply(x, c), op.apply(c, y), op.apply(x, x)]
    outs.append(x**c)
    total = outs[0]
    for o in outs[1:]:
        total = total + o * o.tanh() - o / (o + 1.0) + abs(o) ** 0.5
    total.backward()
    for node in outs + [total, x, y]:
        assert type(node.data) is float and type(node.grad) is float
