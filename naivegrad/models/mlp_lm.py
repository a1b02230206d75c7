"""``MLPLM``: makemore's MLP language model (Bengio et al. 2003): the embeddings of the last ``block_size``
tokens, concatenated, through a tanh hidden layer (optionally batch-normalized), to the next token's logits.

>>> model = MLPLM(27, backend="scalar", seed=0)
>>> logits = model([[0, 0, 5]])            # (1, 27): the token after the context (0, 0, 5)
"""

import numpy as np

from ..nn.embedding import Embedding
from ..nn.layers import Linear, Tanh, _positive_int
from ..nn.normalization import BatchNorm1d
from .language_model import LanguageModel

__all__ = ["MLPLM"]


class MLPLM(LanguageModel):
    """Logits (B, V) for contexts (B, block_size): ``wte`` (V, n_embd) -> flatten -> ``fc1``
    (block_size * n_embd -> n_hidden) -> [``bn``: BatchNorm1d] -> tanh -> ``fc2`` (n_hidden -> V).

    With ``batch_norm`` ``fc1`` has no bias (the norm's own bias replaces it, as in makemore); mind
    ``model.train()`` / ``model.eval()`` then. ``generate`` pads a prompt shorter than ``block_size`` on the
    left with ``pad_id`` (makemore's '.', token 0). Parameters start as PyTorch's defaults for the modules.
    """

    _fixed_context = True

    def __init__(self, vocab_size, block_size=3, n_embd=10, n_hidden=64, batch_norm=False, pad_id=0,
                 backend="tensor", seed=0, dtype=None):
        super().__init__(backend, dtype)
        self.vocab_size = _positive_int(vocab_size, "vocab_size")
        self.block_size = _positive_int(block_size, "block_size")
        self.n_embd = _positive_int(n_embd, "n_embd")
        self.n_hidden = _positive_int(n_hidden, "n_hidden")
        if not 0 <= pad_id < self.vocab_size:
            raise ValueError(f"pad_id={pad_id!r} is not a token of the vocabulary of {self.vocab_size}")
        self.pad_id = int(pad_id)
        dtype = self.dtype
        rng = np.random.default_rng(seed)
        self.wte = Embedding(self.vocab_size, self.n_embd, backend=backend, dtype=dtype, seed=rng)
        self.fc1 = Linear(self.block_size * self.n_embd, self.n_hidden, bias=not batch_norm, backend=backend,
                          dtype=dtype, seed=rng)
        self.bn = BatchNorm1d(self.n_hidden, backend=backend, dtype=dtype) if batch_norm else None
        self.act = Tanh(backend=backend)
        self.fc2 = Linear(self.n_hidden, self.vocab_size, backend=backend, dtype=dtype, seed=rng)

    def forward(self, ids):
        """Logits (B, vocab_size) in the backend's batch form, for checked contexts (B, block_size)."""
        ids, _ = self._ids(ids)
        b = self._backend
        h = self.fc1.forward(b.flatten(self.wte.forward(ids), 1, -1))
        if self.bn is not None:
            h = self.bn.forward(h)
        return self.fc2.forward(self.act.forward(h))

    def _next_logits(self, ids):
        return self._backend.values(self.forward(ids))

    def _context(self, ids):
        t = ids.shape[1]
        if t >= self.block_size:
            return ids[:, -self.block_size:]
        return np.concatenate([np.full((ids.shape[0], self.block_size - t), self.pad_id, np.int64), ids], axis=1)

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, n_embd={self.n_embd}, "
                f"n_hidden={self.n_hidden}, batch_norm={self.bn is not None}")
