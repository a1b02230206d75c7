"""naivegrad and Python's cyclic garbage collector (``naivegrad.scalar._collector``).

Every call of naivegrad that makes or walks nodes runs with the collector paused, and leaves it as it found it:
``gc.isenabled()`` and the thresholds are unchanged after every call, when the call raises too, from any
starting state. No collection starts inside those calls. The graphs hold no reference cycles, so nothing is
left for the collector to find once they are dropped. Results are the same bits with the collector on or off.
"""

import gc
import threading
import time

import numpy as np
import pytest

import naivegrad.scalar as scalar
from naivegrad import func, nn, no_grad, optim
from naivegrad.grad_mode import _state, threads_off
from naivegrad.nn.backend import ScalarBatch, get_backend
from naivegrad.scalar import Value
from naivegrad.scalar._collector import pausing_collector, pausing_op
from naivegrad.scalar.higher_order import grad as scalar_grad
from naivegrad.scalar.value import _backward

THRESHOLDS = (123, 4, 5)  # not the defaults: a call that reset them would show


@pytest.fixture
def collector():
    """gc's switch and thresholds as the test sets them, restored afterwards whatever happens."""
    was, thresholds = gc.isenabled(), gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        (gc.enable if was else gc.disable)()


@pytest.fixture
def collections():
    """A list that counts the collections that start while it is being watched (a gc callback)."""
    started = []

    def callback(phase, info):
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        yield started
    finally:
        gc.callbacks.remove(callback)


# Every op, with Values and numbers on either side.
OPS = ["x + y", "x + 1", "1 + x", "x - y", "x - 1", "1 - x", "x * y", "x * 2", "2 * x", "x / y", "x / 2", "2 / x",
       "x ** y", "x ** 2", "2 ** x", "-x", "abs(x)", "x.abs()", "x.exp()", "x.log()", "x.log1p()", "x.sqrt()",
       "x.tanh()", "x.sigmoid()", "x.relu()", "x.sin()", "x.cos()"]


def every_op(x, y):
    return [eval(op, {"x": x, "y": y}) for op in OPS]


def moons_model():
    return nn.MLP(2, [8, 8, 1], backend="scalar", seed=0)


X = np.random.default_rng(0).standard_normal((12, 2))
Y = np.sign(np.random.default_rng(1).standard_normal(12))


def train_step(model):
    params = model.parameters()
    opt = optim.SGD(params, lr=0.1)
    loss = nn.hinge_loss(model(X), Y) + 1e-4 * scalar.sum(p * p for p in params)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def calls():
    """(name, call) for every kind of naivegrad call that makes or walks scalar nodes."""
    x, y = Value(0.7), Value(1.3)
    be = get_backend("scalar")
    layer = nn.Linear(2, 3, backend="scalar", seed=0)
    conv = nn.Conv2d(1, 2, 3, padding=1, backend="scalar", seed=0)
    images = np.random.default_rng(2).standard_normal((2, 1, 4, 4))

    def no_grad_ops():
        with no_grad():
            return every_op(x, y)

    def backward():
        z = (x * y + x.tanh()) ** 2
        z.backward()

    def backward_create_graph():
        z = x**3 * y
        z.backward(create_graph=True)
        g = x.grad
        x.grad = y.grad = 0.0  # the leaves' Value gradients hold the graph (a cycle, as in PyTorch): drop them
        return g

    return [
        ("every op", lambda: every_op(x, y)),
        ("every op under no_grad", no_grad_ops),
        ("Value()", lambda: Value(3)),
        ("backward", backward),
        ("backward(create_graph=True)", backward_create_graph),
        ("sum of a list", lambda: scalar.sum([x, y, 2.0])),
        ("sum of a generator", lambda: scalar.sum(v * v for v in [x, y])),
        ("dot", lambda: scalar.dot([x, 2.0], [y, x], x)),
        ("nn.MLP on a batch", lambda: moons_model()(X)),
        ("nn.MLP on one sample", lambda: moons_model()([0.5, -1.0])),
        ("nn.Linear", lambda: layer(X)),
        ("nn.Conv2d", lambda: conv(images)),
        ("backend.activation", lambda: be.activation(ScalarBatch([[x, 0.5, -1]]), "tanh")),
        ("a training step", lambda: train_step(moons_model())),
        ("higher_order.grad", lambda: scalar_grad(x * y, [x, y])),
        ("func.grad", lambda: func.grad(lambda a: (a * a).sin())(0.3)),
        ("func.hessian", lambda: func.hessian(lambda a: (a * a * a).exp())(0.3)),
        ("func.jvp", lambda: func.jvp(lambda a: a.tanh() * a, (0.3,), (1.0,))),
    ]


CALLS = [name for name, _ in calls()]


def _call(name):
    return dict(calls())[name]()


# ---------------------------------------------------------------------------------------------- as found
@pytest.mark.parametrize("enabled", [True, False], ids=["collector on", "collector off"])
@pytest.mark.parametrize("name", CALLS)
def test_the_collector_is_as_found_after_every_call(collector, name, enabled):
    gc.set_threshold(*THRESHOLDS)
    (gc.enable if enabled else gc.disable)()
    _call(name)
    assert gc.isenabled() is enabled and gc.get_threshold() == THRESHOLDS


def _raising_calls():
    x = Value(2.0)
    layer = nn.Linear(3, 2, backend="scalar", seed=0)
    return [
        ("sum of a non-number", lambda: scalar.sum([x, "3"]), TypeError),
        ("sum of a generator that raises", lambda: scalar.sum(x / (1 // 0) for _ in range(2)), ZeroDivisionError),
        ("dot of unequal lengths", lambda: scalar.dot([x], [x, x]), ValueError),
        ("dot of a non-number", lambda: scalar.dot([x], ["a"]), TypeError),
        ("a layer on the wrong shape", lambda: layer([[1.0, 2.0]]), ValueError),
        ("an op with a non-number", lambda: x * "a", TypeError),
        ("backward under no_grad", lambda: _no_grad_value().backward(), RuntimeError),
        ("grad of a non-Value", lambda: scalar_grad(x * x, [1.0]), TypeError),
    ]


@pytest.mark.parametrize("enabled", [True, False], ids=["collector on", "collector off"])
@pytest.mark.parametrize("name", [name for name, _, _ in _raising_calls()])
def test_the_collector_is_as_found_after_a_call_that_raises(collector, name, enabled):
    call, error = {n: (c, e) for n, c, e in _raising_calls()}[name]
    gc.set_threshold(*THRESHOLDS)
    (gc.enable if enabled else gc.disable)()
    with pytest.raises(error):
        call()
    assert gc.isenabled() is enabled and gc.get_threshold() == THRESHOLDS


def _no_grad_value():
    with no_grad():
        return Value(2.0) * 3.0


@pytest.mark.parametrize("wrap", [pausing_collector, pausing_op], ids=["pausing_collector", "pausing_op"])
def test_a_pause_ends_when_its_call_is_interrupted(collector, wrap):
    def op(self):
        assert not gc.isenabled()  # paused inside
        raise KeyboardInterrupt

    gc.enable()
    with pytest.raises(KeyboardInterrupt):
        wrap(op)(Value(1.0))
    assert gc.isenabled()


# ---------------------------------------------------------------------------------------------- paused
def test_no_collection_starts_inside_an_op(collector, collections):
    # With a threshold of 1, every allocation outside a pause would start a collection.
    x, y = Value(0.7), Value(1.3)
    ops = {op: eval(f"lambda: {op}", {"x": x, "y": y}) for op in OPS}
    gc.set_threshold(1, 1000, 1000)
    for op, call in ops.items():
        before = len(collections)
        call()
        assert len(collections) == before, op


def test_a_graph_built_op_by_op_starts_no_collection(collector, collections):
    a, b = Value(0.999), Value(0.001)
    y = Value(0.5)
    gc.set_threshold(1, 1000, 1000)
    before = len(collections)
    for _ in range(5000):
        y = y * a + b
    assert len(collections) == before
    gc.set_threshold(*THRESHOLDS)
    y.backward()
    assert a.grad != 0.0


def test_naivegrads_larger_calls_start_no_collection_while_they_build(collector, collections):
    # A layer, an activation, backward(), sum() over a generator of new leaves: with a threshold of 1, making
    # their objects unpaused starts a collection for nearly each; paused, one may start as the call begins
    # (where Python allocates the wrapper's arguments), none while it builds. (backward makes few objects.)
    be = get_backend("scalar")
    layer = moons_model().layers[0]
    batch = be.to_input(X, None)
    h = be.linear(batch, layer.weight, layer.bias)
    z = scalar.sum(v * v for row in h for v in row)
    calls = {  # name: (the call, the same unpaused)
        "linear": lambda: be.linear(batch, layer.weight, layer.bias),
        "activation": lambda: be.activation(h, "relu"),
        "backward": lambda: _backward(z),
        "sum": lambda: scalar.sum(Value(i) for i in range(500)),
    }
    unpaused = {
        "linear": lambda: type(be).linear.__wrapped__(be, batch, layer.weight, layer.bias),
        "activation": lambda: type(be).activation.__wrapped__(be, h, "relu"),
        "backward": lambda: _backward.__wrapped__(z),
        "sum": lambda: scalar.sum.__wrapped__(Value(i) for i in range(500)),
    }
    gc.set_threshold(1, 1000, 1000)
    for name in calls:
        counts = []
        for call in (calls[name], unpaused[name]):
            before = len(collections)
            call()
            counts.append(len(collections) - before)
        assert counts[0] <= 1 and (counts[1] > 20 or name == "backward"), (name, counts)


# ---------------------------------------------------------------------------------------------- no cycles
def test_no_reference_cycles(collector):
    # DEBUG_SAVEALL keeps whatever the collector finds unreachable in gc.garbage instead of freeing it: every
    # object of a cycle. Reference counting frees acyclic graphs before the collector ever sees them.
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for name in CALLS:
            _call(name)
        for _ in range(3):
            train_step(moons_model())
        found = gc.collect()
        assert found == 0 and gc.garbage == [], [type(o).__name__ for o in gc.garbage[:10]]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_no_cycles_left_by_threads_that_switched_grad_mode(collector):
    gc.collect()

    def worker():
        with no_grad():
            Value(1.0) * 2.0
        _state.enabled = False  # left off: the thread ends that way

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert gc.collect() == 0 and gc.garbage == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


# ---------------------------------------------------------------------------------------------- same results
def _micrograd_style_graph():
    """A graph built the way micrograd's MLP code builds it: Python's sum over products, relu."""
    rng = np.random.default_rng(3)
    ws = [[Value(w) for w in row] for row in rng.uniform(-1, 1, (8, 3)).tolist()]
    xs = rng.standard_normal((20, 3)).tolist()
    outs = [sum((w * x for w, x in zip(row, xrow)), Value(0.1)).relu() for xrow in xs for row in ws]
    loss = sum(outs) * (1.0 / len(outs))
    loss.backward()
    return [loss.data] + [w.grad for row in ws for w in row]


def _training_steps():
    model = moons_model()
    losses = [train_step(model).data for _ in range(3)]
    return losses + [p.data for p in model.parameters()]


@pytest.mark.parametrize("compute", [_micrograd_style_graph, _training_steps], ids=["micrograd's graph",
                                                                                    "nn training steps"])
def test_the_same_bits_with_the_collector_on_or_off(collector, compute):
    gc.disable()
    off = compute()
    gc.enable()
    gc.set_threshold(10, 2, 2)  # collections all the time
    on = compute()
    assert np.array_equal(np.array(on), np.array(off))


# ---------------------------------------------------------------------------------------------- threads
def test_two_threads_inside_naivegrad_leave_the_collector_on(collector):
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    @pausing_collector
    def long_call():
        inside.set()
        leave.wait(10)

    t = threading.Thread(target=long_call)
    t.start()
    try:
        assert inside.wait(10)
        assert not gc.isenabled()  # paused by the other thread's call
        (Value(1.0) * 2.0).backward()  # this thread's call finds it paused and leaves it so
        assert not gc.isenabled()
    finally:
        leave.set()
        t.join(10)
    assert gc.isenabled()  # the call that paused it switched it back on


def test_threads_training_at_once_leave_the_collector_as_found(collector):
    gc.enable()
    gc.set_threshold(*THRESHOLDS)
    errors = []

    def work():
        try:
            for _ in range(3):
                train_step(moons_model())
                _micrograd_style_graph()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert gc.isenabled() and gc.get_threshold() == THRESHOLDS


# ---------------------------------------------------------------------------------------------- grad mode
def test_the_count_of_threads_not_recording_follows_every_switch():
    others = threads_off[0]  # (threads of other tests may not be gone yet)
    with no_grad():
        assert threads_off[0] == others + 1
        with no_grad():
            assert threads_off[0] == others + 1  # one thread, however deep
        _state.enabled = True  # a direct write (as the test fixtures do) counts too
        assert threads_off[0] == others
        _state.enabled = False
        assert threads_off[0] == others + 1
    assert threads_off[0] == others


def test_a_thread_that_ends_not_recording_is_not_counted_any_more():
    seen = []

    def worker():
        before = threads_off[0]
        _state.enabled = False
        seen.append(threads_off[0] - before)

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert seen == [1]
    deadline = time.monotonic() + 10
    while threads_off[0] and time.monotonic() < deadline:  # the thread's locals go just after join() returns
        time.sleep(0.01)
    assert threads_off[0] == 0
    assert (Value(1.0) * 2.0)._prev  # this thread records
