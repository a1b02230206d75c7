"""naivegrad: automatic differentiation you can read, with a scalar engine and a numpy tensor engine.

- ``naivegrad.scalar.Value``: micrograd's scalar, the reference semantics of every op.
- ``naivegrad.tensor.Tensor``: the same ops on numpy arrays, for real models.
- ``naivegrad.nn``: Neuron, Layer, MLP and friends, written once for both engines; ``naivegrad.optim``.
- ``naivegrad.func``: jvp, vjp, grad, value_and_grad, jacrev, jacfwd, hessian, hvp;
  ``naivegrad.autograd``: grad(outputs, inputs, ...) as torch.autograd.grad; ``naivegrad.data``: datasets;
  ``naivegrad.viz``: graph drawing. These load on first use.
"""

import importlib

from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .scalar import Value
from .tensor import Tensor
from . import nn, optim

__version__ = "0.1.0"

__all__ = [
    "Value", "Tensor", "nn", "optim", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "func", "autograd", "data", "viz", "gradcheck", "models",
]

_LAZY = {"func", "autograd", "data", "viz", "gradcheck", "core_tn", "core_sc", "nn_bundle_sc", "utils", "optimizer", "app", "engines", "models"}


def __getattr__(name):
    # Submodules with heavier or optional imports load when first touched, as ``naivegrad.func``.
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'naivegrad' has no attribute {name!r}")
