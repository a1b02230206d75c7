"""``Bigram``: the next token's logits are a row of a table, looked up by the current token (makemore's
first model).

>>> model = Bigram(27, backend="scalar", seed=0)
>>> logits = model([[0, 5, 13]])            # (1, 3, 27): row ids[b, t] of ``wte.weight``
"""

import numpy as np

from ..nn.embedding import Embedding
from ..nn.layers import _positive_int
from .language_model import LanguageModel

__all__ = ["Bigram"]


class Bigram(LanguageModel):
    """Logits (B, T, V) = ``wte.weight[ids]``: ``wte`` an ``Embedding(V, V)``, initialised N(0, 1) as
    makemore's ``W = torch.randn(27, 27)``. Reads one token at a time, so any T."""

    def __init__(self, vocab_size, backend="tensor", seed=0, dtype=None):
        super().__init__(backend, dtype)
        self.vocab_size = _positive_int(vocab_size, "vocab_size")
        self.wte = Embedding(self.vocab_size, self.vocab_size, backend=backend, dtype=self.dtype,
                             seed=np.random.default_rng(seed))

    def forward(self, ids):
        ids, _ = self._ids(ids)
        return self.wte.forward(ids)

    def _context(self, ids):
        return ids[:, -1:]  # the last token is all it reads

    def extra_repr(self):
        return f"vocab_size={self.vocab_size}"
