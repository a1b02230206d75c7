"""The tensor engine's speed: one MNIST-MLP training step, and the Python overhead of a single op.

Training step: 784-128-10, float32, relu, log-softmax, NLL loss, plain SGD (p -= lr * grad), at batch 16
and 128, for naivegrad, for raw numpy with hand-derived gradients (the floor for any numpy engine), and
for PyTorch CPU (2 threads; skipped when torch is absent). Each batch size is one benchmark group, so the
table's ratio column reads naivegrad / numpy and naivegrad / torch directly. Targets: naivegrad within
1.3x numpy at batch 128, and no slower than PyTorch at batch 16 and 128.

Op overhead: forward and backward through a chain of 1,000 small ops (4x4 float32), where the arrays are
so small that the time is the engine's bookkeeping: what small models pay per op.

``python bench/bench_tensor.py`` prints the same comparisons (numpy and naivegrad in interleaved rounds,
PyTorch in its own block so that the two libraries' thread pools never spin against each other);
``pytest bench --benchmark-disable`` runs everything once.

Threads: PyTorch gets 2 (``NAIVEGRAD_BENCH_TORCH_THREADS`` overrides); numpy's OpenBLAS uses its default
(``OPENBLAS_NUM_THREADS``). On a machine whose cores are busy with other work, a 2-thread BLAS call waits
for a second core (milliseconds): compare single-threaded there (both variables set to 1).
"""

import gc
import os
import time

import numpy as np
import pytest

from naivegrad.tensor import Tensor, nll_loss

BATCHES = [16, 128]
LR = 0.01
CHAIN = 1000
TORCH_THREADS = int(os.environ.get("NAIVEGRAD_BENCH_TORCH_THREADS", "2"))


# ---------------------------------------------------------------------------------------------- the data
def make_problem(batch, seed=0):
    """Pixel-like inputs, labels, and seed-style weights (W of shape (in, out)), all float32."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    w1 = (rng.uniform(-1, 1, (784, 128)) / np.sqrt(784)).astype(np.float32)
    w2 = (rng.uniform(-1, 1, (128, 10)) / np.sqrt(128)).astype(np.float32)
    return x, y, [w1, np.zeros(128, np.float32), w2, np.zeros(10, np.float32)]


# ---------------------------------------------------------------------------------------------- naivegrad
class NaivegradMLP:
    """The step as one writes it with naivegrad, in the seed's layout (weights (in, out), ``x @ w + b``, the
    same BLAS calls as the numpy baseline), relu, logsoftmax, ``nll_loss``, p.data -= lr * p.grad."""

    def __init__(self, batch):
        x, y, weights = make_problem(batch)
        self.x = Tensor(x, requires_grad=False)
        self.y = y
        self.params = [Tensor(w.copy()) for w in weights]

    def step(self):
        w1, b1, w2, b2 = self.params
        h = (self.x @ w1 + b1).relu()
        logp = (h @ w2 + b2).logsoftmax(axis=1)
        loss = nll_loss(logp, self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
        return loss


# ---------------------------------------------------------------------------------------------- raw numpy
class NumpyMLP:
    """The same step with gradients derived by hand: no graph, no bookkeeping, nothing computed twice."""

    def __init__(self, batch):
        self.x, self.y, self.params = make_problem(batch)
        self.rows = np.arange(batch)

    def step(self):
        x, y, rows = self.x, self.y, self.rows
        w1, b1, w2, b2 = self.params
        z1 = x @ w1 + b1
        h = np.maximum(z1, 0)
        z2 = h @ w2 + b2
        s = z2 - z2.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = -logp[rows, y].mean()
        dz2 = np.exp(logp)  # d loss / d z2 = (softmax - onehot) / batch
        dz2[rows, y] -= 1
        dz2 /= len(y)
        dw2 = h.T @ dz2
        db2 = dz2.sum(axis=0)
        dz1 = (dz2 @ w2.T) * (z1 > 0)
        dw1 = x.T @ dz1
        db1 = dz1.sum(axis=0)
        for p, g in zip(self.params, (dw1, db1, dw2, db2)):
            p -= LR * g
        return loss


# ---------------------------------------------------------------------------------------------- PyTorch
class TorchMLP:
    """The same step as one writes it in PyTorch: F.linear (fused addmm), log_softmax, nll_loss, and the
    SGD update in place under no_grad."""

    def __init__(self, batch):
        import torch

        torch.set_num_threads(TORCH_THREADS)
        self.torch = torch
        x, y, weights = make_problem(batch)
        self.x = torch.from_numpy(x)
        self.y = torch.from_numpy(y)
        w1, b1, w2, b2 = weights
        # nn.Linear's layout (out, in) so F.linear is the fused addmm a torch user gets.
        self.params = [torch.tensor(w, requires_grad=True) for w in (w1.T.copy(), b1, w2.T.copy(), b2)]

    def step(self):
        torch = self.torch
        F = torch.nn.functional
        w1, b1, w2, b2 = self.params
        h = F.relu(F.linear(self.x, w1, b1))
        loss = F.nll_loss(F.log_softmax(F.linear(h, w2, b2), dim=1), self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p.add_(p.grad, alpha=-LR)
        return loss


ENGINES = {"naivegrad": NaivegradMLP, "numpy": NumpyMLP, "torch": TorchMLP}


def _make(engine, batch):
    if engine == "torch":
        pytest.importorskip("torch")
    return ENGINES[engine](batch)


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("batch", BATCHES)
def bench_mnist_mlp_step(benchmark, engine, batch):
    model = _make(engine, batch)
    benchmark.group = f"mnist-mlp-step-batch{batch}"
    for _ in range(3):  # warm up: allocator, BLAS threads
        model.step()
    gc.collect()
    loss = benchmark(model.step)
    assert np.isfinite(_value(loss))


def _value(loss):
    return float(loss.detach()) if hasattr(loss, "detach") else float(loss)


@pytest.mark.parametrize("batch", BATCHES)
def bench_every_engine_takes_the_same_step(batch):
    """Not timed: the three implementations compute the same losses, so the timings compare equal work."""
    engines = [e for e in ENGINES if e != "torch"]
    try:
        import torch  # noqa: F401
        engines.append("torch")
    except ImportError:
        pass
    losses = {e: [_value(m.step()) for _ in range(5)] for e, m in ((e, ENGINES[e](batch)) for e in engines)}
    for e in engines:
        np.testing.assert_allclose(losses[e], losses["numpy"], rtol=1e-4, err_msg=e)


# ---------------------------------------------------------------------------------------------- per-op overhead
def naivegrad_chain(x):
    y = x
    for _ in range(CHAIN // 2):
        y = (y * 0.5).tanh()
    y.sum().backward()
    return y


def torch_chain(x):
    y = x
    for _ in range(CHAIN // 2):
        y = (y * 0.5).tanh()
    y.sum().backward()
    return y


@pytest.mark.benchmark(group="op-overhead-chain-1000")
def bench_op_overhead_naivegrad(benchmark):
    x = Tensor(np.ones((4, 4), np.float32))
    benchmark(naivegrad_chain, x)


@pytest.mark.benchmark(group="op-overhead-chain-1000")
def bench_op_overhead_torch(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(TORCH_THREADS)
    x = torch.ones((4, 4), requires_grad=True)
    benchmark(torch_chain, x)


# ---------------------------------------------------------------------------------------------- as a script
def _interleaved_times(fns, rounds, inner):
    """(median, min) seconds per call of each fn, from interleaved rounds (load spikes hit all alike)."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            for _ in range(inner):
                f()
            times[k].append((time.perf_counter() - t) / inner)
    return {k: (float(np.median(v)), min(v)) for k, v in times.items()}


def _ratios(t, which):
    r = f"naivegrad/numpy {t['naivegrad'][which] / t['numpy'][which]:.2f}"
    if "torch" in t:
        r += f", naivegrad/torch {t['naivegrad'][which] / t['torch'][which]:.2f}"
    return r


def _settle():
    # OpenBLAS's and PyTorch's worker threads spin for a while after their last call; let them go to
    # sleep before the other library runs, or the two thread pools fight over the cores.
    time.sleep(0.5)


def main(rounds=40):
    """Print the step times (median and min) and the ratios the targets are about. numpy and naivegrad
    (the same BLAS) run in interleaved rounds; PyTorch runs in its own block, after the others' threads
    have gone to sleep."""
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
    for batch in BATCHES:
        inner = 10 if batch == 16 else 3
        models = {e: ENGINES[e](batch) for e in ("naivegrad", "numpy")}
        for m in models.values():
            for _ in range(5):
                m.step()
        t = _interleaved_times({e: m.step for e, m in models.items()}, rounds, inner)
        if has_torch:
            _settle()
            model = ENGINES["torch"](batch)
            for _ in range(5):
                model.step()
            t.update(_interleaved_times({"torch": model.step}, rounds, inner))
            _settle()
        line = ", ".join(f"{e} {v[0] * 1e6:.0f} us (min {v[1] * 1e6:.0f})" for e, v in t.items())
        print(f"MNIST MLP step, batch {batch}: {line}")
        print(f"    ratios of medians: {_ratios(t, 0)};  of minima: {_ratios(t, 1)}")
    x = np.ones((4, 4), np.float32)
    t = _interleaved_times({"naivegrad": lambda: naivegrad_chain(Tensor(x))}, rounds, inner=1)
    if has_torch:
        import torch

        _settle()
        torch.set_num_threads(TORCH_THREADS)
        t.update(_interleaved_times({"torch": lambda: torch_chain(torch.ones((4, 4), requires_grad=True))},
                                    rounds, inner=1))
    print("op overhead, forward + backward per op (chain of 1,000): " +
          ", ".join(f"{k} {v[0] / CHAIN * 1e6:.2f} us (min {v[1] / CHAIN * 1e6:.2f})" for k, v in t.items()))


if __name__ == "__main__":
    main()
