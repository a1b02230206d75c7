"""The seed's module for the scalar engine: ``Scalar`` is ``naivegrad.scalar.Value``.

>>> from naivegrad.core_sc import Scalar
>>> a = Scalar(2.0); (a * a).backward(); a.grad
4.0
"""

from .scalar import Value as Scalar

__all__ = ["Scalar"]
