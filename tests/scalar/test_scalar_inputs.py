"""What ``Value`` and its operators accept: real numbers of any kind; anything else is a TypeError naming it."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from naivegrad.scalar import Value

NOT_REAL = ["3", b"3", None, 1 + 2j, np.complex64(1 + 2j), [1.0], (1.0,), {}, object(), np.array([1.0, 2.0])]


@pytest.mark.parametrize("bad", NOT_REAL, ids=lambda b: type(b).__name__)
def test_value_rejects_non_real_data_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("good, want", [
    (np.float32(2.5), 2.5), (np.float64(-1.5), -1.5), (np.int64(3), 3.0), (np.int8(-4), -4.0), (True, 1.0),
    (Fraction(1, 4), 0.25), (7, 7.0), (Value(1.25), 1.25),
])
def test_value_accepts_any_real_number_as_a_plain_float(good, want):
    v = Value(good)
    assert v.data == want and type(v.data) is float and v.grad == 0.0 and type(v.grad) is float


@pytest.mark.parametrize("bad", ["a", None, 1 + 2j, [1.0], object()], ids=lambda b: type(b).__name__)
def test_operators_reject_non_real_operands_naming_the_type(bad):
    v = Value(2.0)
    ops = [
        lambda: v + bad, lambda: bad + v, lambda: v - bad, lambda: bad - v, lambda: v * bad, lambda: bad * v,
        lambda: v / bad, lambda: bad / v, lambda: v**bad, lambda: bad**v,
    ]
    for op in ops:
        with pytest.raises(TypeError, match="Value|" + type(bad).__name__):
            op()
    with pytest.raises(TypeError, match="str"):
        Value(2) + "a"


NUMPY_SCALARS = [np.float64(1.5), np.float32(1.5), np.int64(3), np.int32(-2), np.float16(0.5)]


@pytest.mark.parametrize("c", NUMPY_SCALARS, ids=lambda c: type(c).__name__)
def test_numpy_scalars_on_either_side_stay_in_the_graph_as_plain_floats(c):
    # numpy's operators see a Value first when the numpy scalar is on the left: the result must still be a
    # Value with a graph, and .data a Python float (numpy float64 arithmetic would warn or raise under
    # np.seterr where IEEE results are expected).
    f = float(c)
    forms = [
        (lambda v: v + c, lambda x: x + f, 1.0), (lambda v: c + v, lambda x: f + x, 1.0),
        (lambda v: v - c, lambda x: x - f, 1.0), (lambda v: c - v, lambda x: f - x, -1.0),
        (lambda v: v * c, lambda x: x * f, f), (lambda v: c * v, lambda x: f * x, f),
        (lambda v: v / c, lambda x: x / f, 1 / f), (lambda v: c / v, lambda x: f / x, -f / 4.0),
        (lambda v: v**c, lambda x: x**f, f * 2.0 ** (f - 1)), (lambda v: c**v, None, None),
    ]
    for g, closed, d in forms:
        v = Value(2.0)
        out = g(v)
        assert type(out) is Value and type(out.data) is float
        out.backward()
        if closed is not None:
            assert math.isclose(out.data, closed(2.0), rel_tol=1e-15) and math.isclose(v.grad, d, rel_tol=1e-15)
        with np.errstate(all="raise"):
            (out / 0.0, out * 1e308 * 1e308, out - out)  # IEEE results, no FloatingPointError


@given(st.floats())
def test_value_of_any_float_keeps_it_bit_for_bit(x):
    v = Value(x)
    assert type(v.data) is float
    assert (math.isnan(x) and math.isnan(v.data)) or (v.data == x and math.copysign(1, v.data) == math.copysign(1, x))


def test_repr_item_and_float():
    v = Value(2.5)
    assert repr(v) == "Value(data=2.5, grad=0.0)"
    assert v.item() == 2.5 and float(v) == 2.5
