"""Movement ops: reshape, flatten, transpose / permute / T, expand / broadcast_to, squeeze, unsqueeze, pad,
indexing, concatenate and stack. Their references let numpy move the Value objects of an object array; a
Value that lands in several places (expand, repeated indices) collects its gradient from each of them.
"""

import math

import numpy as np

from naivegrad.tensor import Tensor, cat, concatenate, stack

from .draw import shape
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


OPS = [
    Op(name="reshape", exact=True, arity=1, shapes=_shape, params=_reshape_params,
       reference=lambda x, shape, spec: x.reshape(shape),
       tensor_forms={"reshape": lambda x, shape, spec: x.reshape(spec),
                     "reshape#varargs": lambda x, shape, spec: x.reshape(*spec)},
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
                     "squeeze#keyword": lambda x, axis: x.squeeze(axis=axis)},
       functions=("squeeze",), torch=lambda x, axis: x.squeeze() if axis is None else x.squeeze(axis),
       source="{0}.squeeze({axis})"),
    Op(name="unsqueeze", exact=True, arity=1, shapes=_shape, params=_unsqueeze_params,
       reference=lambda x, axis: np.expand_dims(x, axis),
       tensor_forms={"unsqueeze": lambda x, axis: x.unsqueeze(axis)},
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
                     "tensor.cat": lambda *xs, axis: cat(xs, axis)},
       functions=("concatenate",), source="cat([{*}], axis={axis})",
       torch=lambda *xs, axis: _torch_join("cat", xs, axis)),
    Op(name="stack", exact=True, arity=3, shapes=lambda d: _join_shapes(d, True), params=_stack_params,
       reference=lambda *xs, axis: np.stack(xs, axis=axis), constants=True, alias=True,
       tensor_forms={"tensor.stack": lambda *xs, axis: stack(list(xs), axis=axis)},
       functions=("stack",), source="stack([{*}], axis={axis})",
       torch=lambda *xs, axis: _torch_join("stack", xs, axis)),
]
