"""erf and erfc in the tensor engine: ``Tensor.erf`` and exact ``gelu`` (x Phi(x), Phi from erfc), on 1e6 float64
elements, computed two ways in the same process:

- ``libm``: ``math.erf`` / ``math.erfc`` per element through ``np.frompyfunc`` (what the engine did: ~80 ns an
  element, a Python call each);
- ``numpy``: the vectorized port of fdlibm's rational approximations (``_erf_array`` in
  ``naivegrad/tensor/ops/elementwise.py``), within a few ulps of libm (tests/tensor/test_erf_vectorized.py).

Timed: ``erf`` forward, ``gelu`` forward, and ``gelu`` forward + backward (the backward's own cost is
exp(-x**2 / 2), unchanged). Interleaved rounds, medians and minima.

``python bench/bench_erf.py`` prints the times and ratios; ``pytest bench/bench_erf.py`` runs them as
pytest-benchmark groups (``--benchmark-disable``: once each).
"""

import gc
import math
import time

import numpy as np
import pytest

from naivegrad.tensor import Tensor
from naivegrad.tensor.ops import elementwise

N = 1_000_000
_VECTORIZED = elementwise._erf_array
_LIBM = {False: np.frompyfunc(math.erf, 1, 1), True: np.frompyfunc(math.erfc, 1, 1)}


def _libm_array(x, complement=False):
    """The former implementation: libm per element, in x's dtype."""
    return np.asarray(_LIBM[complement](x), dtype=x.dtype)


IMPLS = {"libm": _libm_array, "numpy": _VECTORIZED}


def make_input(seed=0):
    """Standard normal activations (gelu's usual inputs; erf then sees x / sqrt 2 over every interval)."""
    return np.random.default_rng(seed).standard_normal(N)


def work(kind, x):
    if kind == "erf":
        return lambda: Tensor(x).erf()
    if kind == "gelu":
        return lambda: Tensor(x).gelu()

    def gelu_backward():
        t = Tensor(x, requires_grad=True)
        t.gelu().sum().backward()
        return t.grad
    return gelu_backward


KINDS = ["erf", "gelu", "gelu+backward"]


def run(impl, fn):
    elementwise._erf_array = IMPLS[impl]
    try:
        return fn()
    finally:
        elementwise._erf_array = _VECTORIZED


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("kind", KINDS)
def bench_erf(benchmark, kind, impl):
    fn = work(kind, make_input())
    benchmark.group = f"erf-{kind}"
    run(impl, fn)
    gc.collect()
    benchmark(lambda: run(impl, fn))


@pytest.mark.parametrize("kind", KINDS)
def bench_erf_both_ways_agree(kind):
    """Not timed: the two implementations give the same values to a few ulps (gelu's derivative, Phi(x) + x phi(x),
    cancels near x = -0.75: there to a few ulps of its terms)."""
    fn = work(kind, make_input())
    a, b = run("libm", fn), run("numpy", fn)
    a, b = (a.data, b.data) if isinstance(a, Tensor) else (a, b)
    np.testing.assert_allclose(b, a, rtol=2e-14, atol=1e-15)


def measure(kind, rounds=15):
    """{impl: (median, min) seconds per call}, from interleaved rounds."""
    fn = work(kind, make_input())
    for impl in IMPLS:
        run(impl, fn)
    times = {impl: [] for impl in IMPLS}
    for _ in range(rounds):
        for impl in IMPLS:
            t0 = time.perf_counter()
            run(impl, fn)
            times[impl].append(time.perf_counter() - t0)
    return {k: (float(np.median(v)), min(v)) for k, v in times.items()}


def main():
    exp_t = min(timeit_exp() for _ in range(5))
    print(f"np.exp on {N} float64: {exp_t * 1e3:.2f} ms")
    for kind in KINDS:
        t = measure(kind)
        old, new = t["libm"], t["numpy"]
        print(f"{kind:14s} libm {old[0] * 1e3:7.2f} ms (min {old[1] * 1e3:7.2f}); numpy {new[0] * 1e3:6.2f} ms "
              f"(min {new[1] * 1e3:6.2f}); speedup {old[0] / new[0]:.1f}x (of minima {old[1] / new[1]:.1f}x)")


def timeit_exp():
    x = make_input()
    t0 = time.perf_counter()
    np.exp(x)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
