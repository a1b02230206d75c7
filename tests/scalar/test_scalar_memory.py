"""No reference cycles: a graph is freed by reference counting alone, the moment its last reference goes.

With the cyclic collector switched off, a weak reference to a node must die as soon as the graph is dropped.
A closure capturing its own output (micrograd's ``_backward``) would keep every node alive until gc runs.
"""

import gc
import weakref

import pytest

import naivegrad.scalar as scalar
from naivegrad import no_grad
from naivegrad.scalar import Value


@pytest.fixture
def no_cyclic_gc():
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build(x, w):
    """A small graph through every kind of node; returns (root, some interior nodes)."""
    h = scalar.dot([w, 2.0], [x, x], bias=0.5).tanh()
    k = (h * x - w / 3.0 + 2.0**h) ** 2 + abs(-h).sqrt() + h.exp().log() + h.sigmoid().relu()
    root = scalar.sum([k, h.sin(), h.cos(), 1.0 / (1.0 + k)])
    return root, [h, k]


def test_dropping_the_graph_frees_every_node_without_gc(no_cyclic_gc):
    x, w = Value(0.5), Value(-1.5)
    root, interior = build(x, w)
    root.backward()
    refs = [weakref.ref(n) for n in [root] + interior]
    del root, interior
    assert all(r() is None for r in refs)
    # The leaves are still ours, with their gradients.
    assert x.grad != 0.0 and w.grad != 0.0


def test_dropping_leaves_and_graph_frees_everything_without_gc(no_cyclic_gc):
    x, w = Value(0.5), Value(-1.5)
    root, interior = build(x, w)
    root.backward()
    refs = [weakref.ref(n) for n in [x, w, root] + interior]
    del x, w, root, interior
    assert all(r() is None for r in refs)


def test_graph_built_under_no_grad_is_freed_without_gc(no_cyclic_gc):
    x, w = Value(0.5), Value(-1.5)
    with no_grad():
        root, interior = build(x, w)
    refs = [weakref.ref(n) for n in [root] + interior]
    del root, interior
    assert all(r() is None for r in refs)


def test_a_training_loop_keeps_memory_flat(no_cyclic_gc):
    params = [Value(0.1 * i) for i in range(5)]
    before = gc.get_count()[0]  # allocations of gc-tracked objects minus deallocations, since the last collect
    for _ in range(200):
        for p in params:
            p.grad = 0.0
        loss = scalar.sum((p * p).tanh() for p in params)
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad
    del loss
    # Each step made dozens of tracked nodes and tuples; with cycles, thousands would be left over.
    assert gc.get_count()[0] - before < 50
