"""Every scalar op: forward-mode tangents against reverse-mode gradients and against finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad.func import grad, jacfwd, jacrev, jvp, vjp
from naivegrad.scalar import Value

from func_cases import CASES, case_points, central_difference

CASE_IDS = [c.name for c in CASES]
# Per-op tests run once per op: half the profile's examples each keeps the file fast (--deep scales it up).
per_case = settings(max_examples=max(10, settings.default.max_examples // 2))
unit = st.floats(-1.0, 1.0, allow_nan=False)


def _vec(case):
    return lambda v: case.fn(*v)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@per_case
@given(data=st.data())
def test_tangent_equals_gradient_exactly(case, data):
    xs = list(data.draw(case_points(case)))
    # One op on leaves: both modes multiply the same float locals by 1, in the same order.
    fwd = jacfwd(_vec(case))(xs)
    rev = jacrev(_vec(case))(xs)
    assert fwd.shape == rev.shape == (len(xs),)
    assert np.array_equal(fwd, rev), (case.name, xs, fwd, rev)
    for j in range(len(xs)):
        tangents = tuple(1.0 if i == j else 0.0 for i in range(len(xs)))
        out, t = jvp(case.fn, tuple(xs), tangents)
        assert type(out) is Value and out._op == case.op
        g = grad(case.fn, argnums=j)(*xs)
        assert t == g.data == fwd[j]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@per_case
@given(data=st.data())
def test_transpose_identity(case, data):
    # <u, J v> == <J^T u, v> for random u, v: forward and reverse mode compute the same linear map.
    xs = data.draw(case_points(case))
    v = data.draw(st.tuples(*[unit for _ in xs]))
    u = data.draw(unit)
    _, jv = jvp(case.fn, tuple(xs), v)
    _, vjp_fn = vjp(case.fn, *xs)
    jtu = vjp_fn(u)
    assert len(jtu) == len(xs) and all(type(g) is Value for g in jtu)
    rhs = sum(g.data * vi for g, vi in zip(jtu, v))
    assert math.isclose(u * jv, rhs, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@per_case
@given(data=st.data())
def test_tangent_matches_central_differences(case, data):
    xs = list(data.draw(case_points(case)))
    for j in range(len(xs)):
        tangents = tuple(1.0 if i == j else 0.0 for i in range(len(xs)))
        _, t = jvp(case.fn, tuple(xs), tangents)

        def f(s, j=j):
            ys = list(xs)
            ys[j] = s
            return case.fn(*[Value(y) for y in ys]).data

        want = central_difference(f, xs[j])
        assert math.isclose(t, want, rel_tol=1e-6, abs_tol=1e-6), (case.name, xs, j, t, want)


def test_jvp_output_tangent_structure_follows_the_output():
    out, t = jvp(lambda v: [v[0] * v[1], [v[0].sin(), v[1]]], [1.0, 2.0], [1.0, 0.0])
    assert [o.data if type(o) is Value else [p.data for p in o] for o in out] == [2.0, [math.sin(1.0), 2.0]]
    assert t == [2.0, [math.cos(1.0), 0.0]]
    arr = np.empty(2, dtype=object)
    arr[:] = [Value(1.0), Value(2.0)]
    out, t = jvp(lambda a: a * 3.0, arr, np.array([1.0, -1.0]))
    assert out.dtype == object and t.dtype == np.float64 and t.tolist() == [3.0, -3.0]


def test_jvp_returns_its_tangents_instead_of_leaving_them_on_the_output():
    out, t = jvp(lambda x: x.sin(), 0.5, 1.0)
    assert t == math.cos(0.5) and out.tangent is None
    out2, t2 = jvp(lambda x: x * x, out, 1.0)  # the output can be the primal of another jvp
    assert t2 == 2 * out.data and (out * 2.0).tangent is None
    w = Value(2.0, tangent=3.0)  # a Value f closes over keeps the tangent its owner gave it
    jvp(lambda x: w * 1.0 + x, 1.0, 1.0)
    assert w.tangent == 3.0
