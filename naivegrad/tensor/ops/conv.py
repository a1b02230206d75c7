"""Convolution and pooling on NCHW images, as ``torch.nn.functional.conv2d`` / ``max_pool2d`` / ``avg_pool2d``.

>>> x = Tensor(np.ones((2, 3, 8, 8)), requires_grad=False); w = Tensor(np.ones((4, 3, 3, 3)))
>>> x.conv2d(w, padding=1).max_pool2d(2).shape
(2, 4, 4, 4)

Every op looks at its input through one strided view (``as_strided``, no copy) that lines up, for each kernel
offset, the pixels that offset touches. The convolution copies that view once into a column matrix and does
one batched matmul; pooling reduces over the kernel offsets, one vectorised numpy call each. So Python loops
run over the kh * kw kernel offsets at most, never over pixels. The backward passes scatter the gradient
back through the same views, one offset at a time (col2im). Convolution and max pooling split a large batch
into chunks that run on two threads (``_THREADS``), with the same results as on one.

Higher order (``backward(create_graph=True)``): each backward rule, given a Tensor gradient, builds its result
from Functions whose own rules are again made of Functions. A convolution's three linear maps (``Conv2d``,
its input gradient ``_ConvInputGrad``, a transposed convolution, and its weight gradient ``_ConvWeightGrad``)
are each other's derivatives; max pooling's scatter and gather (``_MaxPoolScatter``, ``_MaxPoolGather``) and
average pooling's spread and pooling (``_AvgPoolSpread``, ``_AvgPoolWindows``) are each other's transposes.
Given arrays (first order) the rules run the numpy code above, as fast as before.
"""

import contextvars
import numbers
import os
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...conv_args import as_batch, conv_padding, out_size, pair
from .. import inplace as _inplace
from ..function import Function
from ..tensor import Tensor, _operand_tensor as _tensor

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "conv2d", "max_pool2d", "avg_pool2d"]


# ---------------------------------------------------------------------- arguments
def _padded(x, pads, value=0.0):
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    xp = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def _offset_view(xp, kernel, out, stride, dilation):
    """A (N, C, kh, kw, OH, OW) view of the padded input: [..., i, j, y, x] is the pixel that kernel offset
    (i, j) meets at output position (y, x). No copy; read-only."""
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = kernel, out, stride, dilation
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (n, c, kh, kw, oh, ow), (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw), writeable=False)


def _offset_slice(i, j, out, stride, dilation):
    """The (rows, cols) slices of the padded input that kernel offset (i, j) meets, in output order."""
    (oh, ow), (sh, sw), (dh, dw) = out, stride, dilation
    return (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _scatter(cols, grad, out, stride, dilation):
    """col2im: add each kernel offset's (N, C, OH, OW) slab of ``cols`` into the padded ``grad`` where it was
    read from. The loop runs over the kh * kw offsets; each iteration is one strided numpy add."""
    kh, kw = cols.shape[2:4]
    for i in range(kh):
        for j in range(kw):
            rows, columns = _offset_slice(i, j, out, stride, dilation)
            grad[:, :, rows, columns] += cols[:, :, i, j]
    return grad


def _unpadded(grad, pads):
    top, bottom, left, right = pads
    return grad[:, :, top:grad.shape[2] - bottom, left:grad.shape[3] - right]


# ---------------------------------------------------------------------- batch chunks, on threads
# A convolution treats every image alike, so the batch is cut into chunks of _CHUNK images that run on up to
# _THREADS threads: numpy releases the GIL inside its copies and matmuls, so the chunks truly run in
# parallel (as PyTorch's CPU kernels use a thread per core), and each chunk's temporaries stay in cache.
_CHUNK = 64
_THREADS = min(2, os.cpu_count() or 1)
_executor = None


def _each_chunk(task, n):
    """``task(lo, hi)`` for each chunk of a batch of ``n`` images; the results, in order.

    The chunks are dealt out in _THREADS contiguous runs: this thread works through the first while the
    pool's threads take the others (fewer, larger hand-offs than one per chunk).
    """
    spans = [(lo, min(lo + _CHUNK, n)) for lo in range(0, n, _CHUNK)]
    if _THREADS < 2 or len(spans) < 2:
        return [task(lo, hi) for lo, hi in spans]
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_THREADS - 1, thread_name_prefix="naivegrad-conv")
    share = -(-len(spans) // _THREADS)
    runs = [spans[i:i + share] for i in range(0, len(spans), share)]

    def work(run):
        return [task(lo, hi) for lo, hi in run]

    # numpy's floating-point policy (silenced by Function.apply) is a context variable: the other threads
    # run in copies of this thread's context, so they follow it too.
    futures = [_executor.submit(contextvars.copy_context().run, work, run) for run in runs[1:]]
    results = work(runs[0])
    for f in futures:
        results += f.result()
    return results


def _forget_executor():
    global _executor
    _executor = None  # a forked child has none of its parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


# ---------------------------------------------------------------------- convolution
# Everything a convolution's three linear maps need besides their operands: the batch's padded input shape
# (N, C, H + top + bottom, W + left + right), the paddings (top, bottom, left, right), the output size, the
# stride, dilation, groups, kernel size, and whether the input was one 3-D image.
_ConvGeometry = namedtuple("_ConvGeometry", "padded_shape pads out stride dilation groups kernel unbatched")


class Conv2d(Function):
    """2-D cross-correlation (what deep learning calls convolution) of an NCHW input with an OIHW weight.

    ``out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * xpad[n, g * C/groups + c,
    y * sh + i * dh, x * sw + j * dw]`` for output channel o in group g. Forward: im2col (one copy of a strided
    view) and one batched matmul. Backward: the weight gradient is a matmul with the columns (kept from the
    forward), the input's a matmul followed by col2im; the bias's a sum. Forward mode: the tangent is linear in
    each input, conv(dx, w) + conv(x, dw) + db.

    Any order: the convolution is bilinear, y = conv(x, w), and its two gradients are the other two ways of
    pairing the same three arrays, gx = conv_transpose(g, w) (``_ConvInputGrad``) and gw = conv_weight(x, g)
    (``_ConvWeightGrad``). Each of the three is a Function whose backward is made of the other two (and of
    itself), so given Tensors (``backward(create_graph=True)``) the rule builds a graph that differentiates
    again, to any order; given arrays it runs the numpy code directly.
    """

    # The first-order rule reads the weight (for the input's gradient) and the columns, a private copy of the
    # input: so the input may still change in place after the forward, as before it was saved. A rule of higher
    # order reads the input itself, and checks it (_unchanged).
    backward_reads = staticmethod(lambda need: (1,) if need[0] else ())

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        given = x
        x, unbatched = as_batch(x, "conv2d")
        if weight.ndim != 4:
            raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels / groups, kh, kw), "
                             f"got shape {weight.shape}")
        if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral) or groups < 1:
            raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
        n, c, h, w = x.shape
        o, cg, kh, kw = weight.shape
        if min(o, cg, kh, kw) < 1:
            raise ValueError(f"conv2d: weight of shape {weight.shape} has an empty axis")
        if c != cg * groups:
            raise ValueError(f"conv2d: input of shape {x.shape} has {c} channels, but weight of shape "
                             f"{weight.shape} with groups={groups} expects {cg * groups}")
        if o % groups:
            raise ValueError(f"conv2d: {o} output channels (weight shape {weight.shape}) do not split into "
                             f"groups={groups}")
        if bias is not None and np.shape(bias) != (o,):
            raise ValueError(f"conv2d: bias must have shape ({o},) for weight of shape {weight.shape}, "
                             f"got {np.shape(bias)}")
        stride = pair(stride, "conv2d: stride", 1)
        dilation = pair(dilation, "conv2d: dilation", 1)
        pads = conv_padding(padding, (kh, kw), dilation, stride)
        out = (out_size("conv2d", h, pads[0] + pads[1], kh, dilation[0], stride[0], "H"),
               out_size("conv2d", w, pads[2] + pads[3], kw, dilation[1], stride[1], "W"))
        padded_shape = (n, c, h + pads[0] + pads[1], w + pads[2] + pads[3])
        geometry = _ConvGeometry(padded_shape, pads, out, stride, dilation, int(groups), (kh, kw), unbatched)
        return _conv_run(ctx, given, weight, bias, geometry)

    @staticmethod
    def backward(ctx, g):
        geometry = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad
        x, weight = ctx.saved_tensors
        if type(g) is np.ndarray:  # first order: the columns kept from the forward
            return _conv_backward(g, weight, ctx.cols, geometry, need_x, need_w, need_b)
        gx = _conv_input_grad(g, weight, geometry) if need_x else None
        gw = _conv_weight_grad(_unchanged(ctx, x), g, geometry) if need_w else None
        gb = g.sum(axis=(1, 2) if geometry.unbatched else (0, 2, 3)) if need_b else None
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, x_t, w_t, b_t):
        cols, weight = ctx.cols, ctx.saved_tensors[1]
        padded_shape, pads, out, stride, dilation, groups, (kh, kw), unbatched = ctx.geometry
        o = weight.shape[0]
        cols = cols[:, :, :weight[0].size]  # without the bias's row of ones
        y = np.zeros((cols.shape[0], groups, o // groups, out[0] * out[1]), np.result_type(cols, weight))
        if x_t is not None:
            xt = x_t[None] if unbatched else x_t
            xt_cols = _offset_view(_padded(xt, pads), (kh, kw), out, stride, dilation).reshape(cols.shape)
            y = y + np.matmul(_grouped(weight, groups), xt_cols)
        if w_t is not None:
            y = y + np.matmul(_grouped(w_t, groups), cols)
        y = y.reshape(y.shape[0], o, *out)
        if b_t is not None:
            y = y + b_t.reshape(o, 1, 1)
        return y[0] if unbatched else y


class _Conv(Conv2d):
    """Conv2d with its geometry already worked out (inside the rules of higher order: no checks, and any
    padding, even the asymmetric one of padding="same"). Backward and forward mode are Conv2d's."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, geometry):
        return _conv_run(ctx, x, weight, bias, geometry)


class _ConvInputGrad(Function):
    """The input gradient of a convolution, ``gx = conv_transpose(g, weight)``: matmul and col2im.

    Linear in g and in the weight; its gradients are a convolution, d/dg = conv(gg, weight), and a weight
    gradient, d/dweight = conv_weight(gg, g)."""

    @staticmethod
    def forward(ctx, g, weight, *, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(g, weight)
        return _conv_backward(g, weight, None, geometry, True, False, False)[0]

    @staticmethod
    def backward(ctx, gg):
        g, weight = ctx.saved_tensors
        need_g, need_w = ctx.needs_input_grad
        return (_conv(gg, weight, ctx.geometry) if need_g else None,
                _conv_weight_grad(gg, g, ctx.geometry) if need_w else None)

    @staticmethod
    def jvp(ctx, g_t, w_t):
        g, weight = ctx.saved_tensors
        return _bilinear_tangent(_conv_input_grad, g, weight, g_t, w_t, ctx.geometry)


class _ConvWeightGrad(Function):
    """The weight gradient of a convolution, ``gw = conv_weight(x, g)``: im2col and a matmul summed over the
    batch.

    Linear in x and in g; its gradients are an input gradient, d/dx = conv_transpose(g, gg), and a
    convolution, d/dg = conv(x, gg)."""

    @staticmethod
    def forward(ctx, x, g, *, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(x, g)
        return _conv_backward(g, None, _im2col(x, geometry), geometry, False, True, False)[1]

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        return (_conv_input_grad(g, gg, ctx.geometry) if need_x else None,
                _conv(x, gg, ctx.geometry) if need_g else None)

    @staticmethod
    def jvp(ctx, x_t, g_t):
        x, g = ctx.saved_tensors
        return _bilinear_tangent(_conv_weight_grad, x, g, x_t, g_t, ctx.geometry)


def _unchanged(ctx, x):
    """x (a saved input outside ``backward_reads``), after checking that no in-place op modified it since the
    forward: its value then would not be the one the convolution used."""
    data = x.data if isinstance(x, Tensor) else x
    m = _inplace._modification(data) if _inplace._stamps else None
    if m is not None and m[0] > getattr(ctx, "epoch", m[0]):
        raise RuntimeError(
            f"the input of {ctx.fn.__name__} was modified by an in-place operation ({m[1]}) after the forward: "
            f"its derivatives of higher order would be wrong. Do the in-place operation after the backward, or "
            f"on a copy (t.clone())")
    return x


def _graph(*operands):
    """The operands as Tensors (a plain array becomes a constant), when one of them is a Tensor; else None."""
    if not any(isinstance(a, Tensor) for a in operands):
        return None
    return [a if isinstance(a, Tensor) else Tensor(a, requires_grad=False) for a in operands]


# The three bilinear maps, each on arrays (numpy, at once) or on Tensors (the Function: a graph).
def _conv(x, weight, geometry):
    tensors = _graph(x, weight)
    if tensors is None:
        return _conv_forward(x, weight, None, geometry)[0]
    return _Conv.apply(*tensors, None, geometry=geometry)


def _conv_input_grad(g, weight, geometry):
    tensors = _graph(g, weight)
    if tensors is None:
        return _conv_backward(g, weight, None, geometry, True, False, False)[0]
    return _ConvInputGrad.apply(*tensors, geometry=geometry)


def _conv_weight_grad(x, g, geometry):
    tensors = _graph(x, g)
    if tensors is None:
        return _conv_backward(g, None, _im2col(x, geometry), geometry, False, True, False)[1]
    return _ConvWeightGrad.apply(*tensors, geometry=geometry)


def _bilinear_tangent(f, a, b, a_t, b_t, geometry):
    """Forward mode of a bilinear map f: f(da, b) + f(a, db)."""
    if a_t is None and b_t is None:
        return np.zeros_like(f(a, b, geometry))
    if b_t is None:
        return f(a_t, b, geometry)
    if a_t is None:
        return f(a, b_t, geometry)
    return f(a_t, b, geometry) + f(a, b_t, geometry)


def _conv_run(ctx, x, weight, bias, geometry):
    """Conv2d's forward once the geometry is known: the output, and what the rules need in ``ctx``.

    The operands themselves are saved (so that a backward of higher order finds their Tensors); the columns
    the first-order backward and forward mode read are an attribute."""
    y, ctx.cols = _conv_forward(x, weight, bias, geometry)
    ctx.save_for_backward(x, weight)
    ctx.unbatched = geometry.unbatched
    ctx.has_bias = bias is not None
    ctx.geometry = geometry
    return y


def _conv_forward(x, weight, bias, geometry):
    """(output, columns) of a convolution of x (as given: batched or one image) with weight, plus bias."""
    padded_shape, pads, out, stride, dilation, groups, (kh, kw), unbatched = geometry
    if unbatched:
        x = x[None]
    n = x.shape[0]
    o, cg = weight.shape[:2]
    xp = _padded(x, pads)
    view = _offset_view(xp, (kh, kw), out, stride, dilation)
    k, p = cg * kh * kw, out[0] * out[1]
    # The columns: (N, groups, K, P), each image's block one (K, P) matrix, K = C/groups * kh * kw. With a
    # bias they get one more row of ones and the weight matrix a bias column: the matmul adds the bias, and
    # in backward the same product that gives the weight gradient gives the bias's.
    wm = _grouped(weight, groups)
    if bias is not None:
        wm = np.concatenate([wm, np.reshape(bias, (groups, o // groups, 1)).astype(wm.dtype)], axis=2)
    cols = np.empty((n, groups, wm.shape[2], p), x.dtype)
    if bias is not None:
        cols[:, :, k] = 1
    y = np.empty((n, groups, o // groups, p), np.result_type(x, weight))
    split = (groups, cg, kh, kw) + out  # the view's channel axis cut into groups, and K and P into theirs

    def task(lo, hi):
        m = hi - lo
        np.copyto(cols[lo:hi, :, :k].reshape((m,) + split), view[lo:hi].reshape((m,) + split))  # im2col
        np.matmul(wm, cols[lo:hi], out=y[lo:hi])  # (O/groups, K [+1]) @ (K [+1], P) per image and group

    _each_chunk(task, n)
    y = y.reshape(n, o, *out)
    return (y[0] if unbatched else y), cols


def _im2col(x, geometry):
    """The columns of x (as given: batched or one image), (N, groups, C/groups * kh * kw, OH * OW)."""
    padded_shape, pads, out, stride, dilation, groups, kernel, unbatched = geometry
    if unbatched:
        x = x[None]
    n, c = x.shape[:2]
    view = _offset_view(_padded(x, pads), kernel, out, stride, dilation)
    return view.reshape(n, groups, c // groups * kernel[0] * kernel[1], out[0] * out[1])


def _conv_backward(g, weight, cols, geometry, need_x, need_w, need_b):
    """(gx, gw, gb) of a convolution on arrays, from the output gradient g, the weight (for gx) and the
    columns (for gw and gb; a last row of ones if there is a bias)."""
    padded_shape, pads, out, stride, dilation, groups, (kh, kw), unbatched = geometry
    if unbatched:
        g = g[None]
    n, o = g.shape[:2]
    gm = g.reshape(n, groups, o // groups, out[0] * out[1])
    if need_x:
        wt = _grouped(weight, groups).transpose(0, 2, 1)
        wide = stride == (1, 1) and bool(np.isfinite(weight).all())
        grad = np.zeros(padded_shape, g.dtype)

    # With a bias, the columns' last row is ones: the product gives the bias gradient as a last column.
    need_product = need_w or need_b

    def task(lo, hi):
        if need_x:
            if wide:
                _col2im_wide(g[lo:hi], wt, weight.shape, grad[lo:hi], out, dilation, groups)
            else:
                dcols = np.matmul(wt, gm[lo:hi]).reshape(hi - lo, padded_shape[1], kh, kw, *out)
                _scatter(dcols, grad[lo:hi], out, stride, dilation)
        if need_product:
            # One (O/g, P) @ (P, K [+1]) product per image, summed over the chunk.
            return np.matmul(gm[lo:hi], cols[lo:hi].transpose(0, 1, 3, 2)).sum(axis=0)
        return None

    # The parameter gradients alone are a sum over the batch: splitting gains little, so one thread.
    parts = _each_chunk(task, n) if need_x else [task(0, n)]
    gx = gw = gb = None
    if need_product:
        total = np.zeros((groups, o // groups, cols.shape[2]), np.result_type(g, cols))
        for part in parts:
            total += part
        k = padded_shape[1] // groups * kh * kw
        if need_w:
            gw = total[:, :, :k].reshape(o, padded_shape[1] // groups, kh, kw)
        if need_b:
            gb = total[:, :, k].reshape(o)
    if need_x:
        gx = _unpadded(grad, pads)
        if unbatched:
            gx = gx[0]
    return gx, gw, gb


def _grouped(weight, groups):
    """The weight as one (O/groups, C/groups * kh * kw) matrix per group."""
    o, cg, kh, kw = weight.shape
    return weight.reshape(groups, o // groups, cg * kh * kw)


def _col2im_wide(g, wt, weight_shape, grad, out, dilation, groups):
    """Add the input gradient of a stride-1 convolution into the padded ``grad``, col2im on flattened images.

    Output pixel (y, x) reads input pixel (y + i*dh, x + j*dw): in a flattened padded image of width Wp, the
    flat index y*Wp + x shifted by i*dh*Wp + j*dw. Giving the output gradient rows that width (zeros past
    the real OW columns) makes each kernel offset's contribution one contiguous run of the flat image, so
    col2im is kh*kw long, fast adds instead of adds over short strided rows. The zero columns contribute
    exactly 0 as long as the weight is finite (the caller checks; inf * 0 would be nan).
    """
    n, o = g.shape[:2]
    _, _, kh, kw = weight_shape
    hp, wp = grad.shape[2:]
    (oh, ow), (dh, dw) = out, dilation
    wide = np.zeros((n, o, oh, wp), g.dtype)
    wide[..., :ow] = g
    dcols = np.matmul(wt, wide.reshape(n, groups, o // groups, oh * wp))
    dcols = dcols.reshape(n, grad.shape[1], kh, kw, oh * wp)
    flat = grad.reshape(n, grad.shape[1], hp * wp)  # a view: grad is a contiguous chunk of the batch's buffer
    run = (oh - 1) * wp + ow  # from the first real output pixel to the last
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            flat[:, :, start:start + run] += dcols[:, :, i, j, :run]


# ---------------------------------------------------------------------- pooling
def _pool_setup(ctx, x, kernel_size, stride, padding, what):
    """Checked window geometry; pads at most half the window, as PyTorch requires."""
    x, ctx.unbatched = as_batch(x, what)
    kernel = pair(kernel_size, f"{what}: kernel_size", 1)
    stride = kernel if stride is None else pair(stride, f"{what}: stride", 1)
    ph, pw = pair(padding, f"{what}: padding", 0)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"{what}: padding {padding!r} must be at most half of kernel_size {kernel_size!r}")
    n, c, h, w = x.shape
    out = (out_size(what, h, 2 * ph, kernel[0], 1, stride[0], "H"),
           out_size(what, w, 2 * pw, kernel[1], 1, stride[1], "W"))
    ctx.geometry = ((n, c, h + 2 * ph, w + 2 * pw), (ph, ph, pw, pw), kernel, out, stride)
    return x


def _unbatch(ctx, y):
    return y[0] if ctx.unbatched else y


class MaxPool2d(Function):
    """The maximum of each kernel_size window (stride defaults to kernel_size; padding counts as -inf).

    Each output's gradient goes to its window's first maximal element in row-major order, as in PyTorch,
    where padding never wins (not even over a real -inf) and a nan wins (the last nan, as PyTorch's CPU kernel
    scans); forward mode picks the tangent at the same element.

    Max is separable: the window maximum is the maximum over rows of the maxima along each row. So the scan
    runs in two passes, along W (kw - 1 numpy calls) then along H (kh - 1 calls); each pass keeps the index
    it chose, and the two indices together are the row-major first maximum.

    The backward scatters each window's gradient to that element; given a Tensor, it is a Function
    (``_MaxPoolScatter``) whose own backward gathers from the same elements (``_MaxPoolGather``), and so on:
    differentiable to any order, the choice of elements held constant (the second derivative in x is 0).
    """

    @staticmethod
    def forward(ctx, x, kernel_size=2, stride=None, padding=0):
        x = _pool_setup(ctx, x, kernel_size, stride, padding, "max_pool2d")
        padded_shape, (top, _, left, _), (kh, kw), (oh, ow), (sh, sw) = ctx.geometry

        n, c = x.shape[:2]
        best = np.empty((n, c, oh, ow), x.dtype)
        ctx.dtype = x.dtype
        ctx.col_arg = col_arg = np.empty((n, c, padded_shape[2], ow), _index_dtype(kw))
        ctx.row_arg = row_arg = np.empty((n, c, oh, ow), _index_dtype(kh))

        def task(lo, hi):
            xp = _padded(x[lo:hi], ctx.geometry[1], -np.inf)
            for nan_wins in (False, True):
                row_max, _ = _scan_max(xp, 3, kw, sw, ow, left, nan_wins, arg=col_arg[lo:hi])
                _scan_max(row_max, 2, kh, sh, oh, top, nan_wins, best=best[lo:hi], arg=row_arg[lo:hi])
                # A nan in a window shows in its maximum. The sum is nan if any is (or if +inf meets -inf:
                # then the second scan is merely unnecessary), one pass where isnan().any() takes two.
                if not np.isnan(best[lo:hi].sum()):
                    break

        _each_chunk(task, n)
        return _unbatch(ctx, best)

    @staticmethod
    def backward(ctx, g):
        if type(g) is np.ndarray:
            return _max_scatter(ctx, g)
        # Given a Tensor (a backward of higher order): the scatter to the chosen cells as a Function, whose own
        # backward is the gather from them. The choice is a constant, as the derivative is piecewise.
        return _MaxPoolScatter.apply(g, choice=_MaxChoice(ctx))

    @staticmethod
    def jvp(ctx, x_t):
        return _max_gather(ctx, x_t)


class _MaxChoice:
    """Which cell each max-pooling window chose (a pooling context's indices and geometry, kept apart from the
    context, which a backward releases)."""

    __slots__ = ("geometry", "col_arg", "row_arg", "unbatched", "dtype")

    def __init__(self, ctx):
        for name in self.__slots__:
            setattr(self, name, getattr(ctx, name))


class _MaxPoolScatter(Function):
    """Max pooling's backward as an op: each window's gradient added into the cell its maximum was taken from
    (``choice``, a _MaxChoice), zeros elsewhere. Linear; its transpose is the gather ``_MaxPoolGather``."""

    @staticmethod
    def forward(ctx, g, *, choice):
        ctx.choice = choice
        return _max_scatter(choice, g)

    @staticmethod
    def backward(ctx, gg):
        if type(gg) is np.ndarray:
            return _max_gather(ctx.choice, gg)
        return _MaxPoolGather.apply(gg, choice=ctx.choice)

    @staticmethod
    def jvp(ctx, g_t):
        if g_t is None:
            choice = ctx.choice
            return _unbatch(choice, _unpadded(np.zeros(choice.geometry[0], choice.dtype), choice.geometry[1]))
        return _max_scatter(ctx.choice, g_t)


class _MaxPoolGather(Function):
    """The cells max pooling chose (``choice``, a _MaxChoice), read from an input-shaped array: the value of
    max pooling at a fixed choice. Linear; its transpose is the scatter ``_MaxPoolScatter``."""

    @staticmethod
    def forward(ctx, x, *, choice):
        ctx.choice = choice
        return _max_gather(choice, x)

    @staticmethod
    def backward(ctx, g):
        if type(g) is np.ndarray:
            return _max_scatter(ctx.choice, g)
        return _MaxPoolScatter.apply(g, choice=ctx.choice)

    @staticmethod
    def jvp(ctx, x_t):
        return _max_gather(ctx.choice, x_t)


def _max_scatter(choice, g):
    """Max pooling's input gradient from the output gradient g (arrays), following ``choice``'s indices."""
    padded_shape, pads, (kh, kw), (oh, ow), (sh, sw) = choice.geometry
    g = g[None] if choice.unbatched else g
    finite = bool(np.isfinite(g.sum()))  # one pass; an overflowing sum only costs the exact, slower path
    grad = np.empty(padded_shape, g.dtype)
    col_arg, row_arg = choice.col_arg, choice.row_arg

    def task(lo, hi):
        g_rows = _unscan(g[lo:hi], row_arg[lo:hi], 2, kh, sh, padded_shape[2], finite)
        _unscan(g_rows, col_arg[lo:hi], 3, kw, sw, padded_shape[3], finite, out=grad[lo:hi])

    _each_chunk(task, g.shape[0])
    return _unbatch(choice, _unpadded(grad, pads))


def _max_gather(choice, x):
    """The cells ``choice`` chose, read from x (arrays; x None: zeros): max pooling's forward mode."""
    padded_shape, pads, (kh, kw), (oh, ow), (sh, sw) = choice.geometry
    if x is None:
        return _unbatch(choice, np.zeros(choice.row_arg.shape, choice.dtype))
    xt = _padded(x[None] if choice.unbatched else x, pads)
    rows = _gather(xt, choice.col_arg, 3, kw, sw, ow)
    return _unbatch(choice, _gather(rows, choice.row_arg, 2, kh, sh, oh))


def _along(a, axis, start, step, count):
    """a[..., start : start + step * (count - 1) + 1 : step] along ``axis`` (2 or 3): a strided view."""
    index = [slice(None)] * 4
    index[axis] = slice(start, start + step * (count - 1) + 1, step)
    return a[tuple(index)]


def _scan_max(a, axis, k, s, o, before, nan_wins=False, best=None, arg=None):
    """Running maximum along ``axis`` of ``o`` windows of ``k`` cells moved by ``s``: (max, index in window),
    written into ``best`` and ``arg`` when given.

    A window that starts in the padding (``before`` cells of -inf) starts its scan at its first real cell,
    so padding can never be chosen. The strict ``>`` keeps the first maximum; with ``nan_wins`` a nan wins
    instead, the last one, as PyTorch's kernel scans (slower: the caller asks only when there is a nan).
    """
    shape = list(a.shape)
    shape[axis] = o
    best = np.empty(shape, a.dtype) if best is None else best
    arg = np.empty(shape, _index_dtype(k)) if arg is None else arg
    first = np.maximum(0, before - s * np.arange(o))  # each window's first real cell
    if nan_wins or first.any() or k == 1:
        start = _scan_start(a, axis, s, o, first, best, arg)
    else:
        v0, v1 = _along(a, axis, 0, s, o), _along(a, axis, 1, s, o)
        np.greater(v1, v0, out=arg.view(bool))  # 0/1 bytes: the index of the larger of the first two
        np.maximum(v0, v1, out=best)
        start = 2
    for j in range(start, k):
        v = _along(a, axis, j, s, o)
        if nan_wins:
            hit = (v > best) | np.isnan(v)
            np.copyto(arg, arg.dtype.type(j), where=hit)
            np.copyto(best, v, where=hit)
        else:
            # arg only grows along the scan, so "set to j where v wins" is a maximum with (v wins) * j.
            np.maximum(arg, (v > best) * arg.dtype.type(j), out=arg)
            np.maximum(best, v, out=best)  # propagates nan, as the value must
    return best, arg


def _index_dtype(k):
    return np.int8 if k <= 127 else np.int16


def _scan_start(a, axis, s, o, first, best, arg):
    """Start each window's scan at its first real cell; returns the next offset to scan (1)."""
    best[...] = np.take(a, s * np.arange(o) + first, axis=axis)
    arg[...] = first.reshape([o if i == axis else 1 for i in range(4)])
    return 1


def _unscan(g, arg, axis, k, s, size, finite, out=None):
    """The transpose of ``_scan_max``: each window's gradient goes to the cell its scan chose, along ``axis``
    of length ``size`` (into ``out`` if given). Side-by-side windows write each cell once; overlapping ones
    accumulate."""
    o = g.shape[axis]
    if out is None:
        shape = list(g.shape)
        shape[axis] = size
        out = np.empty(shape, g.dtype)
    tiled = s == k  # each cell is written once, or never (past the last window: set to 0 here)
    if not tiled:
        out[...] = 0
    elif k * o < size:
        index = [slice(None)] * 4
        index[axis] = slice(k * o, None)
        out[tuple(index)] = 0
    if k == 1:
        _along(out, axis, 0, s, o)[...] = g
        return out
    if tiled and k == 2 and finite:
        # g * mask is many times faster than np.where, and exact for finite g; then the other cell gets
        # g - g * mask, which is exactly 0 or g.
        second = np.multiply(g, arg.view(bool), out=_along(out, axis, 1, s, o))
        np.subtract(g, second, out=_along(out, axis, 0, s, o))
        return out
    for j in range(k):
        dest = _along(out, axis, j, s, o)
        hit = arg == j
        part = g * hit if finite else np.where(hit, g, g.dtype.type(0))  # inf * 0 would be nan
        if tiled:
            dest[...] = part
        else:
            dest += part
    return out


def _gather(a, arg, axis, k, s, o):
    """The cell each window's scan chose (``arg``), read from ``a`` along ``axis``: forward mode's selection."""
    if k == 1:
        return _along(a, axis, 0, s, o)
    out = None
    for j in range(k):
        part = np.where(arg == j, _along(a, axis, j, s, o), a.dtype.type(0))
        out = part if out is None else out + part
    return out


class AvgPool2d(Function):
    """The mean of each kernel_size window (stride defaults to kernel_size; padding counts as zeros).

    ``count_include_pad=True`` (PyTorch's default) divides by the window's full size; False divides by the
    number of real (unpadded) pixels in it. Linear, so its backward and tangent are pooling's transpose and
    itself; given a Tensor, the backward is that transpose as a Function (``_AvgPoolSpread``), whose own
    backward is pooling again: differentiable to any order.
    """

    @staticmethod
    def forward(ctx, x, kernel_size=2, stride=None, padding=0, count_include_pad=True):
        x = _pool_setup(ctx, x, kernel_size, stride, padding, "avg_pool2d")
        padded_shape, pads, (kh, kw), out, stride = ctx.geometry
        if count_include_pad or not any(pads):
            ctx.divisor = x.dtype.type(kh * kw)
        else:
            real_h = _real_cells(x.shape[2], pads[0], kh, stride[0], out[0])
            real_w = _real_cells(x.shape[3], pads[2], kw, stride[1], out[1])
            ctx.divisor = np.outer(real_h, real_w).astype(x.dtype)
        return _unbatch(ctx, AvgPool2d._pool(ctx, x))

    @staticmethod
    def _pool(ctx, x):
        """Average pooling of a 4-D x with ``ctx``'s windows (a pooling context or an _AvgWindows)."""
        padded_shape, pads, (kh, kw), out, stride = ctx.geometry
        view = _offset_view(_padded(x, pads), (kh, kw), out, stride, (1, 1))
        total = view[:, :, 0, 0].copy()
        for k in range(1, kh * kw):
            total += view[:, :, k // kw, k % kw]
        total /= ctx.divisor
        return total

    @staticmethod
    def backward(ctx, g):
        if type(g) is np.ndarray:
            return _avg_spread(ctx, g)
        # Given a Tensor (a backward of higher order): the transpose as a Function, whose own backward is
        # average pooling again.
        return _AvgPoolSpread.apply(g, windows=_AvgWindows(ctx))

    @staticmethod
    def jvp(ctx, x_t):
        return _avg_pool(ctx, x_t)


class _AvgWindows:
    """An average pooling's windows and divisor (kept apart from its context, which a backward releases)."""

    __slots__ = ("geometry", "divisor", "unbatched")

    def __init__(self, ctx):
        for name in self.__slots__:
            setattr(self, name, getattr(ctx, name))


class _AvgPoolSpread(Function):
    """Average pooling's backward as an op: each window's gradient, divided by its divisor, spread over its
    cells (``windows``, an _AvgWindows). Linear; its transpose is the pooling ``_AvgPoolWindows``."""

    @staticmethod
    def forward(ctx, g, *, windows):
        ctx.windows = windows
        return _avg_spread(windows, g)

    @staticmethod
    def backward(ctx, gg):
        if type(gg) is np.ndarray:
            return _avg_pool(ctx.windows, gg)
        return _AvgPoolWindows.apply(gg, windows=ctx.windows)

    @staticmethod
    def jvp(ctx, g_t):
        if g_t is None:
            w = ctx.windows
            return _unbatch(w, _unpadded(np.zeros(w.geometry[0], w.divisor.dtype), w.geometry[1]))
        return _avg_spread(ctx.windows, g_t)


class _AvgPoolWindows(Function):
    """Average pooling with its windows already worked out (``windows``, an _AvgWindows): inside the rules of
    higher order. Linear; its transpose is ``_AvgPoolSpread``."""

    @staticmethod
    def forward(ctx, x, *, windows):
        ctx.windows = windows
        return _avg_pool(windows, x)

    @staticmethod
    def backward(ctx, g):
        if type(g) is np.ndarray:
            return _avg_spread(ctx.windows, g)
        return _AvgPoolSpread.apply(g, windows=ctx.windows)

    @staticmethod
    def jvp(ctx, x_t):
        return _avg_pool(ctx.windows, x_t)


def _avg_pool(windows, x):
    """Average pooling of x (arrays, batched or one image as the windows say; None: zeros)."""
    if x is None:
        n, c = windows.geometry[0][:2]
        return _unbatch(windows, np.zeros((n, c) + windows.geometry[3], windows.divisor.dtype))
    return _unbatch(windows, AvgPool2d._pool(windows, x[None] if windows.unbatched else x))


def _avg_spread(windows, g):
    """Average pooling's input gradient from the output gradient g (arrays)."""
    padded_shape, pads, (kh, kw), out, stride = windows.geometry
    g = (g[None] if windows.unbatched else g) / windows.divisor
    slabs = np.broadcast_to(g[:, :, None, None], g.shape[:2] + (kh, kw) + g.shape[2:])
    grad = _scatter(slabs, np.zeros(padded_shape, g.dtype), out, stride, (1, 1))
    return _unbatch(windows, _unpadded(grad, pads))


def _real_cells(size, before, k, s, o):
    """How many of each window's ``k`` cells (window y starts at y * s) are real, not padding, along one axis."""
    start = s * np.arange(o) - before
    return np.minimum(start + k, size) - np.maximum(start, 0)


# ---------------------------------------------------------------------- functional forms
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` (N, C, H, W) or (C, H, W) with ``weight`` (O, C / groups, kh, kw), plus
    ``bias`` (O,) if given, as ``torch.nn.functional.conv2d``. ``stride``, ``padding`` (or "valid"/"same")
    and ``dilation`` are ints or (h, w) pairs.

    >>> conv2d(x, w, stride=2, padding=1).shape          # x (8, 3, 32, 32), w (16, 3, 3, 3)
    (8, 16, 16, 16)
    """
    input, weight = _tensor(input, "conv2d: input"), _tensor(weight, "conv2d: weight")
    if bias is not None:
        bias = _tensor(bias, "conv2d: bias")
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Max over windows of ``kernel_size`` moved by ``stride`` (default: ``kernel_size``), as
    ``torch.nn.functional.max_pool2d``; ``padding`` (at most half the window) counts as -inf.

    >>> max_pool2d(x, 2).shape                             # x (8, 16, 28, 28)
    (8, 16, 14, 14)
    """
    return MaxPool2d.apply(_tensor(input, "max_pool2d: input"), kernel_size=kernel_size, stride=stride,
                           padding=padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over windows, as ``torch.nn.functional.avg_pool2d`` (padding counts as zeros; see ``AvgPool2d``
    for ``count_include_pad``).

    >>> avg_pool2d(x, 3, stride=1, padding=1).shape         # x (8, 16, 28, 28)
    (8, 16, 28, 28)
    """
    return AvgPool2d.apply(_tensor(input, "avg_pool2d: input"), kernel_size=kernel_size, stride=stride,
                           padding=padding, count_include_pad=count_include_pad)
