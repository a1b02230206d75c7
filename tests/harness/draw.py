"""Random choices behind one small interface, so that the op table does not depend on hypothesis.

The table's samplers (shapes, params) and the harness call ``draw.integers(lo, hi)``,
``draw.sampled_from(seq)``, ``draw.booleans()``, ``draw.floats(lo, hi)`` and ``draw.array(shape, elements)``.
``HypothesisDraw(data)`` answers through hypothesis (tests: shrinking, ``--deep``), ``RandomDraw(seed)``
through numpy (quick sampling without hypothesis). Shape helpers built on these live here too.

>>> shapes = harness.get("add").shapes(RandomDraw(0))      # two shapes that broadcast together
"""

import functools

import numpy as np

__all__ = ["RandomDraw", "HypothesisDraw", "shape", "broadcastable", "axis_arg"]


class RandomDraw:
    """Choices from a numpy Generator (an int seed or a Generator)."""

    def __init__(self, seed=None):
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def integers(self, lo, hi):
        """An int in [lo, hi], both included."""
        return int(self.rng.integers(lo, hi + 1))

    def booleans(self, p=0.5):
        return bool(self.rng.random() < p)

    def sampled_from(self, seq):
        seq = list(seq)
        return seq[int(self.rng.integers(len(seq)))]

    def floats(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    def array(self, shape, elements):
        """A float64 array whose elements are ``elements(self)`` draws (``Elements`` objects below)."""
        out = np.empty(shape, dtype=np.float64)
        for i in np.ndindex(shape):
            out[i] = elements.draw_one(self)
        return out

    def unique_integers(self, n, lo, hi):
        """n distinct ints in [lo, hi]."""
        return [int(v) for v in self.rng.choice(np.arange(lo, hi + 1), size=n, replace=False)]


class HypothesisDraw:
    """Choices through hypothesis: shrinkable and reproducible.

    ``HypothesisDraw(draw)`` takes the ``draw`` function of an ``@st.composite`` strategy (fast) or the ``data``
    object of ``@given(st.data())`` (which also logs every draw's repr for the report: slower).

    >>> @st.composite
    ... def cases(draw, op): return draw_case(HypothesisDraw(draw), op, "parity")
    """

    def __init__(self, draw):
        self._draw = draw.draw if hasattr(draw, "draw") else draw

    def integers(self, lo, hi):
        return self._draw(_integers(lo, hi))

    def booleans(self, p=0.5):
        if p == 0.5:
            return self._draw(_integers(0, 1)) == 1
        if p > 0.5:
            return not self.booleans(1.0 - p)
        # hypothesis has no weighted coin; a die with round(1/p) faces shrinks towards False.
        faces = max(2, round(1 / p))
        return self._draw(_integers(0, faces - 1)) == faces - 1

    def sampled_from(self, seq):
        seq = seq if isinstance(seq, (list, tuple)) else list(seq)
        return seq[self._draw(_integers(0, len(seq) - 1))]

    def floats(self, lo, hi):
        return self._draw(_floats(lo, hi))

    def array(self, shape, elements):
        from hypothesis.extra import numpy as hnp

        return self._draw(hnp.arrays(np.float64, shape, elements=elements.strategy()))

    def unique_integers(self, n, lo, hi):
        from hypothesis import strategies as st

        return self._draw(st.lists(_integers(lo, hi), min_size=n, max_size=n, unique=True))


@functools.lru_cache(maxsize=None)
def _integers(lo, hi):
    """Cached: building a strategy costs more than drawing from it, and the samplers draw thousands."""
    from hypothesis import strategies as st

    return st.integers(lo, hi)


@functools.lru_cache(maxsize=None)
def _floats(lo, hi):
    from hypothesis import strategies as st

    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------------------------- shapes
def shape(draw, min_dims=0, max_dims=3, min_side=0, max_side=4):
    """A shape. A side is 0 one time in eight when allowed (empty tensors), otherwise drawn from
    max(1, min_side)..max_side (hypothesis alone would favour 0 and make most arrays empty)."""
    ndim = draw.integers(min_dims, max_dims)
    low = max(1, min_side)
    return tuple(0 if min_side == 0 and draw.booleans(0.125) else draw.integers(low, max_side) for _ in range(ndim))


def broadcastable(draw, n, min_dims=0, max_dims=3, min_side=0, max_side=3):
    """n shapes that broadcast together: each drops some leading axes of a common shape and may set sides to 1,
    and (when the common shape has a side above 1) one of them is stretched along such an axis.

    A third of the time they are all equal instead (then one tensor may feed several inputs)."""
    base = shape(draw, min_dims, max_dims, min_side, max_side)
    if draw.booleans(0.33):
        return (base,) * n
    shapes = []
    for _ in range(n):
        keep = draw.integers(min(min_dims, len(base)), len(base))
        shapes.append([1 if draw.booleans(0.3) else m for m in base[len(base) - keep:]])
    wide = [i for i, m in enumerate(base) if m >= 2]
    if wide:
        j, i = draw.integers(0, n - 1), draw.sampled_from(wide)
        k = i - (len(base) - len(shapes[j]))
        if k >= 0:  # (k < 0: that axis was dropped, a leading broadcast already)
            shapes[j][k] = 1
    return tuple(tuple(s) for s in shapes)


def axis_arg(draw, ndim, allow_none=True, allow_tuple=True, nonempty_sizes=None):
    """An ``axis`` argument: None, an int (negative half the time) or a tuple of distinct axes.

    With ``nonempty_sizes`` (the shape), only axes of nonzero size (a max over an empty axis is an error)."""
    axes = [i for i in range(ndim) if nonempty_sizes is None or nonempty_sizes[i] > 0]
    options = []
    if allow_none and (nonempty_sizes is None or all(n > 0 for n in nonempty_sizes)):
        options.append("none")
    if axes:
        options.append("int")
        if allow_tuple:
            options.append("tuple")
    kind = draw.sampled_from(options)
    if kind == "none":
        return None
    if kind == "int":
        a = draw.sampled_from(axes)
        return a - ndim if draw.booleans() else a
    k = draw.integers(1, len(axes))
    chosen = []
    for _ in range(k):
        rest = [a for a in axes if a not in chosen]
        chosen.append(draw.sampled_from(rest))
    return tuple(chosen)
