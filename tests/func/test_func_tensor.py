"""The transforms on the tensor engine: reverse mode through backward, forward mode through jvp rules.

Forward mode needs each op's ``Function.jvp``: every built-in op has one (checked below), and each is
tested per op against finite differences, the transpose identity with backward, and jacrev; user-defined
Functions with a ``jvp`` go through the same path.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad.func import grad, hessian, hvp, jacfwd, jacrev, jvp, vjp
from naivegrad.tensor import REGISTRY, Function, Tensor, stack

import harness
from func_cases import _tensor_backend, points, programs, run_program
from harness.calls import smooth_call

few = settings(max_examples=max(8, settings.default.max_examples // 4))


# ---------------------------------------------------------------------------- user ops with forward rules
class Cube(Function):
    """x ** 3 with all three rules."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x * x * t


class MatVec(Function):
    """A @ x for a constant matrix A (a keyword option, never differentiated)."""

    @staticmethod
    def forward(ctx, x, A=None):
        ctx.A = A
        return A @ x

    @staticmethod
    def backward(ctx, g):
        return ctx.A.T @ g

    @staticmethod
    def jvp(ctx, t):
        return ctx.A @ t


class NoForwardRule(Function):
    """2 x, with a backward but no jvp."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return 2 * g


def numeric_jacobian(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    out = f(Tensor(x, requires_grad=False)).data
    jac = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        jac[(Ellipsis,) + idx] = (f(Tensor(up, requires_grad=False)).data -
                                  f(Tensor(down, requires_grad=False)).data) / (2 * h)
    return jac


@few
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2 ** 31))
def test_user_ops_forward_and_reverse_jacobians_agree(n, m, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = rng.standard_normal(n)
    f = lambda t: Cube.apply(MatVec.apply(t, A=A))  # noqa: E731
    fwd, rev = jacfwd(f)(x), jacrev(f)(x)
    assert fwd.shape == rev.shape == (m, n)
    assert np.allclose(fwd, rev, rtol=1e-12, atol=1e-12)
    assert np.allclose(rev, numeric_jacobian(f, x), rtol=1e-5, atol=1e-6)
    v, u = rng.standard_normal(n), rng.standard_normal(m)
    out, jv = jvp(f, (x,), (v,))
    _, vjp_fn = vjp(f, x)
    (jtu,) = vjp_fn(u)
    assert isinstance(out, Tensor) and isinstance(jv, np.ndarray) and isinstance(jtu, Tensor)
    assert out.tangent is None  # returned, not left on the output for later ops to carry
    assert np.isclose(u @ jv, jtu.data @ v, rtol=1e-11, atol=1e-11)


def test_missing_forward_rule_names_the_op():
    with pytest.raises(NotImplementedError, match="NoForwardRule has no forward-mode rule"):
        jacfwd(lambda t: Cube.apply(NoForwardRule.apply(t)))(np.ones(3))
    with pytest.raises(NotImplementedError, match="NoForwardRule"):
        jvp(NoForwardRule.apply, np.ones(2), np.ones(2))
    # Reverse mode goes through backward and works.
    assert np.array_equal(jacrev(NoForwardRule.apply)(np.ones(2)), 2 * np.eye(2))


def test_errors_raised_by_f_itself_are_not_rewritten():
    def f(t):
        raise NotImplementedError("my own")

    with pytest.raises(NotImplementedError, match="^my own$"):
        jacfwd(f)(np.ones(2))


# ---------------------------------------------------------------------------- reverse mode, any op
@few
@given(programs(), st.data())
def test_tensor_and_scalar_engines_give_the_same_jacobians(prog, data):
    # The same random program on 0-d Tensors (picked out of one input vector) and on Values.
    xs = data.draw(points(prog[0]))
    B = _tensor_backend()

    def f_tensor(x):
        return stack(run_program(prog, [x[i] for i in range(prog[0])], B))

    def f_scalar(v):
        return run_program(prog, v)

    want = jacrev(f_scalar)(xs)
    assert np.allclose(jacrev(f_tensor)(np.array(xs)), want, rtol=1e-12, atol=1e-13)
    assert np.allclose(jacfwd(f_tensor)(np.array(xs)), want, rtol=1e-12, atol=1e-13)


def test_jacrev_grad_vjp_on_builtin_ops_match_differences():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 4)))
    x = rng.standard_normal(4)
    f = lambda t: (W @ t).tanh() * t.sum() + t[:3].exp()  # noqa: E731
    jac = jacrev(f)(x)
    assert jac.shape == (3, 4) and jac.dtype == np.float64
    assert np.allclose(jac, numeric_jacobian(f, x), rtol=1e-6, atol=1e-7)
    g = grad(lambda t: f(t).sum())(x)
    # W (closed over) requires grad and g depends on it: g carries that graph, as torch.func's (a constant g
    # silently lost d g / d W in a loss built from it); without W's dependence it would be a constant.
    assert isinstance(g, Tensor) and g.requires_grad
    assert not grad(lambda t: (t * t).sum())(x).requires_grad
    assert np.allclose(g.data, jac.sum(axis=0), rtol=1e-12)
    out, vjp_fn = vjp(f, x)
    (a,) = vjp_fn(np.array([1.0, 0.0, 0.0]))
    (b,) = vjp_fn(np.array([0.0, 0.0, 1.0]))  # a second pullback through the same graph
    assert np.allclose(a.data, jac[0]) and np.allclose(b.data, jac[2])
    assert np.allclose(out.data, f(Tensor(x)).data)


def test_transforms_leave_grads_of_captured_tensors_alone():
    W = Tensor(np.ones((2, 2)))
    before = np.full((2, 2), 7.0)
    W.grad = before
    f = lambda t: (W @ t).sin()  # noqa: E731
    jacrev(f)(np.array([0.1, 0.2]))
    grad(lambda t: f(t).sum())(np.array([0.1, 0.2]))
    vjp(f, np.array([0.1, 0.2]))[1](np.ones(2))
    assert W.grad is before
    U = Tensor(np.ones(2))
    jacrev(lambda t: t * U)(np.ones(2))
    assert U.grad is None


def test_several_arguments_and_multiple_outputs():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    f = lambda a, b: (a.sum() * b, (a * a).sum())  # noqa: E731
    out, vjp_fn = vjp(f, x, y)
    ga, gb = vjp_fn((np.array([1.0, 0.0, 0.0]), np.array(2.0)))
    # d/da [b0 * sum(a) + 2 * sum(a^2)] = b0 + 4a ; d/db = [sum(a), 0, 0]
    assert np.allclose(ga.data, 3.0 + 4 * x) and np.allclose(gb.data, [3.0, 0.0, 0.0])
    ja, jb = jacrev(lambda a, b: a.sum() * b, argnums=(0, 1))(x, y)
    assert ja.shape == (3, 2) and jb.shape == (3, 3)
    assert np.allclose(ja, np.repeat(y[:, None], 2, axis=1)) and np.allclose(jb, 3.0 * np.eye(3))


def test_dtypes_and_integer_arrays():
    g = grad(lambda t: (t * t).sum())(np.array([1.0, 2.0], dtype=np.float32))
    assert g.dtype == np.float32 and np.array_equal(g.data, [2.0, 4.0])
    j = jacrev(lambda t: t * 2.0)(np.array([1, 2]))  # integers become float64
    assert j.dtype == np.float64 and np.array_equal(j, 2 * np.eye(2))


def test_constant_output_has_zero_derivatives():
    c = Tensor(np.ones(2), requires_grad=False)
    assert np.array_equal(jacrev(lambda t: c * 2.0)(np.ones(3)), np.zeros((2, 3)))
    assert np.array_equal(grad(lambda t: (c * 2.0).sum())(np.ones(3)).data, np.zeros(3))


def test_tensor_errors():
    with pytest.raises(ValueError, match="one element"):
        grad(lambda t: t * 2.0)(np.ones(2))
    with pytest.raises(TypeError, match="must return Tensors"):
        grad(lambda t: 3.0)(np.ones(1))
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        jvp(Cube.apply, np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="must return Tensors"):
        jacrev(lambda t: (t, 2.0))(np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(2, 2\), expected \(2,\)"):
        vjp(lambda ts: ts[0] * ts[1], [np.ones(2), np.ones(2)])[1]([np.ones(2), np.ones(2)])


def test_lists_of_arrays_are_pytrees():
    g = grad(lambda ts: (ts[0] * ts[1]).sum())([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert isinstance(g, list) and [t.data.tolist() for t in g] == [[3.0, 4.0], [1.0, 2.0]]
    ja, jb = jacrev(lambda t: (t * 2.0, t.sum()))(np.ones(2))
    assert ja.shape == (2, 2) and jb.shape == (2,) and jb.tolist() == [1.0, 1.0]


def test_second_order_works_with_a_user_function_and_forward_mode_nests():
    # A user Function's numpy backward runs on Tensors under create_graph: twice differentiable as it is.
    f = lambda t: Cube.apply(t).sum()  # noqa: E731
    x = np.array([1.0, -2.0])
    assert np.allclose(hessian(f)(x), np.diag(6 * x))
    assert np.allclose(hvp(f, x, np.ones(2))[1].data, 6 * x)
    assert np.allclose(grad(lambda t: grad(f)(t).sum())(x).data, 6 * x)
    assert np.allclose(jacfwd(jacrev(f))(x), np.diag(6 * x))
    # jacfwd inside jacrev (reverse mode there): d/dt_k of diag(3 t^2) is 6 t on the diagonal k == i == j
    x3 = np.array([1.0, -2.0, 0.5])
    want = np.zeros((3, 3, 3))
    want[np.arange(3), np.arange(3), np.arange(3)] = 6 * x3
    np.testing.assert_allclose(jacrev(jacfwd(lambda t: Cube.apply(t)))(x3), want, rtol=1e-15)


class Derived(Function):
    """exp, with a backward reading an array forward derived (not an operand, not the output)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x)
        ctx.save_for_backward(e * 1.0)
        return e

    @staticmethod
    def backward(ctx, g):
        (e,) = ctx.saved_tensors
        return g * e

    @staticmethod
    def jvp(ctx, t):
        (e,) = ctx.saved_tensors
        return e * t


def test_an_op_that_cannot_be_differentiated_twice_is_named():
    f = lambda t: Derived.apply(t).sum()  # noqa: E731
    assert np.allclose(grad(f)(np.zeros(2)).data, 1.0)  # first order is fine
    with pytest.raises(NotImplementedError, match="Derived"):
        hessian(f)(np.zeros(2))


# ---------------------------------------------------------------------------- every op of the table
# Each op of the table (tests/harness), through its first tensor form, at a seeded smooth point where finite
# differences are fair (harness.calls.smooth_call).
def _recipe(op):
    call = smooth_call(op)
    return call.fn, [x.astype(np.float64) for x in call.arrays]


def _numeric_jvp(f, xs, vs, h=1e-6):
    up = f(*[Tensor(x + h * v, requires_grad=False) for x, v in zip(xs, vs)]).data
    down = f(*[Tensor(x - h * v, requires_grad=False) for x, v in zip(xs, vs)]).data
    return (up - down) / (2 * h)


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
def test_reverse_mode_through_every_op_matches_differences(op):
    name = op.name
    f, xs = _recipe(op)
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(x.shape) for x in xs]
    out, vjp_fn = vjp(f, *xs)
    u = rng.standard_normal(out.shape)
    grads = vjp_fn(u)
    # <u, J v> by differences == <J^T u, v> by backward.
    lhs = float(np.sum(u * _numeric_jvp(f, xs, vs)))
    rhs = sum(float(np.sum(g.data * v)) for g, v in zip(grads, vs))
    assert np.isclose(lhs, rhs, rtol=1e-6, atol=1e-7), (name, lhs, rhs)


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
def test_forward_mode_through_every_op(op):
    name = op.name
    f, xs = _recipe(op)
    rng = np.random.default_rng(2)
    vs = [rng.standard_normal(x.shape) for x in xs]
    out, jv = jvp(f, tuple(xs), tuple(vs))
    assert jv.shape == out.shape
    assert np.allclose(jv, _numeric_jvp(f, xs, vs), rtol=1e-6, atol=1e-7), name
    # Transpose identity against reverse mode: the jvp and backward rules describe one linear map.
    _, vjp_fn = vjp(f, *xs)
    u = rng.standard_normal(out.shape)
    rhs = sum(float(np.sum(g.data * v)) for g, v in zip(vjp_fn(u), vs))
    assert np.isclose(float(np.sum(u * jv)), rhs, rtol=1e-10, atol=1e-10), name
    for i in range(len(xs)):
        # Arguments outside argnums reach f untouched: give them as Tensors.
        args = [x if j == i else Tensor(x, requires_grad=False) for j, x in enumerate(xs)]
        fwd = jacfwd(f, argnums=i)(*args)
        rev = jacrev(f, argnums=i)(*args)
        assert np.allclose(fwd, rev, rtol=1e-10, atol=1e-12), (name, i)


def test_every_registered_op_has_a_forward_mode_rule():
    """The mirror of the per-op tests: no built-in op falls back to Function.jvp (which raises)."""
    missing = sorted(name for name, cls in REGISTRY.items() if cls.jvp is Function.jvp)
    assert not missing, f"tensor ops without a jvp rule: {missing}"
    walked = {f for op in harness.OPS for f in op.functions}  # every tensor Function is exercised above
    assert set(REGISTRY) <= walked, sorted(set(REGISTRY) - walked)
