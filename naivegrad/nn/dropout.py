"""``Dropout``: zero each element with probability ``p`` in training, as ``torch.nn.Dropout``.

>>> drop = nn.Dropout(0.1, seed=0)
>>> drop.eval()                     # evaluation: the identity
"""

import numbers

import numpy as np

from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training, each element is zeroed with probability ``p`` and the others scaled by 1 / (1 - p), so
    the expected output is the input; in evaluation (``model.eval()``) the input passes unchanged.

    The masks come from the module's own numpy Generator (``seed``): a model built from one seed drops the
    same elements on both backends, so the two stay comparable in training too.
    """

    _follows_input_dtype = True

    def __init__(self, p=0.5, backend="tensor", seed=None):
        super().__init__(backend)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(seed)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return self._backend.dropout(x, self.p, self.rng)

    def extra_repr(self):
        return f"p={self.p}"
