"""One training step of micrograd's demo model: MLP(2, [16, 16, 1]) on 100 two-moons points, hinge + L2.

Two groups, each read through its ratio column:

- ``mlp-step: micrograd's loss code``: both sides run micrograd's own loss code, ``demo_step`` below, as
  micrograd's demo.ipynb writes it: every point through the model one at a time (``list(map(model,
  inputs))``), a Python ``sum`` of hinge terms ``(1 + -yi * scorei).relu()`` times 1/n, plus
  ``alpha * sum(p * p for p in model.parameters())``, then ``zero_grad``, ``backward`` and the SGD update.
  micrograd's side is its own ``MLP`` (micrograd 0.1.0) and ``Value``; naivegrad's side is
  ``nn.MLP(backend="scalar")`` (fused ``dot`` neurons) and ``naivegrad.Value``. The table's ratio is the
  speed-up, for the same code (target: >= 30x).
- ``mlp-step: naivegrad's losses``: the same step written with the library (``nn.hinge_loss``, the whole
  batch in one call), on the scalar and the tensor engine (float64).

Each round starts from a collected heap (``gc.collect()`` in the setup), so one round's cyclic garbage
(micrograd's nodes hold cycles) is not billed to the next.
"""

import gc

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.data import moons
from naivegrad.scalar import Value

X, LABELS = moons(100, noise=0.1, seed=0)
Y = LABELS * 2.0 - 1.0
XS, YS = X.tolist(), Y.tolist()  # Python floats, for the loss code written against Values
ALPHA, LR = 1e-4, 0.1


def demo_step(model, Value):
    """micrograd's demo.ipynb training step (its ``loss()`` and update), for a model and Value class."""
    inputs = [list(map(Value, xrow)) for xrow in XS]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(YS, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(YS, scores)]
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return total_loss.data, sum(accuracy) / len(accuracy)


def library_step(model):
    """The same step written with naivegrad's losses: one call for the batch, hinge loss + L2."""
    params = model.parameters()
    scores = model(X)
    reg = ALPHA * sum(((p * p).sum() if model.backend == "tensor" else p * p) for p in params)
    loss = nn.hinge_loss(scores, Y) + reg
    model.zero_grad()
    loss.backward()
    for p in params:
        p.data -= LR * p.grad
    return loss


def _run(benchmark, step, *args):
    def setup():
        gc.collect()
        return args, {}

    return benchmark.pedantic(step, setup=setup, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="mlp-step: micrograd's loss code")
def bench_micrograd_mlp_step(benchmark):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    _run(benchmark, demo_step, micrograd_nn.MLP(2, [16, 16, 1]), engine.Value)


@pytest.mark.benchmark(group="mlp-step: micrograd's loss code")
def bench_naivegrad_mlp_step_micrograd_loss(benchmark):
    model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
    loss, accuracy = _run(benchmark, demo_step, model, Value)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0


@pytest.mark.benchmark(group="mlp-step: naivegrad's losses")
@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def bench_naivegrad_mlp_step(benchmark, backend):
    model = nn.MLP(2, [16, 16, 1], backend=backend, seed=0, dtype=np.float64 if backend == "tensor" else None)
    if backend == "scalar":
        _run(benchmark, library_step, model)
    else:
        # A quarter-millisecond step: many rounds, and no gc.collect() between them (it leaves the caches cold,
        # which tripled the time read in five rounds; a training loop does not collect between steps).
        benchmark.pedantic(library_step, args=(model,), rounds=300, warmup_rounds=20)


def bench_both_sides_compute_the_same_step():
    """Not timed: micrograd's loss code gives the same loss on naivegrad's model as naivegrad's own losses, and
    on micrograd's model with the same weights the same loss and gradients."""
    model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
    twin = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
    loss, _ = demo_step(model, Value)
    assert loss == pytest.approx(library_step(twin).data, rel=1e-12)
    micrograd_nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    ref = micrograd_nn.MLP(2, [16, 16, 1])
    ours = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
    # micrograd's neurons are the rows of naivegrad's weight matrices (and biases), layer by layer.
    pairs = [(w, rw) for layer, ref_layer in zip(ours.layers, ref.layers)
             for row, b, neuron in zip(layer.weight.tolist(), layer.bias.tolist(), ref_layer.neurons)
             for w, rw in zip(row + [b], neuron.w + [neuron.b])]
    for w, rw in pairs:
        rw.data = w.data
    ref_loss, _ = demo_step(ref, engine.Value)
    our_loss, _ = demo_step(ours, Value)
    assert our_loss == pytest.approx(ref_loss, rel=1e-12)
    for w, rw in pairs:  # after the update: the same gradients were followed
        assert w.data == pytest.approx(rw.data, rel=1e-12, abs=1e-15)
