"""``naivegrad.core_tn``: the original's Tensor spellings (``zeroes``, ``randn``, a shape given as a Tensor or
an array to ``reshape``) and its way of adding an op (``register``)."""

import numpy as np
import pytest

from naivegrad import core_tn
from naivegrad.core_tn import Function, Tensor


def test_zeroes_is_float32_zeros_of_the_shape():
    z = Tensor.zeroes(2, 3)
    assert isinstance(z, Tensor) and z.shape == (2, 3) and z.dtype == np.float32
    np.testing.assert_array_equal(z.data, np.zeros((2, 3)))
    assert Tensor.zeroes().shape == ()
    assert Tensor.zeroes(4).shape == (4,)


def test_randn_draws_what_numpy_randn_draws():
    np.random.seed(7)
    t = Tensor.randn(3, 2)
    np.random.seed(7)
    expected = np.random.randn(3, 2).astype(np.float32)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, expected)


@pytest.mark.parametrize("make_shape", [
    lambda s: Tensor(np.array(s)),               # what the original's ConvNet passed: a Tensor of ints
    lambda s: Tensor(np.array(s, dtype=np.float32)),
    lambda s: np.array(s),
    lambda s: np.array(s, dtype=np.int32),
], ids=["Tensor", "float Tensor", "array", "int32 array"])
def test_reshape_takes_a_shape_held_in_a_tensor_or_an_array(make_shape):
    x = Tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    y = x.reshape(make_shape((x.shape[0], -1)))
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data, x.data.reshape(2, 12))
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_a_shape_tensor_stays_out_of_the_graph():
    x = Tensor(np.ones((2, 6)))
    shape = Tensor(np.array((3, 4)))
    y = x.reshape(shape)
    y.sum().backward()
    assert shape.grad is None
    assert all(p is not shape for p in y._prev)


@pytest.mark.parametrize("bad", [np.array([2.5, -1.0]), np.array([[2, 6]]), Tensor(np.array([1.5]))],
                         ids=["fraction", "2-d", "fraction Tensor"])
def test_a_shape_that_is_not_whole_numbers_is_refused(bad):
    with pytest.raises((TypeError, ValueError), match="shape"):
        Tensor(np.ones(12)).reshape(bad)


def test_the_originals_conv_net_forward_runs():
    """The original's ConvNet reshaped the data in place, convolved, and flattened with a Tensor shape."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 28 * 28)).astype(np.float32))
    c1 = Tensor(rng.standard_normal((8, 1, 5, 5)).astype(np.float32))
    l1 = Tensor(rng.standard_normal((24 * 24 * 8, 10)).astype(np.float32))
    x.data = x.data.reshape((-1, 1, 28, 28))
    h = x.conv2d(c1).relu()
    h = h.reshape(Tensor(np.array((h.shape[0], -1))))
    out = h.dot(l1).logsoftmax()
    assert out.shape == (3, 10)
    out.mean().backward()
    assert c1.grad.shape == c1.shape and l1.grad.shape == l1.shape


def test_register_adds_an_op_as_a_method():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 2 * x * grad_output

    core_tn.register("compat_square", Square)
    try:
        x = Tensor(np.array([1.0, -3.0]))
        y = x.compat_square()
        np.testing.assert_array_equal(y.data, [1.0, 9.0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, -6.0])
    finally:
        delattr(Tensor, "compat_square")


def test_register_passes_other_tensors_through():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x, k)
            return x * k

        @staticmethod
        def backward(ctx, grad_output):
            x, k = ctx.saved_tensors
            return grad_output * k, (grad_output * x).sum(keepdims=True).reshape(k.shape)

    core_tn.register("compat_scale", Scale)
    try:
        x, k = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0]))
        x.compat_scale(k).sum().backward()
        np.testing.assert_array_equal(x.grad, [3.0, 3.0])
        np.testing.assert_array_equal(k.grad, [3.0])
    finally:
        delattr(Tensor, "compat_scale")
