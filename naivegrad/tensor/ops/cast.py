"""Copies and casts: ``clone`` (new memory, same values) and ``to`` between floating dtypes (``float``,
``double``, ``half``, ``type_as``).

Both are differentiable, as in PyTorch (``CloneBackward``, ``ToCopyBackward``): the gradient passes through
unchanged, and a cast's gradient comes back in the dtype of its input (a float32 leaf cast to float64 gets a
float32 ``.grad``). Casts to or from bool and integer dtypes build no node: non-floating tensors never
require grad (see ``Tensor.to``).
"""

import numpy as np

from ..function import Function
from ._rules import astype
from ._tangents import fit

__all__ = ["Clone", "Cast"]


class Clone(Function):
    """A copy of x in new memory (PyTorch's ``clone``); the gradient and the tangent pass through."""

    @staticmethod
    def forward(ctx, x):
        out = np.array(x, copy=True)
        ctx.shape, ctx.dtype = out.shape, out.dtype
        return out

    @staticmethod
    def backward(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return np.zeros(ctx.shape, ctx.dtype)
        return np.array(fit(t, ctx.shape, ctx.dtype), copy=True)


class Cast(Function):
    """x as the floating ``dtype`` (a keyword option), always a new array; the gradient is cast back to x's
    dtype, the tangent forward to ``dtype``."""

    @staticmethod
    def forward(ctx, x, dtype):
        dtype = np.dtype(dtype)
        if x.dtype.kind != "f" or dtype.kind != "f":
            raise TypeError(f"Cast is between floating dtypes, got {x.dtype} to {dtype} (a cast to or from "
                            f"bool or integers builds no node: use Tensor.to)")
        ctx.in_dtype, ctx.shape, ctx.dtype = x.dtype, x.shape, dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return astype(g, ctx.in_dtype)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return np.zeros(ctx.shape, ctx.dtype)
        return fit(np.asarray(t).astype(ctx.dtype), ctx.shape, ctx.dtype)  # astype copies: never the input's
