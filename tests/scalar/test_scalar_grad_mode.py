"""``no_grad``, ``enable_grad``, ``set_grad_enabled``: no graph is recorded, per thread, restored on exit."""

import threading

import numpy as np
import pytest

import naivegrad
import naivegrad.scalar as scalar
from naivegrad import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor


def every_op(x, y):
    """One output of every kind of node, from Values x and y."""
    return [
        x + y, x + 1, 1 + x, x - y, x - 1, 1 - x, x * y, x * 2, 2 * x, x / y, x / 2, 2 / x, x**y, x**2, 2**x,
        -x, abs(x), x.exp(), x.log(), x.sqrt(), x.tanh(), x.sigmoid(), x.relu(), x.sin(), x.cos(),
        scalar.sum([x, y, 1.0]), scalar.dot([x, 2.0], [y, x], x),
    ]


def test_no_grad_records_no_graph_but_computes_the_same_values():
    x, y = Value(0.7), Value(1.3)
    recorded = every_op(x, y)
    with no_grad():
        assert not is_grad_enabled()
        bare = every_op(x, y)
    assert is_grad_enabled()
    for r, b in zip(recorded, bare):
        assert r._prev and b._prev == () and b.data == r.data
    # An output made under no_grad is a constant to later graphs: nothing flows into x through it.
    out = bare[6] * y
    out.backward()
    assert x.grad == 0.0 and y.grad == bare[6].data


def test_state_is_restored_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()


def test_enable_grad_inside_no_grad_and_nesting():
    x = Value(2.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = x * 3.0
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        z = x * 3.0
    assert is_grad_enabled()
    assert y._prev == (x,) and z._prev == ()


def test_one_context_manager_instance_reused_and_nested():
    ng = no_grad()
    with ng:
        with enable_grad():
            with ng:
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_decorators_set_the_mode_only_during_the_call():
    @no_grad()
    def off():
        return is_grad_enabled(), Value(1.0) * 2.0

    @enable_grad()
    def on():
        return is_grad_enabled()

    @set_grad_enabled(False)
    def off_too():
        return is_grad_enabled()

    assert is_grad_enabled()  # decorating changed nothing (PyTorch restores set_grad_enabled's switch too)
    enabled, out = off()
    assert not enabled and out._prev == () and is_grad_enabled()
    assert not off_too() and is_grad_enabled()
    with no_grad():
        assert on() and not is_grad_enabled()
    assert off.__name__ == "off"  # functools.wraps


def test_set_grad_enabled_as_a_call_and_as_a_context():
    try:
        set_grad_enabled(False)
        assert not is_grad_enabled()
        with set_grad_enabled(True):
            assert is_grad_enabled()
        assert not is_grad_enabled()
    finally:
        set_grad_enabled(True)
    assert is_grad_enabled()


def test_no_grad_in_another_thread_does_not_affect_this_one():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with no_grad():
            entered.set()
            release.wait(10)
            seen["worker"] = is_grad_enabled(), (Value(1.0) * 2.0)._prev

    t = threading.Thread(target=worker)
    t.start()
    try:
        assert entered.wait(10)
        x = Value(1.0)
        y = x * 2.0  # this thread records while the worker sits inside no_grad
        assert is_grad_enabled() and y._prev == (x,)
    finally:
        release.set()
        t.join(10)
    assert seen["worker"] == (False, ())


def test_a_new_thread_starts_with_grad_enabled_whatever_this_one_does():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append((is_grad_enabled(), (Value(1.0) + 1.0)._prev != ())))
        t.start()
        t.join(10)
        assert not is_grad_enabled()
    assert seen == [(True, True)]


def test_top_level_names():
    assert naivegrad.no_grad is scalar.no_grad is no_grad
    assert naivegrad.Value is Value


def test_backward_of_a_value_computed_under_no_grad_raises_as_the_tensor_engines_does():
    x, y = Value(0.7), Value(1.3)
    with no_grad():
        outs = every_op(x, y)
    for out in outs:
        for create_graph in (False, True):
            with pytest.raises(RuntimeError, match="does not require grad.*no_grad"):
                out.backward(create_graph=create_graph)
    assert x.grad == 0.0 and y.grad == 0.0 and outs[0].grad == 0.0
    # The tensor engine says the same.
    t = Tensor(np.array([0.7]), requires_grad=True)
    with no_grad():
        s = (t * 2.0).sum()
    with pytest.raises(RuntimeError, match="does not require grad.*no_grad"):
        s.backward()


def test_backward_of_leaves_and_constants_still_works():
    x = Value(2.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0  # a leaf's backward adds d x / d x = 1, as before
    with no_grad():
        leaf = Value(5.0)  # made under no_grad, still a leaf
        k = x * 3.0  # computed under no_grad: a constant to the graphs below
    leaf.backward()
    assert leaf.grad == 1.0
    c = scalar.sum([1.0, 2.0])  # a node with no operands: a constant, not an unrecorded result
    c.backward()
    assert c.grad == 1.0
    x.grad = 0.0
    (k * x).backward()
    assert x.grad == 6.0 and k.grad == 2.0
