"""The tensor engine: numpy arrays with reverse-mode autodiff and PyTorch-grade semantics.

>>> from naivegrad.tensor import Tensor
>>> x = Tensor([[1.0, 2.0]]); w = Tensor([[3.0], [4.0]])
>>> (x @ w).relu().sum().backward(); w.grad.ravel().tolist()
[1.0, 2.0]

``Function`` and ``Context`` let you write your own ops (see ``naivegrad.tensor.function``);
``naivegrad.tensor.ops.REGISTRY`` lists every built-in op.
"""

from .tensor import (
    Tensor, zeros, ones, eye, randn, uniform, arange, where, maximum, minimum, concatenate, cat, stack,
    nll_loss, cross_entropy, linear,
)
from .function import Function, Context
from .shapes import unbroadcast
from .ops import REGISTRY

__all__ = ["Tensor", "Function", "Context", "REGISTRY", "unbroadcast", "zeros", "ones", "eye", "randn",
           "uniform", "arange", "where", "maximum", "minimum", "concatenate", "cat", "stack", "nll_loss",
           "cross_entropy", "linear"]
