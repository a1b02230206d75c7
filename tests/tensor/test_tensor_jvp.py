"""Forward mode on the tensor engine, beyond the per-op parity checks (tests/parity/test_ops_tangents.py):
tangents have the output's shape and dtype and are arrays, flow under ``no_grad``, leave reverse mode alone;
broadcast operands' tangents broadcast forward; None (zero) tangents; the sub-gradient conventions shared
with backward; indexing, matmul, softmax at extreme logits, and mixed dtypes.

Oracles: the same op on operands expanded to the output's shape beforehand (broadcasting), the tensor
engine's own reverse mode (transpose identity, jacfwd == jacrev), central differences in float64, and the
float64 run of the same function (for float32).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from naivegrad import no_grad
from naivegrad.func import jacfwd, jacrev, jvp
from naivegrad.tensor import REGISTRY, Tensor, concatenate, maximum, minimum, stack, where

from harness.calls import calls_by_function

FEW = max(10, settings.default.max_examples // 3)


# ---------------------------------------------------------------------------------------------- every op
# op name -> (f on Tensors whose top op is that op, input arrays in float64) at a smooth point: for each tensor
# Function, the first op of the table (tests/harness) that runs it alone, at its seeded smooth call.
CALLS = {name: (call.fn, call.arrays) for name, call in calls_by_function().items()}
NAMES = sorted(CALLS)


def _run(name, dtype, tangents=True, requires_grad=False):
    f, arrays = CALLS[name]
    rng = np.random.default_rng(3)
    xs = [Tensor(a.astype(dtype), requires_grad=requires_grad) for a in arrays]
    if tangents:
        for x in xs:
            x.tangent = rng.standard_normal(x.shape).astype(dtype)
    return f(*xs), xs


def test_the_table_covers_every_registered_op():
    assert set(CALLS) == set(REGISTRY), sorted(set(CALLS) ^ set(REGISTRY))
    for name in NAMES:
        out, _ = _run(name, np.float64, tangents=False, requires_grad=True)
        assert out._ctx.fn is REGISTRY[name], name  # each call's last op is the op it stands for


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_tangent_is_an_array_of_the_outputs_shape_and_dtype(name, dtype):
    out, _ = _run(name, dtype)
    t = out.tangent
    assert type(t) is np.ndarray, (name, type(t))
    assert t.shape == out.shape and t.dtype == out.dtype == np.dtype(dtype), (name, t.shape, t.dtype)
    if dtype is np.float32:  # the same numbers as in float64, to float32's precision
        want, _ = _run(name, np.float64)
        np.testing.assert_allclose(t, want.tangent, rtol=2e-5, atol=2e-5 * (1 + np.abs(want.tangent).max()))


@pytest.mark.parametrize("name", NAMES)
def test_tangents_flow_under_no_grad_and_leave_reverse_mode_alone(name):
    with_graph, xs = _run(name, np.float64, requires_grad=True)
    with no_grad():
        without, _ = _run(name, np.float64, requires_grad=True)
    assert without._ctx is None and not without.requires_grad
    np.testing.assert_array_equal(without.tangent, with_graph.tangent)
    # The graph recorded alongside the tangents gives the gradients it gives without them.
    u = np.random.default_rng(4).standard_normal(with_graph.shape)
    with_graph.backward(u)
    plain, ys = _run(name, np.float64, tangents=False, requires_grad=True)
    assert plain.tangent is None
    plain.backward(u)
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(x.grad, y.grad)
    # The transpose identity <u, J v> == <J^T u, v>, v being the inputs' tangents.
    lhs = float(np.sum(u * with_graph.tangent))
    rhs = sum(float(np.sum(x.grad * x.tangent)) for x in xs)
    assert np.isclose(lhs, rhs, rtol=1e-11, atol=1e-11), (name, lhs, rhs)


@pytest.mark.parametrize("name", NAMES)
def test_a_rule_given_no_tangent_at_all_returns_zeros_of_the_output(name):
    # apply never does this (no tangent, no jvp call), but a rule called directly must cope.
    for dtype in (np.float32, np.float64):
        out, _ = _run(name, dtype, tangents=False, requires_grad=True)
        ctx = out._ctx
        z = ctx.fn.jvp(ctx, *[None] * len(ctx.parents))
        assert type(z) is np.ndarray and z.shape == out.shape and z.dtype == out.dtype, (name, dtype)
        assert not z.any(), name


@pytest.mark.parametrize("name", [n for n in NAMES if len(CALLS[n][1]) == 2])
def test_one_operand_without_a_tangent_contributes_nothing(name):
    # J (v, 0) + J (0, w) == J (v, w), each part with the output's shape and dtype.
    f, arrays = CALLS[name]
    rng = np.random.default_rng(5)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    parts = []
    for keep in range(2):
        xs = [Tensor(a, requires_grad=False) for a in arrays]
        xs[keep].tangent = vs[keep]
        out = f(*xs)
        assert out.tangent.shape == out.shape and out.tangent.dtype == out.dtype, name
        parts.append(out.tangent)
    _, both = jvp(f, tuple(arrays), tuple(vs))
    np.testing.assert_allclose(parts[0] + parts[1], both, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- broadcasting
BINARY = {
    "add": (lambda x, y: x + y, (-3, 3), (-3, 3)),
    "sub": (lambda x, y: x - y, (-3, 3), (-3, 3)),
    "mul": (lambda x, y: x * y, (-3, 3), (-3, 3)),
    "div": (lambda x, y: x / y, (-3, 3), (0.5, 3)),
    "pow": (lambda x, y: x ** y, (0.5, 3), (-2, 2)),
    "maximum": (lambda x, y: maximum(x, y), (-3, 3), (-3, 3)),
    "minimum": (lambda x, y: minimum(x, y), (-3, 3), (-3, 3)),
    "where": (lambda x, y: where(_every_third(np.broadcast_shapes(x.shape, y.shape)), x, y), (-3, 3), (-3, 3)),
}


def _every_third(shape):
    return np.arange(int(np.prod(shape))).reshape(shape) % 3 == 0


@settings(max_examples=FEW)
@given(name=st.sampled_from(sorted(BINARY)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       which=st.sampled_from(["a", "b", "both"]), seed=st.integers(0, 2 ** 31 - 1))
def test_broadcast_operands_tangents_broadcast_forward(name, shapes, which, seed):
    f, (alo, ahi), (blo, bhi) = BINARY[name]
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(alo, ahi, sa), rng.uniform(blo, bhi, sb)
    va = rng.standard_normal(sa) if which != "b" else None
    vb = rng.standard_normal(sb) if which != "a" else None

    def run(x, y, tx, ty):
        X, Y = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
        X.tangent, Y.tangent = tx, ty
        return f(X, Y), X, Y

    out, A, B = run(a, b, va, vb)
    assert type(out.tangent) is np.ndarray and out.tangent.shape == out_shape == out.shape
    assert out.tangent.dtype == np.float64

    # Oracle: the operands (and their tangents) expanded to the output's shape first, then the same op.
    def spread(x):
        return None if x is None else np.broadcast_to(x, out_shape).copy()

    big, _, _ = run(spread(a), spread(b), spread(va), spread(vb))
    np.testing.assert_array_equal(out.tangent, big.tangent)
    # Transpose identity with backward, whose gradients are unbroadcast (summed) back.
    u = rng.standard_normal(out_shape)
    out.backward(u)
    rhs = sum(float(np.sum(t.grad * v)) for t, v in ((A, va), (B, vb)) if v is not None)
    assert np.isclose(float(np.sum(u * out.tangent)), rhs, rtol=1e-11, atol=1e-11)


def test_a_lone_tangent_of_a_broadcast_operand_is_a_writable_array_of_the_output_shape():
    x = Tensor(np.ones(3), requires_grad=False)
    x.tangent = np.array([1.0, 2.0, 3.0])
    y = x + Tensor(np.zeros((2, 3)), requires_grad=False)
    assert y.tangent.shape == (2, 3) and y.tangent.flags.writeable
    np.testing.assert_array_equal(y.tangent, np.broadcast_to(x.tangent, (2, 3)))
    y.tangent[0, 0] = 9.0
    assert x.tangent[0] == 1.0  # a copy, not a view of the input's tangent


def test_mixed_dtypes_the_tangent_widens_with_the_output():
    x = Tensor(np.arange(1.0, 4.0, dtype=np.float32), requires_grad=False)
    x.tangent = np.ones(3, np.float32)
    c64 = Tensor(np.full((2, 3), 0.5), requires_grad=False)  # float64, no tangent
    m64 = Tensor(np.ones((3, 2)), requires_grad=False)
    outs = {
        "add": x + c64, "sub": c64 - x, "mul": x * c64, "div": c64 / x, "pow": x ** c64,
        "maximum": maximum(x, c64), "minimum": minimum(c64, x), "where": where(c64.data > 0, x, c64),
        "matmul": x @ m64, "concatenate": concatenate([x.reshape(1, 3), c64]),
        "stack": stack([x, c64[0]]), "clip": x.clip(np.full(3, 1.5), None),  # float64 array bound
    }
    for name, out in outs.items():
        assert out.dtype == np.float64, name
        assert out.tangent.dtype == np.float64 and out.tangent.shape == out.shape, name
    # A float32-only computation stays float32 all the way, Python-float constants included.
    y = ((x * 2.0 + 1.0) ** 2.0).exp().sum() / 3.0
    assert y.dtype == y.tangent.dtype == np.float32


# ---------------------------------------------------------------------------------------------- conventions
def _jacobians(f, x):
    return jacfwd(f)(x), jacrev(f)(x)


@pytest.mark.parametrize("case", [
    ("relu at 0", lambda t: t.relu(), np.array([-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0]),
    ("abs at 0", lambda t: t.abs(), np.array([-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0]),
    ("x ** 0 at 0", lambda t: t ** 0.0, np.array([0.0, 2.0]), [0.0, 0.0]),
    ("clip at its bounds", lambda t: t.clip(0.0, 1.0), np.array([0.0, 1.0, 1.5, -0.5]), [1.0, 1.0, 0.0, 0.0]),
    ("2 ** x", lambda t: 2.0 ** t, np.array([0.0, 1.0]), [np.log(2.0), 2 * np.log(2.0)]),
])
def test_derivative_conventions_at_kinks_are_the_same_both_ways(case):
    what, f, x, diagonal = case
    fwd, rev = _jacobians(f, x)
    np.testing.assert_array_equal(fwd, rev, err_msg=what)
    np.testing.assert_allclose(np.diag(fwd), diagonal, rtol=1e-15, err_msg=what)


def test_zero_base_power_has_a_zero_exponent_derivative():
    # d/db a**b = a**b ln a, taken as 0 at a == 0 for b >= 0 (not 0 * -inf = nan).
    a = Tensor(np.array([0.0, 0.0, 2.0]), requires_grad=False)
    f = lambda b: a ** b  # noqa: E731
    fwd, rev = _jacobians(f, np.array([0.0, 1.5, 1.0]))
    np.testing.assert_array_equal(fwd, rev)
    np.testing.assert_allclose(np.diag(fwd), [0.0, 0.0, 2 * np.log(2.0)])


def test_ties_split_the_same_way_both_ways():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    y = np.array([[1.0, 0.0, 4.0, 0.0], [5.0, 2.0, 1.0, 2.0]])
    for f in (lambda t: t.max(axis=1), lambda t: t.min(), lambda t: t.max(),
              lambda t: maximum(t, Tensor(y, requires_grad=False)),
              lambda t: minimum(Tensor(y, requires_grad=False), t)):
        fwd, rev = _jacobians(f, x)
        np.testing.assert_array_equal(fwd, rev)
    # Row 1 of x is all ties: its max's tangent is the mean of the four tangents.
    _, t = jvp(lambda t: t.max(axis=1), (x,), (np.array([[0.0, 1.0, 2.0, 9.0], [1.0, 2.0, 3.0, 6.0]]),))
    np.testing.assert_allclose(t, [1.5, 3.0])
    # maximum at a tie: the mean of both operands' tangents.
    _, t = jvp(lambda p, q: maximum(p, q), (np.array([1.0]), np.array([1.0])), (np.array([2.0]), np.array([6.0])))
    np.testing.assert_allclose(t, [4.0])


# ---------------------------------------------------------------------------------------------- indexing
@pytest.mark.parametrize("index", [
    np.array([0, 0, 2, 0]),                                   # repeated integers
    (np.array([1, 1]), np.array([3, 3])),                     # the same element twice
    np.array([[True, False, True, True], [False] * 4, [True, True, False, False]]),
    (slice(None), np.array([3, 0, 3])),
    (None, 1, Ellipsis),
    (np.array([2, 2]), slice(1, None, 2)),
])
def test_indexing_tangents_are_gathered(index):
    x = np.arange(12.0).reshape(3, 4) * 0.3
    v = np.random.default_rng(6).standard_normal((3, 4))
    out, t = jvp(lambda q: q[index], (x,), (v,))
    np.testing.assert_array_equal(t, v[index])
    fwd, rev = _jacobians(lambda q: q[index], x)
    np.testing.assert_array_equal(fwd, rev)  # backward accumulates repeats; forward copies them


# ---------------------------------------------------------------------------------------------- matmul
@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 4), (4, 3)),
                                   ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 1)), ((4,), (2, 4, 3))])
def test_matmul_tangent_is_the_product_rule(sa, sb):
    rng = np.random.default_rng(8)
    a, b, va, vb = (rng.standard_normal(s) for s in (sa, sb, sa, sb))
    out, t = jvp(lambda p, q: p @ q, (a, b), (va, vb))
    # matmul is bilinear: a central difference with step 1 is exact up to rounding.
    diff = (np.matmul(a + va, b + vb) - np.matmul(a - va, b - vb)) / 2
    assert t.shape == out.shape == diff.shape
    np.testing.assert_allclose(t, diff, rtol=1e-12, atol=1e-12)
    for argnum in (0, 1):
        fwd = jacfwd(lambda p, q: p @ q, argnums=argnum)(a, b)
        rev = jacrev(lambda p, q: p @ q, argnums=argnum)(a, b)
        np.testing.assert_allclose(fwd, rev, rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------------------------------------- stability
@pytest.mark.parametrize("op", ["softmax", "logsoftmax", "logsumexp"])
def test_normalising_ops_have_finite_tangents_at_huge_logits(op):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 5))
    v = rng.standard_normal((3, 5))
    f = lambda t: getattr(t, op)(axis=1)  # noqa: E731
    _, small = jvp(f, (x,), (v,))
    _, huge = jvp(f, (x + 1e4,), (v,))
    assert np.isfinite(huge).all()
    # Shifting every logit by a constant leaves softmax and logsoftmax alone (and logsumexp's tangent,
    # the softmax-weighted mean of v): the tangents agree to the rounding of x + 1e4.
    np.testing.assert_allclose(huge, small, rtol=0, atol=1e-9)
    masked = np.where(np.eye(3, 5, dtype=bool), -np.inf, x)  # -inf logits, as from a mask
    _, t = jvp(f, (masked,), (v,))
    assert np.isfinite(t).all()


@settings(max_examples=FEW)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=6), st.integers(0, 2 ** 31 - 1))
def test_softmax_tangents_sum_to_zero_and_match_differences(xs, seed):
    x = np.array(xs)
    v = np.random.default_rng(seed).standard_normal(x.shape)
    _, t = jvp(lambda q: q.softmax(), (x,), (v,))
    assert abs(t.sum()) <= 1e-12 * (1 + np.abs(t).sum())  # the probabilities keep summing to 1
    h = 1e-6
    fd = (Tensor(x + h * v, requires_grad=False).softmax().data - Tensor(x - h * v, requires_grad=False).softmax().data)
    np.testing.assert_allclose(t, fd / (2 * h), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------------- joins and padding
def test_constant_parts_of_joins_and_padding_get_zero_tangents():
    rng = np.random.default_rng(10)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=False)
    x.tangent = rng.standard_normal((2, 3))
    c = Tensor(rng.standard_normal((2, 3)), requires_grad=False)
    cat = concatenate([c, x, c], axis=1)
    np.testing.assert_array_equal(cat.tangent, np.concatenate([0 * c.data, x.tangent, 0 * c.data], axis=1))
    joined = stack([c, x], axis=1)
    np.testing.assert_array_equal(joined.tangent, np.stack([0 * c.data, x.tangent], axis=1))
    pad = x.pad(((1, 2), (0, 1)), value=7.0)  # the padding value is a constant too
    np.testing.assert_array_equal(pad.tangent, np.pad(x.tangent, ((1, 2), (0, 1))))
