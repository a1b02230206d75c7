"""Python's cyclic garbage collector, paused while naivegrad builds or walks a graph.

A scalar graph holds no reference cycles: reference counting frees it the moment its last reference goes
(``tests/scalar/test_scalar_gc.py``). The cyclic collector cannot know that. It runs whenever enough new
container objects have piled up, and a graph is nothing but new containers (a ``Value`` per node), every one
of them alive: each run walks them again and frees nothing, and the full runs that a growing graph keeps
setting off walk the whole heap. Building a million-node graph op by op took nearly four times as long with
the collector on as with it off (``bench/bench_scalar.py``).

Two defences. First, a node is one container, not two or three: its operands and local derivatives live in
slots of the ``Value`` (value.py), not in tuples beside it as in micrograd, so a graph sets off half to a
third of the collections, each with as many fewer objects to walk. That is what helps where the caller's own
code allocates between ops. Second, naivegrad's own calls run with the collector paused: every op of ``Value`` (``pausing_op``, applied in
value.py), and the calls that make or walk many nodes at once (``pausing_collector``): ``backward()``,
``higher_order.grad`` (``naivegrad.func``'s reverse mode), the fused ``sum`` and ``dot``, and the scalar
backend's layers in ``naivegrad.nn``.

- The pause is the call's own business. It is taken only if the collector was on, and undone when the call
  returns or raises (``finally``): afterwards ``gc.isenabled()`` is what it was, and the thresholds are never
  touched. A collection that came due meanwhile happens at the next allocation outside naivegrad. Nested
  calls cost one check each (the collector is already off, so the inner call leaves it alone).
- What it buys: a loop of ops alone (``for ...: y = y * a + b``) never starts a collection; a batch through
  an ``nn`` layer is walked once, after the layer, instead of over and over while it is built. Code that
  allocates objects of its own between ops (micrograd's ``sum(wi*xi for ...)`` makes a generator per
  neuron) sets collections off at those allocations: naivegrad cannot pause the caller's code (the first
  defence is what helps there: in bench_scalar's round of micrograd's demo, one full collection of the
  whole graph was half of naivegrad's time before nodes were one object, and none comes due now).
- What it costs: about 70 ns per op (three C calls; an op takes 300 to 400 ns), 20 ns with the collector off.

Threads. The switch is process-wide (``gc.disable()``), so a pause in one thread holds in all of them while it
lasts. Two threads inside naivegrad at once are safe: a call restores the collector only if it was on when
the call began, so whichever call turned it off turns it back on, and a call that began while another had it
off leaves it alone (it may finish with the collector back on: a pause is a speed-up, never needed for
correctness). What no pause can make safe is *another* thread calling ``gc.disable()`` or ``gc.enable()``
while a naivegrad call is running: the call restores the state it saw when it began, undoing the other
thread's switch, and ``gc.isenabled()`` read in another thread meanwhile says False. Programs that switch the
collector from one thread while another computes with naivegrad should do so around, not during, its calls.
"""

import functools
import gc

__all__ = ["pausing_collector", "pausing_op"]

_isenabled, _disable, _enable = gc.isenabled, gc.disable, gc.enable


def pausing_collector(fn):
    """``fn``, run with the cyclic garbage collector paused (if it was enabled), and restored afterwards."""

    @functools.wraps(fn)
    def paused(*args, **kwargs):
        if not _isenabled():
            return fn(*args, **kwargs)
        _disable()
        try:
            return fn(*args, **kwargs)
        finally:
            _enable()

    return paused


def pausing_op(method):
    """``pausing_collector`` for an op of ``Value``: a method of ``self`` alone or of ``self`` and ``other``.

    The same pause, made as cheap as Python allows (no ``*args`` to pass on): it runs on every op, which
    takes only a few hundred nanoseconds.
    """
    if method.__code__.co_argcount == 1:
        def paused(self):
            if not _isenabled():
                return method(self)
            _disable()
            try:
                return method(self)
            finally:
                _enable()
    else:
        def paused(self, other):
            if not _isenabled():
                return method(self, other)
            _disable()
            try:
                return method(self, other)
            finally:
                _enable()

    return functools.update_wrapper(paused, method)
