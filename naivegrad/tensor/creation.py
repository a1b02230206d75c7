"""The creation functions: ``zeros``, ``ones``, ``eye``, ``randn``, ``uniform``, ``arange`` (also ``Tensor.zeros``
and the others, as static methods: attached by naivegrad.tensor.tensor).

>>> randn(2, 3, generator=0).shape      # the same numbers on every run
(2, 3)
"""

import numbers

import numpy as np

from .tensor import _float32, _float_dtype, _make, _shape_args


def _rng(generator):
    if generator is None:
        return np.random  # the legacy global state: np.random.seed(...) makes it reproducible
    if isinstance(generator, (np.random.Generator, np.random.RandomState)):
        return generator
    if isinstance(generator, numbers.Integral):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy Generator, a seed int or None, got {type(generator).__name__}")


def _dtype_or_default(dtype, what):
    return _float32 if dtype is None else _float_dtype(dtype, what)


def zeros(*shape, dtype=None, requires_grad=True):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 unless ``dtype`` says otherwise."""
    shape = _shape_args(shape, "zeros")
    return _make(np.zeros(shape, _dtype_or_default(dtype, "zeros")), bool(requires_grad), None)


def ones(*shape, dtype=None, requires_grad=True):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    shape = _shape_args(shape, "ones")
    return _make(np.ones(shape, _dtype_or_default(dtype, "ones")), bool(requires_grad), None)


def eye(n, m=None, dtype=None, requires_grad=True):
    """The n x m identity matrix (m defaults to n)."""
    n, m = _shape_args((n, n if m is None else m), "eye")
    return _make(np.eye(n, m, dtype=_dtype_or_default(dtype, "eye")), bool(requires_grad), None)


def randn(*shape, generator=None, dtype=None, requires_grad=True):
    """Standard normal samples. ``generator``: a numpy Generator or an int seed (default: ``np.random``).

    >>> randn(2, 3, generator=0).shape      # the same numbers on every run
    (2, 3)
    """
    shape = _shape_args(shape, "randn")
    data = _rng(generator).standard_normal(shape).astype(_dtype_or_default(dtype, "randn"))
    return _make(data, bool(requires_grad), None)


def uniform(*shape, low=-1.0, high=1.0, generator=None, dtype=None, requires_grad=True):
    """Samples uniform in [low, high); ``generator`` as in ``randn``."""
    shape = _shape_args(shape, "uniform")
    data = _rng(generator).uniform(low, high, size=shape).astype(_dtype_or_default(dtype, "uniform"))
    return _make(data, bool(requires_grad), None)


def arange(start, stop=None, step=1, dtype=None, requires_grad=True):
    """Evenly spaced values in [start, stop), as ``np.arange``: ``arange(5)``, ``arange(1, 2, 0.25)``."""
    for v in (start, stop, step):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"arange: start, stop and step must be real numbers, got {v!r}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _make(data.astype(_dtype_or_default(dtype, "arange")), bool(requires_grad), None)


METHODS = {f.__name__: staticmethod(f) for f in (zeros, ones, eye, randn, uniform, arange)}
METHODS["zeroes"] = METHODS["zeros"]  # the original project's spelling
