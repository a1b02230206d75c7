"""One optimizer step on scalar Values: naivegrad.optim (state in numpy vectors) against a per-Value loop.

The baseline is what one writes by hand, micrograd style: a Python loop over the Values with the state in
Python lists, the same update rule. Sizes: 337 Values (micrograd's demo MLP(2, [16, 16, 1])) and 5,000.
Each optimizer and size is one benchmark group, so the table's ratio column is the speed-up.
"""

import math

import pytest

from naivegrad import optim
from naivegrad.scalar import Value

SIZES = [337, 5000]


def make_values(n):
    ps = [Value(math.sin(i)) for i in range(n)]
    for i, p in enumerate(ps):
        p.grad = math.cos(i)
    return ps


class LoopSGD:
    """SGD with momentum, one Value at a time."""

    def __init__(self, params, lr, momentum):
        self.params, self.lr, self.momentum, self.buf = params, lr, momentum, None

    def step(self):
        if self.buf is None:
            self.buf = [p.grad for p in self.params]
        else:
            self.buf = [self.momentum * b + p.grad for b, p in zip(self.buf, self.params)]
        for p, b in zip(self.params, self.buf):
            p.data -= self.lr * b


class LoopAdam:
    """Adam, one Value at a time."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m, self.v, self.t = [0.0] * len(params), [0.0] * len(params), 0

    def step(self):
        b1, b2 = self.betas
        self.t += 1
        step_size = self.lr / (1 - b1 ** self.t)
        root = math.sqrt(1 - b2 ** self.t)
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] += (1 - b1) * (g - m[i])
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / root + self.eps)


class LoopRMSProp:
    """RMSProp, one Value at a time."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        self.params, self.lr, self.alpha, self.eps = params, lr, alpha, eps
        self.v = [0.0] * len(params)

    def step(self):
        a, v = self.alpha, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            v[i] = a * v[i] + (1 - a) * g * g
            p.data -= self.lr * g / (math.sqrt(v[i]) + self.eps)


class LoopPlainSGD:
    """micrograd's loop: ``p.data -= lr * p.grad``."""

    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad


CASES = {
    "sgd": (lambda ps: LoopPlainSGD(ps, lr=1e-4), lambda ps: optim.SGD(ps, lr=1e-4)),
    "sgd-momentum": (lambda ps: LoopSGD(ps, lr=1e-4, momentum=0.9), lambda ps: optim.SGD(ps, lr=1e-4, momentum=0.9)),
    "adam": (lambda ps: LoopAdam(ps), lambda ps: optim.Adam(ps)),
    "rmsprop": (lambda ps: LoopRMSProp(ps), lambda ps: optim.RMSProp(ps)),
}


def _run(benchmark, opt):
    opt.step()  # past the first step's state initialisation
    benchmark.pedantic(opt.step, rounds=20, iterations=5, warmup_rounds=2)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", list(CASES))
def bench_loop_baseline(benchmark, case, n):
    benchmark.group = f"optim-{case}-{n}-values"
    _run(benchmark, CASES[case][0](make_values(n)))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", list(CASES))
def bench_naivegrad_optim(benchmark, case, n):
    benchmark.group = f"optim-{case}-{n}-values"
    _run(benchmark, CASES[case][1](make_values(n)))


# ---------------------------------------------------------------- tensor parameters
MNIST_MLP_SHAPES = [(128, 784), (128,), (10, 128), (10,)]  # the MLP 784-128-10 of the MNIST benchmark


def _arrays():
    import numpy as np

    rng = np.random.default_rng(0)
    return [(rng.normal(size=s).astype(np.float32), rng.normal(size=s).astype(np.float32)) for s in MNIST_MLP_SHAPES]


@pytest.mark.parametrize("case", ["adam", "sgd-momentum", "rmsprop"])
def bench_naivegrad_optim_tensors(benchmark, case):
    from naivegrad.tensor import Tensor

    ps = []
    for data, grad in _arrays():
        p = Tensor(data)
        p.grad = grad
        ps.append(p)
    benchmark.group = f"optim-{case}-mnist-mlp-float32"
    _run(benchmark, CASES[case][1](ps))


@pytest.mark.parametrize("case", ["adam", "sgd-momentum", "rmsprop"])
def bench_torch_optim_tensors(benchmark, case):
    """PyTorch's CPU default (one tensor at a time) on the same parameters, as a reference."""
    torch = pytest.importorskip("torch")
    ps = []
    for data, grad in _arrays():
        p = torch.tensor(data, requires_grad=True)
        p.grad = torch.from_numpy(grad)
        ps.append(p)
    make = {"adam": lambda: torch.optim.Adam(ps, foreach=False),
            "sgd-momentum": lambda: torch.optim.SGD(ps, lr=1e-4, momentum=0.9, foreach=False),
            "rmsprop": lambda: torch.optim.RMSprop(ps, foreach=False)}[case]
    benchmark.group = f"optim-{case}-mnist-mlp-float32"
    _run(benchmark, make())
