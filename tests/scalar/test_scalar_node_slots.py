"""A node keeps its operands and local derivatives in slots (``_a``/``_b``/``_da``/``_db``, tuples for n-ary
nodes); micrograd's ``_prev`` and the engine's ``_local`` are read back from them. These tests pin that the
read-back is exactly what the op recorded: the operands in order, and the op's own rule evaluated again on
them (a second, independent evaluation: ``Op.derivatives`` on the node's Values)."""

import math

import pytest
from hypothesis import given, strategies as st

import naivegrad.scalar as scalar
from naivegrad import no_grad
from naivegrad.scalar import Value

numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)


def every_node(x, y):
    """(node, its Value operands in order) for every kind of node: unary, binary, number operand, n-ary."""
    return [
        (x + y, (x, y)), (x + 1.5, (x,)), (1.5 + x, (x,)), (x - y, (x, y)), (x - 1.5, (x,)), (1.5 - x, (x,)),
        (x * y, (x, y)), (x * 2.5, (x,)), (2.5 * x, (x,)), (x / y, (x, y)), (x / 2.5, (x,)), (2.5 / x, (x,)),
        (x**y, (x, y)), (x**2.0, (x,)), (2.0**x, (x,)), (x**0.0, (x,)), (-x, (x,)), (abs(x), (x,)),
        (x.exp(), (x,)), (x.log(), (x,)), (x.sqrt(), (x,)), (x.tanh(), (x,)), (x.sigmoid(), (x,)),
        (x.relu(), (x,)), (x.sin(), (x,)), (x.cos(), (x,)), (x.gelu(), (x,)), (x.gelu(approximate="tanh"), (x,)),
        (x.softplus(2.0), (x,)), (x.leaky_relu(0.1), (x,)), (x.elu(), (x,)), (x.erf(), (x,)), (x.sign(), (x,)),
        (x * x, (x, x)), (scalar.sum([x, y, 1.0]), (x, y)), (scalar.sum([x, y, x, y]), (x, y, x, y)),
        (scalar.dot([x, y], [y, x], x), (x, y, y, x, x)), (scalar.dot([x, 2.0], [3.0, y]), (x, y)),
    ]


def _same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@given(numbers, numbers)
def test_operands_and_local_derivatives_read_back_as_recorded(a, b):
    x, y = Value(a), Value(b)
    for node, operands in every_node(x, y):
        assert len(node._prev) == len(operands) and all(p is q for p, q in zip(node._prev, operands)), node._op
        local = node._local
        assert type(local) is tuple and len(local) == len(operands), node._op
        # The op's rule, evaluated again on the node's own operands (Values: each derivative is a Value or a
        # number), gives what the node recorded, bit for bit (nan where nan).
        again = [d.data if type(d) is Value else float(d) for d in node._op.derivatives(node)]
        assert all(_same(float(p), q) for p, q in zip(local, again)), (node._op, local, again)


def test_leaves_constants_and_unrecorded_nodes_have_no_operands():
    x = Value(2.0)
    assert x._prev == () and x._local == ()
    constant = scalar.sum([1.0, 2.0])  # no Value among the terms: a constant, a leaf of any later graph
    assert constant._prev == () and constant.data == 3.0
    with no_grad():
        unrecorded = [x * x, x + 1.0, scalar.sum([x, x]), scalar.sum([1.0, 2.0]), scalar.dot([x], [x])]
    for v in unrecorded:
        assert v._prev == () and v._local == ()
        with pytest.raises(RuntimeError, match="no_grad"):
            v.backward()


def test_a_node_built_by_hand_keeps_its_children_in_order():
    # micrograd's constructor: Value(data, _children, _op). Such a node has no local derivatives to walk.
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    for children in [(a,), (a, b), (a, b, c), [c, a]]:
        v = Value(6.0, children, "custom")
        assert v._prev == tuple(children) and v._local == (0.0,) * len(children) and v._op == "custom"
        v.backward()  # walks, contributing nothing through the unknown op
        assert all(ch.grad == 0.0 for ch in children)


def test_prev_is_read_only():
    v = Value(1.0) * Value(2.0)
    with pytest.raises(AttributeError):
        v._prev = ()
