"""Language models written once on ``naivegrad.nn``, for both engines: pick one with ``backend=``.

>>> from naivegrad.models import GPT
>>> model = GPT(vocab_size=27, backend="scalar", seed=0)     # microgpt, on Values
>>> logits = model([[0, 5, 13]])                              # (B, T) ids -> (B, T, 27) logits

- ``Bigram``: a table of next-token logits (makemore's first model).
- ``MLPLM``: makemore's MLP over a fixed context of characters, optionally with batch norm.
- ``GPT``: microgpt's transformer (nanoGPT's variant through options).

Each takes token ids (B, T) and returns logits with the vocabulary last: a Tensor on the tensor backend,
nested lists of Values on the scalar backend; ``nn.cross_entropy(logits, targets)`` takes either. Each has
``generate(idx, max_new_tokens, temperature=1.0, seed=None)``.
"""

from .bigram import Bigram
from .gpt import GPT, Block, FeedForward
from .language_model import LanguageModel
from .mlp_lm import MLPLM

__all__ = ["GPT", "Block", "FeedForward", "MLPLM", "Bigram", "LanguageModel"]
