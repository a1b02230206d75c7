"""Toy 2-D classification sets made on the spot: no download, numpy only, reproducible from a seed.

Each function returns ``(X, y)``: ``X`` float64 of shape (n, 2), ``y`` int64 labels 0..k-1, in shuffled
order (so the first batch already holds every class). The points are laid out evenly along each shape, as
scikit-learn does, then Gaussian noise of standard deviation ``noise`` is added to both coordinates.
micrograd's demo wants labels in {-1, 1}: use ``y * 2 - 1``.
"""

import math
from numbers import Integral

import numpy as np

from ._checks import generator, nonnegative_float, positive_int

__all__ = ["moons", "circles", "spirals", "blobs"]


def _split(n, k):
    """Class sizes for n samples in k classes: as even as possible, the first classes get the remainder."""
    return [n // k + (j < n % k) for j in range(k)]


def _finish(parts, noise, rng):
    """Stack the per-class point arrays, add the noise, label, and shuffle points and labels together."""
    X = np.concatenate(parts, axis=0)
    y = np.concatenate([np.full(len(p), j, dtype=np.int64) for j, p in enumerate(parts)])
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order]


def moons(n=100, noise=0.1, seed=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``): micrograd's demo dataset.

    Label 0 lies on the upper unit half circle ``(cos t, sin t)``, label 1 on the lower half circle
    ``(1 - cos t, 0.5 - sin t)``, t evenly spaced in [0, pi]; label 0 gets ``n // 2`` points.

    >>> X, y = moons(100, noise=0.1, seed=0)
    >>> X.shape, y.shape, set(y.tolist())
    ((100, 2), (100,), {0, 1})
    """
    n = positive_int("n", n)
    noise = nonnegative_float("noise", noise)
    rng = generator(seed)
    n_upper, n_lower = _split(n, 2)[::-1]  # scikit-learn gives the odd point to the lower moon
    t0 = np.linspace(0.0, math.pi, n_upper)
    t1 = np.linspace(0.0, math.pi, n_lower)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    return _finish([upper, lower], noise, rng)


def circles(n=100, noise=0.1, factor=0.5, seed=None):
    """A circle inside a circle (scikit-learn's ``make_circles``).

    Label 0 lies on the unit circle, label 1 on the circle of radius ``factor`` (0 <= factor < 1), both with
    angles evenly spaced over [0, 2 pi); label 0 gets ``n // 2`` points.

    >>> X, y = circles(200, noise=0.05, factor=0.5, seed=1)
    >>> X.shape, int(y.sum())
    ((200, 2), 100)
    """
    n = positive_int("n", n)
    noise = nonnegative_float("noise", noise)
    factor = nonnegative_float("factor", factor)
    if factor >= 1.0:
        raise ValueError(f"factor must be in [0, 1) (the inner circle's radius), got {factor!r}")
    rng = generator(seed)
    n_outer, n_inner = _split(n, 2)[::-1]
    parts = []
    for count, radius in ((n_outer, 1.0), (n_inner, factor)):
        t = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
        parts.append(radius * np.stack([np.cos(t), np.sin(t)], axis=1))
    return _finish(parts, noise, rng)


def spirals(n=100, noise=0.1, turns=1.0, classes=2, seed=None):
    """Interleaved spiral arms, one per class: the classic hard case for a linear model.

    Arm k is the Archimedean spiral with radius ``r = 0.1 + 0.9 t`` and angle ``2 pi (turns t + k / classes)``
    for t evenly spaced in [0, 1]; the arms are ``0.9 / (turns * classes)`` apart along a radius.

    >>> X, y = spirals(300, noise=0.05, turns=1.5, classes=3, seed=2)
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    n = positive_int("n", n)
    noise = nonnegative_float("noise", noise)
    turns = nonnegative_float("turns", turns)
    classes = positive_int("classes", classes)
    rng = generator(seed)
    parts = []
    for k, count in enumerate(_split(n, classes)):
        t = np.linspace(0.0, 1.0, count)
        r = 0.1 + 0.9 * t
        angle = 2.0 * math.pi * (turns * t + k / classes)
        parts.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
    return _finish(parts, noise, rng)


def blobs(n=100, centers=3, std=0.25, seed=None):
    """Gaussian clusters around given centers (scikit-learn's ``make_blobs``, on a smaller scale).

    ``centers`` is either a count k, placing the centers evenly on the unit circle at angles ``2 pi j / k``,
    or an array of shape (k, 2). ``std`` is one standard deviation for every cluster or a sequence of k.
    Cluster j has label j; the clusters share the n points as evenly as possible.

    >>> X, y = blobs(90, centers=[[0, 0], [3, 3], [-3, 3]], std=0.5, seed=3)
    >>> np.bincount(y).tolist()
    [30, 30, 30]
    """
    n = positive_int("n", n)
    rng = generator(seed)
    if isinstance(centers, Integral) and not isinstance(centers, bool):
        k = positive_int("centers", centers)
        angle = 2.0 * math.pi * np.arange(k) / k
        where = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        try:
            where = np.array(centers, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"centers must be an int or an array of shape (k, 2), got {centers!r}") from None
        if where.ndim != 2 or where.shape[1] != 2 or where.shape[0] < 1:
            raise ValueError(f"centers must have shape (k, 2) with k >= 1, got shape {where.shape}")
        if not np.isfinite(where).all():
            raise ValueError(f"centers must be finite, got {where.tolist()}")
        k = where.shape[0]
    if np.ndim(std) == 0:
        stds = [nonnegative_float("std", std)] * k
    else:
        stds = [nonnegative_float(f"std[{j}]", s) for j, s in enumerate(std)]
        if len(stds) != k:
            raise ValueError(f"std has {len(stds)} values but there are {k} centers")
    parts = []
    for j, count in enumerate(_split(n, k)):
        parts.append(where[j] + stds[j] * rng.standard_normal((count, 2)))
    return _finish(parts, 0.0, rng)
