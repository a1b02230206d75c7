"""The tensor engine's vectorized erf and erfc (``_erf_array`` in naivegrad/tensor/ops/elementwise.py, a numpy port
of fdlibm's rational approximations) against libm's, ``math.erf`` / ``math.erfc`` (the scalar engine's), on
millions of points over the whole float64 line: log-spaced magnitudes from the subnormals up, both signs, dense
points where the intervals meet, random bit patterns, and the IEEE specials."""

import math

import numpy as np
import pytest

from naivegrad.tensor import Tensor
from naivegrad.tensor.ops.elementwise import _erf_array

_LIBM = {False: np.frompyfunc(math.erf, 1, 1), True: np.frompyfunc(math.erfc, 1, 1)}
# Max distance in ulps from libm over the points below (measured: erf 1, erfc 4: the erfc tail is
# exp(-x**2 ...) as a product of two numpy exps, each within 1 ulp, where glibc's exp is within half an ulp).
MAX_ULPS = {False: 2, True: 4}


def _ordered(v):
    """float64 bits as integers ordered as the floats (-0.0 and +0.0 adjacent), for ulp distances."""
    i = v.view(np.int64)
    return np.where(i < 0, np.int64(-(2 ** 63)) - i, i)


def _points(seed, n):
    rng = np.random.default_rng(seed)
    parts = [10.0 ** rng.uniform(-324, 2.5, n),              # log-spaced magnitudes, subnormals up to 300
             rng.uniform(0.0, 30.0, n),                       # where erf and erfc change
             rng.integers(0, 2 ** 63, n // 4, dtype=np.int64).view(np.float64)]  # any finite bit pattern
    edges = np.array([0.84375, 1.25, 1 / 0.35, 6.0, 28.0, 0.25, 2.0 ** -28, 26.5, 27.3])
    parts.append(np.concatenate([np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf)]))
    x = np.concatenate(parts)
    x = x[np.isfinite(x)]
    return np.concatenate([x, -x])


@pytest.mark.parametrize("complement", [False, True], ids=["erf", "erfc"])
def test_vectorized_erf_is_within_a_few_ulps_of_libm_on_millions_of_points(complement):
    x = _points(0, 1_000_000)
    want = _LIBM[complement](x).astype(np.float64)
    got = _erf_array(x, complement)
    assert got.dtype == np.float64 and got.shape == x.shape
    ulps = np.abs(_ordered(got) - _ordered(want))
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= MAX_ULPS[complement], (x[worst], got[worst], want[worst], ulps[worst])
    assert np.mean(ulps == 0) > 0.98  # mostly the same double


@pytest.mark.parametrize("complement", [False, True], ids=["erf", "erfc"])
def test_specials_and_signed_zeros_match_libm(complement):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, -1e-300,
                  6.0, -6.0, 28.0, -28.0, 40.0, -40.0, 1e300, -1e300])
    got = _erf_array(x, complement)
    for xi, gi in zip(x, got):
        wi = (math.erfc if complement else math.erf)(xi)
        if math.isnan(wi):
            assert math.isnan(gi)
        else:
            assert gi == wi and math.copysign(1.0, gi) == math.copysign(1.0, wi), (xi, gi, wi)


@pytest.mark.parametrize("complement", [False, True], ids=["erf", "erfc"])
def test_float32_is_computed_in_float64_and_rounded_once(complement):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(100_000) * 4).astype(np.float32)
    got = _erf_array(x, complement)
    assert got.dtype == np.float32
    want = _LIBM[complement](x.astype(np.float64)).astype(np.float64).astype(np.float32)
    ulps32 = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulps32.max() <= 1  # the doubles differ by a few ulps at most: the float32s by at most one rounding


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (40_000,), (7, 11, 300)])
def test_any_shape_and_blocks(shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 5
    for complement in (False, True):
        got = _erf_array(x, complement)
        want = np.asarray(_LIBM[complement](x), dtype=np.float64).reshape(shape)
        assert got.shape == shape
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)  # 4 ulps


def test_tensor_erf_and_exact_gelu_use_it():
    x = np.linspace(-8, 8, 20001)
    t = Tensor(x.copy())
    out = t.erf()
    np.testing.assert_allclose(out.data, _LIBM[False](x).astype(np.float64), rtol=4e-16, atol=0)
    g = Tensor(x.copy()).gelu()
    want = x * (0.5 * _LIBM[True](-x * math.sqrt(0.5)).astype(np.float64))  # gelu's own expression
    np.testing.assert_allclose(g.data, want, rtol=1e-15, atol=0)
