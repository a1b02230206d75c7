"""The seed's modules and names: core_tn, core_sc, utils.initialize_layer_uniform, gradcheck."""

import numpy as np
import pytest

from naivegrad import core_sc, core_tn, scalar, tensor
from naivegrad.gradcheck import gradcheck, jacobian, numerical_jacobian
from naivegrad.utils import initialize_layer_uniform


def test_core_modules_expose_the_engines():
    assert core_tn.Tensor is tensor.Tensor
    assert core_sc.Scalar is scalar.Value


def test_seed_snippet_prints_the_right_gradients():
    Tensor = core_tn.Tensor
    x = Tensor(np.eye(3))
    y = Tensor(np.array([[1.0, 1.0, -1.0]]))
    z = y.dot(x).sum()
    z.backward()
    # z = sum_j sum_i y_i x_ij: dz/dx_ij = y_i, dz/dy_i = sum_j x_ij
    np.testing.assert_array_equal(x.grad, np.repeat(y.data.T, 3, axis=1))
    np.testing.assert_array_equal(y.grad, x.data.sum(axis=1, keepdims=True).T)


def test_seed_method_names_compute_what_they_say():
    Tensor = core_tn.Tensor
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    ta, tb = Tensor(a), Tensor(b)
    np.testing.assert_allclose(ta.dot(tb).data, a @ b, rtol=1e-14)
    np.testing.assert_array_equal(ta.mul(ta).data, a * a)
    np.testing.assert_array_equal(ta.add(ta).data, a + a)
    np.testing.assert_allclose(ta.sum().data, a.sum(), rtol=1e-14)
    np.testing.assert_allclose(ta.mean().data, a.mean(), rtol=1e-14)
    np.testing.assert_array_equal(ta.relu().data, np.maximum(a, 0))
    ls = ta.logsoftmax().data
    np.testing.assert_allclose(np.exp(ls).sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(ls, a - np.log(np.exp(a).sum(axis=1, keepdims=True)), rtol=1e-13)
    assert ta.reshape(3, 2).shape == ta.reshape((3, 2)).shape == (3, 2)


def test_initialize_layer_uniform_like_the_seed():
    np.random.seed(3)
    w = initialize_layer_uniform(784, 128)
    np.random.seed(3)
    expected = np.random.uniform(-1.0, 1.0, size=(784, 128)) / np.sqrt(784 * 128)
    assert w.dtype == np.float32 and w.shape == (784, 128)
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    assert np.abs(w).max() <= 1 / np.sqrt(784 * 128)
    with pytest.raises(ValueError, match="-1"):
        initialize_layer_uniform(3, -1)


def _seed_layer():
    rs = np.random.RandomState(11)
    W = core_tn.Tensor(rs.random_sample((10, 5)))
    x = core_tn.Tensor(rs.random_sample((1, 10)) - 0.5)
    return W, x


def test_gradcheck_accepts_a_correct_layer_and_rejects_a_coarse_eps():
    W, x = _seed_layer()

    def f(t):
        return t.dot(W).relu().logsoftmax()

    assert gradcheck(f, x) is True
    # eps = 0.1 crosses relu kinks and curvature: the finite differences are off, and gradcheck says so.
    assert gradcheck(f, x, eps=0.1) is False


def test_jacobians_agree_with_the_closed_form_and_leave_grads_alone():
    W, x = _seed_layer()
    W.grad = marker = np.full(W.shape, 7.0)
    J = jacobian(lambda t: t.dot(W), x)
    NJ = numerical_jacobian(lambda t: t.dot(W), x)
    assert J.shape == NJ.shape == (5, 10)
    np.testing.assert_allclose(J, W.data.T, rtol=1e-14)
    np.testing.assert_allclose(NJ, W.data.T, rtol=1e-7, atol=1e-9)
    assert W.grad is marker and x.grad is None


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(tensor.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 x

    x = core_tn.Tensor(np.array([0.5, -1.5, 2.0]))
    assert gradcheck(lambda t: WrongSquare.apply(t), x) is False
    assert gradcheck(lambda t: t * t, x) is True


def test_numerical_jacobian_does_not_alias_the_input():
    x = core_tn.Tensor(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(numerical_jacobian(lambda t: t.reshape(-1), x), np.eye(3), atol=1e-9)
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


def test_gradcheck_bad_input():
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda t: 3.0, core_tn.Tensor([1.0]))
    with pytest.raises(ValueError, match="eps"):
        numerical_jacobian(lambda t: t, core_tn.Tensor([1.0]), eps=0)
