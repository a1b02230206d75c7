"""Optimizers for both engines, with PyTorch's names and exactly PyTorch's update rules.

Each works on scalar ``Value`` parameters (updated together as one numpy vector, so a few hundred Values
step fast) and on ``Tensor`` parameters (updated in place, in their dtype), and saves its state as plain
numpy arrays for an .npz checkpoint.

>>> from naivegrad import optim
>>> opt = optim.Adam(model.parameters(), lr=1e-3)
>>> for x, y in batches:
...     opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()

``optim.lr_scheduler`` drives the optimizers' learning rates: ``StepLR``, ``LinearLR``, ``CosineAnnealingLR``,
``LambdaLR`` and ``SequentialLR`` (e.g. warm-up then cosine decay), with PyTorch's semantics and values.
"""

from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSProp, RMSprop
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "RMSprop", "lr_scheduler"]
