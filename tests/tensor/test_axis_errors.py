"""A dim out of range is an IndexError, as PyTorch's "Dimension out of range", and stays a ValueError (what
naivegrad raised before, and numpy's AxisError is both): code written against either keeps catching it."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from naivegrad.tensor import Tensor

CALLS = {
    "size": lambda t, d: t.size(d),
    "sum": lambda t, d: t.sum(dim=d),
    "mean": lambda t, d: t.mean(dim=d),
    "max": lambda t, d: t.max(dim=d),
    "argmax": lambda t, d: t.argmax(dim=d),
    "cumsum": lambda t, d: t.cumsum(dim=d),
    "softmax": lambda t, d: t.softmax(dim=d),
    "unsqueeze": lambda t, d: t.unsqueeze(d),
    "squeeze": lambda t, d: t.squeeze(d),
    "transpose": lambda t, d: t.transpose(0, d),
}


@pytest.mark.parametrize("name", list(CALLS))
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), past=st.integers(0, 3), negative=st.booleans())
def test_a_dim_out_of_range_is_an_index_error_naming_it(name, shape, past, negative):
    t = Tensor(np.ones(shape))
    n = len(shape) + (name == "unsqueeze")  # unsqueeze's dim counts the new axis too
    d = -n - 1 - past if negative else n + past
    with pytest.raises(IndexError, match=str(d)) as caught:
        CALLS[name](t, d)
    assert isinstance(caught.value, ValueError)
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):  # the oracle agrees that this dim is out of range
        CALLS[name](torch.ones(shape), d)


@pytest.mark.parametrize("name", ["size", "sum", "softmax", "cumsum"])
def test_the_last_dim_in_range_is_accepted(name):
    t = Tensor(np.ones((2, 3)))
    for d in (-2, -1, 0, 1):
        CALLS[name](t, d)


ZERO_D = {
    "sum": lambda t, d: t.sum(dim=d), "mean": lambda t, d: t.mean(dim=d), "amax": lambda t, d: t.max(dim=d)[0],
    "min": lambda t, d: t.min(dim=d)[0], "logsumexp": lambda t, d: t.logsumexp(dim=d),
    "var0": lambda t, d: t.var(dim=d, correction=0), "std0": lambda t, d: t.std(dim=d, correction=0),
    "norm": lambda t, d: t.norm(dim=d), "norm1": lambda t, d: t.norm(p=1, dim=d), "prod": lambda t, d: t.prod(dim=d),
    "softmax": lambda t, d: t.softmax(dim=d), "log_softmax": lambda t, d: t.log_softmax(dim=d),
    "flip": lambda t, d: t.flip(d), "cumsum": lambda t, d: t.cumsum(dim=d), "squeeze": lambda t, d: t.squeeze(d),
    "transpose": lambda t, d: t.transpose(d, -1 - d), "sum_keepdim": lambda t, d: t.sum(dim=d, keepdim=True),
}


@pytest.mark.parametrize("name", list(ZERO_D))
@pytest.mark.parametrize("d", [0, -1])
@given(x=st.floats(-5, 5), u=st.floats(-3, 3))
def test_a_0d_tensor_has_dims_0_and_minus_1_as_in_torch(name, d, x, u):
    torch = pytest.importorskip("torch")
    t = Tensor(np.array(x), requires_grad=True)
    tt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, want = ZERO_D[name](t, d), ZERO_D[name](tt, d)
    assert out.shape == tuple(want.shape) == ()
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12, atol=1e-15)
    (out * u).backward()
    (want * u).backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("call", [lambda t: t.sum(dim=1), lambda t: t.softmax(dim=-2), lambda t: t.flip(2),
                                  lambda t: t.sum(dim=(0, -1))])
def test_other_dims_of_a_0d_tensor_are_refused_as_in_torch(call):
    torch = pytest.importorskip("torch")
    with pytest.raises((IndexError, ValueError)):
        call(Tensor(np.array(2.0)))
    with pytest.raises((IndexError, RuntimeError)):
        call(torch.tensor(2.0))
