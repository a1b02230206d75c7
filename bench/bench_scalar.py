"""The scalar engine against micrograd's, and against Python's cyclic garbage collector.

- ``scalar-engine: micrograd MLP graph``: the very graph micrograd's own MLP code builds. The model code
  below is written once, with micrograd's structure (a neuron is ``sum((wi*xi for wi, xi in zip(self.w, x)),
  self.b)`` then relu: 2n + 1 nodes, no fused ``dot``), and parameterised by the Value class, so both runs
  build the same graph node for node and only the engine differs: forward and backward of micrograd's demo
  loss (hinge + L2) for MLP(2, [16, 16, 1]) on 100 two-moons points. Both runs sit in one benchmark group,
  so the table's ratio column is the speed-up; a second group runs both with Python's cyclic collector off
  (the engines' own cost). The fused-``dot`` training step is measured in bench_nn.py.

      pytest bench/bench_scalar.py -k engine    # prints both groups
- ``scalar-engine: build a 1M-node graph``: building a large graph with the collector on against the same
  with it off (``gc.disable()`` around the round), in one group per way of building, so the ratio column
  reads on / off: op by op in user code (a chain ``y = y * a + b``), and by naivegrad's own calls (the
  scalar ``nn.MLP`` on a batch). Only the build is timed; the graph is freed in the next round's setup.
  Under ``--benchmark-disable`` (CI) the graphs have 20,000 nodes instead of 1,000,000.
"""

import gc
import math
import random

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.scalar import Value as NaivegradValue


class Neuron:
    def __init__(self, Value, nin, rng, nonlin=True):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, Value, nin, nout, rng, **kwargs):
        self.neurons = [Neuron(Value, nin, rng, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, Value, nin, nouts, seed=0):
        rng = random.Random(seed)  # the same weights for both engines
        sizes = [nin] + nouts
        self.layers = [Layer(Value, sizes[i], sizes[i + 1], rng, nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def two_moons(n, noise=0.1, seed=0):
    """n points on two interleaved half circles, labels -1 and +1 (sklearn's make_moons, re-derived)."""
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1 - math.cos(t), 0.5 - math.sin(t), 1.0
        points.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        labels.append(label)
    return points, labels


POINTS, LABELS = two_moons(100)
ALPHA = 1e-4


def forward_backward(Value, model):
    """micrograd's demo loss: mean hinge loss plus L2 regularisation, then backward; returns the loss."""
    inputs = [list(map(Value, row)) for row in POINTS]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(LABELS, scores)]
    loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
    for p in model.parameters():
        p.grad = 0.0
    loss.backward()
    return loss


def _run(benchmark, Value, collector):
    model = MLP(Value, 2, [16, 16, 1])
    benchmark.group = GROUP[collector]

    def setup():
        gc.collect()  # the previous round's (or the other engine's) cyclic garbage is not billed to this round
        return (Value, model), {}

    def step(Value, model):
        # Only the loss's value leaves the round: its graph does not stay alive into the next round, where
        # the cyclic collector would have to walk it again.
        was = gc.isenabled()
        if collector == "off":
            gc.disable()
        try:
            return forward_backward(Value, model).data
        finally:
            if was:
                gc.enable()

    loss = benchmark.pedantic(step, setup=setup, rounds=10, warmup_rounds=1)
    assert math.isfinite(loss)
    return loss, model


# The collector on is the comparison users see; off on both sides it is the engines' own cost alone (the
# collections then fall due after the round, untimed).
GROUP = {"on": "scalar-engine: micrograd MLP graph, forward + backward",
         "off": "scalar-engine: micrograd MLP graph, forward + backward, collector off on both sides"}


@pytest.mark.parametrize("collector", ["on", "off"])
def bench_micrograd_engine(benchmark, collector):
    engine = pytest.importorskip("micrograd.engine")
    _run(benchmark, engine.Value, collector)


@pytest.mark.parametrize("collector", ["on", "off"])
def bench_naivegrad_engine(benchmark, collector):
    loss, model = _run(benchmark, NaivegradValue, collector)
    # Same graph, same numbers: the comparison is fair only if both engines compute the same thing.
    engine = pytest.importorskip("micrograd.engine")
    ref_model = MLP(engine.Value, 2, [16, 16, 1])
    ref = forward_backward(engine.Value, ref_model)
    assert math.isclose(loss, ref.data, rel_tol=1e-12)
    for p, q in zip(model.parameters(), ref_model.parameters()):
        assert math.isclose(p.grad, q.grad, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------------------------------------- 1M nodes
NODES, CI_NODES = 1_000_000, 20_000


def chain(n):
    """A graph of about ``n`` nodes built op by op in user code: y = y * a + b, two nodes a step."""
    a, b = NaivegradValue(0.999), NaivegradValue(0.001)
    y = NaivegradValue(0.5)
    for _ in range(n // 2):
        y = y * a + b
    return y


MLP_NODES_PER_POINT = 16 + 16 + 16 + 16 + 1  # MLP(2, [16, 16, 1]): a dot node per unit, a relu per hidden unit


def mlp_forward(n):
    """A graph of about ``n`` nodes built by naivegrad's own calls: the scalar MLP on a batch."""
    model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
    x = np.random.default_rng(0).standard_normal((max(1, n // MLP_NODES_PER_POINT), 2))
    return model(x)


BUILDS = {"op by op": chain, "nn.MLP forward": mlp_forward}


@pytest.mark.parametrize("collector", ["on", "off"])
@pytest.mark.parametrize("how", list(BUILDS))
def bench_build_a_large_graph(benchmark, how, collector):
    benchmark.group = f"scalar-engine: build a 1M-node graph {how}, collector on vs off"
    n = CI_NODES if benchmark.disabled else NODES
    build, kept = BUILDS[how], []

    def setup():
        kept.clear()  # the previous round's graph is freed here, untimed
        gc.collect()
        return (), {}

    def round_():
        was = gc.isenabled()
        if collector == "off":
            gc.disable()
        try:
            kept.append(build(n))
        finally:
            if was:
                gc.enable()

    benchmark.extra_info["nodes"] = n
    benchmark.pedantic(round_, setup=setup, rounds=3, warmup_rounds=0)
    assert kept
