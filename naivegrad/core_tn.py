"""The seed's module for the tensor engine: ``from naivegrad.core_tn import Tensor`` keeps working.

``Tensor`` is ``naivegrad.tensor.Tensor``, with the seed's method names ``dot``, ``mul``, ``add``, ``sum``,
``mean``, ``relu``, ``logsoftmax``, ``reshape`` (and ``conv2d``, ``maxpool2x2`` with the convolution ops).

>>> x = Tensor(np.eye(3)); y = Tensor(np.array([[1.0, 1.0, -1.0]]))
>>> z = y.dot(x).sum(); z.backward(); x.grad, y.grad
"""

from .tensor import Function, Tensor

__all__ = ["Tensor", "Function"]
