"""Argument checks shared by the dataset functions: each raises with the offending name and value."""

import math
from numbers import Integral, Real

import numpy as np


def positive_int(name, value):
    """``value`` as an int >= 1, else TypeError/ValueError naming ``name``."""
    # bool is an Integral, but ``moons(True)`` is a bug, not a request for one sample.
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def nonnegative_float(name, value):
    """``value`` as a finite float >= 0, else TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number >= 0, got {type(value).__name__}: {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def seed_value(value):
    """A seed for numpy: None, an int >= 0 (kept as a Python int), else TypeError/ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"seed must be None or an int >= 0, got {type(value).__name__}: {value!r}")
    if value < 0:
        raise ValueError(f"seed must be None or an int >= 0, got {value!r}")
    return int(value)


def generator(seed):
    """A numpy Generator from ``seed`` (None, an int >= 0, or a Generator, used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_value(seed))
