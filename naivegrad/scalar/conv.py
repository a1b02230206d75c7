"""Convolution and pooling on the scalar engine: the plain reference the tensor engine's ops are checked against.

>>> from naivegrad.scalar.conv import conv2d, max_pool2d
>>> y = conv2d(image, weight, bias, padding=1)      # image (C, H, W), weight (O, C, kh, kw): object arrays
>>> max_pool2d(y, 2).shape                         # (O, H // 2, W // 2), each element one Value

Inputs are numpy arrays (or nested lists) of ``Value``s and numbers: one image (C, H, W) or a batch
(N, C, H, W); the weight is (O, C / groups, kh, kw), as in PyTorch. Every output pixel is one fused node
built by reading the formula straight off: a ``dot`` of the weights with the pixels under the kernel for
``conv2d``, the mean of the window for ``avg_pool2d``, and ``amax`` (a max node) for ``max_pool2d``.
In a convolution a padding pixel is a 0.0 in the dot, a product with its weight as in PyTorch (0 * inf is
nan, in the value and in the weight's gradient; and, when the input carries tangents, 0.0 is a Value with
tangent 0.0, since PyTorch's forward mode convolves the padded tangent too); pooling leaves padding out (it
adds nothing to a sum, and max never chooses it). One Python call per output pixel: slow, meant for tiny
inputs and for tests.
"""

import numbers

import numpy as np

from ..conv_args import as_batch, conv_padding, out_size, pair
from .fused import _fused, dot
from .fused import sum as _sum
from .value import Op, Value

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "amax"]


def _array(x, what):
    """``x`` as a numpy array whose elements are Values or numbers (a float array stays as it is)."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiu":
        return x
    arr = np.asarray(x, dtype=object)
    for v in arr.flat:
        if not isinstance(v, (Value, numbers.Real)) or isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{what} must hold Values or real numbers, got {type(v).__name__}: {v!r}")
    return arr


def _batch(x, what):
    return as_batch(_array(x, f"{what}: input"), what)


def _window(h, w, y, x, top, left, kernel, stride, dilation, padding=False):
    """The in-bounds (row, col, i, j) of output pixel (y, x)'s window, in row-major kernel order; with
    ``padding``, every kernel cell, a padding one as (None, None, i, j)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    cells = []
    for i in range(kh):
        r = y * sh - top + i * dh
        for j in range(kw):
            c = x * sw - left + j * dw
            if 0 <= r < h and 0 <= c < w:
                cells.append((r, c, i, j))
            elif padding:
                cells.append((None, None, i, j))
    return cells


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``: one ``dot`` node per output pixel.

    ``out[n, o, y, x] = dot(weight[o, c, i, j], input[n, g * C/groups + c, y*sh - top + i*dh, x*sw - left + j*dw])
    + bias[o]`` over every (c, i, j), g being output channel o's group, a padding pixel being 0.0. Returns an
    object array of Values, (N, O, OH, OW) for a batch and (O, OH, OW) for one image.
    """
    x, single = _batch(input, "conv2d")
    w = _array(weight, "conv2d: weight")
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels / groups, kh, kw), got shape "
                         f"{w.shape}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if min(o, cg, kh, kw) < 1:
        raise ValueError(f"conv2d: weight of shape {w.shape} has an empty axis")
    if c != cg * groups:
        raise ValueError(f"conv2d: input of shape {x.shape} has {c} channels, but weight of shape {w.shape} "
                         f"with groups={groups} expects {cg * groups}")
    if o % groups:
        raise ValueError(f"conv2d: {o} output channels (weight shape {w.shape}) do not split into groups={groups}")
    b = None if bias is None else _array(bias, "conv2d: bias")
    if b is not None and b.shape != (o,):
        raise ValueError(f"conv2d: bias must have shape ({o},) for weight of shape {w.shape}, got {b.shape}")
    stride = pair(stride, "conv2d: stride", 1)
    dilation = pair(dilation, "conv2d: dilation", 1)
    top, bottom, left, right = conv_padding(padding, (kh, kw), dilation, stride)
    oh = out_size("conv2d", h, top + bottom, kh, dilation[0], stride[0], "H")
    ow = out_size("conv2d", wd, left + right, kw, dilation[1], stride[1], "W")
    out = np.empty((n, o, oh, ow), dtype=object)
    per_group = o // groups
    pad = _padding_pixel(x) if top or bottom or left or right else 0.0
    for y in range(oh):
        for xx in range(ow):
            cells = _window(h, wd, y, xx, top, left, (kh, kw), stride, dilation, padding=True)
            for k in range(o):
                first = (k // per_group) * cg  # the group's first input channel
                ws = [w[k, ci, i, j] for ci in range(cg) for (_, _, i, j) in cells]
                bk = None if b is None else b[k]
                for m in range(n):
                    xs = [pad if r is None else x[m, first + ci, r, col]
                          for ci in range(cg) for (r, col, _, _) in cells]
                    out[m, k, y, xx] = dot(ws, xs, bk)
    return out[0] if single else out


def _padding_pixel(x):
    """A padding pixel: the number 0.0, or a Value 0.0 with tangent 0.0 when the input carries tangents, so
    that the tangent is PyTorch's conv(x_t, w) + conv(x, w_t), padded x_t included (nan * 0 with a nan weight)."""
    for v in x.flat:
        if type(v) is Value and v.tangent is not None:
            return Value(0.0, tangent=0.0)
    return 0.0


def _d_max(chosen, out):
    return (1.0,)  # the max is its chosen element: d/dchosen = 1 (the others are not operands)


_MAX = Op("max", _d_max)


def amax(values):
    """The largest of ``values`` (Values and numbers) as one node, whose only operand is the element chosen.

    The first maximal element is chosen, and a nan wins (the last nan): PyTorch's ``max_pool2d`` rule, so
    the gradient (and the tangent) of the result is that element's alone.

    >>> m = amax([a, b, 0.5]); m.backward()       # a.grad == 1.0 if a.data >= b.data and a.data >= 0.5
    """
    values = list(values)
    if not values:
        raise ValueError("amax needs at least one value")
    chosen, best = None, None
    for v in values:
        d = v.data if type(v) is Value else v
        if not isinstance(d, numbers.Real) or isinstance(d, (bool, np.bool_)):
            raise TypeError(f"amax needs Values or real numbers, got {type(v).__name__}: {v!r}")
        d = float(d)
        if chosen is None or d > best or d != d:
            chosen, best = v, d
    if type(chosen) is Value:
        return _fused(best, (chosen,), _d_max(best, best), _MAX)
    return _fused(best, (), (), _MAX)


def _pool_geometry(x, kernel_size, stride, padding, what):
    kernel = pair(kernel_size, f"{what}: kernel_size", 1)
    stride = kernel if stride is None else pair(stride, f"{what}: stride", 1)
    ph, pw = pair(padding, f"{what}: padding", 0)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"{what}: padding {padding!r} must be at most half of kernel_size {kernel_size!r}")
    h, w = x.shape[2:]
    oh = out_size(what, h, 2 * ph, kernel[0], 1, stride[0], "H")
    ow = out_size(what, w, 2 * pw, kernel[1], 1, stride[1], "W")
    return kernel, stride, ph, pw, oh, ow


def _pool(input, kernel_size, stride, padding, what, reduce):
    x, single = _batch(input, what)
    kernel, stride, ph, pw, oh, ow = _pool_geometry(x, kernel_size, stride, padding, what)
    n, c, h, w = x.shape
    out = np.empty((n, c, oh, ow), dtype=object)
    for y in range(oh):
        for xx in range(ow):
            cells = _window(h, w, y, xx, ph, pw, kernel, stride, (1, 1))
            for m in range(n):
                for k in range(c):
                    out[m, k, y, xx] = reduce([x[m, k, r, col] for (r, col, _, _) in cells])
    return out[0] if single else out


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Max over windows (stride defaults to kernel_size), as ``torch.nn.functional.max_pool2d``: one ``amax``
    node per output pixel. Padding (at most half the window) is never chosen."""
    return _pool(input, kernel_size, stride, padding, "max_pool2d", amax)


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over windows, as ``torch.nn.functional.avg_pool2d``: the window's sum divided by its full size
    (``count_include_pad=True``, PyTorch's default: padding counts as zeros) or by its number of real pixels."""
    kernel = pair(kernel_size, "avg_pool2d: kernel_size", 1)
    full = kernel[0] * kernel[1]

    def mean(cells):
        return _sum(cells) / (full if count_include_pad else len(cells))

    return _pool(input, kernel_size, stride, padding, "avg_pool2d", mean)
