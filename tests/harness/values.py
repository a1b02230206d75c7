"""Input values for a ``Domain``: a parity mixture that lands on kinks, ties and IEEE specials, or smooth points.

Parity values mix, in equal parts, plain floats in [lo, hi], grid points (multiples of ``Domain.step``:
exactly representable, so ties between elements are frequent and sums are exact), and the domain's kinks and
specials (when it has any). Floats below 1e-3 in
magnitude become 0: subnormal corners are the ieee module's business, kinks at 0 are ours.

``with_nonfinite`` puts inf, -inf or nan in a few elements of an array: the harness does it to the inputs,
the cotangent and the tangents of a share of parity cases (``check.draw_case``), where the engines and
PyTorch must still agree on every nan, infinity and exact zero (a mask that selects a gradient gives 0,
never 0 * inf).

Smooth values stay ``margin`` away from every kink. For ops whose derivative jumps at ties (``Op.ties``),
``distinct`` draws all the inputs' elements at once on a grid of step ``margin``, no two the same.
"""

import functools
import math

import numpy as np

__all__ = ["ParityElements", "SmoothElements", "distinct", "with_nonfinite", "NONFINITE"]

TINY = 1e-3
NONFINITE = (math.inf, -math.inf, math.nan)


def _snap(x):
    return 0.0 if abs(x) < TINY else x


class ParityElements:
    """Floats, grid points, and (a third of the time, when the domain has any) its kinks and specials."""

    def __init__(self, domain):
        self.domain = domain
        self.grid = domain.grid()
        self.marks = tuple(sorted(set(domain.kinks) | set(domain.specials)))

    def strategy(self):
        return _parity_strategy(self.domain, self.grid, self.marks)

    def draw_one(self, draw):
        choice = draw.integers(0, 2 if self.marks else 1)
        if choice == 0:
            return _snap(draw.floats(self.domain.lo, self.domain.hi))
        return float(draw.sampled_from(self.grid if choice == 1 else self.marks))


class SmoothElements:
    """Floats of [lo, hi] at least ``margin`` from every kink (moved off a kink rather than rejected)."""

    def __init__(self, domain):
        self.domain = domain

    def _away(self, x):
        d = self.domain
        for k in d.kinks:
            if abs(x - k) < d.margin:
                x = k + d.margin if (x >= k and k + d.margin <= d.hi) or k - d.margin < d.lo else k - d.margin
        return x

    def strategy(self):
        return _smooth_strategy(self.domain)

    def draw_one(self, draw):
        return self._away(draw.floats(self.domain.lo, self.domain.hi))


@functools.lru_cache(maxsize=512)
def _parity_strategy(domain, grid, marks):
    from hypothesis import strategies as st

    parts = [st.floats(domain.lo, domain.hi, allow_nan=False, allow_infinity=False).map(_snap), st.sampled_from(grid)]
    if marks:
        parts.append(st.sampled_from(marks))
    return st.one_of(parts)


@functools.lru_cache(maxsize=512)
def _smooth_strategy(domain):
    from hypothesis import strategies as st

    return st.floats(domain.lo, domain.hi, allow_nan=False, allow_infinity=False).map(SmoothElements(domain)._away)


def with_nonfinite(draw, a, values=NONFINITE, most=3):
    """A copy of ``a`` with 1 to ``most`` of its elements (fewer if it has fewer) set to one of ``values`` (inf,
    -inf, nan). A few: a lone inf among finite values shows where it reaches (and where a mask must stop it),
    where many would make everything nan."""
    a = np.array(a, dtype=np.float64)
    flat = a.reshape(-1)
    if flat.size and values:
        for _ in range(draw.integers(1, min(most, flat.size))):
            flat[draw.integers(0, flat.size - 1)] = draw.sampled_from(values)
    return a


def distinct(draw, shapes, domain):
    """Arrays of the given shapes whose elements are pairwise at least ``domain.margin`` apart, all together,
    and ``margin`` away from the domain's kinks (so no tie anywhere: max, maximum, pooling are smooth)."""
    step = domain.margin
    lo, hi = int(np.ceil(domain.lo / step)), int(np.floor(domain.hi / step))
    sizes = [int(np.prod(s)) for s in shapes]
    total = sum(sizes)
    ks = draw.unique_integers(total, lo, hi)
    values = np.array(ks, dtype=np.float64) * step
    for k in domain.kinks:
        # Grid points on a kink move by half a step: still distinct, still margin/2 away from everything.
        values = np.where(np.abs(values - k) < step / 2, values + step / 2, values)
    out, i = [], 0
    for s, n in zip(shapes, sizes):
        out.append(values[i:i + n].reshape(s))
        i += n
    return out
