"""What every language model here shares: token ids in, logits out, and ``generate``.

A model takes token ids of shape (B, T) (lists or an integer array; (T,) is one sequence) and returns logits
with the vocabulary on the last axis: a Tensor on the tensor backend, nested lists of Values on the scalar
backend (as every scalar-backend module returns its output). Ids outside the vocabulary, or more positions
than the model reads, raise ValueError naming the value.
"""

import numpy as np

from ..grad_mode import no_grad
from ..nn.embedding import token_ids
from ..nn.module import Module

__all__ = ["LanguageModel"]


class LanguageModel(Module):
    """Base of the language models: subclasses set ``vocab_size`` and ``block_size`` (the context it reads;
    None for any length) and define ``forward(ids)`` on a checked (B, T) int64 array, in the backend's batch
    form; ``_next_logits`` picks the logits of the next token from it."""

    vocab_size = None
    block_size = None
    #: True when forward needs exactly ``block_size`` positions (a fixed window, as makemore's MLP)
    _fixed_context = False

    def _ids(self, idx, what=None, check_length=True):
        """(ids (B, T) int64, single): ``idx`` checked against the vocabulary and (``check_length``) the
        context length."""
        what = what or type(self).__name__
        ids = token_ids(idx, self.vocab_size, what, error=ValueError, noun="tokens (vocab_size)")
        single = ids.ndim == 1
        if single:
            ids = ids[None, :]
        if ids.ndim != 2:
            raise ValueError(f"{what} takes token ids of shape (B, T), or (T,) for one sequence, got shape "
                             f"{ids.shape}")
        t = ids.shape[1]
        if t == 0:
            raise ValueError(f"{what} needs at least one position, got token ids of shape {ids.shape}")
        if check_length and self.block_size is not None:
            if self._fixed_context and t != self.block_size:
                raise ValueError(f"{what} reads a context of exactly block_size={self.block_size} tokens, got "
                                 f"T={t}")
            if t > self.block_size:
                raise ValueError(f"{what}: sequence length T={t} exceeds block_size={self.block_size}")
        return ids, single

    def __call__(self, idx):
        """Logits for the token ids ``idx``: (B, T, vocab_size), or (T, vocab_size) for one sequence (T,)."""
        ids, single = self._ids(idx)
        out = self.forward(ids)
        if single:
            if self._backend.name == "tensor":
                out = out[0]
            else:
                out.single = True  # the batch of one sequence comes out as that sequence
        return self._backend.to_output(out)

    def _next_logits(self, ids):
        """The next token's logits after each row of ``ids`` (B, T), as a float array (B, vocab_size)."""
        return self._backend.values(self.forward(ids))[:, -1, :]

    def _context(self, ids):
        """The last ``block_size`` positions of ``ids``: the context the model reads."""
        return ids if self.block_size is None else ids[:, -self.block_size:]

    def generate(self, idx, max_new_tokens, temperature=1.0, seed=None):
        """``idx`` followed by ``max_new_tokens`` sampled tokens: an int64 array (B, T + max_new_tokens), or
        (T + max_new_tokens,) for one sequence.

        Each step reads the last ``block_size`` tokens (so a prompt may be longer), divides the logits by
        ``temperature`` (0 picks the most likely token) and samples from their softmax with a numpy Generator
        made from ``seed``. No graph is recorded. As in PyTorch, the training mode is the caller's: call ``model.eval()`` first if the model
        has dropout or batch norm.

        >>> model.generate([[0]], 10, seed=0)      # ten tokens after token 0
        """
        ids, single = self._ids(idx, f"{type(self).__name__}.generate", check_length=False)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
                or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        with no_grad():
            for _ in range(int(max_new_tokens)):
                logits = self._next_logits(self._context(ids))
                if temperature == 0:
                    nxt = logits.argmax(axis=1)
                else:
                    # shifted before dividing: logits / T would overflow for a tiny T (inf - inf = nan); this
                    # way only the unlikely letters overflow, to -inf, whose probability is then exactly 0
                    with np.errstate(over="ignore"):
                        z = (logits - logits.max(axis=1, keepdims=True)) / temperature
                    p = np.exp(z)
                    p /= p.sum(axis=1, keepdims=True)
                    nxt = np.array([rng.choice(self.vocab_size, p=row) for row in p])
                ids = np.concatenate([ids, nxt.astype(np.int64)[:, None]], axis=1)
        return ids[0] if single else ids
