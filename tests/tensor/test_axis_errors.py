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
