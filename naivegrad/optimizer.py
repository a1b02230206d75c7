"""The optimizers under naivegrad's original module name: ``naivegrad.optimizer`` is ``naivegrad.optim``.

>>> from naivegrad import optimizer as optim
>>> opt = optim.SGD([model.l1, model.l2], lr=0.001)
"""

from .optim import Optimizer, SGD, Adam, AdamW, RMSProp, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "RMSprop"]
