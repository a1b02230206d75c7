"""Small helpers kept from the seed."""

import math

import numpy as np

__all__ = ["initialize_layer_uniform"]


def initialize_layer_uniform(*shape):
    """A float32 weight array of ``shape``, uniform in [-1, 1) / sqrt(prod(shape)), drawn from ``np.random``
    (so ``np.random.seed`` makes it reproducible), as the seed initialised its layers.

    >>> l1 = Tensor(initialize_layer_uniform(784, 128))
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"initialize_layer_uniform: sizes must be non-negative ints, got {shape!r}")
    scale = math.sqrt(math.prod(shape)) if shape else 1.0
    return (np.random.uniform(-1.0, 1.0, size=shape) / scale).astype(np.float32)
