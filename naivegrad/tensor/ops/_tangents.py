"""Shared pieces of the ops' forward-mode (``jvp``) rules.

A tangent is an ndarray with its primal's shape and dtype. Rules take the input tangents as given (the
engine and ``naivegrad.func`` hand each input a tangent of that input's shape and dtype) and return the
output's; None stands for a zero tangent, so a rule only adds the terms it was given.
"""

import numpy as np

_ndarray = np.ndarray


def fit(t, shape, dtype):
    """``t`` as an ndarray of ``shape`` and ``dtype``. Returned as it is when it already is one (the usual
    case); otherwise a new array: a broadcast operand's tangent spread over the output's shape, a tangent
    cast to a wider output dtype, a numpy scalar (what arithmetic on 0-d arrays gives) made a 0-d array."""
    if type(t) is _ndarray and t.shape == shape and t.dtype == dtype:
        return t
    out = np.empty(shape, dtype)
    out[...] = t
    return out


def as_array(t):
    """``t`` as an ndarray: arithmetic on 0-d arrays gives numpy scalars, tangents are arrays as data is."""
    return t if type(t) is _ndarray else np.asarray(t)

