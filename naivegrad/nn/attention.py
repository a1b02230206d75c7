"""``CausalSelfAttention``: multi-head scaled dot-product self-attention with a causal mask, as in GPT.

>>> attn = nn.CausalSelfAttention(16, n_head=4, backend="scalar", seed=0)
>>> y = attn(x)                     # x: (B, T, 16) -> (B, T, 16); position t attends to positions <= t

q, k and v are bias-free projections ``wq``, ``wk``, ``wv`` (each a ``Linear(C, C)``), split into ``n_head``
heads of C / n_head channels; each head computes softmax(q k^T / sqrt(C / n_head)) v over the positions up
to its own; the heads are joined and projected by ``wo``. On the scalar engine this is microgpt's loop: one
fused ``dot`` node per attention logit and per output channel.

Initialisation: each projection has ``Linear``'s default, U(+-1/sqrt(C)) for weight and bias, as nanoGPT's
``nn.Linear`` projections; torch's ``nn.MultiheadAttention`` differs on purpose here (xavier_uniform_ for its
packed in-projection, zero biases).
"""

import numpy as np

from .layers import Linear, _positive_int
from .module import Module

__all__ = ["CausalSelfAttention"]


class CausalSelfAttention(Module):
    """Causal multi-head self-attention over (B, T, C) input; state dict ``wq.weight``, ``wk.weight``,
    ``wv.weight``, ``wo.weight`` (C, C), laid out as ``torch.nn.Linear``'s (plus ``*.bias`` when ``bias``).

    ``n_head`` must divide ``n_embd`` (ValueError otherwise). ``causal=False`` lets every position attend to
    every other (an encoder's attention).
    """

    def __init__(self, n_embd, n_head, bias=False, causal=True, backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        self.n_embd = _positive_int(n_embd, "n_embd")
        self.n_head = _positive_int(n_head, "n_head")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_head={self.n_head} must divide n_embd={self.n_embd} (each head takes "
                             f"n_embd / n_head channels)")
        self.causal = bool(causal)
        rng = np.random.default_rng(seed)
        for name in ("wq", "wk", "wv", "wo"):
            setattr(self, name, Linear(n_embd, n_embd, bias=bias, backend=backend, dtype=dtype, seed=rng))

    def forward(self, x):
        shape = tuple(self._backend.shape(x))
        if len(shape) != 3 or shape[2] != self.n_embd:
            raise ValueError(f"CausalSelfAttention({self.n_embd}) takes input of shape (B, T, {self.n_embd}), "
                             f"got shape {shape}")
        q, k, v = self.wq.forward(x), self.wk.forward(x), self.wv.forward(x)
        return self.wo.forward(self._backend.attention(q, k, v, self.n_head, self.causal))

    def extra_repr(self):
        return f"{self.n_embd}, n_head={self.n_head}, causal={self.causal}"
