"""The transforms on the scalar engine: Jacobians both ways, Hessians, nesting, argnums, shapes, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import naivegrad
from naivegrad.func import grad, hessian, hvp, jacfwd, jacrev, jvp, vjp
from naivegrad.scalar import Value

from func_cases import central_difference, data, points, programs, run_program

few = settings(max_examples=max(10, settings.default.max_examples // 3))
unit = st.floats(-1.0, 1.0, allow_nan=False)


def program_fn(prog, scalar=False):
    """The program as f(list of Values) -> list of Values (or the first output, for scalar=True)."""
    if scalar:
        return lambda v: run_program(prog, v)[0]
    return lambda v: run_program(prog, v)


# ---------------------------------------------------------------------------- Jacobians
@given(programs(), st.data())
def test_jacfwd_equals_jacrev(prog, d):
    xs = d.draw(points(prog[0]))
    f = program_fn(prog)
    fwd, rev = jacfwd(f)(xs), jacrev(f)(xs)
    assert fwd.shape == rev.shape == (len(prog[2]), prog[0])
    assert fwd.dtype == rev.dtype == np.float64
    assert np.allclose(fwd, rev, rtol=1e-12, atol=1e-13)


@given(programs(), st.data())
def test_transpose_identity_on_programs(prog, d):
    n, m = prog[0], len(prog[2])
    xs = d.draw(points(n))
    v = d.draw(st.lists(unit, min_size=n, max_size=n))
    u = d.draw(st.lists(unit, min_size=m, max_size=m))
    f = program_fn(prog)
    _, jv = jvp(f, xs, v)
    out, vjp_fn = vjp(f, xs)
    (jtu,) = vjp_fn(u)
    assert len(jv) == m and len(jtu) == n
    lhs = sum(a * b for a, b in zip(u, jv))
    rhs = sum(g.data * b for g, b in zip(jtu, v))
    assert math.isclose(lhs, rhs, rel_tol=1e-11, abs_tol=1e-11)


@few
@given(programs(max_inputs=3, max_outputs=2), st.data())
def test_jacobian_matches_central_differences(prog, d):
    xs = d.draw(points(prog[0]))
    jac = jacrev(program_fn(prog))(xs)
    for i in range(len(prog[2])):
        for j in range(prog[0]):
            def fij(s, i=i, j=j):
                ys = list(xs)
                ys[j] = s
                return run_program(prog, [Value(y) for y in ys])[i].data

            assert math.isclose(jac[i, j], central_difference(fij, xs[j]), rel_tol=1e-5, abs_tol=1e-6)


# ---------------------------------------------------------------------------- Hessians
@few
@given(programs(max_inputs=3, max_outputs=1), st.data())
def test_hessian_is_symmetric_and_matches_differences_of_grad(prog, d):
    n = prog[0]
    xs = d.draw(points(n))
    f = program_fn(prog, scalar=True)
    h = hessian(f)(xs)
    assert h.shape == (n, n) and h.dtype == np.float64
    assert np.allclose(h, h.T, rtol=1e-10, atol=1e-12)
    g = grad(f)
    for j in range(n):
        def gj(s, j=j):
            ys = list(xs)
            ys[j] = s
            return np.array([v.data for v in g(ys)])

        step = 1e-5 * max(1.0, abs(xs[j]))
        up, down = list(xs), list(xs)
        up[j] += step
        down[j] -= step
        column = (np.array([v.data for v in g(up)]) - np.array([v.data for v in g(down)])) / (2 * step)
        assert np.allclose(h[:, j], column, rtol=1e-5, atol=1e-6)


@few
@given(programs(max_inputs=3, max_outputs=1), st.data())
def test_second_order_compositions_agree(prog, d):
    n = prog[0]
    xs = d.draw(points(n))
    v = d.draw(st.lists(unit, min_size=n, max_size=n))
    f = program_fn(prog, scalar=True)
    h = hessian(f)(xs)
    assert np.allclose(jacfwd(jacrev(f))(xs), h, rtol=1e-12, atol=1e-12)
    assert np.allclose(data(jacrev(jacrev(f))(xs)), h, rtol=1e-12, atol=1e-12)
    assert np.allclose(jacfwd(grad(f))(xs), h, rtol=1e-12, atol=1e-12)
    out, hv = hvp(f, xs, v)
    assert out.data == f([Value(x) for x in xs]).data
    assert np.allclose(data(hv), h @ np.array(v), rtol=1e-11, atol=1e-12)
    _, fwd_over_rev = jvp(grad(f), (xs,), (v,))
    assert np.allclose(fwd_over_rev, h @ np.array(v), rtol=1e-11, atol=1e-12)


def _x3sin(x):
    return x ** 3 * x.sin()


@given(st.floats(-4, 4, allow_nan=False))
def test_nested_grad_of_x3_sin_x_matches_closed_forms(a):
    s, c = math.sin(a), math.cos(a)
    d1 = 3 * a * a * s + a ** 3 * c
    d2 = 6 * a * s + 6 * a * a * c - a ** 3 * s
    d3 = 6 * s + 18 * a * c - 9 * a * a * s - a ** 3 * c
    d4 = 24 * c - 36 * a * s - 12 * a * a * c + a ** 3 * s
    got = [grad(_x3sin)(a), grad(grad(_x3sin))(a), grad(grad(grad(_x3sin)))(a),
           grad(grad(grad(grad(_x3sin))))(a)]
    for g, want in zip(got, (d1, d2, d3, d4)):
        assert type(g) is Value
        assert math.isclose(g.data, want, rel_tol=1e-11, abs_tol=1e-11)
    assert math.isclose(hessian(_x3sin)(a), d2, rel_tol=1e-11, abs_tol=1e-11)
    assert math.isclose(jvp(grad(grad(_x3sin)), (a,), (1.0,))[1], d3, rel_tol=1e-11, abs_tol=1e-11)


def test_hessian_with_tuple_argnums_gives_blocks():
    def f(x, y):
        return x * y[0] * y[0] + y[1].exp() * x

    x, y = 2.0, [3.0, 0.5]
    (hxx, hxy), (hyx, hyy) = hessian(f, argnums=(0, 1))(x, y)
    e = math.exp(0.5)
    assert hxx.shape == () and hxy.shape == (2,) and hyx.shape == (2,) and hyy.shape == (2, 2)
    assert np.allclose(hxy, [6.0, e]) and np.allclose(hyx, [6.0, e])
    assert np.allclose(hyy, [[4.0, 0.0], [0.0, 2 * e]]) and hxx == 0.0


def test_hessian_of_a_vector_function_stacks_the_outputs():
    h = hessian(lambda v: [v[0] * v[1], v[0] ** 2.0])([1.0, 2.0])
    assert h.shape == (2, 2, 2)
    assert h.tolist() == [[[0.0, 1.0], [1.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]]


# ---------------------------------------------------------------------------- nesting
def test_closures_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = 1: the inner derivative is with respect to y only, though y is x's value.
    assert grad(lambda x: x * grad(lambda y: x + y)(x))(3.0).data == 1.0
    # d/dx [x * d/dy (x * y)] at y = 2 = d/dx x^2 = 2x: the inner result depends on x through a closure.
    assert grad(lambda x: x * grad(lambda y: x * y)(2.0))(3.0).data == 6.0


def test_forward_mode_nests_inside_other_transforms():
    # Inside another transform jvp / jacfwd run reverse mode twice (a Value carries one tangent); the numbers
    # are forward mode's: f = v0 v1 has the Hessian [[0, 1], [1, 0]] however it is spelled.
    f = lambda v: v[0] * v[1]  # noqa: E731
    for h in (jacrev(jacfwd(f)), jacfwd(jacfwd(f))):
        np.testing.assert_array_equal(h([1.0, 2.0]), [[0.0, 1.0], [1.0, 0.0]])
    # d/dx [x * (d/dy x y)] = d/dx x^2 = 6 at 3: the inner tangent depends on x through the closure
    assert grad(lambda x: jvp(lambda y: x * y, (2.0,), (1.0,))[1] * x)(3.0).data == 6.0
    # the same with jvp outside, and the third derivative of x^4 (24 x) as jvp(jvp(jvp))
    assert jvp(lambda x: jvp(lambda y: x * y, (2.0,), (1.0,))[1] * x, (3.0,), (1.0,))[1] == 6.0
    d1 = lambda x: jvp(lambda y: y ** 4, (x,), (1.0,))[1]  # noqa: E731
    d2 = lambda x: jvp(d1, (x,), (1.0,))[1]  # noqa: E731
    assert jvp(d2, (1.5,), (1.0,))[1] == pytest.approx(24 * 1.5, rel=1e-15)
    # a nested tangent is a Value (a graph for the outer transform), as nested gradients are
    inner = {}
    grad(lambda x: inner.setdefault("t", jvp(lambda y: x * y * y, (2.0,), (1.0,))[1]) * 1.0)(3.0)
    assert type(inner["t"]).__name__ == "Value" and inner["t"].data == 12.0


def test_value_primals_give_differentiable_results():
    x = Value(0.3)
    g = grad(lambda t: t.sin() * t)(x)
    assert g._prev  # a graph back to x: backward() works on it
    g.backward()
    assert math.isclose(x.grad, 2 * math.cos(0.3) - 0.3 * math.sin(0.3))


def test_transforms_leave_grads_of_captured_values_alone():
    w = Value(2.0)
    w.grad = 0.25
    f = lambda x: (w * x).tanh()  # noqa: E731
    grad(f)(0.5)
    jacrev(f)(0.5)
    hessian(f)(0.5)
    vjp(f, 0.5)[1](1.0)
    assert w.grad == 0.25


def test_transforms_work_under_no_grad():
    with naivegrad.no_grad():
        assert grad(lambda x: x * x)(3.0).data == 6.0
        assert hessian(lambda x: x ** 3.0)(2.0) == 12.0
        assert jvp(lambda x: x * x, 3.0, 1.0)[1] == 6.0
    assert naivegrad.is_grad_enabled()


# ---------------------------------------------------------------------------- argnums, shapes, structures
def test_argnums_int_tuple_and_negative():
    f = lambda x, y, z: x * y + z * z  # noqa: E731  (numbers not differentiated stay numbers)
    assert grad(f)(2.0, 3.0, 0.5).data == 3.0
    assert grad(f, argnums=-1)(2.0, 3.0, 0.5).data == 1.0
    gx, gz = grad(f, argnums=(0, 2))(2.0, 3.0, 0.5)
    assert (gx.data, gz.data) == (3.0, 1.0)
    jx, jy = jacfwd(f, argnums=(0, 1))(2.0, 3.0, 0.5)
    assert (jx, jy) == (3.0, 2.0)
    # Arguments not differentiated are passed as they are.
    assert grad(lambda x, k: x ** k, argnums=0)(2.0, 3) .data == 12.0


def test_jacobian_shapes_follow_nested_inputs_and_outputs():
    def f(m):  # m: 2 x 3 nested list of Values -> 3 x 2 transpose, scaled
        return [[m[i][j] * (i + j + 1.0) for i in range(2)] for j in range(3)]

    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    for jac in (jacrev(f)(x), jacfwd(f)(x)):
        assert jac.shape == (3, 2, 2, 3)
        assert jac[2, 1, 1, 2] == 4.0 and jac[2, 1, 0, 2] == 0.0 and np.count_nonzero(jac) == 6
    g = grad(lambda m: m[1][2] * m[0][0])(x)
    assert [[v.data for v in row] for row in g] == [[6.0, 0.0, 0.0], [0.0, 0.0, 1.0]]


def test_object_arrays_of_values_go_in_and_come_out():
    arr = np.empty((2,), dtype=object)
    arr[:] = [Value(1.0), Value(2.0)]
    g = grad(lambda a: (a * a).sum())(arr)
    assert isinstance(g, np.ndarray) and g.dtype == object and [v.data for v in g] == [2.0, 4.0]
    assert jacrev(lambda a: a * a)(arr).tolist() == [[2.0, 0.0], [0.0, 4.0]]


def test_scalar_input_and_output_give_0d_jacobians():
    j = jacrev(lambda x: x.exp())(0.0)
    assert isinstance(j, np.ndarray) and j.shape == () and j == 1.0
    assert jacfwd(lambda x: [x, x * 2.0])(1.0).tolist() == [1.0, 2.0]


def test_vjp_fn_can_be_called_again_and_accepts_arrays():
    out, vjp_fn = vjp(lambda v: [v[0] * v[1], v[1].exp()], [1.0, 2.0])
    (a,) = vjp_fn([1.0, 0.0])
    (b,) = vjp_fn(np.array([0.0, 1.0]))
    assert [g.data for g in a] == [2.0, 1.0]
    assert [g.data for g in b] == [0.0, math.exp(2.0)]


def test_inputs_the_output_ignores_get_zero():
    gx, gy = grad(lambda x, y: x * 2.0, argnums=(0, 1))(1.0, 5.0)
    assert (gx.data, gy.data) == (2.0, 0.0)
    assert jacfwd(lambda v: v[0] * 1.0)([1.0, 2.0]).tolist() == [1.0, 0.0]
    assert jacrev(lambda v: v[0] * 1.0)([1.0, 2.0]).tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------- errors
def test_bad_arguments_raise_clear_errors():
    sq = lambda x: x * x  # noqa: E731
    with pytest.raises(TypeError, match="argnums"):
        grad(sq, argnums="0")(1.0)
    with pytest.raises(ValueError, match="out of range"):
        grad(sq, argnums=1)(1.0)
    with pytest.raises(ValueError, match="repeats"):
        grad(lambda x, y: x * y, argnums=(0, 0))(1.0, 2.0)
    with pytest.raises(ValueError, match="single Value"):
        grad(lambda v: [v[0], v[1]])([1.0, 2.0])
    with pytest.raises(TypeError, match="must return Values"):
        grad(lambda x: 3.0)(1.0)
    with pytest.raises(TypeError, match="str"):
        grad(sq)("1.0")
    with pytest.raises(ValueError, match="mixes"):
        grad(lambda x, y: x, argnums=(0, 1))(1.0, np.array([1.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        jvp(lambda v: v[0], [1.0, 2.0], np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="tuple of 2"):
        jvp(lambda x, y: x * y, (1.0, 2.0), [1.0, 0.0])
    with pytest.raises(ValueError, match="rectangular"):
        jacrev(lambda v: v[0])([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="already carries a tangent"):
        jvp(sq, Value(1.0, tangent=2.0), 1.0)


def test_a_forward_pass_under_another_transform_is_refused_not_miscounted():
    # jvp / jacfwd never start a forward pass under another transform (they go through reverse mode there);
    # the guard stays so that no future path hands an outer transform a tangent it cannot see.
    from naivegrad.func.nesting import running

    for engine in ("scalar", "tensor"):
        with running(engine, "reverse", "grad"):
            with pytest.raises(NotImplementedError, match="forward-mode pass under another transform"):
                with running(engine, "forward", "jvp"):
                    pass
        with running(engine, "forward", "jvp"):  # outermost: fine
            pass
