"""Training steps on real MNIST digits: naivegrad's tensor engine against PyTorch CPU (2 threads), float32.

The networks are ``naivegrad.examples.mnist``'s: the MLP 784-128-10 and the ConvNet conv3x3(1->8)-relu-
maxpool2-conv3x3(8->16)-relu-maxpool2-flatten-linear(400->10), Adam (lr 1e-3), batches of 128 of the first
8,000 t10k digits. Each benchmarked call is ``STEPS`` training steps (forward, cross-entropy, backward, Adam)
from the same initial weights on the same batches for both libraries; one benchmark group per network, so
the table shows the ratio. The issue's target: the ConvNet within 2x PyTorch's time.

    pytest bench/bench_mnist.py                       # the timings
    pytest bench/bench_mnist.py --benchmark-disable   # a quick smoke run: each call once

The digits are read from ``../shared/data/mnist`` next to the repository; without them the file is skipped.

Both libraries' worker threads spin while they wait (PyTorch's OpenMP pool, numpy's OpenBLAS pool), so on a
machine where other processes compete for the cores the timings swing wildly; ``OPENBLAS_NUM_THREADS=1``
keeps numpy's matmuls on one thread (naivegrad's convolutions use their own two threads, which block).
"""

import gc
import itertools

import numpy as np
import pytest

from naivegrad import nn, optim
from naivegrad.data import DataLoader
from naivegrad.examples import mnist as example

STEPS = 10  # training steps per benchmarked call

if not example.DEFAULT_DATA_DIR.is_dir():
    pytest.skip(f"MNIST digits not found in {example.DEFAULT_DATA_DIR} (put the t10k-*-ubyte.gz files there)",
                allow_module_level=True)

MODELS = {"mlp": example.mlp, "convnet": example.convnet}
# The MLP is measured first: run after naivegrad's ConvNet steps (its convolution threads and numpy's 2-thread
# OpenBLAS), naivegrad's 10 MLP steps took ~390 ms instead of ~8 ms in some runs (not with OPENBLAS_NUM_THREADS=1).
NAMES = ["mlp", "convnet"]


@pytest.fixture(scope="module")
def digits():
    train_data, _, _ = example.load(example.DEFAULT_DATA_DIR)
    return train_data


def _batches(train_data):
    """Endless shuffled batches of 128, the same sequence for every library."""
    loader = DataLoader(*train_data, batch_size=128, shuffle=True, seed=0, drop_last=True)
    return itertools.chain.from_iterable(itertools.repeat(loader))


def _naivegrad_steps(model, opt, batches):
    for xb, yb in itertools.islice(batches, STEPS):
        loss = nn.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss


def _torch_steps(torch, twin, opt, batches):
    for xb, yb in itertools.islice(batches, STEPS):
        loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss


def _run(benchmark, fn, *args):
    gc.collect()
    benchmark.extra_info["steps_per_call"] = STEPS
    benchmark.pedantic(fn, args=args, rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("name", NAMES)
def bench_naivegrad_mnist_steps(benchmark, digits, name):
    benchmark.group = f"mnist-{name}-{STEPS}-steps"
    model = MODELS[name](0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    _run(benchmark, _naivegrad_steps, model, opt, _batches(digits))
    assert model(digits[0][:4]).dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def bench_torch_mnist_steps(benchmark, digits, name):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    benchmark.group = f"mnist-{name}-{STEPS}-steps"
    twin = example.torch_twin(MODELS[name](0))
    opt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    _run(benchmark, _torch_steps, torch, twin, opt, _batches(digits))
