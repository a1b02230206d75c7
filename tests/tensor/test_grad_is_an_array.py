"""``.grad`` is always an ndarray of the tensor's shape and dtype, 0-d tensors included (numpy's ``a + b`` of two
0-d arrays is a numpy scalar, which optimizers refuse)."""

import numpy as np
import pytest

from naivegrad import optim
from naivegrad.tensor import Tensor


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("expr", [lambda a: a * a, lambda a: a + a, lambda a: a.exp() * a + a.tanh() * a])
def test_a_shared_0d_tensor_gets_an_array_gradient(expr, dtype):
    a = Tensor(np.array(0.5, dtype=dtype))
    expr(a).backward()
    assert type(a.grad) is np.ndarray and a.grad.shape == () and a.grad.dtype == dtype
    expr(a).backward()  # accumulating across backward calls, too
    assert type(a.grad) is np.ndarray and a.grad.shape == ()


def test_an_optimizer_steps_a_0d_parameter_used_twice():
    w = Tensor(np.array(2.0))
    opt = optim.SGD([w], lr=0.1)
    (w * w).backward()
    opt.step()
    assert w.data == pytest.approx(2.0 - 0.1 * 4.0)
