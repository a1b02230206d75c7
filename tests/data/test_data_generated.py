"""The generated 2-D datasets: shapes, balance, reproducibility, exact geometry without noise, noise scale."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad.data import blobs, circles, moons, spirals

ALL = [moons, circles, spirals, blobs]
sizes = st.integers(1, 400)
seeds = st.integers(0, 2**32)


def expected_counts(n, k):
    """Class sizes: as even as possible (differ by at most one), summing to n."""
    return [n // k + (j < n % k) for j in range(k)]


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
@settings(deadline=None)
@given(n=sizes, seed=seeds)
def test_shapes_dtypes_and_labels(make, n, seed):
    X, y = make(n, seed=seed)
    assert X.shape == (n, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    k = 3 if make is blobs else 2
    assert set(y.tolist()) <= set(range(k))


@settings(deadline=None)
@given(n=sizes, seed=seeds)
def test_two_class_sets_split_like_scikit_learn(n, seed):
    # scikit-learn: the first class (label 0) gets n // 2, the second the rest.
    for make in (moons, circles):
        _, y = make(n, seed=seed)
        assert np.bincount(y, minlength=2).tolist() == [n // 2, n - n // 2]


@settings(deadline=None)
@given(n=sizes, k=st.integers(1, 7), seed=seeds)
def test_multi_class_sets_are_balanced(n, k, seed):
    _, y = spirals(n, classes=k, seed=seed)
    assert sorted(np.bincount(y, minlength=k).tolist(), reverse=True) == expected_counts(n, k)
    _, y = blobs(n, centers=k, seed=seed)
    assert sorted(np.bincount(y, minlength=k).tolist(), reverse=True) == expected_counts(n, k)


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(200, seed=7)
    X2, y2 = make(200, seed=7)
    X3, y3 = make(200, seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    # A Generator works as the seed too, and draws the same as the int it was made from.
    X4, y4 = make(200, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
def test_shuffled_so_a_small_batch_holds_every_class(make):
    _, y = make(1000, seed=0)
    # Unshuffled, the first 100 points would all be class 0; shuffled, P(one class missing) < 1e-12.
    assert len(set(y[:100].tolist())) == (3 if make is blobs else 2)


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = moons(101, noise=0.0, seed=3)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()
    # Evenly spaced from one end of each half circle to the other.
    angles = np.sort(np.arctan2(upper[:, 1], upper[:, 0]))
    np.testing.assert_allclose(angles, np.linspace(0, math.pi, len(upper)), atol=1e-12)
    angles = np.sort(np.arctan2(0.5 - lower[:, 1], 1.0 - lower[:, 0]))
    np.testing.assert_allclose(angles, np.linspace(0, math.pi, len(lower)), atol=1e-12)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.8])
def test_circles_without_noise_lie_on_their_circles(factor):
    X, y = circles(60, noise=0.0, factor=factor, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(r[y == 1], factor, atol=1e-12)


@pytest.mark.parametrize("turns, classes", [(1.0, 2), (1.5, 3), (0.0, 4), (2.5, 2)])
def test_spirals_without_noise_follow_their_arms(turns, classes):
    X, y = spirals(240, noise=0.0, turns=turns, classes=classes, seed=5)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() >= 0.1 - 1e-12 and r.max() <= 1.0 + 1e-12
    t = (r - 0.1) / 0.9
    predicted = 2 * math.pi * (turns * t + y / classes)
    # Equal angles modulo 2 pi: the chord between the two unit vectors is ~0.
    gap = np.hypot(np.cos(predicted) - X[:, 0] / r, np.sin(predicted) - X[:, 1] / r)
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)


def test_blobs_without_spread_sit_on_their_centers():
    X, y = blobs(40, centers=4, std=0.0, seed=2)
    angle = 2 * math.pi * y / 4
    np.testing.assert_allclose(X, np.stack([np.cos(angle), np.sin(angle)], axis=1), atol=1e-12)
    centers = np.array([[5.0, -1.0], [0.0, 2.0]])
    X, y = blobs(10, centers=centers, std=0.0, seed=2)
    np.testing.assert_array_equal(X, centers[y])


def test_blobs_per_cluster_std():
    centers = [[0.0, 0.0], [10.0, 0.0]]
    X, y = blobs(20000, centers=centers, std=[0.1, 1.0], seed=4)
    spread = [np.std(X[y == j] - np.asarray(centers)[j]) for j in (0, 1)]
    np.testing.assert_allclose(spread, [0.1, 1.0], rtol=0.05)


@pytest.mark.parametrize("make", [moons, circles, spirals], ids=lambda f: f.__name__)
def test_noise_is_gaussian_with_standard_deviation_noise(make):
    # Same seed: the same points and draws, so the difference is exactly the added noise.
    X0, y0 = make(20000, noise=0.0, seed=11)
    X1, y1 = make(20000, noise=0.2, seed=11)
    np.testing.assert_array_equal(y0, y1)
    delta = X1 - X0
    assert abs(delta.mean()) < 0.01
    np.testing.assert_allclose(delta.std(axis=0), [0.2, 0.2], rtol=0.03)


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [0, -3])
def test_n_must_be_positive(make, bad):
    with pytest.raises(ValueError, match=f"n must be a positive int, got {bad}"):
        make(bad)


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [2.5, "100", True, None])
def test_n_must_be_an_int(make, bad):
    with pytest.raises(TypeError, match="n must be a positive int"):
        make(bad)


@pytest.mark.parametrize("make", [moons, circles, spirals], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_noise_must_be_finite_and_nonnegative(make, bad):
    with pytest.raises(ValueError, match=f"noise must be a finite number >= 0, got {bad}"):
        make(10, noise=bad)


def test_other_argument_errors_name_the_value():
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\).*got 1.0"):
        circles(10, factor=1.0)
    with pytest.raises(ValueError, match="factor must be a finite number >= 0, got -0.5"):
        circles(10, factor=-0.5)
    with pytest.raises(ValueError, match="turns must be a finite number >= 0, got -1.0"):
        spirals(10, turns=-1)
    with pytest.raises(ValueError, match="classes must be a positive int, got 0"):
        spirals(10, classes=0)
    with pytest.raises(ValueError, match=r"centers must have shape \(k, 2\).*\(3, 3\)"):
        blobs(10, centers=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="centers must be finite"):
        blobs(10, centers=[[0.0, float("nan")]])
    with pytest.raises(ValueError, match="std has 2 values but there are 3 centers"):
        blobs(10, centers=3, std=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"std\[1\] must be a finite number >= 0, got -0.2"):
        blobs(10, centers=2, std=[0.1, -0.2])
    with pytest.raises(ValueError, match="seed must be None or an int >= 0, got -1"):
        moons(10, seed=-1)
    with pytest.raises(TypeError, match="seed must be None or an int >= 0, got str"):
        moons(10, seed="1")

