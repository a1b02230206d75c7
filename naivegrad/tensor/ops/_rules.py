"""Shared pieces of the ops' derivative rules, for the two kinds of values a rule is given.

A ``backward`` rule runs on ndarrays (a first-order backward) or on Tensors (``backward(create_graph=True)``,
which records the rule itself so that it can be differentiated again: see ``naivegrad.tensor.function``).
Rules are written once, with calls both understand; the few steps that must differ between the two (a fast
in-place numpy path, a mask read from the values) go through these helpers.
"""

import numpy as np

from ..tensor import Tensor

_ndarray = np.ndarray


def value(x):
    """The array of ``x`` (a Tensor's data, an array or number as it is): for what a rule computes that has no
    derivative (masks, signs, counts, the positions of maxima), which is constant on the Tensor path too."""
    return x.data if type(x) is Tensor else x


def astype(x, dtype):
    """``x`` in ``dtype``: ``x.astype(dtype, copy=False)`` for an array, a cast in the graph for a Tensor."""
    if type(x) is Tensor:
        from .cast import Cast

        return x if x.data.dtype == dtype else Cast.apply(x, dtype=np.dtype(dtype))
    return x.astype(dtype, copy=False)


def spread(g, kept_shape, shape):
    """``g`` (of a reduction's output) copied over the input's ``shape``, through ``kept_shape`` (the output's
    shape with the reduced axes kept as 1): a new writable array, or a broadcast in the graph for a Tensor."""
    if type(g) is not Tensor:  # an array, or a numpy scalar (arithmetic on 0-d arrays gives them)
        out = np.empty(shape, g.dtype)
        out[...] = g.reshape(kept_shape)
        return out
    return np.broadcast_to(g.reshape(kept_shape), shape)
