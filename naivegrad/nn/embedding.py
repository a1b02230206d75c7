"""``Embedding``: a table of vectors looked up by integer id, as ``torch.nn.Embedding``.

>>> emb = nn.Embedding(27, 16, backend="scalar", seed=0)
>>> x = emb([[1, 2, 3]])          # (1, 3) ids -> (1, 3, 16): nested lists of Values (a Tensor on "tensor")

The rows looked up are the table's own entries (the scalar backend's Values, a gather on the tensor engine),
so each id's gradient accumulates into its row of ``weight``.
"""

import numpy as np

from ..engines import is_tensor
from .layers import _positive_int
from .module import Module

__all__ = ["Embedding", "token_ids"]


def token_ids(idx, n, what, error=IndexError, noun="embeddings"):
    """``idx`` (an int, nested lists or an integer array; a Tensor's whole numbers) as an int64 array, every
    id in [0, n); else ``error`` (IndexError for an embedding, as torch; models raise ValueError) naming the
    first id out of range and ``n``. Non-integer ids raise TypeError naming the dtype."""
    data = idx.data if is_tensor(idx) else idx
    try:
        arr = np.asarray(data)
    except ValueError:
        raise ValueError(f"{what}: token ids must be a rectangular array, got {_short(idx)}") from None
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)  # a float Tensor of ids
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"{what}: token ids must be integers, got dtype {arr.dtype}: {_short(idx)}")
    arr = arr.astype(np.int64)
    if arr.size:
        bad = arr[(arr < 0) | (arr >= n)]
        if bad.size:
            raise error(f"{what}: token id {int(bad[0])} is out of range for {n} {noun} (ids must be in "
                        f"[0, {n}))")
    return arr


def _short(x, n=80):
    r = repr(x)
    return r if len(r) <= n else r[: n - 3] + "..."


def normal_init(rng, shape, std):
    """N(0, std^2) of ``shape``, rounded to float32 precision (so both backends start from the same numbers)."""
    return (rng.standard_normal(size=shape) * std).astype(np.float32).astype(np.float64)


class Embedding(Module):
    """A lookup table: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.

    ``emb(ids)`` takes integer ids of any shape (an int, lists, an integer array) and returns their rows, of
    shape ``ids.shape + (embedding_dim,)``: a Tensor on the tensor backend, nested lists of Values on the
    scalar one. An id outside [0, num_embeddings) raises IndexError naming it.
    """

    def __init__(self, num_embeddings, embedding_dim, backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        rng = np.random.default_rng(seed)
        self.register_parameter("weight", normal_init(rng, (self.num_embeddings, self.embedding_dim), 1.0))

    def forward(self, ids):
        """The rows of ``ids`` (checked: an integer array) in the backend's batch form."""
        ids = token_ids(ids, self.num_embeddings, "Embedding")
        return self._backend.embedding(ids, self.weight)

    def __call__(self, ids):
        return self._backend.to_output(self.forward(ids))

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
