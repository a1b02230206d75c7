"""Convolution and max pooling cut the batch into chunks that run on two threads: the results must not depend
on it. The chunking is deterministic, so threaded and one-thread runs agree bit for bit."""

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings

from conv_cases import conv_cases
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops import conv as ops


@contextmanager
def chunking(chunk, threads):
    saved = ops._CHUNK, ops._THREADS
    ops._CHUNK, ops._THREADS = chunk, threads
    try:
        yield
    finally:
        ops._CHUNK, ops._THREADS = saved


def run(x, w, b, opts, pool):
    tx, tw, tb = Tensor(x), Tensor(w), Tensor(b)
    y = tx.conv2d(tw, tb, **opts)
    z = y.max_pool2d(**pool)
    z.backward(np.cos(np.arange(z.data.size)).reshape(z.shape))
    return z.data, tx.grad, tw.grad, tb.grad


@pytest.mark.parametrize("opts, pool", [
    (dict(), dict(kernel_size=2)),
    (dict(padding=1, groups=2), dict(kernel_size=3, stride=2, padding=1)),
    (dict(stride=2, dilation=(1, 2)), dict(kernel_size=(2, 1))),
])
def test_threads_change_nothing_bit_for_bit(opts, pool):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((13, 4, 11, 12)).astype(np.float32)  # 13 images: chunks of 4, 4, 4 and 1
    w = rng.standard_normal((6, 4 // opts.get("groups", 1), 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    with chunking(4, 1):
        serial = run(x, w, b, opts, pool)
    with chunking(4, 2):
        threaded = run(x, w, b, opts, pool)
    for a, t in zip(serial, threaded):
        np.testing.assert_array_equal(a, t)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's note about its own copy
@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(conv_cases(max_batch=5))
def test_one_image_chunks_on_two_threads_match_torch(case):
    torch = pytest.importorskip("torch")
    opts = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    b = case["b"] if case["b"] is not None else np.zeros(case["w"].shape[0])
    with chunking(1, 2):
        out, gx, gw, gb = run(case["x"], case["w"], b, opts, dict(kernel_size=1))
    px, pw, pb = (torch.tensor(a, requires_grad=True) for a in (case["x"], case["w"], b))
    pz = torch.nn.functional.conv2d(px, pw, pb, **opts)
    pz.backward(torch.tensor(np.cos(np.arange(pz.numel())).reshape(pz.shape)))
    np.testing.assert_allclose(out, pz.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in ((gx, px), (gw, pw), (gb, pb)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_worker_threads_keep_floating_point_warnings_silenced():
    # -inf + inf in the bias add happens inside a worker thread: IEEE nan, and no RuntimeWarning.
    x = np.zeros((4, 1, 3, 3))
    x[3, 0, 0, 0] = -np.inf
    with chunking(1, 2), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = Tensor(x).conv2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.array([np.inf])))
    assert np.isnan(y.data[3, 0, 0, 0]) and np.all(y.data[:3] == np.inf)
