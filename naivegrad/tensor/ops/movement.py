"""Ops that move, copy or select elements without arithmetic: reshape, transpose, expand, squeeze,
unsqueeze, concatenate, stack, pad, indexing, gather, masked_fill, tile (repeat), roll. Each backward puts
the gradient back where the element came from (for indexing and gather, repeated indices accumulate, as
``np.add.at`` would, but through ``index_add_rows``: sorted rows, not one Python-level add per index). These
ops are linear, so forward mode applies the op itself to the tangent (zeros where the output holds padding
or a constant).

The functions after the classes (``gather``, ``index_select``, ``split``, ``flip``...) check the arguments
of the ``Tensor`` methods of the same names, in PyTorch's spelling, and apply the ops above.
"""

import math
import numbers

import numpy as np

from ..function import Function
from ..shapes import normalize_axes, normalize_axis, scalar_dims, unbroadcast
from ._tangents import fit
from ..tensor import Tensor

__all__ = ["Reshape", "Transpose", "Expand", "Squeeze", "Unsqueeze", "Concatenate", "Stack", "Pad",
           "GetItem", "Gather", "MaskedFill", "Tile", "Roll"]


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
        return np.transpose(g, tuple(np.argsort(ctx.axes).tolist()))

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
        pre = (slice(None),) * ctx.axis
        bounds = [0, *ctx.splits.tolist(), g.shape[ctx.axis]]
        return tuple(g[pre + (slice(lo, hi),)] if need else None
                     for lo, hi, need in zip(bounds, bounds[1:], ctx.needs_input_grad))

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
    Backward scatters the gradient back; repeated indices accumulate (``index_add_rows``)."""

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
        return scatter(g, ctx.index, ctx.in_shape, unique=ctx.basic)

    @staticmethod
    def jvp(ctx, t):
        # The transpose of backward's scatter is a gather: a repeated index copies its element's tangent.
        out = ctx.out
        return _zero(out) if t is None else fit(t[ctx.index], out.shape, out.dtype)


# ---------------------------------------------------------------------------------------------- scatter-add
def scatter(values, index, shape, unique=False):
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeated indices accumulate): the gradient of
    ``x[index]``, and what the rules of other selections (nll_loss, gather, max(dim)) write their gradient
    with. ``unique``: no element is indexed twice, and ``values`` broadcast to ``x[index]``'s shape (a plain
    assignment). Arrays take numpy's fast path; a Tensor (a create_graph backward) the op ``Scatter``, whose
    own backward is the gather ``g[index]``, so the gradient differentiates again."""
    if type(values) is not Tensor:  # an array, or a numpy scalar (arithmetic on 0-d arrays gives them)
        return _scatter(np.asarray(values), index, shape, unique)
    return Scatter.apply(values, index=index, shape=shape, unique=unique)


def _scatter(values, index, shape, unique):
    if unique:
        grad = np.zeros(shape, values.dtype)
        grad[index] = values
        return grad
    return _scatter_add(values, index, shape)


class Scatter(Function):
    """``scatter(values, index, shape)`` as an op (see ``scatter``): the transpose of indexing."""

    @staticmethod
    def forward(ctx, values, index, shape, unique=False):
        ctx.index, ctx.values_shape, ctx.shape, ctx.unique = index, values.shape, shape, unique
        return _scatter(values, index, shape, unique)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g[ctx.index], ctx.values_shape)

    @staticmethod
    def jvp(ctx, t):
        if t is None:
            return np.zeros(ctx.shape, ctx.dtype if hasattr(ctx, "dtype") else np.float64)
        return _scatter(np.broadcast_to(t, ctx.values_shape), ctx.index, ctx.shape, ctx.unique)


_ROUNDS = 8  # repeated ids: up to this many copies of one id are added in rounds, more by np.add.reduceat
_ONE_HOT = 1 << 16  # size * ids at most this (and some id of more than _ROUNDS copies): one one-hot matmul
_HEAVY = 128  # ids with more copies than this: each summed by np.add.reduce (cheaper per row than reduceat)


def index_add_rows(ids, values, size):
    """``out = zeros((size,) + values.shape[1:]); np.add.at(out, ids, values)``, without ``np.add.at``'s cost
    per index: out[ids[k]] += values[k], repeated ids accumulating. ``ids`` are ints (any shape, flattened;
    negative ones count from the end), ``values`` has one row per id.

    A 1-D table is one ``np.bincount`` (summed in float64, then rounded to the dtype). Otherwise every row is
    assigned once (``out[ids] = values``: right for every id that occurs once), and the repeated ids' rows,
    sorted stably, are added in their original order (``_add_repeated``): in rounds (the r-th copy of every
    repeated id at once) when no id repeats more than 8 times, exactly as ``np.add.at`` adds (same order, same
    rounding); else by ``np.add.reduceat`` over the sorted rows, and for ids of more than 128 copies by one
    ``np.add.reduce`` each (float rounding: the last bits may differ from np.add.at's). A small table (size *
    ids <= 2**16: a vocabulary of characters) with an id of more than 8 copies is instead one matmul of the
    (size, ids) one-hot matrix by the rows (BLAS's order of summation), unless the result is not finite.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"index_add_rows: ids must be integers, got dtype {ids.dtype}")
    ids = ids.reshape(-1)
    values = np.asarray(values)
    if values.ndim == 0 or values.shape[0] != ids.size:
        raise ValueError(f"index_add_rows: {ids.size} ids but values of shape {values.shape} (one row per id)")
    rest = values.shape[1:]
    k = ids.size
    if k:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < -size or hi >= size:
            bad = lo if lo < -size else hi
            raise IndexError(f"index {bad} is out of range for size {size}")
        if lo < 0:
            ids = np.where(ids < 0, ids + size, ids)
        if ids.dtype != np.intp:
            ids = ids.astype(np.intp)
    if not rest:  # a 1-D table
        if not k:
            return np.zeros(size, values.dtype)
        return np.bincount(ids, weights=values, minlength=size).astype(values.dtype, copy=False)
    out = np.zeros((size,) + rest, values.dtype)
    if not k:
        return out
    out[ids] = values  # each id gets one of its rows (the last, for a repeated id: redone below)
    count = np.bincount(ids, minlength=size)
    copies = count[ids]
    most = int(copies.max())
    if most <= 1:
        return out
    if most > _ROUNDS and size * k <= _ONE_HOT:  # a small table: one matmul by the (size, k) one-hot matrix
        with np.errstate(invalid="ignore", over="ignore"):
            sums = np.equal(np.arange(size)[:, None], ids).astype(values.dtype) @ values.reshape(k, -1)
        if np.isfinite(sums).all():  # else an inf or nan, which 0 * inf spreads to every row: added as below
            return sums.reshape(out.shape)
    _add_repeated(out, ids, values, copies, count)
    return out


def _add_repeated(out, ids, values, copies, count):
    """out[i] = the sum of the rows of id i, for every id with more than one copy (``copies``: per row, the
    number of rows of its id; ``count``: per id). Ids of more than ``_HEAVY`` copies (the heavy hitters of a
    Zipf-like distribution: at most ids / _HEAVY of them) are summed one by one, by ``np.add.reduce`` over their
    rows (found by a comparison, not sorted). The other repeated rows are sorted stably by id: when no id has
    more than ``_ROUNDS`` copies they are added in rounds (the r-th copy of every id at once: np.add.at's order
    and rounding), else by ``np.add.reduceat`` (a round is a Python-level step: several times reduceat's cost
    per row). Reduce and reduceat may round differently from np.add.at in the last bits (reduce sums in its
    own order)."""
    most = int(copies.max())
    if most > _HEAVY:
        for h in np.flatnonzero(count > _HEAVY).tolist():
            np.add.reduce(values[np.flatnonzero(ids == h)], axis=0, out=out[h])
        rows = np.flatnonzero((copies > 1) & (copies <= _HEAVY))
    else:
        rows = np.flatnonzero(copies > 1)
    if not rows.size:
        return
    order = np.argsort(ids[rows], kind="stable")  # stable: each id's rows keep their order (np.add.at's)
    rows = rows[order]
    c = copies[rows]
    if int(c.max()) <= _ROUNDS:
        _add_in_rounds(out, ids, values, rows, c)
    else:
        _add_reduceat(out, ids, values, rows)


def _starts(s):
    """Where each run of equal values of the sorted ``s`` starts."""
    first = np.empty(s.size, bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    return np.flatnonzero(first)


def _add_in_rounds(out, ids, values, rows, c):
    """The rows (sorted by id, all of each id, ``c`` copies each) added in rounds: the r-th copy of every id at
    once (distinct ids, so one fancy add is exact)."""
    s = ids[rows]
    starts = _starts(s)
    counts = c[starts]
    rank = np.arange(s.size) - np.repeat(starts, counts)
    out[s[starts]] = values[rows[starts]]
    for r in range(1, int(counts.max())):
        sel = rank == r
        out[s[sel]] += values[rows[sel]]


def _add_reduceat(out, ids, values, rows):
    """The rows (sorted by id, all of each id) summed per id by ``np.add.reduceat``."""
    s = ids[rows]
    starts = _starts(s)
    out[s[starts]] = np.add.reduceat(values[rows], starts, axis=0)


_FULL = slice(None)


def _rows_form(index, shape):
    """For an index whose integer arrays are adjacent and whose other parts are full slices (``t[ids]``,
    ``t[:, ids]``, ``t[rows, cols]``, ``t[..., ids]``): (first axis, number of indexed axes, flat ids into those
    axes, of the broadcast shape of the arrays); None for anything else (bool masks, ints, partial slices)."""
    parts = index if type(index) is tuple else (index,)
    nd = len(shape)
    expanded = []
    ellipsis = False
    for p in parts:
        if p is Ellipsis:
            if ellipsis:
                return None
            ellipsis = True
            fill = nd - (len(parts) - 1)
            if fill < 0:
                return None
            expanded.extend([_FULL] * fill)
        elif type(p) is slice:
            if p != _FULL:
                return None
            expanded.append(_FULL)
        elif type(p) is np.ndarray and p.dtype.kind in "iu":
            expanded.append(p)
        else:
            return None
    if len(expanded) > nd:
        return None
    where = [i for i, p in enumerate(expanded) if p is not _FULL]
    if not where or where[-1] - where[0] + 1 != len(where):
        return None
    a, m = where[0], len(where)
    arrays = [expanded[i] for i in where]
    normalized = []
    for arr, n in zip(arrays, shape[a:a + m]):
        arr = arr.astype(np.intp, copy=False)
        normalized.append(np.where(arr < 0, arr + n, arr) if arr.size and arr.min() < 0 else arr)
    if m == 1:
        ids = normalized[0]
    else:
        ids = np.ravel_multi_index(tuple(np.broadcast_arrays(*normalized)), shape[a:a + m])
    return a, m, ids


def _scatter_add(g, index, shape):
    """The gradient of ``x[index]`` (an advanced index) for the output gradient g: zeros of ``shape`` with g
    added where each element came from."""
    rows = _rows_form(index, shape)
    if rows is None:
        grad = np.zeros(shape, g.dtype)
        if _selects_once(index):
            grad[index] = g  # bool masks, slices, ints: every element at most once
        else:
            np.add.at(grad, index, g)
        return grad
    a, m, ids = rows
    nb = ids.ndim
    indexed, pre, post = shape[a:a + m], shape[:a], shape[a + m:]
    if a:  # g: pre + ids.shape + post; the rows of the table come first
        g = np.moveaxis(g, tuple(range(a, a + nb)), tuple(range(nb)))
    grad = index_add_rows(ids, g.reshape((ids.size,) + pre + post), math.prod(indexed))
    grad.shape = indexed + pre + post  # in place: a reshaped view would make the engine copy a leaf's grad
    if a:
        grad = np.moveaxis(grad, tuple(range(m)), tuple(range(a, a + m)))
    return grad


def _selects_once(index):
    """True when no part of ``index`` is an integer array (a repeated integer would select an element twice)."""
    parts = index if type(index) is tuple else (index,)
    for p in parts:
        if isinstance(p, np.ndarray) and p.dtype.kind in "iu":
            return False
    return True


# ---------------------------------------------------------------------------------------------- gather
class Gather(Function):
    """PyTorch's ``gather``: along axis ``dim``, out[..., j, ...] = x[..., index[..., j, ...], ...], where
    ``index`` (integers in [0, size of dim)) has x's number of axes and is at most x's size along the others.
    ``pos`` (keyword) is the flat position in x of each output element, computed by ``gather()``."""

    @staticmethod
    def forward(ctx, x, pos):
        ctx.pos, ctx.in_shape, ctx.size = pos, x.shape, x.size
        flat = x.reshape(-1)
        ctx.out = out = flat[pos]
        return out

    @staticmethod
    def backward(ctx, g):
        return scatter(g, ctx.pos, (ctx.size,)).reshape(ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        out = ctx.out
        return _zero(out) if t is None else fit(np.reshape(t, -1)[ctx.pos], out.shape, out.dtype)


# ---------------------------------------------------------------------------------------------- masked_fill
class MaskedFill(Function):
    """``value`` where the bool ``mask`` (a keyword option, broadcast with x) is true, else x: PyTorch's
    ``masked_fill``. The filled elements get exactly 0 gradient (even from inf or nan); ``value`` (a number, or
    a 0-d Tensor that may require grad) gets the sum of the gradient over the filled elements."""

    @staticmethod
    def forward(ctx, x, value, mask):
        try:
            shape = np.broadcast_shapes(x.shape, mask.shape)
        except ValueError:
            raise ValueError(f"masked_fill: a mask of shape {mask.shape} does not broadcast with a tensor of "
                             f"shape {x.shape}") from None
        v = np.asarray(value).astype(x.dtype)
        ctx.mask, ctx.in_shape, ctx.value_shape = mask, x.shape, np.shape(value)
        ctx.out = out = np.where(mask, v, x)
        if out.shape != shape:  # pragma: no cover - np.where broadcasts to exactly this
            out = np.broadcast_to(out, shape).copy()
        return out

    @staticmethod
    def backward(ctx, g):
        nx, nv = ctx.needs_input_grad
        gx = unbroadcast(np.where(ctx.mask, 0, g), ctx.in_shape) if nx else None
        gv = np.where(ctx.mask, g, 0).sum().reshape(ctx.value_shape) if nv else None
        return gx, gv

    @staticmethod
    def jvp(ctx, tx, tv):
        out = ctx.out
        if tx is None and tv is None:
            return _zero(out)
        return fit(np.where(ctx.mask, 0 if tv is None else tv, 0 if tx is None else tx), out.shape, out.dtype)


# ---------------------------------------------------------------------------------------------- tile, roll
class Tile(Function):
    """x repeated ``reps[i]`` times along axis i (numpy's ``tile`` with len(reps) >= x.ndim: leading axes of
    size 1 are added first); PyTorch's ``repeat`` and ``tile``. The gradient sums the copies."""

    @staticmethod
    def forward(ctx, x, reps):
        reps = tuple(reps)
        shape = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.in_shape, ctx.shape, ctx.reps = x.shape, shape, reps
        ctx.out = out = np.tile(x.reshape(shape), reps)
        return out

    @staticmethod
    def backward(ctx, g):
        reps, shape = ctx.reps, ctx.shape
        paired = tuple(v for r, n in zip(reps, shape) for v in (r, n))  # (copy, element) per axis
        summed = g.reshape(paired).sum(axis=tuple(range(0, 2 * len(reps), 2))) if reps else g
        return summed.reshape(ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):
        out = ctx.out
        return _zero(out) if t is None else fit(np.tile(np.reshape(t, ctx.shape), ctx.reps), out.shape, out.dtype)


class Roll(Function):
    """Elements shifted cyclically by ``shifts`` along ``dims`` (numpy's ``roll``; PyTorch's): with
    ``dims=None`` the flattened tensor is rolled by one shift and given its shape back."""

    @staticmethod
    def forward(ctx, x, shifts, dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        ctx.out = out = np.roll(x, shifts, axis=dims)
        return out

    @staticmethod
    def backward(ctx, g):
        back = -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts)
        return np.roll(g, back, axis=ctx.dims)

    @staticmethod
    def jvp(ctx, t):
        out = ctx.out
        return _zero(out) if t is None else fit(np.roll(t, ctx.shifts, axis=ctx.dims), out.shape, out.dtype)


# ---------------------------------------------------------------------------------------------- arguments
# What the Tensor methods of the same names run: PyTorch's arguments checked, then the ops above.
def int_index(index, what):
    """An index argument (an int, a list, an integer numpy array, or a Tensor holding integers) as an intp
    array. Float data is refused, as PyTorch does, even when it holds whole numbers."""
    from ..tensor import Tensor

    arr = index.data if isinstance(index, Tensor) else index
    if isinstance(arr, (list, tuple)):
        arr = np.asarray(arr)
        if arr.size == 0 and arr.dtype.kind == "f":  # [] is float64 to numpy; an empty index to us
            arr = arr.astype(np.intp)
    elif isinstance(arr, numbers.Integral) and not isinstance(arr, (bool, np.bool_)):
        arr = np.asarray(arr)
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what}: index must be an int, a list of ints, an integer array or an integer "
                        f"Tensor, got {type(index).__name__}")
    if arr.dtype.kind not in "iu":
        kind = "a tensor" if isinstance(index, Tensor) else "an array"
        hint = ".long()" if isinstance(index, Tensor) else ".astype(int)"
        raise TypeError(f"{what}: index must hold integers (int32 or int64), got {kind} of dtype {arr.dtype}; "
                        f"convert it with {hint}")
    return arr.astype(np.intp, copy=False)


def _check_range(idx, size, dim, what, shape):
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            valid = f"indices run from 0 to {size - 1}" if size else "the dim is empty"
            raise IndexError(f"{what}: index {bad} is out of range for dim {dim} of size {size} (a tensor of "
                             f"shape {tuple(shape)}; {valid})")


def gather(x, dim, index):
    """``x.gather(dim, index)`` (see ``Gather``)."""
    shape = x.shape
    idx = int_index(index, "gather")
    nd = len(shape)
    if idx.ndim != max(nd, 1) and not (nd == 0 and idx.ndim == 0):
        raise ValueError(f"gather: index must have as many dimensions as the tensor ({nd}), got an index of "
                         f"shape {idx.shape}")
    work = shape if nd else (1,)
    d = normalize_axis(dim, len(work), shape, "gather")
    flat_idx = idx.reshape(idx.shape if idx.ndim else (1,))
    for i, (n, m) in enumerate(zip(flat_idx.shape, work)):
        if i != d and n > m:
            raise ValueError(f"gather: index of shape {idx.shape} is larger than the tensor's shape {shape} "
                             f"along dim {i} (only dim {d} may differ)")
    _check_range(flat_idx, work[d], d, "gather", shape)
    strides = [math.prod(work[i + 1:]) for i in range(len(work))]
    pos = flat_idx * strides[d]
    for i, n in enumerate(flat_idx.shape):
        if i != d and strides[i] and n:
            view = [1] * flat_idx.ndim
            view[i] = n
            pos = pos + (np.arange(n, dtype=np.intp) * strides[i]).reshape(view)
    pos = np.broadcast_to(pos, flat_idx.shape).reshape(idx.shape)
    return Gather.apply(x, pos=pos)


def index_select(x, dim, index):
    """``x.index_select(dim, index)``: the entries ``index`` (a 1-D list of ints) along ``dim``."""
    shape = x.shape
    idx = int_index(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D (or a single int), got shape {idx.shape}")
    nd = len(shape)
    if nd == 0:
        if idx.size != 1:
            raise ValueError(f"index_select: a 0-d tensor takes a single index, got {idx.size}")
        _check_range(idx, 1, 0, "index_select", shape)
        normalize_axis(dim, 1, shape, "index_select")
        return x.reshape(1)[idx.reshape(1)].reshape(())
    d = normalize_axis(dim, nd, shape, "index_select")
    _check_range(idx, shape[d], d, "index_select", shape)
    return x[(_FULL,) * d + (idx.reshape(-1),)]


def masked_fill(x, mask, value):
    """``x.masked_fill(mask, value)`` (see ``MaskedFill``): mask a bool array or a Tensor holding bools."""
    from ..tensor import Tensor

    m = mask.data if isinstance(mask, Tensor) else mask
    if isinstance(m, (list, tuple, bool, np.bool_)):
        m = np.asarray(m)
    if not isinstance(m, np.ndarray) or m.dtype != bool:
        got = f"dtype {m.dtype}" if isinstance(m, np.ndarray) else type(mask).__name__
        raise TypeError(f"masked_fill: mask must hold bools (a bool array or a bool Tensor, as x > 0 gives), "
                        f"got {got}")
    if isinstance(value, Tensor):
        if value.data.size != 1 or value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
    elif isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        value = float(value)
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"masked_fill: value must be a real number or a 0-d tensor, got "
                        f"{type(value).__name__}: {value!r}")
    else:
        value = float(value)
    return MaskedFill.apply(x, value, mask=m)


def triangle(x, diagonal, upper):
    """``x.tril(diagonal)`` / ``x.triu(diagonal)``: the last two axes' lower (upper) triangle, the rest 0."""
    what = "triu" if upper else "tril"
    if isinstance(diagonal, (bool, np.bool_)) or not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{what}: diagonal must be an int, got {type(diagonal).__name__}: {diagonal!r}")
    if x.ndim < 2:
        raise ValueError(f"{what}: needs a tensor of at least 2 dimensions, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    if upper:
        fill = np.tri(rows, cols, int(diagonal) - 1, dtype=bool)  # strictly below the diagonal
    else:
        fill = ~np.tri(rows, cols, int(diagonal), dtype=bool)  # strictly above it
    return MaskedFill.apply(x, 0.0, mask=fill)


def _sizes(args, what):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` alike, as a tuple of non-negative ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for n in args:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{what}: sizes must be ints, got {type(n).__name__}: {n!r}")
        if n < 0:
            raise ValueError(f"{what}: sizes must be non-negative, got {tuple(args)!r}")
    return tuple(int(n) for n in args)


def repeat(x, sizes):
    """``x.repeat(*sizes)``: PyTorch's repeat (numpy's ``tile``), len(sizes) >= x.ndim."""
    reps = _sizes(sizes, "repeat")
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: {len(reps)} sizes {reps} for a tensor of {x.ndim} dimensions (shape "
                         f"{x.shape}): give at least one per dimension")
    return Tile.apply(x, reps=reps)


def tile(x, dims):
    """``x.tile(dims)``: as repeat, but fewer entries than dimensions are padded with leading 1s."""
    reps = _sizes(dims, "tile")
    return Tile.apply(x, reps=(1,) * (x.ndim - len(reps)) + reps)


def _dims(dims, shape, what):
    """An int or a sequence of ints (``f(0, 1)``, ``f((0, 1))``) as distinct non-negative axes, in order."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not shape:
        return scalar_dims(dims, what)
    axes = tuple(normalize_axis(d, len(shape), shape, what) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what}: dim repeated in {tuple(dims)!r} (a tensor of shape {tuple(shape)})")
    return axes


def flip(x, dims):
    """``x.flip(dims)``: the order of the elements reversed along each of ``dims``."""
    axes = _dims(dims, x.shape, "flip")
    return x[tuple(slice(None, None, -1) if i in axes else _FULL for i in range(x.ndim))]


def roll(x, shifts, dims=None):
    """``x.roll(shifts, dims)`` (see ``Roll``): shifts and dims ints or sequences of the same length."""
    def ints(v, name):
        seq = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        for n in seq:
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
                raise TypeError(f"roll: {name} must be ints, got {type(n).__name__}: {n!r}")
        return tuple(int(n) for n in seq)

    shift = ints(shifts, "shifts")
    if dims is None:
        if len(shift) != 1:
            raise ValueError(f"roll: without dims, shifts must be a single int (the flattened tensor is "
                             f"rolled), got {shifts!r}")
        return Roll.apply(x, shifts=shift[0], dims=None)
    axes = ints(dims, "dims")
    if len(axes) != len(shift):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same length")
    axes = tuple(normalize_axis(a, x.ndim, x.shape, "roll") for a in axes)
    return Roll.apply(x, shifts=shift, dims=axes)


def _split_points(sizes):
    """(start, stop) of each piece of the given sizes, one after the other."""
    bounds, start = [], 0
    for s in sizes:
        bounds.append((start, start + s))
        start += s
    return bounds


def split(x, split_size_or_sections, dim=0):
    """``x.split(size, dim)``: pieces of ``size`` along dim (the last one smaller), or of the listed sizes."""
    if x.ndim == 0:
        raise ValueError("split: needs a tensor of at least 1 dimension, got a 0-d tensor")
    d = normalize_axis(dim, x.ndim, x.shape, "split")
    n = x.shape[d]
    arg = split_size_or_sections
    if isinstance(arg, (tuple, list)):
        sizes = _sizes((arg,), "split")
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {list(sizes)} must add up to {n}, the size of dim {d} (a tensor "
                             f"of shape {x.shape})")
    else:
        if isinstance(arg, (bool, np.bool_)) or not isinstance(arg, numbers.Integral):
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, got "
                            f"{type(arg).__name__}: {arg!r}")
        size = int(arg)
        if size < 0:
            raise ValueError(f"split: split size must be non-negative, got {size}")
        if size == 0:
            if n:
                raise ValueError(f"split: split size 0 is allowed only for a dim of size 0; dim {d} has size "
                                 f"{n}")
            sizes = (0,)
        else:
            sizes = (size,) * (n // size) + ((n % size,) if n % size or not n else ())
    return _pieces(x, d, sizes)


def _pieces(x, d, sizes):
    pre = (_FULL,) * d
    return tuple(x[pre + (slice(a, b),)] for a, b in _split_points(sizes))


def chunk(x, chunks, dim=0):
    """``x.chunk(chunks, dim)``: at most ``chunks`` pieces of ceil(n / chunks) (PyTorch's rule: fewer pieces
    when that size leaves nothing for the last ones; ``chunks`` empty pieces of an empty dim)."""
    if isinstance(chunks, (bool, np.bool_)) or not isinstance(chunks, numbers.Integral):
        raise TypeError(f"chunk: chunks must be an int, got {type(chunks).__name__}: {chunks!r}")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be at least 1, got {chunks}")
    if x.ndim == 0:
        raise ValueError("chunk: needs a tensor of at least 1 dimension, got a 0-d tensor")
    d = normalize_axis(dim, x.ndim, x.shape, "chunk")
    n = x.shape[d]
    if n == 0:
        return _pieces(x, d, (0,) * int(chunks))
    return split(x, -(-n // int(chunks)), d)
