"""Reductions (sum, mean, max, min, logsumexp, var, std, norm, prod), max / min along a dim (PyTorch's values),
cumsum, softmax / logsoftmax, matmul, and the scalar engine's fused ``sum`` / ``dot``: ops that mix many elements,
checked against scalar compositions (``scalar_ref``). Each reduction runs in numpy's spelling (axis=, keepdims=)
and PyTorch's (dim=, keepdim=)."""

import math

import numpy as np

from naivegrad import scalar, tensor
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


def _dim_form(name):
    """PyTorch's spelling: dim= and keepdim= (dim=None reduces everything)."""
    return lambda x, axis, keepdims: getattr(x, name)(dim=axis, keepdim=keepdims)


def _keepdim_form(name):
    """axis given numpy's way, keepdim PyTorch's (max and min with axis: still numpy's max, not torch.max(dim))."""
    return lambda x, axis, keepdims: getattr(x, name)(axis, keepdim=keepdims)


def reduction(name, fn, nonempty=False, ties=False, torch_name=None, note="", domain=None):
    forms = {name: lambda x, axis, keepdims: getattr(x, name)(axis=axis, keepdims=keepdims),
             name + "#positional": _positional(name)}
    if name in ("max", "min"):
        forms[name + "#keepdim"] = _keepdim_form(name)
    else:
        forms[name + "#dim"] = _dim_form(name)
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
    tensor_forms.update({k + "#dim": (lambda k: lambda x, axis: getattr(x, k)(dim=axis))(k) for k in forms})
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


# ---------------------------------------------------------------------------------------------- along one dim
def _dim_shapes(nonempty):
    """One shape (0-d too: PyTorch's dims 0 and -1 of a scalar); with ``nonempty``, some axis is nonempty."""
    def shapes(draw):
        s = shape(draw)
        if nonempty and s and not any(s):
            s = (1,) + s[1:]
        return (s,)
    return shapes


def _one_dim(nonempty, keepdims=True):
    """One int dim (negative half the time), among the nonempty axes with ``nonempty``; 0 or -1 for a 0-d shape."""
    def params(draw, shapes, mode):
        (s,) = shapes
        axes = [i for i, n in enumerate(s) if n or not nonempty] or [0]
        a = draw.sampled_from(axes)
        out = {"axis": a - max(len(s), 1) if draw.booleans() else a}
        if keepdims:
            out["keepdims"] = draw.booleans()
        return out
    return params


def _on_dim(fn):
    """A reference along one dim of an object array, 0-d included (a scalar is its own reduction)."""
    def reference(x, axis, keepdims=False):
        x = ref.objects(x)
        if x.ndim == 0:
            return x
        return fn(x, axis, keepdims)
    return reference


def _extremum_dim(name, pick):
    def values(x, axis, keepdims):
        return getattr(x, name)(dim=axis, keepdim=keepdims).values

    def first(x, axis, keepdims):
        return getattr(x, name)(dim=axis, keepdim=keepdims)[0]  # the namedtuple, unpacked as a tuple

    def torch_form(x, axis, keepdims):
        import torch

        return getattr(torch, name)(x, dim=axis, keepdim=keepdims).values

    return Op(name=name + "_dim", arity=1, shapes=_dim_shapes(True), params=_one_dim(True),
              reference=_on_dim(lambda x, axis, keepdims: ref.reduce_slices(ref.first_extremum(pick), x, axis,
                                                                            keepdims)),
              tensor_forms={name + "#dim": values, name + "#dim_tuple": first},
              functions=(name + "dim",), ties=True, domain=TIES, torch=torch_form,
              source="{0}.%s(dim={axis}, keepdim={keepdims}).values" % name,
              note="torch.%s(x, dim): the first extremum (or the first nan) takes the whole gradient" % name)


def _cumsum_ref(x, axis, keepdims=False):
    return ref.along_axis(ref.running_sums, x, axis)


def _torch_cumsum(x, axis):
    import torch

    return torch.cumsum(x, dim=axis)


OPS += [
    _extremum_dim("max", max),
    _extremum_dim("min", min),
    Op(name="cumsum", arity=1, shapes=_dim_shapes(False), params=_one_dim(False, keepdims=False),
       reference=_on_dim(_cumsum_ref),
       tensor_forms={"cumsum": lambda x, axis: x.cumsum(axis), "cumsum#dim": lambda x, axis: x.cumsum(dim=axis),
                     "cumsum#axis": lambda x, axis: x.cumsum(axis=axis),
                     "tensor.cumsum": lambda x, axis: tensor.cumsum(x, axis)},
       functions=("cumsum",), torch=_torch_cumsum, source="{0}.cumsum({axis})"),
]


# ---------------------------------------------------------------------------------------------- statistics
# correction: PyTorch's (n - correction in the denominator). Cases keep n - correction > 0 once n >= 2: PyTorch's
# gradient there is not one rule (dim=None: where(x == mean, nan, inf) * g, losing the sign; dim given:
# 2 / (n - correction) unclamped, finite for n < correction), so tests/tensor/test_reductions_api.py checks those
# values against PyTorch and the gradient against the derivative of what the forward computes.
CORRECTIONS = (1.0, 0.0, 0.5, 2.0)


def _stat_params(draw, shapes, mode):
    (s,) = shapes
    axis = axis_arg(draw, len(s))
    n = int(np.prod([s[i] for i in ref._axes(axis, len(s))])) if s else 1
    correction = draw.sampled_from([c for c in CORRECTIONS if c <= 1.0 or c < n])
    return {"axis": axis, "keepdims": draw.booleans(), "correction": correction}


def _stat_forms(name):
    def torch_style(x, axis, keepdims, correction):
        if correction == 1.0 and not keepdims:
            return getattr(x, name)(axis) if axis is not None else getattr(x, name)()  # x.var(), x.var(1)
        return getattr(x, name)(dim=axis, correction=correction, keepdim=keepdims)

    def legacy(x, axis, keepdims, correction):
        if correction in (0.0, 1.0):  # PyTorch's positional (dim, unbiased, keepdim), and x.var(False)
            if axis is None and not keepdims:
                return getattr(x, name)(bool(correction))
            return getattr(x, name)(axis, bool(correction), keepdims)
        return getattr(x, name)(axis, keepdim=keepdims, correction=correction)

    def numpy_style(x, axis, keepdims, correction):
        return getattr(x, name)(axis=axis, keepdims=keepdims, correction=correction)

    def module(x, axis, keepdims, correction):
        return getattr(tensor, name)(x, axis, keepdim=keepdims, correction=correction)

    return {name: torch_style, name + "#unbiased": legacy, name + "#axis": numpy_style, "tensor." + name: module}


def _torch_stat(name):
    def f(x, axis, keepdims, correction):
        import warnings

        import torch

        with warnings.catch_warnings():  # "degrees of freedom is <= 0": n = 0, or n = 1 with correction 1
            warnings.simplefilter("ignore", UserWarning)
            return getattr(torch, name)(x, dim=axis, correction=correction, keepdim=keepdims)
    return f


STAT = Domain(-3.0, 3.0, step=1.0)  # a coarse grid: slices of equal elements (variance 0, std's kink) are frequent
# n = 1 with correction >= 1 divides 0 by 0, where PyTorch's dim=None gradient is where(x == mean, nan, inf) * g: inf
# at x = nan (nan != nan), where the derivative of the forward gives nan. No nan among such cases' inputs.
STAT_NO_NAN = Domain(-3.0, 3.0, step=1.0, nonfinite=(math.inf, -math.inf))


def _std_smooth(arrays, params):
    """std has a kink where a slice's elements are all equal (std 0): smooth cases keep every slice's spread."""
    (x,) = arrays
    if not x.size:
        return True
    spread = ref.reduce_slices(lambda vs: max(vs) - min(vs) if vs else 1.0, x, params["axis"], False)
    return bool(np.all(np.asarray(spread, dtype=float) >= 0.1))


def _stat(name, fn):
    return Op(name=name, arity=1, shapes=_shape, params=_stat_params, smooth=_std_smooth if name == "std" else None,
              reference=lambda x, axis, keepdims, correction: ref.reduce_slices(fn(correction), x, axis, keepdims),
              tensor_forms=_stat_forms(name), functions=(name,),
              domains=lambda params: (STAT if params["correction"] < 1.0 else STAT_NO_NAN,),
              torch=_torch_stat(name), source="{0}.%s(dim={axis}, keepdim={keepdims}, correction={correction})" % name,
              note="torch.%s: correction=1 by default (Bessel's)" % name)


OPS += [_stat("var", ref.variance), _stat("std", ref.std)]


# ---------------------------------------------------------------------------------------------- norms
NORM_PS = (2.0, "fro", 1.0, math.inf, -math.inf, 0.0, 3.0, 1.5, 0.5, -1.0)


def _norm_case(draw, mode):
    p = draw.sampled_from(NORM_PS)
    if mode == "smooth" and p == 0.0:
        p = 2.0  # the count of nonzeros is piecewise constant: nothing for differences to see
    nonempty = p != "fro" and (p < 0 or math.isinf(p))  # no identity: an error on an empty slice
    (s,) = _max_shapes(draw) if nonempty else _shape(draw)
    axis = axis_arg(draw, len(s), nonempty_sizes=s if nonempty else None)
    return (s,), {"p": p, "axis": axis, "keepdims": draw.booleans()}


def _norm_smooth(arrays, params):
    """Away from ties of |x| for p = +-inf (x and -x tie there, which distinct draws allow)."""
    p = params["p"]
    if p == "fro" or not math.isinf(p):
        return True
    a = np.abs(arrays[0])
    return not ref.reduce_slices(lambda vs: _near_ties(vs), a, params["axis"], False).any() if a.size else True


def _near_ties(vs):
    v = np.sort(np.asarray(vs, dtype=float))
    return bool(v.size > 1 and np.any(np.diff(v) < 0.02))


def _torch_norm(x, p, axis, keepdims):
    import torch

    return torch.linalg.vector_norm(x, ord=2.0 if p == "fro" else p, dim=axis, keepdim=keepdims)


def _norm_forms():
    def torch_style(x, p, axis, keepdims):
        if p == "fro" and axis is None and not keepdims:
            return x.norm()
        return x.norm(p, dim=axis, keepdim=keepdims)

    return {"norm": torch_style,
            "norm#axis": lambda x, p, axis, keepdims: x.norm(p=p, axis=axis, keepdims=keepdims),
            "tensor.norm": lambda x, p, axis, keepdims: tensor.norm(x, p, axis, keepdims)}


OPS.append(Op(
    name="norm", arity=1, case=_norm_case,
    reference=lambda x, p, axis, keepdims: ref.reduce_slices(ref.vector_norm(2.0 if p == "fro" else float(p)), x,
                                                             axis, keepdims),
    tensor_forms=_norm_forms(), functions=("norm",), smooth=_norm_smooth,
    domain=Domain(-3.0, 3.0, kinks=(0.0,), step=0.5), torch=_torch_norm,
    source="{0}.norm({p!r}, dim={axis}, keepdim={keepdims})",
    note="torch.linalg.vector_norm, with PyTorch's gradients at 0 (0 at the zero vector) and at ties (p = inf)"))


# ---------------------------------------------------------------------------------------------- products
def _prod_params(draw, shapes, mode):
    (s,) = shapes
    axis = None if not s or draw.booleans(0.33) else draw.integers(0, len(s) - 1)
    if axis is not None and draw.booleans():
        axis -= len(s)
    return {"axis": axis, "keepdims": draw.booleans()}


def _torch_prod(x, axis, keepdims):
    import torch

    if axis is None:
        out = torch.prod(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.prod(x, dim=axis, keepdim=keepdims)


def _prod_positional(x, axis, keepdims):
    if axis is None and not keepdims:
        return x.prod()
    return x.prod(axis, keepdims)


OPS.append(Op(
    name="prod", arity=1, shapes=_shape, params=_prod_params,
    reference=lambda x, axis, keepdims: ref.reduce_slices(lambda vs: ref.product(vs, flat=axis is None), x, axis,
                                                         keepdims),
    tensor_forms={"prod": lambda x, axis, keepdims: x.prod(dim=axis, keepdim=keepdims),
                  "prod#positional": _prod_positional,
                  "prod#axis": lambda x, axis, keepdims: x.prod(axis=axis, keepdims=keepdims),
                  "tensor.prod": lambda x, axis, keepdims: tensor.prod(x, axis, keepdims)},
    functions=("prod",), torch=_torch_prod, source="{0}.prod(dim={axis}, keepdim={keepdims})",
    # Zeros a third of the time (the "kink" marks): one zero in a slice, or several. Finite inputs only: where a
    # slice holds inf or nan and the tensor no zero, PyTorch divides (result / x: inf / inf = nan) where the
    # product of the others is finite.
    domain=Domain(-2.0, 2.0, kinks=(0.0,), step=0.5, nonfinite=()),
    note="each element's gradient is the product of the others, exact with one zero or several (as torch)"))


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
