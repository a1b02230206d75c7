"""The creation functions: ``zeros``, ``ones``, ``eye``, ``randn``, ``uniform``, ``arange`` (also ``Tensor.zeros``
and the others, as static methods: attached by naivegrad.tensor.tensor).

>>> randn(2, 3, generator=0).shape      # the same numbers on every run
(2, 3)
"""

import numbers

import numpy as np

from .tensor import _dtype, _float32, _make, _shape_args


def _rng(generator):
    if generator is None:
        return np.random  # the legacy global state: np.random.seed(...) makes it reproducible
    if isinstance(generator, (np.random.Generator, np.random.RandomState)):
        return generator
    if isinstance(generator, numbers.Integral):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be a numpy Generator, a seed int or None, got {type(generator).__name__}")


def _dtype_or_default(dtype, what):
    """float32, or ``dtype`` named as ``Tensor(dtype=...)`` takes it (a torch dtype too): a floating one, since
    these tensors require grad by default."""
    if dtype is None:
        return _float32
    dt = _dtype(dtype, what)
    if dt.kind != "f":
        raise TypeError(f"{what}: dtype must be a floating type (float16, float32, float64), got {dt} (make "
                        f"integer or bool tensors with Tensor(..., dtype=) or .long() / .bool())")
    return dt


def _flag(requires_grad, what):
    """``requires_grad`` as a bool; anything else raises (bool("no") is True), as in Tensor() and PyTorch."""
    if not isinstance(requires_grad, (bool, np.bool_)):
        raise TypeError(f"{what}: requires_grad must be True or False, got {type(requires_grad).__name__}: "
                        f"{requires_grad!r}")
    return bool(requires_grad)


def zeros(*shape, dtype=None, requires_grad=True):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; float32 unless ``dtype`` says otherwise."""
    shape = _shape_args(shape, "zeros")
    return _make(np.zeros(shape, _dtype_or_default(dtype, "zeros")), _flag(requires_grad, "zeros"), None)


def ones(*shape, dtype=None, requires_grad=True):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    shape = _shape_args(shape, "ones")
    return _make(np.ones(shape, _dtype_or_default(dtype, "ones")), _flag(requires_grad, "ones"), None)


def eye(n, m=None, dtype=None, requires_grad=True):
    """The n x m identity matrix (m defaults to n)."""
    n, m = _shape_args((n, n if m is None else m), "eye")
    return _make(np.eye(n, m, dtype=_dtype_or_default(dtype, "eye")), _flag(requires_grad, "eye"), None)


def randn(*shape, generator=None, dtype=None, requires_grad=True):
    """Standard normal samples. ``generator``: a numpy Generator or an int seed (default: ``np.random``).

    >>> randn(2, 3, generator=0).shape      # the same numbers on every run
    (2, 3)
    """
    shape = _shape_args(shape, "randn")
    data = _rng(generator).standard_normal(shape).astype(_dtype_or_default(dtype, "randn"))
    return _make(data, _flag(requires_grad, "randn"), None)


def uniform(*shape, low=-1.0, high=1.0, generator=None, dtype=None, requires_grad=True):
    """Samples uniform in [low, high); ``generator`` as in ``randn``."""
    shape = _shape_args(shape, "uniform")
    data = _rng(generator).uniform(low, high, size=shape).astype(_dtype_or_default(dtype, "uniform"))
    return _make(data, _flag(requires_grad, "uniform"), None)


def arange(start, stop=None, step=1, dtype=None, requires_grad=True):
    """Evenly spaced values in [start, stop), as ``torch.arange``: ``arange(5)``, ``arange(1, 2, 0.25)``, and
    numpy's ``arange(5, step=2)`` (from 0). Float32 unless ``dtype`` says otherwise, for integer arguments too
    (PyTorch gives int64 for those: here every number becomes float32, as in ``Tensor([1, 2])``); the values are
    computed in float64 and rounded once. Bounds the wrong way round for the step's sign raise, as PyTorch's
    (numpy would give an empty range); equal bounds give an empty one."""
    for v in (start, stop, step):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"arange: start, stop and step must be real numbers, got {v!r}")
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if not all(np.isfinite([start, stop, step])):
        raise ValueError(f"arange: start, stop and step must be finite, got {start!r}, {stop!r}, {step!r}")
    if (stop - start) * step < 0:
        raise ValueError(f"arange: the range from {start!r} to {stop!r} runs against the step {step!r}")
    data = np.arange(start, stop, step)
    return _make(data.astype(_dtype_or_default(dtype, "arange")), _flag(requires_grad, "arange"), None)


METHODS = {f.__name__: staticmethod(f) for f in (zeros, ones, eye, randn, uniform, arange)}
METHODS["zeroes"] = METHODS["zeros"]  # the original project's spelling
