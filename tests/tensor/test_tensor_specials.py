"""IEEE special values, ties, and numerically hard inputs: the tensor engine agrees with the scalar
engine (the reference) element by element, and with PyTorch where the convention is PyTorch's."""

import itertools
import math

import numpy as np
import pytest

from naivegrad import scalar
from naivegrad.scalar import Value
from naivegrad.scalar.higher_order import grad
from naivegrad.tensor import Tensor, maximum, minimum, where

INF, NAN = math.inf, math.nan
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, -1e-300, 1e300, -1e300, 709.78, 710.0, -746.0,
            40.0, -40.0, INF, -INF, NAN]


def same(got, want):
    """Equal, both nan, or within 1e-12 relative."""
    got, want = float(got), float(want)
    if math.isnan(want):
        return math.isnan(got)
    if got == want:
        return True
    return math.isfinite(want) and abs(got - want) <= 1e-12 * abs(want)


UNARY = {
    "neg": (lambda t: -t, lambda v: -v), "abs": (Tensor.abs, abs), "exp": (Tensor.exp, Value.exp),
    "log": (Tensor.log, Value.log), "sqrt": (Tensor.sqrt, Value.sqrt), "tanh": (Tensor.tanh, Value.tanh),
    "sigmoid": (Tensor.sigmoid, Value.sigmoid), "relu": (Tensor.relu, Value.relu),
    "sin": (Tensor.sin, Value.sin), "cos": (Tensor.cos, Value.cos),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_ops_at_special_points_match_the_scalar_engine(name):
    tf, sf = UNARY[name]
    x = Tensor(np.array(SPECIALS))
    out = tf(x)
    out.backward(np.ones(len(SPECIALS)))
    for i, v in enumerate(SPECIALS):
        s = Value(v)
        r = sf(s)
        r.backward()
        assert same(out.data[i], r.data), f"{name}({v}) = {out.data[i]}, scalar engine {r.data}"
        assert same(x.grad[i], s.grad), f"{name}'({v}) = {x.grad[i]}, scalar engine {s.grad}"


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
}
POW_POINTS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -8.0, 1 / 3, INF, -INF, NAN, 1e300]


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_ops_at_special_points_match_the_scalar_engine(name):
    f = BINARY[name]
    pts = POW_POINTS if name == "pow" else SPECIALS
    pairs = list(itertools.product(pts, pts))
    a = Tensor(np.array([p[0] for p in pairs]))
    b = Tensor(np.array([p[1] for p in pairs]))
    out = f(a, b)
    out.backward(np.ones(len(pairs)))
    for i, (x, y) in enumerate(pairs):
        sx, sy = Value(x), Value(y)
        r = f(sx, sy)
        r.backward()
        assert same(out.data[i], r.data), f"{name}({x}, {y}) = {out.data[i]}, scalar engine {r.data}"
        assert same(a.grad[i], sx.grad), f"d{name}/da at ({x}, {y}): {a.grad[i]}, scalar engine {sx.grad}"
        assert same(b.grad[i], sy.grad), f"d{name}/db at ({x}, {y}): {b.grad[i]}, scalar engine {sy.grad}"


@pytest.mark.parametrize("n", [0, 1, 2, 0.5, -1, 3.0])
def test_power_by_a_constant_at_special_points(n):
    x = Tensor(np.array(SPECIALS))
    (x ** n).backward(np.ones(len(SPECIALS)))
    for i, v in enumerate(SPECIALS):
        s = Value(v)
        r = s ** n
        r.backward()
        assert same(x.grad[i], s.grad), f"d/dx x**{n} at {v}: {x.grad[i]}, scalar engine {s.grad}"


def test_the_stated_conventions():
    x = Tensor([0.0, -0.0, 0.0], dtype=np.float64)
    (x.relu() + x.abs() + x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # relu'(0) = abs'(0) = d/dx x**0 = 0
    a = Tensor([0.0, 0.0], dtype=np.float64)
    b = Tensor([2.0, 0.0], dtype=np.float64)
    (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad, [0.0, 0.0])  # d/db a**b = 0 where a == 0 and b >= 0


def test_no_numpy_warnings_escape(recwarn):
    with np.errstate(all="raise"):  # even a caller who turned warnings into errors gets IEEE results
        x = Tensor([0.0, -1.0, 1000.0, INF], dtype=np.float64)
        y = (x.log() + x.sqrt() + x.exp() + 1.0 / x + x * x + (x - x)).sum()
        y.backward()
    assert np.isnan(y.item())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_maximum_minimum_ties_split_the_gradient_half_half():
    a = Tensor([1.0, 2.0, 3.0], dtype=np.float64)
    b = Tensor([1.0, 5.0, 0.0], dtype=np.float64)
    (maximum(a, b) + minimum(a, b) * 10).sum().backward()
    np.testing.assert_array_equal(a.grad, [5.5, 10.0, 1.0])
    np.testing.assert_array_equal(b.grad, [5.5, 1.0, 10.0])


# Ops whose derivative is 0 somewhere: PyTorch either selects the gradient there (a mask: exactly 0, even for an
# infinite or nan gradient) or multiplies it by the 0 (0 * inf = nan). Each case: the op on Tensors (also run
# on Values, elementwise, when ``scalar`` is set), the op in PyTorch, the inputs, the output gradient.
def _pool(x):
    return x.reshape(1, 1, 1, 4).max_pool2d((1, 2)).reshape(2)


def _torch_pool(x):
    import torch.nn.functional as F

    return F.max_pool2d(x.reshape(1, 1, 1, 4), (1, 2)).reshape(2)


G = [INF, NAN, -INF, 1.0]
MASKS = {  # name: (op, torch op, inputs, gradient, scalar engine too)
    "relu selects": (lambda x: x.relu(), None, [[-1.0, 0.0, -0.0, -INF]], G, True),
    "relu passes at nan": (lambda x: x.relu(), None, [[NAN, NAN, 2.0, 0.0]], [1.0, INF, INF, INF], True),
    "clip selects": (lambda x: x.clip(0.0, 1.0), lambda x: x.clamp(0.0, 1.0), [[-1.0, 2.0, NAN, 0.5]], G, False),
    "clip min selects": (lambda x: x.clip(0.0, None), lambda x: x.clamp(min=0.0), [[-1.0, -INF, NAN, 1.0]], G,
                         False),
    "maximum selects": (lambda a, b: a.maximum(b), lambda a, b: a.maximum(b),
                        [[1.0, 1.0, 2.0, NAN], [2.0, 2.0, 2.0, 1.0]], G, False),
    "where selects": (lambda a, b: where(np.array([True, False, True, False]), a, b),
                      lambda a, b: a.where(torch_bool([True, False, True, False]), b),
                      [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], G, False),
    "x ** 0 selects": (lambda x: x ** 0, None, [[1.0, 0.0, INF, NAN]], G, True),
    "a ** b selects at b == 0": (lambda a, b: a ** b, None, [[1.0, 0.0, INF, -2.0], [0.0, 0.0, 0.0, 0.0]], G, True),
    "x * 0 multiplies": (lambda a, b: a * b, None, [[1.0, -1.0, 0.0, INF], [0.0, 0.0, 0.0, 0.0]], G, True),
    "abs at 0 multiplies": (lambda x: abs(x), None, [[0.0, -0.0, 0.0, NAN]], G, True),
    "amax multiplies": (lambda x: x.max(), lambda x: x.amax(), [[1.0, 3.0, 2.0, 3.0]], INF, False),
    "amax of a nan is nan": (lambda x: x.max(), lambda x: x.amax(), [[1.0, NAN, 2.0, 3.0]], 1.0, False),
    "max_pool2d selects": (_pool, _torch_pool, [[1.0, 3.0, NAN, 0.0]], [INF, NAN], False),
}


def torch_bool(values):
    import torch

    return torch.tensor(values)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(MASKS))
def test_a_mask_gives_exactly_zero_for_any_gradient_and_a_zero_derivative_multiplies_as_torch(name, dtype):
    torch = pytest.importorskip("torch")
    f, tf, inputs, g, on_values = MASKS[name]
    xs = [Tensor(np.array(a, dtype=dtype)) for a in inputs]
    out = f(*xs)
    out.backward(np.array(g, dtype=dtype))
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs]
    tout = (tf or f)(*ts)
    tout.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_array_equal(out.data, tout.detach().numpy().astype(dtype), err_msg=f"{name}: value")
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_array_equal(x.grad, t.grad.numpy().astype(dtype), err_msg=f"{name}: gradient {i}")
    if on_values and dtype == np.float64:  # the scalar engine, one element at a time, in both modes
        for k, gk in enumerate(np.broadcast_to(g, out.shape)):
            vs = [Value(a[k], tangent=gk) for a in inputs]
            r = f(*vs)
            scalar.dot([r], [gk]).backward()
            for i, (v, x) in enumerate(zip(vs, xs)):
                assert same(v.grad, x.grad[k]), f"{name}: scalar gradient {i} at {k}: {v.grad} vs {x.grad[k]}"
            with_tangent = Tensor(np.array([a[k] for a in inputs[:1]]))
            with_tangent.tangent = np.array([gk])
            tangent = f(with_tangent, *[Tensor(np.array([a[k]])) for a in inputs[1:]]).tangent
            lone = Value(inputs[0][k], tangent=gk)
            assert same(f(lone, *[Value(a[k]) for a in inputs[1:]]).tangent, tangent[0]), f"{name}: tangent at {k}"


TANGENT_MASKS = {  # forward mode selects in all of these, as PyTorch's jvp rules (amax's too: where(mask, t, 0))
    "relu": (lambda x: x.relu(), None, [-1.0, 0.0, NAN, 2.0], [INF, NAN, 1.0, INF]),
    "clip": (lambda x: x.clip(0.0, 1.0), lambda x: x.clamp(0.0, 1.0), [-1.0, 2.0, NAN, 0.5], [INF, NAN, 1.0, -INF]),
    "x ** 0": (lambda x: x ** 0, None, [-1.0, 2.0, NAN, 0.0], [INF, NAN, 1.0, INF]),
    "amax": (lambda x: x.max(), lambda x: x.amax(), [1.0, 3.0, 2.0, 3.0], [INF, 1.0, NAN, 2.0]),
}


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # torch.func's own
@pytest.mark.parametrize("name", list(TANGENT_MASKS))
def test_forward_mode_selects_an_infinite_or_nan_tangent_as_torch(name):
    torch = pytest.importorskip("torch")
    from torch.func import jvp as torch_jvp

    from naivegrad.func import jvp

    f, tf, x, t = TANGENT_MASKS[name]
    _, mine = jvp(f, (np.array(x),), (np.array(t),))
    _, theirs = torch_jvp(tf or f, (torch.tensor(x, dtype=torch.float64),), (torch.tensor(t, dtype=torch.float64),))
    np.testing.assert_array_equal(mine, theirs.numpy())


def test_a_power_by_one_half_does_not_depend_on_how_the_exponent_is_broadcast():
    # numpy computes x ** 0.5 as sqrt when the exponent is one number (nan at -inf, -0.0 at -0.0), as pow when
    # it is an array (inf, 0.0): the tensor engine gives C's pow, as the scalar engine, in every case.
    x = np.array([-INF, -0.0, 4.0, NAN, -1.0])
    want = [Value(v) ** 0.5 for v in x]
    for exponent in (0.5, Tensor(np.array(0.5)), Tensor(np.full(5, 0.5)), Tensor(np.full((2, 1), 0.5))):
        got = (Tensor(x) ** exponent).data
        for g, w in zip(np.broadcast_to(got, (2, 5))[0] if got.ndim == 2 else got, want):
            assert same(g, w.data) and (g != g or np.signbit(g) == np.signbit(w.data)), (exponent, g, w.data)


def test_create_graph_gives_the_gradients_backward_gives_through_a_selection():
    for make in (lambda v: v.relu(), lambda v: v ** 0):
        x = Value(-2.0)
        (g,) = grad(make(x) * INF, [x], create_graph=True)
        assert grad(make(x) * INF, [x]) == [0.0]
        assert g.data == 0.0


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_ties_split_evenly_like_torch_amax(op, axis):
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 3.0, -1.0]])
    x = Tensor(data)
    g = np.arange(1.0, 1.0 + np.size(getattr(data, op)(axis=axis))).reshape(np.shape(getattr(data, op)(axis=axis)))
    getattr(x, op)(axis=axis).backward(g)
    tx = torch.tensor(data, requires_grad=True)
    dims = (0, 1) if axis is None else axis
    getattr(tx, "a" + op)(dim=dims).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-15)
    assert x.grad.sum() == pytest.approx(g.sum())  # the whole gradient is handed out, split evenly


@pytest.mark.parametrize("scale", [1e3, 1e5, 1e30])
def test_softmax_family_is_stable_for_huge_logits(scale):
    z = np.array([[1.0, -1.0, 0.5], [0.0, 0.0, -2.0]]) * scale
    x = Tensor(z)
    ls = x.logsoftmax(axis=1)
    sm = x.softmax(axis=1)
    lse = x.logsumexp(axis=1)
    for t in (ls, sm, lse):
        assert np.all(np.isfinite(t.data))
    np.testing.assert_allclose(np.exp(ls.data).sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(sm.data.sum(axis=1), 1.0, rtol=1e-15)
    top = z.max(axis=1, keepdims=True)  # the maxima dominate: the rest is below e**-500
    np.testing.assert_allclose(lse.data, top[:, 0] + np.log((z == top).sum(axis=1)), rtol=1e-15)
    (ls.sum() + sm.sum() + lse.sum()).backward()
    assert np.all(np.isfinite(x.grad))


def test_masked_logits_minus_infinity():
    x = Tensor(np.array([[0.0, -np.inf, 1.0]]))
    ls = x.logsoftmax()
    assert ls.data[0, 1] == -np.inf and np.isfinite(ls.data[0, [0, 2]]).all()
    np.testing.assert_allclose(x.softmax().data[0, 1], 0.0)
    assert x.logsumexp().item() == pytest.approx(np.log(1 + np.e))
    assert Tensor(np.full(3, -np.inf)).logsumexp().item() == -np.inf


def test_repeated_indices_accumulate():
    x = Tensor(np.arange(4.0))
    y = x[np.array([0, 0, 3, 0])]
    y.backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [7.0, 0.0, 0.0, 3.0])
    m = Tensor(np.arange(6.0).reshape(2, 3))
    m[m.data > 2].sum().backward()
    np.testing.assert_array_equal(m.grad, [[0, 0, 0], [1, 1, 1]])
