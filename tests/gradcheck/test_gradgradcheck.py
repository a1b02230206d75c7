"""gradgradcheck: second derivatives against central differences of the first, on both engines."""

import numpy as np
import pytest

from naivegrad import Value
from naivegrad.gradcheck import GradcheckError, check_second_order, gradgradcheck
from naivegrad.tensor import Function, Tensor

rng = np.random.default_rng(0)
W = Tensor(rng.standard_normal((4, 3)), requires_grad=False)


def test_tensor_functions_pass_in_both_modes():
    r = check_second_order(lambda x: (x @ W).tanh().logsoftmax(), Tensor(rng.standard_normal((2, 4))))
    assert r.ok and r.modes == ("reverse", "forward") and not r.skipped
    assert gradgradcheck(lambda x, y: [(x * y).sin(), x.exp() * y.sum()],
                         (rng.standard_normal(3), rng.standard_normal(3)))
    assert gradgradcheck(lambda x: x.softmax(dim=-1) * x, rng.standard_normal((2, 3)),
                         grad_outputs=rng.standard_normal((2, 3)))


def test_scalar_functions_pass():
    assert gradgradcheck(lambda a, b: (a * b).tanh() * a, (Value(0.5), 2.0))
    assert gradgradcheck(lambda v: [v[0] * v[1].sin(), v[1] ** 3], [Value(0.5), Value(2.0)])
    assert gradgradcheck(lambda x: x.exp().log() * x, 0.7, grad_outputs=2.0)


def test_the_cotangent_is_an_input_of_the_check():
    r = check_second_order(lambda x: x ** 3, Tensor(np.array([1.0, 2.0])))
    assert len(r.numerical) == 2  # d(u^T J)/dx and d(u^T J)/du
    assert r.numerical[1].shape == (2, 2) and np.allclose(r.numerical[1], np.diag([3.0, 12.0]), rtol=1e-6)


class WrongSecond(Function):
    """x ** 3 whose first derivative is right but is computed as a constant times x: its second derivative
    is off (3 x * x, with the first x a constant array, differentiates to 3 x, not 6 x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.frozen = x.copy()
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * ctx.frozen * x

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x * x * t


def test_a_wrong_second_derivative_is_caught_where_gradcheck_passes():
    from naivegrad.gradcheck import gradcheck

    x = Tensor(np.array([0.5, -1.5]))
    assert gradcheck(WrongSecond.apply, x)
    assert not gradgradcheck(WrongSecond.apply, x)
    with pytest.raises(GradcheckError, match="reverse mode"):
        gradgradcheck(WrongSecond.apply, x, raise_exception=True)


def test_bad_grad_outputs_are_refused():
    with pytest.raises(ValueError, match="grad_outputs hold 3 numbers, func's outputs 2"):
        gradgradcheck(lambda x: x * x, np.ones(2), grad_outputs=np.ones(3))
