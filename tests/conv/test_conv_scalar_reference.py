"""The tensor engine's conv2d / max_pool2d / avg_pool2d against the scalar engine's, element by element.

The scalar reference builds one node per output pixel straight from the definition, so each value, each
gradient of every input element, and each forward-mode tangent is checked against an independent
computation. Max pooling selects elements, so there it must agree exactly, ties and padding included.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conv_cases import backward_with, conv_cases, data, grads, leaves, pool_cases, tangents
from naivegrad.func import jvp
from naivegrad.scalar import Value
from naivegrad.scalar.conv import amax, avg_pool2d, conv2d, max_pool2d
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops.conv import avg_pool2d as tensor_avg_pool2d

CLOSE = dict(rtol=1e-12, atol=1e-12)  # float64 sums in another order: the last bits may differ


def conv_options(case):
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


@given(conv_cases())
def test_conv2d_values_and_every_gradient_match_the_scalar_engine(case):
    opts = conv_options(case)
    X, W = leaves(case["x"]), leaves(case["w"])
    B = None if case["b"] is None else leaves(case["b"])
    out = conv2d(X, W, B, **opts)

    tx, tw = Tensor(case["x"]), Tensor(case["w"])
    tb = None if case["b"] is None else Tensor(case["b"])
    y = tx.conv2d(tw, tb, **opts)
    assert y.shape == out.shape
    np.testing.assert_allclose(y.data, data(out), **CLOSE)

    g = np.random.default_rng(out.size).standard_normal(out.shape)
    backward_with(out, g)
    y.backward(g)
    np.testing.assert_allclose(tx.grad, grads(X), **CLOSE)
    np.testing.assert_allclose(tw.grad, grads(W), **CLOSE)
    if B is not None:
        np.testing.assert_allclose(tb.grad, grads(B), **CLOSE)


@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(conv_cases(max_groups=2, max_extra=2))
def test_conv2d_tangents_match_the_scalar_engine(case):
    opts = conv_options(case)
    rng = np.random.default_rng(7)
    primals = [case["x"], case["w"]] + ([case["b"]] if case["b"] is not None else [])
    dirs = [rng.standard_normal(p.shape) for p in primals]
    out = conv2d(*[leaves(p, t) for p, t in zip(primals, dirs)], **opts)

    _, jv = jvp(lambda *ts: ts[0].conv2d(*ts[1:], **opts), tuple(primals), tuple(dirs))
    np.testing.assert_allclose(jv, tangents(out), **CLOSE)


# Small integers make many ties: the first maximum in row-major order must win on both engines.
TIES = st.integers(-2, 2).map(float)


@given(pool_cases(elements=TIES), st.booleans())
def test_max_pool2d_matches_exactly_with_and_without_ties(case, with_ties):
    x = case["x"] if with_ties else case["x"] + np.arange(case["x"].size).reshape(case["x"].shape) * 1e-3
    opts = dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"])
    X = leaves(x)
    out = max_pool2d(X, **opts)
    tx = Tensor(x)
    y = tx.max_pool2d(**opts)
    np.testing.assert_array_equal(y.data, data(out))
    # Integer gradients add up exactly in any order: overlapping windows must then agree bit for bit.
    g = np.random.default_rng(1).integers(-8, 9, out.shape).astype(float)
    backward_with(out, g)
    y.backward(g)
    np.testing.assert_array_equal(tx.grad, grads(X))


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(pool_cases(elements=TIES))
def test_max_pool2d_tangent_is_the_chosen_elements_tangent(case):
    opts = dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"])
    t = np.random.default_rng(3).standard_normal(case["x"].shape)
    out = max_pool2d(leaves(case["x"], t), **opts)
    _, jv = jvp(lambda a: a.max_pool2d(**opts), (case["x"],), (t,))
    np.testing.assert_array_equal(jv, tangents(out))


@given(pool_cases(), st.booleans())
def test_avg_pool2d_matches_the_scalar_engine(case, count_include_pad):
    opts = dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"],
                count_include_pad=count_include_pad)
    X = leaves(case["x"])
    out = avg_pool2d(X, **opts)
    tx = Tensor(case["x"])
    y = tensor_avg_pool2d(tx, **opts)
    np.testing.assert_allclose(y.data, data(out), **CLOSE)
    g = np.random.default_rng(2).standard_normal(out.shape)
    backward_with(out, g)
    y.backward(g)
    np.testing.assert_allclose(tx.grad, grads(X), **CLOSE)

    t = np.random.default_rng(4).standard_normal(case["x"].shape)
    _, jv = jvp(lambda a: tensor_avg_pool2d(a, **opts), (case["x"],), (t,))
    np.testing.assert_allclose(jv, tangents(avg_pool2d(leaves(case["x"], t), **opts)), **CLOSE)


def test_special_values_pick_the_same_element_on_both_engines():
    # nan wins (the last nan in the window), padding never wins even against a real -inf.
    x = np.array([[[[1.0, np.nan, 3.0, np.nan],
                    [-np.inf, -np.inf, 2.0, 5.0],
                    [np.inf, 0.0, -np.inf, -np.inf],
                    [-np.inf, -np.inf, -np.inf, -np.inf]]]])
    for opts in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), padding=1)):
        X = leaves(x)
        out = max_pool2d(X, **opts)
        tx = Tensor(x)
        y = tx.max_pool2d(**opts)
        np.testing.assert_array_equal(y.data, data(out))
        g = np.arange(1.0, out.size + 1).reshape(out.shape)
        backward_with(out, g)
        y.backward(g)
        np.testing.assert_array_equal(tx.grad, grads(X))


def test_amax_is_one_node_whose_operand_is_the_chosen_element():
    a, b, c = Value(2.0), Value(5.0), Value(5.0)
    m = amax([a, b, 1.0, c])
    assert m.data == 5.0 and m._prev == (b,) and m._op == "max"
    m.backward()
    assert (a.grad, b.grad, c.grad) == (0.0, 1.0, 0.0)
    first_nan, last_nan = Value(float("nan")), Value(float("nan"))
    n = amax([Value(1.0), first_nan, 3.0, last_nan])
    assert n.data != n.data and n._prev == (last_nan,)
    assert amax([1.0, 4.0])._prev == ()  # a constant winner: nothing to differentiate
