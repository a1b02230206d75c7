"""The scalar engine: micrograd's ``Value``, exact and fast. It defines the reference semantics of naivegrad.

>>> from naivegrad.scalar import Value
>>> x = Value(3.0); y = x * x + 2 * x; y.backward(); x.grad
8.0
"""

from ..grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .value import Value
from .fused import sum, dot

__all__ = ["Value", "sum", "dot", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]
