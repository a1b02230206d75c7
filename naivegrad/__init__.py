"""naivegrad: automatic differentiation you can read, with a scalar engine and a numpy tensor engine.

- ``naivegrad.scalar.Value``: micrograd's scalar, the reference semantics of every op.
- ``naivegrad.tensor.Tensor``: the same ops on numpy arrays, for real models.
- ``naivegrad.nn``: Neuron, Layer, MLP and friends, written once for both engines.
"""

from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .scalar import Value

__version__ = "0.1.0"

__all__ = ["Value", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]
