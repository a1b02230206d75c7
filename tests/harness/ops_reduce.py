"""Reductions (sum, mean, max, min, logsumexp), softmax / logsoftmax, matmul, and the scalar engine's fused
``sum`` / ``dot``: ops that mix many elements, checked against scalar compositions (``scalar_ref``)."""

import numpy as np

from naivegrad import scalar
from naivegrad.tensor import linear

from . import scalar_ref as ref
from .draw import axis_arg, shape
from .spec import Domain, Op

__all__ = ["OPS"]

REAL = Domain(-3.0, 3.0)
TIES = Domain(-3.0, 3.0, margin=0.01, step=1.0)  # parity: 7 grid values, ties galore
# Logits of magnitude 1e3 among ordinary ones (parity only): exp overflows unless the largest is shifted out first.
HUGE = (-1000.0, 1000.0)


def _shape(draw):
    return (shape(draw),)


def _reduce_params(nonempty):
    def params(draw, shapes, mode):
        (s,) = shapes
        axis = axis_arg(draw, len(s), nonempty_sizes=s if nonempty else None)
        return {"axis": axis, "keepdims": draw.booleans()}
    return params


def _max_shapes(draw):
    # The max of nothing is an error, so only nonempty axes are reduced (axis_arg's nonempty_sizes): one must exist.
    s = shape(draw, min_dims=1)
    return ((s if any(s) else (1,) + s[1:]),)


def _torch_reduce(name):
    def f(x, axis, keepdims):
        import torch

        if axis is None:
            axis = tuple(range(x.ndim))
        return getattr(torch, name)(x, dim=axis, keepdim=keepdims)
    return f


def _positional(name):
    """The seed's spelling: x.sum() with no argument, else positional (axis, keepdims)."""
    def f(x, axis, keepdims):
        if axis is None and not keepdims:
            return getattr(x, name)()
        return getattr(x, name)(axis, keepdims)
    return f


def reduction(name, fn, nonempty=False, ties=False, torch_name=None, note="", domain=None):
    forms = {name: lambda x, axis, keepdims: getattr(x, name)(axis=axis, keepdims=keepdims),
             name + "#positional": _positional(name)}
    return Op(name=name, arity=1, shapes=_max_shapes if nonempty else _shape, params=_reduce_params(nonempty),
              reference=lambda x, axis, keepdims: ref.reduce_slices(fn, x, axis, keepdims),
              tensor_forms=forms,
              functions=(name,), ties=ties, domain=domain or (TIES if ties else REAL),
              torch=_torch_reduce(torch_name or name), note=note,
              source="{0}.%s(axis={axis}, keepdims={keepdims})" % name)


OPS = [
    reduction("sum", ref.sum_),
    reduction("mean", ref.mean),
    reduction("max", ref.extremum(max), nonempty=True, ties=True, torch_name="amax",
              note="k tied maxima share the gradient equally (torch.amax)"),
    reduction("min", ref.extremum(min), nonempty=True, ties=True, torch_name="amin"),
    reduction("logsumexp", ref.logsumexp, domain=Domain(-3.0, 3.0, specials=HUGE)),
]


# ---------------------------------------------------------------------------------------------- softmax
def _axis_param(draw, shapes, mode):
    (s,) = shapes
    a = draw.integers(0, len(s) - 1)
    return {"axis": a - len(s) if draw.booleans() else a}


def _method(name, default_axis=None):
    def f(x, axis):
        if default_axis is not None and axis in (default_axis, x.ndim + default_axis):
            return getattr(x, name)()  # the seed's x.logsoftmax(): the last axis
        return getattr(x, name)(axis=axis)
    return f


def _positional_axis(name):
    return lambda x, axis: getattr(x, name)(axis)


def _torch_softmax(name, x, axis):
    import torch

    return (torch.softmax if name == "softmax" else torch.log_softmax)(x, dim=axis)


def _softmax(fn, name, forms):
    tensor_forms = {k: _method(k) for k in forms}
    tensor_forms[name + "#default_axis"] = _method(name, -1)
    tensor_forms.update({k + "#positional": _positional_axis(k) for k in forms})
    return Op(name=name, arity=1, shapes=lambda d: (shape(d, min_dims=1),), params=_axis_param,
              reference=lambda x, axis: ref.along_axis(fn, x, axis),
              tensor_forms=tensor_forms,
              functions=(name,), domain=Domain(-5.0, 5.0, specials=HUGE),
              torch=lambda x, axis: _torch_softmax(name, x, axis),
              source="{0}.%s(axis={axis})" % name)


OPS += [
    _softmax(ref.softmax, "softmax", ("softmax",)),
    _softmax(ref.logsoftmax, "logsoftmax", ("logsoftmax", "log_softmax")),
]


# ---------------------------------------------------------------------------------------------- matmul
def _matmul_shapes(draw):
    """1-D or 2-D operands, or batches whose leading axes broadcast; inner size may be 0."""
    n, k = draw.integers(1, 3), draw.integers(1, 3)
    m = k if draw.booleans() else draw.integers(1, 3)  # square right operands: a missing transpose shows there
    if draw.booleans(0.15):  # an empty product now and then
        n, k, m = [0 if i == draw.integers(0, 2) else s for i, s in enumerate((n, k, m))]
    # Plain matrix products half the time; else vectors and batches of every rank.
    a_nd, b_nd = (2, 2) if draw.booleans() else (draw.integers(1, 4), draw.integers(1, 4))
    batch = shape(draw, 0, 2, 1, 3)

    def batched(nd, core):
        lead = batch[len(batch) - min(nd - 2, len(batch)):] if nd > 2 else ()
        lead = tuple(1 if draw.booleans(0.25) else s for s in lead)
        return lead + core
    a = (k,) if a_nd == 1 else batched(a_nd, (n, k))
    b = (k,) if b_nd == 1 else batched(b_nd, (k, m))
    return a, b


OPS.append(Op(
    name="matmul", arity=2, shapes=_matmul_shapes, reference=ref.matmul, alias=False, constants=True,
    tensor_forms={"__matmul__": lambda a, b: a @ b, "matmul": lambda a, b: a.matmul(b),
                  "dot": lambda a, b: a.dot(b), "__rmatmul__": lambda a, b: b.__rmatmul__(a)},
    functions=("matmul",), torch=lambda a, b: a @ b, source="{0} @ {1}",
))


def _linear_shapes(draw):
    """x (..., in) of 1 to 3 axes, weight (out, in), and a bias (out,) two times in three."""
    n_in, n_out = draw.integers(0, 3), draw.integers(0, 3)
    lead = tuple(draw.integers(0, 3) for _ in range(draw.integers(0, 2)))
    shapes = (lead + (n_in,), (n_out, n_in))
    return shapes + ((n_out,),) if draw.booleans(0.66) else shapes


def _linear_ref(x, w, b=None):
    """out[..., o] = dot(x[..., :], w[o, :]) + b[o]: one fused dot per output element."""
    x, w = ref.objects(x), ref.objects(w)
    out = np.empty(x.shape[:-1] + w.shape[:1], dtype=object)
    for i in np.ndindex(out.shape):
        *lead, o = i
        out[i] = scalar.dot(list(x[tuple(lead)]), list(w[o]), None if b is None else ref.objects(b)[o])
    return out


def _torch_linear(x, w, b=None):
    import torch.nn.functional as F

    return F.linear(x, w, b)


OPS.append(Op(
    name="linear", arity=3, shapes=_linear_shapes, reference=_linear_ref, constants=True,
    tensor_forms={"tensor.linear": lambda x, w, b=None: linear(x, w, b)},
    functions=("linear",), torch=_torch_linear, note="torch.nn.functional.linear: weight (out, in)",
))


# ---------------------------------------------------------------------------------------------- fused scalar ops
def _fused_sum_shapes(draw):
    return ((draw.integers(0, 6),), ())


def _fused_dot_shapes(draw):
    n = draw.integers(0, 6)
    return ((n,), (n,), ())


def _as_list(a):
    return list(np.asarray(a, dtype=object).ravel())


def _scalar_of(a):
    return np.asarray(a, dtype=object)[()]


def _dot_swapped(ws, xs, b):
    """dot with w_i and x_i exchanged at odd i: the same products, but a constant leaf now puts numbers on both
    sides (``dot([w0, 2.0], [3.0, x1])``)."""
    pairs = list(zip(_as_list(ws), _as_list(xs)))
    left = [x if i % 2 else w for i, (w, x) in enumerate(pairs)]
    right = [w if i % 2 else x for i, (w, x) in enumerate(pairs)]
    return ref.objects(scalar.dot(left, right, _scalar_of(b)))


OPS += [
    Op(name="fused_sum", arity=2, shapes=_fused_sum_shapes, constants=True,
       reference=lambda xs, start: ref.objects(ref.chain_sum(_as_list(xs), _scalar_of(start))),
       value_forms={"scalar.sum": lambda xs, start: ref.objects(scalar.sum(_as_list(xs), start=_scalar_of(start))),
                    # start as the last term: a number among the Values when start is a constant
                    "scalar.sum#start_in_list": lambda xs, start: ref.objects(
                        scalar.sum(_as_list(xs) + [_scalar_of(start)]))},
       tensor_forms={"sum#plus_start": lambda xs, start: xs.sum() + start},
       functions=("sum", "add"), torch=lambda xs, start: xs.sum() + start,
       note="naivegrad.scalar.sum: one node for n terms, checked against a chain of + nodes"),
    # alias: dot(ws, ws, b), each Value twice in one node.
    Op(name="fused_dot", arity=3, shapes=_fused_dot_shapes, constants=True, alias=True,
       reference=lambda ws, xs, b: ref.objects(ref.chain_dot(_as_list(ws), _as_list(xs), _scalar_of(b))),
       value_forms={"scalar.dot": lambda ws, xs, b: ref.objects(scalar.dot(_as_list(ws), _as_list(xs), _scalar_of(b))),
                    "scalar.dot#no_bias": lambda ws, xs, b: ref.objects(
                        scalar.dot(_as_list(ws), _as_list(xs)) + _scalar_of(b)),
                    "scalar.dot#swapped": _dot_swapped},
       tensor_forms={"__matmul__#vector": lambda ws, xs, b: ws @ xs + b,
                     "mul#sum": lambda ws, xs, b: (ws * xs).sum() + b},
       functions=("matmul", "mul", "sum", "add"), torch=lambda ws, xs, b: ws @ xs + b,
       note="naivegrad.scalar.dot: a neuron's pre-activation as one node"),
]
