"""Small failures with clear messages: a bare ``@no_grad``, a bound of ``clip`` that is not a number, an IDX
header whose size does not fit in 64 bits."""

import struct

import numpy as np
import pytest

import naivegrad
from naivegrad import Tensor, Value, enable_grad, no_grad
from naivegrad.data.idx import CorruptDataError, parse_idx


@pytest.mark.parametrize("decorator, inside", [(no_grad, False), (enable_grad, True)])
def test_grad_mode_decorates_with_and_without_parentheses(decorator, inside):
    def probe(x):
        """Doc."""
        return naivegrad.is_grad_enabled(), x * 2.0

    for wrapped in (decorator(probe), decorator()(probe)):
        assert wrapped.__name__ == "probe" and wrapped.__doc__ == "Doc."
        with naivegrad.set_grad_enabled(not inside):
            enabled, y = wrapped(Value(1.0))
            assert enabled is inside and naivegrad.is_grad_enabled() is (not inside)
        assert (y._prev != ()) is inside  # the op inside recorded its graph only where grad mode was on


def test_a_bare_no_grad_decorator_records_nothing_on_either_engine():
    @no_grad
    def forward(v, t):
        return v * v, (t * t).sum()

    v, t = forward(Value(3.0), Tensor([1.0, 2.0]))
    assert v.data == 9.0 and v._prev == () and not t.requires_grad


def test_no_grad_refuses_an_argument_that_is_not_a_function():
    with pytest.raises(TypeError, match="no_grad.*int: 3"):
        no_grad(3)


@pytest.mark.parametrize("kwargs, name, shown", [
    ({"min": "a"}, "min", "str: 'a'"),
    ({"max": [1.0, "b"]}, "max", "list"),
    ({"min": None, "max": {"x": 1}}, "max", "dict"),
])
def test_clip_names_the_bound_that_is_not_a_number(kwargs, name, shown):
    with pytest.raises(TypeError, match=f"clip: {name} must be.*{shown}"):
        Tensor([1.0, 2.0]).clip(**kwargs)


def test_clip_still_takes_numbers_arrays_and_tensors_as_bounds():
    x = Tensor([-2.0, 0.5, 3.0])
    assert x.clip(min=0).data.tolist() == [0.0, 0.5, 3.0]
    assert x.clip(max=np.array([1.0, 0.0, 1.0])).data.tolist() == [-2.0, 0.0, 1.0]
    assert x.clip(min=Tensor([-1.0, -1.0, -1.0]), max=np.int64(2)).data.tolist() == [-1.0, 0.5, 2.0]


def test_an_idx_header_whose_size_overflows_64_bits_is_named_exactly():
    # 4 dimensions of 2**32 - 1: the product wraps around to a small negative number in int64.
    header = bytes([0, 0, 8, 4]) + struct.pack(">4I", *(2**32 - 1,) * 4)
    with pytest.raises(CorruptDataError, match=r"f\.idx: truncated: header says shape \(4294967295, "
                                               r".*340282366604025813516997721482669850645 bytes"):
        parse_idx(header + bytes(16), "f.idx")
