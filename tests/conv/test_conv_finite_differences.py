"""Gradients of conv2d / max_pool2d / avg_pool2d against central finite differences (float64 Jacobians)."""

import numpy as np
from hypothesis import given, settings

from conv_cases import conv_cases, pool_cases
from naivegrad.gradcheck import jacobian, numerical_jacobian
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops.conv import avg_pool2d, conv2d, max_pool2d

FEW = max(10, settings.default.max_examples // 3)


def _check(f, x):
    np.testing.assert_allclose(jacobian(f, x), numerical_jacobian(f, x, eps=1e-6), rtol=1e-6, atol=1e-7)


@settings(max_examples=FEW)
@given(conv_cases(max_extra=2))
def test_conv2d_jacobians_for_input_weight_and_bias(case):
    opts = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    x, w = Tensor(case["x"]), Tensor(case["w"])
    b = None if case["b"] is None else Tensor(case["b"])
    _check(lambda t: conv2d(t, w, b, **opts), case["x"])
    _check(lambda t: conv2d(x, t, b, **opts), case["w"])
    if b is not None:
        _check(lambda t: conv2d(x, w, t, **opts), case["b"])


@settings(max_examples=FEW)
@given(pool_cases(elements="distinct", max_extra=3))
def test_max_pool2d_jacobian_away_from_ties(case):
    # Distinct values 1/64 apart: a 1e-6 step never changes which element is the maximum.
    _check(lambda t: max_pool2d(t, case["kernel_size"], case["stride"], case["padding"]), case["x"])


@settings(max_examples=FEW)
@given(pool_cases(max_extra=3))
def test_avg_pool2d_jacobian(case):
    for include in (True, False):
        _check(lambda t: avg_pool2d(t, case["kernel_size"], case["stride"], case["padding"], include), case["x"])


def test_the_seeds_conv2d_and_maxpool2x2_keep_working():
    # The seed's API: x.conv2d(w) (no bias, stride 1, no padding) and x.maxpool2x2(), both differentiable.
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((3, 1, 3, 3))
    f = lambda t: t.conv2d(Tensor(w)).maxpool2x2()  # noqa: E731
    out = f(Tensor(x))
    assert out.shape == (2, 3, 2, 2)
    expected = np.zeros((2, 3, 4, 4))
    for i in range(3):
        for j in range(3):
            expected += np.einsum("nhw,o->nohw", x[:, 0, i:i + 4, j:j + 4], w[:, 0, i, j])
    np.testing.assert_allclose(out.data, expected.reshape(2, 3, 2, 2, 2, 2).max(axis=(3, 5)), rtol=1e-12)
    _check(f, x)
