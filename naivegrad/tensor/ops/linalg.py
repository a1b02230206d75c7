"""Matrix products: ``matmul`` with numpy's rules for 1-D, 2-D and batched (broadcast) operands, and
``linear`` (x @ weight.T + bias, PyTorch's ``F.linear``): a layer as one op instead of three.

Forward mode is the product rule, ``ta @ b + a @ tb``: matmul is bilinear, and numpy's matmul already
promotes 1-D operands and broadcasts batches the same way for the tangents as for the values.
"""

import math

import numpy as np

from ..function import Function
from ..shapes import unbroadcast
from ._tangents import as_array

__all__ = ["MatMul", "Linear"]


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

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        if ta is None:
            if tb is None:
                return np.zeros(_product_shape(a, b), np.result_type(a, b))
            return as_array(np.matmul(a, tb))
        r = np.matmul(ta, b)
        return as_array(r if tb is None else r + np.matmul(a, tb))


def _product_shape(a, b):
    """The shape of a @ b: broadcast batch axes, then a's rows (none if 1-D) and b's columns (none if 1-D)."""
    sa, sb = np.shape(a), np.shape(b)
    return np.broadcast_shapes(sa[:-2], sb[:-2]) + sa[-2:-1] + (sb[-1:] if len(sb) > 1 else ())


class Linear(Function):
    """``x @ weight.T + bias`` for ``x`` of shape (..., in), ``weight`` (out, in) and ``bias`` (out,) or None,
    as ``torch.nn.functional.linear``. One op: the bias is added in place into the fresh product, and the
    backward is the two matrix products and a column sum, with no transpose or broadcast nodes around it."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                             f"(the weight is (out_features, in_features), the input (..., in_features))")
        if bias is not None and np.shape(bias) != weight.shape[:1]:
            raise ValueError(f"linear: bias of shape {np.shape(bias)} for weight of shape {weight.shape} "
                             f"(it must be (out_features,))")
        x2 = x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
        out = np.matmul(x2, weight.T)
        if bias is not None:
            if np.result_type(out, bias) == out.dtype:
                out += bias  # out is ours: no second array for the sum
            else:
                out = out + bias  # a wider bias widens the result, as x @ w.T + b would
        ctx.save_for_backward(x, weight)
        ctx.x_shape = x.shape
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + weight.shape[:1])

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        x2 = x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
        nx, nw, nb = ctx.needs_input_grad
        g2 = g if g.ndim == 2 else g.reshape(x2.shape[0], weight.shape[0])
        gx = np.matmul(g2, weight).reshape(ctx.x_shape) if nx else None
        gw = np.matmul(g2.T, x2) if nw else None
        gb = g2.sum(axis=0) if nb else None
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, weight = ctx.saved_tensors
        x2 = x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
        out_shape = ctx.x_shape[:-1] + weight.shape[:1]
        r = np.zeros((x2.shape[0], weight.shape[0]), np.result_type(x2, weight))
        if tx is not None:
            r += np.matmul(tx.reshape(x2.shape), weight.T)
        if tw is not None:
            r += np.matmul(x2, tw.T)
        if tb is not None:
            r += tb
        return r.reshape(out_shape)
