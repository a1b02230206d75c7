"""Scalar or tensor? The one place that answers it for an object.

``nn``, the losses, the optimizers, ``naivegrad.func``, ``gradcheck`` and the application all ask this
module, never ``isinstance`` checks of their own. Both engines always load with the package, so there is
nothing lazy here.

>>> engine_of(Value(1.0)), engine_of(Tensor([1.0])), engine_of(2.0)
('scalar', 'tensor', None)
"""

from .scalar import Value
from .tensor import Tensor

__all__ = ["SCALAR", "TENSOR", "ENGINES", "engine_of", "is_value", "is_tensor"]

SCALAR = "scalar"
TENSOR = "tensor"
ENGINES = (SCALAR, TENSOR)


def is_value(x):
    """True for a scalar-engine ``Value`` (subclasses included)."""
    return isinstance(x, Value)


def is_tensor(x):
    """True for a tensor-engine ``Tensor`` (subclasses included)."""
    return isinstance(x, Tensor)


def engine_of(x):
    """``"scalar"`` for a Value, ``"tensor"`` for a Tensor, None for anything else (numbers, arrays, lists)."""
    if isinstance(x, Value):
        return SCALAR
    if isinstance(x, Tensor):
        return TENSOR
    return None
