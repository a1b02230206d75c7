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
from .ops.elementwise import erf
from .ops.activation import gelu, silu, softplus, leaky_relu, elu
from .ops.einsum import einsum

# PyTorch's module functions for the reductions: torch.var(x, dim) is x.var(dim), and so on.
var, std, norm, prod, cumsum, argmax, argmin = (Tensor.var, Tensor.std, Tensor.norm, Tensor.prod, Tensor.cumsum,
                                                Tensor.argmax, Tensor.argmin)

__all__ = ["Tensor", "Function", "Context", "REGISTRY", "unbroadcast", "zeros", "ones", "eye", "randn",
           "uniform", "arange", "where", "maximum", "minimum", "concatenate", "cat", "stack", "nll_loss",
           "cross_entropy", "linear", "erf", "gelu", "silu", "softplus", "leaky_relu", "elu", "einsum",
           "var", "std", "norm", "prod", "cumsum", "argmax", "argmin"]
