"""The original project's module for the scalar engine: ``Scalar`` is ``naivegrad.scalar.Value``.

>>> from naivegrad.core_sc import Scalar
>>> a = Scalar(2.0); (a * a).backward(); a.grad
4.0

Gradients accumulate across ``backward()`` calls here, as they did in the original's scalar engine
(micrograd's rule): zero them between steps (``model.zero_grad()`` in ``naivegrad.nn_bundle_sc``, which holds
the original's Neuron, Layer and MLP on this engine).
"""

from .scalar import Value as Scalar

__all__ = ["Scalar"]
