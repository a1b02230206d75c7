"""Movement ops: reshape / view, flatten, transpose / permute / T, expand / broadcast_to, squeeze, unsqueeze,
pad, indexing, gather, index_select, masked_fill, split, chunk, repeat, tile, flip, roll, tril, triu,
concatenate, stack and einsum. Their references let numpy move the Value objects of an object array (or, for
gather, chunk and tril, loops written from PyTorch's definitions); a Value that lands in several places
(expand, repeated indices, repeat) collects its gradient from each of them.
"""

import math

import numpy as np

from naivegrad.tensor import Tensor, cat, concatenate, einsum, stack

from .draw import broadcastable, shape
from .spec import Domain, Op

__all__ = ["OPS"]

REAL = Domain(-3.0, 3.0)


def _shape(draw):
    return (shape(draw),)


def _ones_heavy_shape(draw):
    """Shapes with many size-1 axes (squeeze's food)."""
    return (tuple(1 if draw.booleans() else draw.integers(0, 3) for _ in range(draw.integers(0, 4))),)


# ---------------------------------------------------------------------------------------------- reshape
def _factor_shape(draw, n):
    """A random shape with n elements (0 to 4 axes)."""
    if n == 0:
        s = [draw.integers(0, 3) for _ in range(draw.integers(1, 3))]
        s[draw.integers(0, len(s) - 1)] = 0
        return tuple(s)
    primes, m, p = [], n, 2
    while m > 1:
        while m % p == 0:
            primes.append(p)
            m //= p
        p += 1
    ndim = draw.integers(1 if primes else 0, 4)
    if ndim == 0:
        return ()
    sides = [1] * ndim
    for q in primes:
        sides[draw.integers(0, ndim - 1)] *= q
    return tuple(sides)


def _reshape_params(draw, shapes, mode):
    (s,) = shapes
    n = math.prod(s)
    target = _factor_shape(draw, n)
    spec = list(target)
    if n > 0 and target and draw.booleans():
        spec[draw.integers(0, len(spec) - 1)] = -1  # inferred; numpy cannot infer it for 0 elements
    return {"shape": target, "spec": tuple(spec)}


def _flatten_params(draw, shapes, mode):
    (s,) = shapes
    if not s:
        return {"start": 0, "end": -1}
    a, b = sorted((draw.integers(0, len(s) - 1), draw.integers(0, len(s) - 1)))
    return {"start": a - len(s) if draw.booleans() else a, "end": b - len(s) if draw.booleans() else b}


def _flatten_ref(x, start, end):
    if x.ndim == 0:
        return x.reshape(1)
    a, b = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:a] + (math.prod(x.shape[a:b + 1]),) + x.shape[b + 1:])


def _flatten_default(x, start, end):
    if (start, end) in ((0, -1), (0, x.ndim - 1)) or x.ndim == 0:
        return x.flatten()
    return x.flatten(start, end)


# ---------------------------------------------------------------------------------------------- axes
def _perm_params(draw, shapes, mode):
    (s,) = shapes
    rest, perm = list(range(len(s))), []
    while rest:
        perm.append(rest.pop(draw.integers(0, len(rest) - 1)))
    return {"perm": tuple(perm)}


def _swap_shapes(draw):
    return (shape(draw, 1, 4, 0, 3),)


def _permuted(x, perm):
    """``x.transpose(perm)``, except that two axes mean a swap (PyTorch's transpose(dim0, dim1)): permute then."""
    return x.transpose(perm) if len(perm) != 2 else x.permute(perm)


def _swap_params(draw, shapes, mode):
    (s,) = shapes
    return {"i": draw.integers(-len(s), len(s) - 1), "j": draw.integers(-len(s), len(s) - 1)}


def _swap_ref(x, i, j):
    return np.swapaxes(x, i, j)


def _expand_params(draw, shapes, mode):
    (s,) = shapes
    lead = tuple(draw.integers(0, 3) for _ in range(draw.integers(0, 2)))
    target, spec = list(lead), list(lead)
    for n in s:
        if n == 1:
            m = draw.integers(0, 3)
            target.append(m)
            spec.append(-1 if m == 1 and draw.booleans() else m)
        else:
            target.append(n)
            spec.append(-1 if draw.booleans() else n)
    return {"shape": tuple(target), "spec": tuple(spec)}


def _squeeze_params(draw, shapes, mode):
    (s,) = shapes
    ones = [i for i, n in enumerate(s) if n == 1]
    kind = draw.sampled_from(["none", "int", "tuple"] if ones else ["none"])
    if kind == "none":
        return {"axis": None}
    if kind == "int":
        a = draw.sampled_from(ones)
        return {"axis": a - len(s) if draw.booleans() else a}
    chosen = [a for a in ones if draw.booleans()] or ones[:1]
    return {"axis": tuple(chosen)}


def _unsqueeze_params(draw, shapes, mode):
    (s,) = shapes
    return {"axis": draw.integers(-len(s) - 1, len(s))}


def _pad_params(draw, shapes, mode):
    (s,) = shapes
    kind = draw.sampled_from(["int", "pair", "per_axis"])
    if kind == "int":
        width = draw.integers(0, 2)
        pairs = [(width, width)] * len(s)
    elif kind == "pair":
        width = (draw.integers(0, 2), draw.integers(0, 2))
        pairs = [width] * len(s)
    else:
        pairs = [(draw.integers(0, 2), draw.integers(0, 2)) for _ in s]
        width = tuple(pairs)
    return {"pad_width": width, "pairs": tuple(pairs), "value": draw.sampled_from([0.0, 0.0, -1.5, 2.0])}


def _torch_pad(x, pad_width, pairs, value):
    import torch.nn.functional as F

    flat = [w for pair in reversed(pairs) for w in pair]  # PyTorch lists the last axis first
    return F.pad(x, flat, value=value)


def _pad_ref(x, pad_width, pairs, value):
    if x.ndim == 0:
        return x  # no axis to pad (np.pad on a 0-d object array nests it in another array)
    return np.pad(x, list(pairs), mode="constant", constant_values=value)


# ---------------------------------------------------------------------------------------------- indexing
def _index_params(draw, shapes, mode):
    (s,) = shapes
    kind = draw.sampled_from(["basic", "basic", "int_array", "bool_mask", "two_arrays", "list", "bool_mask_nd"])
    if kind == "basic" or not s:
        parts, axis = [], 0
        if draw.booleans(0.2):
            parts.append(None)
        while axis < len(s):
            choice = draw.sampled_from(["int", "slice", "slice", "ellipsis", "none"])
            if choice == "int" and s[axis] > 0:
                parts.append(draw.integers(-s[axis], s[axis] - 1))
                axis += 1
            elif choice == "ellipsis" and Ellipsis not in parts:
                parts.append(Ellipsis)
                axis = len(s) - draw.integers(0, len(s) - axis)  # the ellipsis eats some axes
            elif choice == "none":
                parts.append(None)
            else:
                step = draw.sampled_from([1, 1, 2, -1, -2])
                start = draw.sampled_from([None, 0, 1, -1])
                stop = draw.sampled_from([None, 2, -1, 5])
                parts.append(slice(start, stop, step))
                axis += 1
        index = parts[0] if len(parts) == 1 and draw.booleans() else tuple(parts)
        return {"index": index}
    if kind == "bool_mask_nd" and len(s) >= 2:
        # A mask over several axes at once (numpy flattens the selected elements of those axes into one).
        axis = draw.integers(0, len(s) - 2)
        k = draw.integers(2, len(s) - axis)
        mask = np.array([draw.booleans() for _ in range(int(np.prod(s[axis:axis + k])))], dtype=bool)
        mask = mask.reshape(s[axis:axis + k])
        return {"index": (slice(None),) * axis + (mask,) if axis else mask}
    axis = draw.integers(0, len(s) - 1)
    pre = (slice(None),) * axis
    if kind in ("int_array", "list", "two_arrays") and s[axis] > 0:
        # Repeated indices on purpose: their gradients must add up (np.add.at, not assignment). An integer
        # array may also be empty: it selects nothing along its axis.
        n = draw.integers(0 if kind == "int_array" else 1, 4)
        idx = np.array([draw.integers(-s[axis], s[axis] - 1) for _ in range(n)], dtype=np.intp)
        if kind == "list":
            return {"index": pre + (idx.tolist(),) if pre else idx.tolist()}
        if kind == "two_arrays" and axis + 1 < len(s) and s[axis + 1] > 0:
            idx2 = np.array([draw.integers(0, s[axis + 1] - 1) for _ in range(n)])
            return {"index": pre + (idx, idx2)}
        return {"index": pre + (idx,) if pre else idx}
    mask = np.array([draw.booleans() for _ in range(s[axis])], dtype=bool)
    return {"index": pre + (mask,) if pre else mask}


def _tensor_index(x, index):
    """The same index with an integer array given as a float Tensor (naivegrad converts whole numbers)."""
    if isinstance(index, np.ndarray) and index.dtype.kind == "i":
        return x[Tensor(index.astype(np.float64), requires_grad=False)]
    return x[index]


def _torch_getitem(x, index):
    """numpy's indexing in PyTorch (which refuses negative steps): gather the flat positions numpy selects."""
    import torch

    positions = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return x.reshape(-1)[torch.from_numpy(np.ascontiguousarray(positions).reshape(-1))].reshape(positions.shape)


# ---------------------------------------------------------------------------------------------- joining
def _join_shapes(draw, new_axis):
    k = draw.integers(1, 3)
    base = shape(draw, 0 if new_axis else 1, 3, 0, 3)
    if new_axis:
        return (base,) * k
    axis = draw.integers(0, len(base) - 1)
    out = []
    for _ in range(k):
        s = list(base)
        s[axis] = draw.integers(0, 3)
        out.append(tuple(s))
    # The joining axis is where the shapes may differ; the params sampler finds it again.
    return tuple(out)


def _torch_join(name, xs, axis):
    import torch

    return getattr(torch, name)(xs, dim=axis)


def _concat_params(draw, shapes, mode):
    nd = len(shapes[0])
    differing = [i for i in range(nd) if len({s[i] for s in shapes}) > 1]
    axis = differing[0] if differing else draw.integers(0, nd - 1)
    return {"axis": axis - nd if draw.booleans() else axis}


def _stack_params(draw, shapes, mode):
    nd = len(shapes[0])
    return {"axis": draw.integers(-nd - 1, nd)}


# ---------------------------------------------------------------------------------------------- gathers
def _held(arr):
    """A Tensor holding ``arr`` as it is (integers or bools: PyTorch's LongTensor and BoolTensor)."""
    t = Tensor(np.zeros(0), requires_grad=False)
    t.data = np.asarray(arr)
    return t


def _dim_param(draw, d, ndim):
    return d - ndim if draw.booleans() else d


def _ids(draw, n, shape):
    """An int64 array of ``shape`` with entries in [0, n), repeats likely (their gradients add up)."""
    return np.array([draw.integers(0, n - 1) for _ in range(math.prod(shape))], dtype=np.int64).reshape(shape)


def _gather_case(draw, mode):
    s = shape(draw, 1, 3, 0 if draw.booleans(0.2) else 1, 4)  # empty sides now and then, not mostly
    d = draw.integers(0, len(s) - 1)
    # At most x's size along the other axes (PyTorch's rule): mostly all of it, sometimes less (even 0).
    ishape = [m if draw.booleans(0.7) else draw.integers(0, m) for m in s]
    ishape[d] = draw.integers(0 if draw.booleans(0.1) else 1, 4) if s[d] else 0
    return (s,), {"dim": _dim_param(draw, d, len(s)), "index": _ids(draw, s[d], tuple(ishape))}


def _gather_ref(x, dim, index):
    """PyTorch's definition, element by element: out[p] = x[p with p[dim] replaced by index[p]]."""
    d = dim % x.ndim
    out = np.empty(index.shape, dtype=object)
    for p in np.ndindex(index.shape):
        src = list(p)
        src[d] = int(index[p])
        out[p] = x[tuple(src)]
    return out


def _torch_gather(x, dim, index):
    import torch

    return x.gather(dim, torch.from_numpy(index))


def _index_select_case(draw, mode):
    s = shape(draw, 1, 3, 0 if draw.booleans(0.2) else 1, 4)
    d = draw.integers(0, len(s) - 1)
    # Sometimes many ids from a short axis: more than 8 copies of one row (index_add_rows' reduceat path).
    n = (draw.integers(9, 12) if s[d] <= 2 and draw.booleans(0.3) else draw.integers(0, 5)) if s[d] else 0
    return (s,), {"dim": _dim_param(draw, d, len(s)), "index": _ids(draw, s[d], (n,))}


def _torch_index_select(x, dim, index):
    import torch

    return x.index_select(dim, torch.from_numpy(index))


def _masked_fill_case(draw, mode):
    xs, ms = broadcastable(draw, 2, 0, 3, 0, 3)
    if len(ms) > len(xs) and not draw.booleans(0.2):
        ms = ms[len(ms) - len(xs):]  # mostly a mask no larger than x (an attention mask over scores)
    mask = np.array([draw.booleans() for _ in range(math.prod(ms))], dtype=bool).reshape(ms)
    value = draw.sampled_from([-math.inf, -math.inf, math.inf, 0.0, -1.5, 2.25, math.nan])
    return (xs,), {"mask": mask, "value": value}


def _masked_fill_ref(x, mask, value):
    out = np.where(mask, np.array(value, dtype=object), x)  # the filled elements: a constant
    return out.reshape(np.broadcast_shapes(x.shape, mask.shape))


def _torch_masked_fill(x, mask, value):
    import torch

    return x.masked_fill(torch.from_numpy(mask), value)


# ---------------------------------------------------------------------------------------------- split, chunk
def _split_case(draw, mode):
    s = shape(draw, 1, 3, 0, 5)
    d = draw.integers(0, len(s) - 1)
    n = s[d]
    if draw.booleans():
        arg = draw.integers(1, n + 1) if n else draw.integers(0, 2)
    else:
        cuts = sorted(draw.integers(0, n) for _ in range(draw.integers(0, 3)))
        arg = [b - a for a, b in zip([0] + cuts, cuts + [n])]  # sizes adding up to n (zeros allowed)
    return (s,), {"dim": _dim_param(draw, d, len(s)), "arg": arg}


def _pieces_ref(x, d, sizes):
    start, parts = 0, []
    for k in sizes:
        parts.append(x[(slice(None),) * d + (slice(start, start + k),)])
        start += k
    return np.concatenate(parts[::-1], axis=d)  # reversed: each piece must be the right one


def _split_ref(x, dim, arg):
    d, n = dim % x.ndim, x.shape[dim % x.ndim]
    if isinstance(arg, list):
        return _pieces_ref(x, d, arg)
    if arg == 0:
        return _pieces_ref(x, d, [0])
    return _pieces_ref(x, d, [min(arg, n - i) for i in range(0, n, arg)] or [0])


def _chunk_case(draw, mode):
    s = shape(draw, 1, 3, 0, 6)
    d = draw.integers(0, len(s) - 1)
    return (s,), {"dim": _dim_param(draw, d, len(s)), "chunks": draw.integers(1, 5)}


def _chunk_ref(x, dim, chunks):
    d, n = dim % x.ndim, x.shape[dim % x.ndim]
    if n == 0:
        return _pieces_ref(x, d, [0] * chunks)
    size = -(-n // chunks)
    return _pieces_ref(x, d, [min(size, n - i) for i in range(0, n, size)])


def _rejoined(pieces, dim):
    return cat(list(pieces)[::-1], dim)


def _torch_rejoined(pieces, dim):
    import torch

    return torch.cat(list(pieces)[::-1], dim)


# ---------------------------------------------------------------------------------------------- repeat, tile
def _repeat_params(draw, shapes, mode):
    (s,) = shapes
    n = max(1, len(s)) + draw.integers(0, 2)
    return {"sizes": tuple(draw.sampled_from([0, 1, 1, 2, 2, 3]) for _ in range(n))}


def _tile_params(draw, shapes, mode):
    (s,) = shapes
    return {"reps": tuple(draw.sampled_from([0, 1, 2, 2, 3]) for _ in range(draw.integers(1, len(s) + 1)))}


def _repeat_ref(x, sizes):
    return np.tile(x.reshape((1,) * (len(sizes) - x.ndim) + x.shape), sizes)


# ---------------------------------------------------------------------------------------------- flip, roll
def _flip_params(draw, shapes, mode):
    (s,) = shapes
    axes = [a for a in range(len(s)) if draw.booleans()]
    return {"dims": tuple(_dim_param(draw, a, len(s)) for a in axes)}


def _roll_params(draw, shapes, mode):
    (s,) = shapes
    kind = draw.sampled_from(["flat", "int", "tuple"] if s else ["flat"])
    shift = lambda: draw.integers(-7, 7)  # noqa: E731 - negative, and beyond the size
    if kind == "flat":
        return {"shifts": shift(), "dims": None}
    if kind == "int":
        return {"shifts": shift(), "dims": _dim_param(draw, draw.integers(0, len(s) - 1), len(s))}
    axes = [a for a in range(len(s)) if draw.booleans()] or [0]
    return {"shifts": tuple(shift() for _ in axes), "dims": tuple(_dim_param(draw, a, len(s)) for a in axes)}


# ---------------------------------------------------------------------------------------------- tril, triu
def _triangle_params(draw, shapes, mode):
    return {"diagonal": draw.integers(-3, 3)}


def _triangle_ref(upper):
    def ref(x, diagonal):
        out = x.copy()
        for p in np.ndindex(x.shape):
            i, j = p[-2], p[-1]
            if (j - i < diagonal) if upper else (j - i > diagonal):
                out[p] = 0.0  # a constant: no gradient, even from an infinite one
        return out
    return ref


# ---------------------------------------------------------------------------------------------- einsum
EINSUM = (
    "ij,jk->ik", "ij,jk", "i,i->", "i,i", "i,j->ij", "ii->i", "ii", "ii->", "ij->ji", "ij->", "ij", "ba",
    "bij,bjk->bik", "...ij,...jk->...ik", "...ij,...jk", "i...->...", "...i,...i->...", "...,...->...",
    "iij->j", "iji->ij", "ij,ij->ij", "ij,ij->", "ab,bc,cd->ad", "i,i,i->i", ",i->i", "i->i", "...ii->...i",
    "ij,kj->ikj", "aB,Ba->", "bhqd,bhkd->bhqk", "i...j,j->i...",
)


def _einsum_case(draw, mode):
    equation = draw.sampled_from(EINSUM)
    terms = equation.split("->")[0].split(",")
    size = {}
    for c in sorted(set("".join(terms)) - {"."}):
        size[c] = 0 if draw.booleans(0.08) else draw.integers(1, 3)
    ellipsis = [draw.integers(1, 3) for _ in range(draw.integers(0, 2))]
    shapes = []
    for t in terms:
        s = []
        for part in t.replace("...", "."):
            if part == ".":
                lead = ellipsis[draw.integers(0, len(ellipsis)):]  # fewer ellipsis axes broadcast too
                s.extend(1 if draw.booleans(0.2) else n for n in lead)
            else:
                s.append(size[part])
        shapes.append(s)
    # A size-1 axis against a larger size of its letter elsewhere: broadcasting, as numpy and PyTorch allow. Only
    # for letters of the output: along a summed letter PyTorch adds up the other operand first, so that inf * 0
    # there becomes inf * (sum) (inf where numpy's and the scalar engine's products give nan).
    out = equation.split("->")[1] if "->" in equation else ""
    if len(terms) > 1 and draw.booleans(0.2):
        k = draw.integers(0, len(terms) - 1)
        term = terms[k].replace("...", "")
        single = [c for c in term if term.count(c) == 1 and c in out
                  and any(c in t for j, t in enumerate(terms) if j != k)]
        if single and "..." not in terms[k]:
            c = draw.sampled_from(single)
            shapes[k][terms[k].index(c)] = 1
    return tuple(tuple(s) for s in shapes), {"equation": equation}


def _torch_einsum(*xs, equation):
    import torch

    return torch.einsum(equation, *xs)


OPS = [
    Op(name="reshape", exact=True, arity=1, shapes=_shape, params=_reshape_params,
       reference=lambda x, shape, spec: x.reshape(shape),
       tensor_forms={"reshape": lambda x, shape, spec: x.reshape(spec),
                     "reshape#varargs": lambda x, shape, spec: x.reshape(*spec),
                     "view": lambda x, shape, spec: x.view(spec), "view#varargs": lambda x, shape, spec: x.view(*spec)},
       functions=("reshape",), torch=lambda x, shape, spec: x.reshape(spec),
       source="{0}.reshape({spec})"),
    Op(name="flatten", exact=True, arity=1, shapes=_shape, params=_flatten_params, reference=_flatten_ref,
       tensor_forms={"flatten": lambda x, start, end: x.flatten(start, end), "flatten#default": _flatten_default},
       functions=("reshape",), torch=lambda x, start, end: x.flatten(start, end),
       source="{0}.flatten({start}, {end})"),
    Op(name="transpose", exact=True, arity=1, shapes=_shape, params=_perm_params,
       reference=lambda x, perm: np.transpose(x, perm),
       tensor_forms={"transpose": _permuted,
                     "transpose#varargs": lambda x, perm: x.transpose(*perm) if len(perm) != 2 else x.permute(*perm),
                     "permute": lambda x, perm: x.permute(*perm), "permute#tuple": lambda x, perm: x.permute(perm)},
       functions=("transpose",), torch=lambda x, perm: x.permute(perm), source="{0}.permute({perm})"),
    Op(name="transpose_reverse", exact=True, arity=1, shapes=_shape, reference=lambda x: np.transpose(x),
       tensor_forms={"T": lambda x: x.T, "transpose#reverse": lambda x: x.transpose()},
       functions=("transpose",), torch=lambda x: x.permute(tuple(reversed(range(x.ndim)))), source="{0}.T"),
    Op(name="swapaxes", exact=True, arity=1, shapes=_swap_shapes,
       params=_swap_params, reference=_swap_ref,
       tensor_forms={"transpose#swap": lambda x, i, j: x.transpose(i, j)},
       functions=("transpose",), torch=lambda x, i, j: x.transpose(i, j), source="{0}.transpose({i}, {j})",
       note="PyTorch's transpose(dim0, dim1): two axes are always swapped, a matrix's too"),
    Op(name="expand", arity=1, shapes=_shape, params=_expand_params,
       reference=lambda x, shape, spec: np.broadcast_to(x, shape),
       tensor_forms={"expand": lambda x, shape, spec: x.expand(spec),
                     "expand#varargs": lambda x, shape, spec: x.expand(*spec),
                     "broadcast_to": lambda x, shape, spec: x.broadcast_to(shape)},
       functions=("expand",), torch=lambda x, shape, spec: x.expand(spec), source="{0}.expand({spec})"),
    Op(name="squeeze", exact=True, arity=1, shapes=_ones_heavy_shape, params=_squeeze_params,
       reference=lambda x, axis: np.squeeze(x, axis=axis),
       tensor_forms={"squeeze": lambda x, axis: x.squeeze(axis),
                     "squeeze#keyword": lambda x, axis: x.squeeze(axis=axis),
                     "squeeze#dim": lambda x, axis: x.squeeze(dim=axis)},
       functions=("squeeze",), torch=lambda x, axis: x.squeeze() if axis is None else x.squeeze(axis),
       source="{0}.squeeze({axis})"),
    Op(name="unsqueeze", exact=True, arity=1, shapes=_shape, params=_unsqueeze_params,
       reference=lambda x, axis: np.expand_dims(x, axis),
       tensor_forms={"unsqueeze": lambda x, axis: x.unsqueeze(axis),
                     "unsqueeze#dim": lambda x, axis: x.unsqueeze(dim=axis)},
       functions=("unsqueeze",), torch=lambda x, axis: x.unsqueeze(axis), source="{0}.unsqueeze({axis})"),
    Op(name="pad", exact=True, arity=1, shapes=_shape, params=_pad_params, reference=_pad_ref,
       tensor_forms={"pad": lambda x, pad_width, pairs, value: x.pad(pad_width, value)},
       functions=("pad",), source="{0}.pad({pad_width}, {value})", torch=_torch_pad),
    Op(name="getitem", arity=1, shapes=lambda d: (shape(d, 0, 3, 0, 4),), params=_index_params,
       reference=lambda x, index: x[index],
       tensor_forms={"__getitem__": lambda x, index: x[index], "__getitem__#tensor_index": _tensor_index},
       functions=("getitem",), torch=_torch_getitem, source="{0}[{index}]",
       note="repeated integer indices accumulate their gradients"),
    Op(name="concatenate", exact=True, arity=3, shapes=lambda d: _join_shapes(d, False), params=_concat_params,
       reference=lambda *xs, axis: np.concatenate(xs, axis=axis), constants=True, alias=True,
       tensor_forms={"tensor.concatenate": lambda *xs, axis: concatenate(list(xs), axis=axis),
                     "tensor.cat": lambda *xs, axis: cat(xs, axis),
                     "tensor.cat#dim": lambda *xs, axis: cat(list(xs), dim=axis)},
       functions=("concatenate",), source="cat([{*}], axis={axis})",
       torch=lambda *xs, axis: _torch_join("cat", xs, axis)),
    Op(name="stack", exact=True, arity=3, shapes=lambda d: _join_shapes(d, True), params=_stack_params,
       reference=lambda *xs, axis: np.stack(xs, axis=axis), constants=True, alias=True,
       tensor_forms={"tensor.stack": lambda *xs, axis: stack(list(xs), axis=axis),
                     "tensor.stack#dim": lambda *xs, axis: stack(xs, dim=axis)},
       functions=("stack",), source="stack([{*}], axis={axis})",
       torch=lambda *xs, axis: _torch_join("stack", xs, axis)),
    Op(name="clone", exact=True, arity=1, shapes=_shape, reference=lambda x: x.copy(),
       tensor_forms={"clone": lambda x: x.clone()},
       functions=("clone",), torch=lambda x: x.clone(), source="{0}.clone()"),
    Op(name="cast", exact=True, arity=1, shapes=_shape, reference=lambda x: x.copy(),
       tensor_forms={"to": lambda x: x.to(x.dtype, copy=True),
                     "to#roundtrip": lambda x: x.to("float64").to(x.dtype, copy=True),
                     "double": lambda x: x.double().to(x.dtype, copy=True),
                     "type_as": lambda x: x.to(np.float64, copy=True).type_as(x)},
       functions=("cast",), torch=lambda x: x.to(x.dtype, copy=True), source="{0}.to({0}.dtype, copy=True)",
       note="casts through float64 and back (exact); narrowing casts (half, float) in tests/tensor"),
    Op(name="gather", arity=1, case=_gather_case, reference=_gather_ref,
       tensor_forms={"gather": lambda x, dim, index: x.gather(dim, index),
                     "gather#tensor": lambda x, dim, index: x.gather(dim, _held(index)),
                     "gather#list": lambda x, dim, index: x.gather(dim, index.tolist() if index.size else index)},
       functions=("gather",), torch=_torch_gather, source="{0}.gather({dim}, {index})",
       note="PyTorch's gather; repeated indices accumulate their gradients"),
    Op(name="index_select", arity=1, case=_index_select_case,
       reference=lambda x, dim, index: np.take(x, index, axis=dim),
       tensor_forms={"index_select": lambda x, dim, index: x.index_select(dim, index),
                     "index_select#tensor": lambda x, dim, index: x.index_select(dim, _held(index)),
                     "index_select#list": lambda x, dim, index: x.index_select(dim, index.tolist())},
       functions=("getitem",), torch=_torch_index_select, source="{0}.index_select({dim}, {index})",
       note="an embedding lookup: repeated rows accumulate their gradients"),
    Op(name="masked_fill", exact=True, arity=1, case=_masked_fill_case, reference=_masked_fill_ref,
       tensor_forms={"masked_fill": lambda x, mask, value: x.masked_fill(mask, value),
                     "masked_fill#tensor": lambda x, mask, value: x.masked_fill(_held(mask), value)},
       functions=("maskedfill",), torch=_torch_masked_fill, source="{0}.masked_fill({mask}, {value})",
       note="filled elements get exactly 0 gradient, even from inf or nan (attention masks fill -inf)"),
    Op(name="split", exact=True, arity=1, case=_split_case, reference=_split_ref,
       tensor_forms={"split": lambda x, dim, arg: _rejoined(x.split(arg, dim), dim),
                     "split#keyword": lambda x, dim, arg: _rejoined(x.split(arg, dim=dim), dim)},
       functions=("getitem", "concatenate"), torch=lambda x, dim, arg: _torch_rejoined(x.split(arg, dim), dim),
       note="the pieces joined back in reverse order, so that each must be the right one"),
    Op(name="chunk", exact=True, arity=1, case=_chunk_case, reference=_chunk_ref,
       tensor_forms={"chunk": lambda x, dim, chunks: _rejoined(x.chunk(chunks, dim), dim)},
       functions=("getitem", "concatenate"),
       torch=lambda x, dim, chunks: _torch_rejoined(x.chunk(chunks, dim), dim),
       note="PyTorch's piece sizes: ceil(n / chunks), so fewer pieces than asked for when it leaves none"),
    Op(name="repeat", arity=1, shapes=_shape, params=_repeat_params, reference=_repeat_ref,
       tensor_forms={"repeat": lambda x, sizes: x.repeat(*sizes), "repeat#tuple": lambda x, sizes: x.repeat(sizes)},
       functions=("tile",), torch=lambda x, sizes: x.repeat(*sizes), source="{0}.repeat({sizes})",
       note="PyTorch's repeat (numpy's tile): copies of the whole tensor add their gradients"),
    Op(name="tile", arity=1, shapes=_shape, params=_tile_params, reference=lambda x, reps: np.tile(x, reps),
       tensor_forms={"tile": lambda x, reps: x.tile(reps), "tile#varargs": lambda x, reps: x.tile(*reps)},
       functions=("tile",), torch=lambda x, reps: x.tile(reps), source="{0}.tile({reps})"),
    Op(name="flip", exact=True, arity=1, shapes=_shape, params=_flip_params,
       reference=lambda x, dims: np.flip(x, axis=dims),
       tensor_forms={"flip": lambda x, dims: x.flip(dims), "flip#varargs": lambda x, dims: x.flip(*dims)},
       functions=("getitem",), torch=lambda x, dims: x.flip(dims), source="{0}.flip({dims})"),
    Op(name="roll", exact=True, arity=1, shapes=_shape, params=_roll_params,
       reference=lambda x, shifts, dims: np.roll(x, shifts, axis=dims),
       tensor_forms={"roll": lambda x, shifts, dims: x.roll(shifts, dims),
                     "roll#keyword": lambda x, shifts, dims: x.roll(shifts=shifts, dims=dims)},
       functions=("roll",), torch=lambda x, shifts, dims: x.roll(shifts, dims), source="{0}.roll({shifts}, {dims})"),
    Op(name="tril", exact=True, arity=1, shapes=lambda d: (shape(d, 2, 4, 0, 4),), params=_triangle_params,
       reference=_triangle_ref(False),
       tensor_forms={"tril": lambda x, diagonal: x.tril(diagonal),
                     "tril#keyword": lambda x, diagonal: x.tril(diagonal=diagonal)},
       functions=("maskedfill",), torch=lambda x, diagonal: x.tril(diagonal), source="{0}.tril({diagonal})"),
    Op(name="triu", exact=True, arity=1, shapes=lambda d: (shape(d, 2, 4, 0, 4),), params=_triangle_params,
       reference=_triangle_ref(True),
       tensor_forms={"triu": lambda x, diagonal: x.triu(diagonal),
                     "triu#keyword": lambda x, diagonal: x.triu(diagonal=diagonal)},
       functions=("maskedfill",), torch=lambda x, diagonal: x.triu(diagonal), source="{0}.triu({diagonal})"),
    Op(name="einsum", arity=3, case=_einsum_case, constants=True, alias=True,
       reference=lambda *xs, equation: np.einsum(equation, *xs),
       tensor_forms={"tensor.einsum": lambda *xs, equation: einsum(equation, *xs),
                     "tensor.einsum#list": lambda *xs, equation: einsum(equation, list(xs))},
       functions=("einsum",), torch=_torch_einsum, source="einsum({equation!r}, {*})",
       note="numpy's einsum on object arrays of Values is the reference (numpy's parser, the scalar engine's "
            "sums and products)"),
]
