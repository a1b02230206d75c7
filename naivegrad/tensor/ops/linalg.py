"""Matrix products: ``matmul`` with numpy's rules for 1-D, 2-D and batched (broadcast) operands."""

import numpy as np

from ..function import Function
from ..shapes import unbroadcast

__all__ = ["MatMul"]


class MatMul(Function):
    """a @ b. A 1-D ``a`` is a row vector and a 1-D ``b`` a column vector (the added axis is dropped from
    the result); leading axes broadcast as batches, and their gradients are summed back (unbroadcast)."""

    @staticmethod
    def forward(ctx, a, b):
        sa = a.shape if type(a) is np.ndarray else np.shape(a)
        sb = b.shape if type(b) is np.ndarray else np.shape(b)
        if not sa or not sb:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {sa} and {sb}")
        try:
            out = np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: shapes {sa} and {sb} do not match (the last axis of the first must "
                             f"equal the {'only' if len(sb) == 1 else 'second-to-last'} axis of the second, "
                             f"and batch axes must broadcast)") from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the reshaping below
            return (np.matmul(g, b.T) if na else None), (np.matmul(a.T, g) if nb else None)
        # Promote 1-D operands to matrices, as numpy does, and the gradient with them.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if na:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if nb:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb
