"""``GPT``: microgpt's transformer, one definition for both engines.

>>> model = GPT(vocab_size=27, backend="scalar", seed=0)       # or backend="tensor"
>>> logits = model([[0, 5, 13]])                              # (1, 3, 27)
>>> loss = nn.cross_entropy(logits, [[5, 13, 13]]); loss.backward()

The default architecture is microgpt's: token and position embeddings, added; an RMSNorm without gain
(eps 1e-5) after them and before each block's attention and MLP (pre-norm); causal multi-head attention
from bias-free projections; a ReLU MLP of width 4 x n_embd; residual connections around both; a bias-free
``lm_head``, not tied to the token embedding, and no final norm. Every weight starts N(0, 0.08^2) (microgpt's
init), drawn from ``seed`` in state-dict order and rounded to float32, so that both backends (and PyTorch,
given the state dict) start from identical numbers.

State dict (torch layout): ``wte.weight`` (V, C), ``wpe.weight`` (block_size, C),
``layers.{i}.attn.wq.weight`` / ``wk`` / ``wv`` / ``wo`` (C, C), ``layers.{i}.mlp.fc1.weight`` (4C, C),
``layers.{i}.mlp.fc2.weight`` (C, 4C), ``lm_head.weight`` (V, C).

Options, for nanoGPT's variant: ``norm="layernorm"`` (with gain and, when ``bias``, a bias: ``ln_emb``,
``layers.{i}.ln_1`` / ``ln_2``), ``activation="gelu"``, ``bias=True`` (biases on the attention and MLP
projections, zero at first), ``tie_weights=True`` (``lm_head.weight`` is ``wte.weight``), ``dropout=p``
(after the embeddings and on each residual branch).
"""

import numpy as np

from ..nn.activation import GELU
from ..nn.attention import CausalSelfAttention
from ..nn.dropout import Dropout
from ..nn.embedding import Embedding, normal_init
from ..nn.layers import Linear, ReLU, _positive_int
from ..nn.module import Module
from ..nn.normalization import LayerNorm, RMSNorm
from .language_model import LanguageModel

__all__ = ["GPT", "Block", "FeedForward"]

NORMS = ("rmsnorm", "layernorm")
ACTIVATIONS = ("relu", "gelu")


def _norm(kind, n_embd, bias, backend, dtype):
    if kind == "rmsnorm":
        return RMSNorm(n_embd, eps=1e-5, elementwise_affine=False, backend=backend, dtype=dtype)
    return LayerNorm(n_embd, eps=1e-5, bias=bias, backend=backend, dtype=dtype)


class FeedForward(Module):
    """The block's MLP: ``fc1`` (C -> 4C), the activation, ``fc2`` (4C -> C)."""

    def __init__(self, n_embd, activation="relu", bias=False, backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        rng = np.random.default_rng(seed)
        self.fc1 = Linear(n_embd, 4 * n_embd, bias=bias, backend=backend, dtype=dtype, seed=rng)
        self.act = ReLU(backend=backend) if activation == "relu" else GELU(backend=backend)
        self.fc2 = Linear(4 * n_embd, n_embd, bias=bias, backend=backend, dtype=dtype, seed=rng)

    def forward(self, x):
        return self.fc2.forward(self.act.forward(self.fc1.forward(x)))


class Block(Module):
    """x + attn(norm(x)), then x + mlp(norm(x)): a pre-norm transformer block."""

    def __init__(self, n_embd, n_head, norm="rmsnorm", activation="relu", bias=False, dropout=0.0,
                 backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        rng = np.random.default_rng(seed)
        self.ln_1 = _norm(norm, n_embd, bias, backend, dtype)
        self.attn = CausalSelfAttention(n_embd, n_head, bias=bias, backend=backend, dtype=dtype, seed=rng)
        self.ln_2 = _norm(norm, n_embd, bias, backend, dtype)
        self.mlp = FeedForward(n_embd, activation, bias, backend=backend, dtype=dtype, seed=rng)
        self.drop = Dropout(dropout, backend=backend, seed=rng) if dropout else None

    def _branch(self, y):
        return y if self.drop is None else self.drop.forward(y)

    def forward(self, x):
        add = self._backend.add
        x = add(x, self._branch(self.attn.forward(self.ln_1.forward(x))))
        return add(x, self._branch(self.mlp.forward(self.ln_2.forward(x))))


class GPT(LanguageModel):
    """A GPT language model (microgpt's by default; see the module docstring for the architecture, the state
    dict and the options).

    ``model(idx)`` takes token ids (B, T), T <= ``block_size`` (lists or an integer array; (T,) for one
    sequence) and returns logits (B, T, vocab_size): a Tensor on the tensor backend, nested lists of Values
    on the scalar backend. ``model.generate(idx, max_new_tokens, temperature=1.0, seed=None)`` samples.
    ``dtype``: float32 (default) or float64 on the tensor backend; the scalar backend is float64.
    """

    def __init__(self, vocab_size, block_size=16, n_layer=1, n_embd=16, n_head=4, backend="tensor", seed=0,
                 dtype=None, norm="rmsnorm", activation="relu", bias=False, tie_weights=False, dropout=0.0,
                 init_std=0.08):
        super().__init__(backend, dtype)
        self.vocab_size = _positive_int(vocab_size, "vocab_size")
        self.block_size = _positive_int(block_size, "block_size")
        self.n_layer = _positive_int(n_layer, "n_layer")
        self.n_embd = _positive_int(n_embd, "n_embd")
        self.n_head = _positive_int(n_head, "n_head")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_head={self.n_head} must divide n_embd={self.n_embd}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.norm, self.activation = norm, activation
        dtype = self.dtype
        rng = np.random.default_rng(seed)
        c = self.n_embd
        self.wte = Embedding(self.vocab_size, c, backend=backend, dtype=dtype, seed=rng)
        self.wpe = Embedding(self.block_size, c, backend=backend, dtype=dtype, seed=rng)
        self.ln_emb = _norm(norm, c, bias, backend, dtype)
        self.drop = Dropout(dropout, backend=backend, seed=rng) if dropout else None
        self.layers = [Block(c, self.n_head, norm, activation, bias, dropout, backend=backend, dtype=dtype,
                             seed=rng) for _ in range(self.n_layer)]
        self.lm_head = Linear(c, self.vocab_size, bias=False, backend=backend, dtype=dtype, seed=rng)
        self._init_weights(rng, init_std)
        if tie_weights:
            self.lm_head.weight = self.wte.weight

    def _init_weights(self, rng, std):
        # microgpt's init for every matrix (embeddings and projections), zeros for biases; norm gains stay 1.
        state = {}
        for name, p in self.named_parameters():
            shape = tuple(p.shape)
            if name.endswith(".weight") and len(shape) == 2:
                state[name] = normal_init(rng, shape, std)
            elif name.endswith(".bias"):
                state[name] = np.zeros(shape)
        self.load_state_dict(state, strict=False)

    def forward(self, ids):
        """Logits (B, T, vocab_size) in the backend's batch form, for checked ids (B, T)."""
        ids, _ = self._ids(ids)
        b = self._backend
        x = b.add(self.wte.forward(ids), self.wpe.forward(np.arange(ids.shape[1])))
        x = self.ln_emb.forward(x)
        if self.drop is not None:
            x = self.drop.forward(x)
        for block in self.layers:
            x = block.forward(x)
        return self.lm_head.forward(x)

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, n_layer={self.n_layer}, "
                f"n_embd={self.n_embd}, n_head={self.n_head}")
