"""Ops that move, copy or select elements without arithmetic: reshape, transpose, expand, squeeze,
unsqueeze, concatenate, stack, pad and indexing. Each backward puts the gradient back where the element
came from (for indexing, repeated indices accumulate, as ``np.add.at``). These ops are linear, so forward
mode applies the op itself to the tangent (zeros where the output holds padding or a constant's elements).
"""

import numpy as np

from ..function import Function
from ..shapes import normalize_axes, normalize_axis, unbroadcast
from ._tangents import fit

__all__ = ["Reshape", "Transpose", "Expand", "Squeeze", "Unsqueeze", "Concatenate", "Stack", "Pad",
           "GetItem"]


class Reshape(Function):
    """The same elements in a new shape (one entry may be -1: inferred)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            ctx.out = out = x.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape!r}"
            ) from None
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        return _reshaped(t, ctx.out)


def _zero(out):
    """The tangent of ``out`` when its input had none."""
    return np.zeros(out.shape, out.dtype)


def _reshaped(t, out):
    """The tangent t in the shape of ``out`` (reshape, squeeze, unsqueeze: the same elements, regrouped)."""
    return _zero(out) if t is None else fit(t.reshape(out.shape), out.shape, out.dtype)


class Transpose(Function):
    """Axes permuted: ``axes`` is a permutation of range(ndim) (None reverses them, as numpy's ``.T``)."""

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            axes = tuple(range(x.ndim - 1, -1, -1))
        else:
            norm = tuple(normalize_axis(a, x.ndim, x.shape, "transpose") for a in axes)
            if sorted(norm) != list(range(x.ndim)):
                raise ValueError(f"transpose: {tuple(axes)!r} is not a permutation of the axes of a tensor "
                                 f"of shape {x.shape}")
            axes = norm
        ctx.axes = axes
        ctx.out = out = x.transpose(axes)
        return out

    @staticmethod
    def backward(ctx, g):
        return g.transpose(np.argsort(ctx.axes))

    @staticmethod
    def jvp(ctx, t):
        out = ctx.out
        return _zero(out) if t is None else fit(t.transpose(ctx.axes), out.shape, out.dtype)


class Expand(Function):
    """A broadcast view with a larger ``shape`` (numpy's ``broadcast_to``; -1 keeps a size, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, shape):
        shape = tuple(shape)
        lead = len(shape) - x.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand a tensor of shape {x.shape} to fewer dimensions {shape}")
        shape = tuple(x.shape[i - lead] if (n == -1 and i >= lead) else n for i, n in enumerate(shape))
        try:
            out = np.broadcast_to(x, shape)
        except (ValueError, TypeError):
            raise ValueError(f"expand: cannot broadcast a tensor of shape {x.shape} to {shape}") from None
        ctx.in_shape = x.shape
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        out = ctx.out
        if t is None:
            return _zero(out)
        # A read-only broadcast view, as the output's own data: every copy of an element moves with it.
        return np.broadcast_to(fit(t, ctx.in_shape, out.dtype), out.shape)


class Squeeze(Function):
    """Size-1 axes removed: all of them (``axis=None``), or the given ones (which must have size 1)."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.in_shape = x.shape
        if axis is None:
            shape = tuple(n for n in x.shape if n != 1)
        else:
            axes = normalize_axes(axis, x.ndim, x.shape, "squeeze")
            for a in axes:
                if x.shape[a] != 1:
                    raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1, in a tensor of shape "
                                     f"{x.shape}")
            shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
        ctx.out = out = x.reshape(shape)
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        return _reshaped(t, ctx.out)


class Unsqueeze(Function):
    """A size-1 axis inserted at position ``axis`` (from -ndim-1 to ndim)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.in_shape = x.shape
        a = normalize_axis(axis, x.ndim + 1, x.shape, "unsqueeze")
        ctx.out = out = x.reshape(x.shape[:a] + (1,) + x.shape[a:])
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        return _reshaped(t, ctx.out)


def _check_same_shapes(xs, axis, what, skip_axis):
    shapes = [np.shape(x) for x in xs]
    if not xs:
        raise ValueError(f"{what}: needs at least one tensor")
    ndim = len(shapes[0])
    for s in shapes:
        if len(s) != ndim or any(n != m for i, (n, m) in enumerate(zip(s, shapes[0])) if i != skip_axis):
            raise ValueError(f"{what}: shapes {shapes} do not match" +
                             (f" outside axis {skip_axis}" if skip_axis is not None else ""))
    return shapes


class Concatenate(Function):
    """Tensors joined along an existing ``axis``; each input gets back its slice of the gradient."""

    @staticmethod
    def forward(ctx, *xs, axis=0):
        xs = [np.asarray(x) for x in xs]
        if not xs:
            raise ValueError("concatenate: needs at least one tensor")
        if xs[0].ndim == 0:
            raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack)")
        a = normalize_axis(axis, xs[0].ndim, xs[0].shape, "concatenate")
        shapes = _check_same_shapes(xs, a, "concatenate", a)
        ctx.axis = a
        ctx.splits = np.cumsum([s[a] for s in shapes])[:-1]
        ctx.out = out = np.concatenate(xs, axis=a)
        return out

    @staticmethod
    def backward(ctx, g):
        parts = np.split(g, ctx.splits, axis=ctx.axis)
        return tuple(p if need else None for p, need in zip(parts, ctx.needs_input_grad))

    @staticmethod
    def jvp(ctx, *ts):
        out = ctx.out
        if all(t is not None for t in ts):
            return fit(np.concatenate(ts, axis=ctx.axis), out.shape, out.dtype)
        r = np.empty(out.shape, out.dtype)
        for part, t in zip(np.split(r, ctx.splits, axis=ctx.axis), ts):  # views into r
            part[...] = 0 if t is None else t
        return r


class Stack(Function):
    """Tensors of equal shape joined along a new ``axis``."""

    @staticmethod
    def forward(ctx, *xs, axis=0):
        xs = [np.asarray(x) for x in xs]
        if not xs:
            raise ValueError("stack: needs at least one tensor")
        a = normalize_axis(axis, xs[0].ndim + 1, xs[0].shape, "stack")
        _check_same_shapes(xs, a, "stack", None)
        ctx.axis = a
        ctx.out = out = np.stack(xs, axis=a)
        return out

    @staticmethod
    def backward(ctx, g):
        gm = np.moveaxis(g, ctx.axis, 0)
        return tuple(gm[i] if need else None for i, need in enumerate(ctx.needs_input_grad))

    @staticmethod
    def jvp(ctx, *ts):
        out = ctx.out
        if all(t is not None for t in ts):
            return fit(np.stack(ts, axis=ctx.axis), out.shape, out.dtype)
        r = np.empty(out.shape, out.dtype)
        rm = np.moveaxis(r, ctx.axis, 0)  # a view: rm[i] is input i's slot
        for i, t in enumerate(ts):
            rm[i] = 0 if t is None else t
        return r


def _pad_widths(pad_width, shape):
    """numpy's pad_width forms (n, (before, after), or one pair per axis) as a list of (before, after)."""
    try:
        w = np.asarray(pad_width)
        if not shape and w.size == 0:
            return []  # a 0-d tensor padded by (): nothing to pad
        if w.dtype.kind not in "iu":
            raise TypeError
        w = np.broadcast_to(w, (len(shape), 2))
    except (TypeError, ValueError):
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {shape} (give an int, "
                         f"a (before, after) pair, or one pair per axis)") from None
    if (w < 0).any():
        raise ValueError(f"pad: negative pad_width {pad_width!r}")
    return [(int(b), int(a)) for b, a in w]


class Pad(Function):
    """Constant padding, with numpy's ``pad_width`` forms; the gradient is the unpadded middle."""

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        widths = _pad_widths(pad_width, x.shape)
        ctx.window = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        # a 0-d tensor has no axis to pad: it is returned as it is, as np.pad of a 0-d array does
        ctx.out = out = np.pad(x, widths, mode="constant", constant_values=value) if x.ndim else x.copy()
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.window]

    @staticmethod
    def jvp(ctx, t):
        r = _zero(ctx.out)  # the padding is a constant: tangent 0
        if t is not None:
            r[ctx.window] = t
        return r


_BASIC = (int, slice, type(None), type(Ellipsis), np.integer)


def _is_basic(index):
    """True when ``index`` only uses ints, slices, None and Ellipsis: each element is selected once."""
    if type(index) is tuple:
        for p in index:
            if not isinstance(p, _BASIC) or isinstance(p, bool):
                return False
        return True
    return isinstance(index, _BASIC) and not isinstance(index, bool)


class GetItem(Function):
    """``x[index]`` with numpy's indexing: ints, slices, None, Ellipsis, bool masks, integer arrays.
    Backward scatters the gradient back; repeated indices accumulate (``np.add.at``)."""

    @staticmethod
    def forward(ctx, x, index):
        try:
            out = x[index]
        except IndexError as e:
            raise IndexError(f"{e} (indexing a tensor of shape {x.shape} with {index!r})") from None
        ctx.in_shape, ctx.index, ctx.basic, ctx.out = x.shape, index, _is_basic(index), out
        return out

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.in_shape, g.dtype)
        if ctx.basic:
            grad[ctx.index] = g
        else:
            np.add.at(grad, ctx.index, g)
        return grad

    @staticmethod
    def jvp(ctx, t):
        # The transpose of backward's scatter is a gather: a repeated index copies its element's tangent.
        out = ctx.out
        return _zero(out) if t is None else fit(t[ctx.index], out.shape, out.dtype)
