"""One training step of micrograd's demo model: MLP(2, [16, 16, 1]) on 100 two-moons points, hinge + L2.

Compares micrograd's own MLP (PyPI 0.1.0) with naivegrad's on the scalar engine (fused ``dot`` neurons)
and on the tensor engine, in one benchmark group so the table shows the ratios.
"""

import gc

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.data import moons

X, LABELS = moons(100, noise=0.1, seed=0)
Y = LABELS * 2.0 - 1.0
ALPHA = 1e-4


def naivegrad_step(model):
    params = model.parameters()
    scores = model(X)
    reg = ALPHA * sum(((p * p).sum() if model.backend == "tensor" else p * p) for p in params)
    loss = nn.hinge_loss(scores, Y) + reg
    model.zero_grad()
    loss.backward()
    for p in params:
        p.data -= 0.1 * p.grad
    return loss


def micrograd_step(model):
    from micrograd.engine import Value

    inputs = [list(map(Value, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y.tolist(), scores)]
    loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad
    return loss


def _run(benchmark, step, model):
    gc.collect()  # one engine's garbage must not be billed to the next
    benchmark.pedantic(step, args=(model,), rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="mlp-step")
def bench_micrograd_mlp_step(benchmark):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    _run(benchmark, micrograd_step, micrograd_nn.MLP(2, [16, 16, 1]))


@pytest.mark.benchmark(group="mlp-step")
@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def bench_naivegrad_mlp_step(benchmark, backend):
    model = nn.MLP(2, [16, 16, 1], backend=backend, seed=0, dtype=np.float64 if backend == "tensor" else None)
    _run(benchmark, naivegrad_step, model)
