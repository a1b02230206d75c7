"""Every tensor op described once, with three independent oracles, for the generated tests to loop over.

For each op a ``Spec`` gives: a hypothesis strategy for its inputs (shapes with broadcasting and size-0 and
size-1 axes, values in a domain where the op is smooth), the op on Tensors, the same computation on
``naivegrad.scalar.Value`` (numpy object arrays of Values, so numpy's own reshape, indexing, broadcasting and
reductions move the scalars around and the scalar engine differentiates them), and the op in PyTorch.

The scalar references state the gradient conventions as scalar expressions: a tie in ``maximum`` is
``(a + b) * 0.5`` (half the gradient each), ``max`` over k tied maxima is their mean, ``clip`` is the input
itself inside [lo, hi] bounds included and a constant outside.
"""

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import naivegrad.scalar as scalar
from naivegrad.registry.scalar_ref import matmul as s_matmul  # the one scalar reference of matmul
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor, concatenate, linear, maximum, minimum, nll_loss, stack, where

# ---------------------------------------------------------------------------------------------- strategies
SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
NONEMPTY_SHAPE = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
PAIR = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3)
TRIPLE = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0, max_side=3)


def values(shape, lo, hi, away=0.0):
    """float64 arrays in [lo, hi]; with ``away``, also |x| >= away (away from a kink at 0)."""
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if away:
        elems = elems.filter(lambda x: abs(x) >= away)
    return hnp.arrays(np.float64, shape, elements=elems)


def distinct(shape, lo=-10.0, hi=10.0, gap=1e-3):
    """Arrays whose values are pairwise at least ``gap`` apart (no ties: max and sort are smooth there)."""
    n = int(np.prod(shape))
    return st.lists(st.integers(int(lo / gap), int(hi / gap)), min_size=n, max_size=n, unique=True).map(
        lambda xs: (np.array(xs, dtype=np.float64) * gap).reshape(shape))


def axes_for(ndim, allow_none=True):
    """None, an int (possibly negative) or a tuple of distinct axes."""
    if ndim == 0:
        return st.just(None)
    options = [st.integers(-ndim, ndim - 1),
               st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)]
    if allow_none:
        options.append(st.just(None))
    return st.one_of(options)


# ---------------------------------------------------------------------------------------------- scalar side
def leaves(a):
    """An object array of fresh Value leaves with the data of ``a``."""
    out = np.empty(a.shape, dtype=object)
    for i in np.ndindex(a.shape):
        out[i] = Value(float(a[i]))
    return out


def obj_map(fn, *arrays):
    """fn applied elementwise to broadcast object arrays, giving an object array."""
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=object)
    for i in np.ndindex(out.shape):
        out[i] = fn(*[a[i] for a in arrays])
    return out


def data_of(x):
    return x.data if isinstance(x, Value) else float(x)


def per_slice(fn, A, axis, keepdims):
    """fn(list of Values) -> Value, over the reduced ``axis`` (None, int, tuple) of object array A."""
    nd = A.ndim
    axes = tuple(range(nd)) if axis is None else tuple(sorted(a % nd for a in ((axis,) if isinstance(axis, int) else axis)))
    rest = [i for i in range(nd) if i not in axes]
    moved = np.transpose(A, rest + list(axes))
    kept_shape = tuple(A.shape[i] for i in rest)
    flat = moved.reshape(kept_shape + (int(np.prod([A.shape[i] for i in axes])),))
    out = np.empty(kept_shape, dtype=object)
    for i in np.ndindex(kept_shape):
        out[i] = fn(list(flat[i]))
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(A.shape)))
    return out


def along(fn, A, axis):
    """fn(list of Values) -> list of Values, applied to each 1-D slice of A along ``axis``."""
    moved = np.moveaxis(A, axis, -1)
    out = np.empty(moved.shape, dtype=object)
    for i in np.ndindex(moved.shape[:-1]):
        out[i] = np.array(fn(list(moved[i])) + [None], dtype=object)[:-1]
    return np.moveaxis(out, -1, axis)


def s_mean(vs):
    return scalar.sum(vs) / len(vs) if vs else math.nan


def s_extremum(pick):
    def f(vs):
        m = pick(v.data for v in vs)
        tied = [v for v in vs if v.data == m]
        return scalar.sum(tied) / len(tied) if len(tied) > 1 else tied[0]
    return f


def s_logsumexp(vs):
    if not vs:
        return -math.inf
    m = max(v.data for v in vs)
    return scalar.sum([(v - m).exp() for v in vs]).log() + m


def s_softmax(vs):
    m = max(v.data for v in vs)
    es = [(v - m).exp() for v in vs]
    total = scalar.sum(es)
    return [e / total for e in es]


def s_logsoftmax(vs):
    m = max(v.data for v in vs)
    lse = scalar.sum([(v - m).exp() for v in vs]).log()
    return [(v - m) - lse for v in vs]


def s_maximum(a, b):
    ad, bd = data_of(a), data_of(b)
    return a if ad > bd else b if ad < bd else (a + b) * 0.5


def s_minimum(a, b):
    ad, bd = data_of(a), data_of(b)
    return a if ad < bd else b if ad > bd else (a + b) * 0.5


def s_clip(lo, hi):
    def f(v):
        if lo is not None and v.data < lo:
            return lo
        if hi is not None and v.data > hi:
            return hi
        return v
    return f


# ---------------------------------------------------------------------------------------------- the table
@dataclass
class Spec:
    """One op: ``draw(data) -> (arrays, kwargs)``; ``tensor``, ``scalar`` and ``torch`` compute it."""

    name: str                  # the REGISTRY name of the op it exercises
    draw: Callable
    tensor: Callable           # (*Tensors, **kw) -> Tensor
    scalar: Callable           # (*object arrays of Values, **kw) -> object array of Values / floats
    torch: Optional[Callable]  # (*torch tensors, **kw) -> torch tensor, or None
    exact: bool = True         # no sums inside: values and gradients match the scalar engine to 1e-12 rel
    label: str = ""
    tags: set = field(default_factory=set)  # "cond0": the first input is a bool array, not differentiable
    smooth_draw: Optional[Callable] = None  # inputs away from kinks and ties, for finite differences

    @property
    def id(self):
        return self.label or self.name


def _unary(draw_values):
    def draw(data):
        shape = data.draw(SHAPE, label="shape")
        return [data.draw(draw_values(shape), label="x")], {}
    return draw


def _binary(lo, hi, b_lo=None, b_hi=None, b_away=0.0, tie=False):
    def draw(data):
        sa, sb = data.draw(PAIR, label="shapes").input_shapes
        a = data.draw(values(sa, lo, hi), label="a")
        b = data.draw(values(sb, b_lo if b_lo is not None else lo, b_hi if b_hi is not None else hi, b_away),
                      label="b")
        if tie and a.size and b.size and data.draw(st.booleans(), label="ties"):
            b = np.broadcast_to(a.reshape(-1)[0], sb).copy()
        return [a, b], {}
    return draw


def _binary_distinct(data):
    """Like _binary(-10, 10) but no value of a equals (or nearly equals) any value of b: no ties."""
    sa, sb = data.draw(PAIR, label="shapes").input_shapes
    na, nb = int(np.prod(sa)), int(np.prod(sb))
    both = data.draw(distinct((na + nb,), gap=1e-2), label="values")
    return [both[:na].reshape(sa), both[na:].reshape(sb)], {}


def _with_const(draw_values, consts):
    def draw(data):
        shape = data.draw(SHAPE, label="shape")
        return [data.draw(draw_values(shape), label="x")], {"c": data.draw(consts, label="c")}
    return draw


def _T(torch_name):
    return lambda *ts, **kw: getattr(ts[0], torch_name)(*ts[1:])


def _torch_axis(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


UNARY = [
    ("neg", lambda x: -x, lambda v: -v, lambda x: -x, (-10, 10, 0.0)),
    ("abs", lambda x: x.abs(), abs, lambda x: x.abs(), (-10, 10, 0.01)),
    ("exp", lambda x: x.exp(), Value.exp, lambda x: x.exp(), (-10, 10, 0.0)),
    ("log", lambda x: x.log(), Value.log, lambda x: x.log(), (0.1, 10, 0.0)),
    ("sqrt", lambda x: x.sqrt(), Value.sqrt, lambda x: x.sqrt(), (0.1, 10, 0.0)),
    ("tanh", lambda x: x.tanh(), Value.tanh, lambda x: x.tanh(), (-10, 10, 0.0)),
    ("sigmoid", lambda x: x.sigmoid(), Value.sigmoid, lambda x: x.sigmoid(), (-30, 30, 0.0)),
    ("relu", lambda x: x.relu(), Value.relu, lambda x: x.relu(), (-10, 10, 0.01)),
    ("sin", lambda x: x.sin(), Value.sin, lambda x: x.sin(), (-10, 10, 0.0)),
    ("cos", lambda x: x.cos(), Value.cos, lambda x: x.cos(), (-10, 10, 0.0)),
]

BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, lambda a, b: a + b, _binary(-10, 10)),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, lambda a, b: a - b, _binary(-10, 10)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, lambda a, b: a * b, _binary(-10, 10)),
    ("div", lambda a, b: a / b, lambda a, b: a / b, lambda a, b: a / b, _binary(-10, 10, b_away=0.1)),
    ("pow", lambda a, b: a ** b, lambda a, b: a ** b, lambda a, b: a ** b, _binary(0.1, 5, -3, 3)),
    ("maximum", lambda a, b: a.maximum(b), s_maximum, lambda a, b: a.maximum(b), _binary(-10, 10, tie=True)),
    ("minimum", lambda a, b: minimum(a, b), s_minimum, lambda a, b: a.minimum(b), _binary(-10, 10, tie=True)),
]

CONST = st.sampled_from([2, 0.5, -1.5, 3.0, 0, 1])

SPECS = []
for name, tf, sf, torchf, (lo, hi, away) in UNARY:
    SPECS.append(Spec(name, _unary(lambda s, lo=lo, hi=hi, away=away: values(s, lo, hi, away)),
                      tf, (lambda sf: lambda A: obj_map(sf, A))(sf), torchf))

for name, tf, sf, torchf, draw in BINARY:
    # Broadcast operands sum their gradients: those match to 1e-12 of the summands' size, not bitwise.
    SPECS.append(Spec(name, draw, tf, (lambda sf: lambda A, B: obj_map(sf, A, B))(sf), torchf, exact=False,
                      smooth_draw=_binary_distinct if name in ("maximum", "minimum") else None))

# A Python number on one side: a constant folded into the op, as in the scalar engine.
SPECS += [
    Spec("add", _with_const(lambda s: values(s, -10, 10), CONST), lambda x, c: x + c,
         lambda A, c: obj_map(lambda v: v + c, A), lambda x, c: x + c, label="add_const"),
    Spec("sub", _with_const(lambda s: values(s, -10, 10), CONST), lambda x, c: c - x,
         lambda A, c: obj_map(lambda v: c - v, A), lambda x, c: c - x, label="rsub_const"),
    Spec("mul", _with_const(lambda s: values(s, -10, 10), CONST), lambda x, c: c * x,
         lambda A, c: obj_map(lambda v: c * v, A), lambda x, c: c * x, label="rmul_const"),
    Spec("div", _with_const(lambda s: values(s, -10, 10), st.sampled_from([2, -0.5, 3.0])), lambda x, c: x / c,
         lambda A, c: obj_map(lambda v: v / c, A), lambda x, c: x / c, label="div_const"),
    Spec("div", _with_const(lambda s: values(s, -10, 10, 0.1), CONST), lambda x, c: c / x,
         lambda A, c: obj_map(lambda v: c / v, A), lambda x, c: c / x, label="rdiv_const"),
    Spec("pow", _with_const(lambda s: values(s, 0.1, 5), st.sampled_from([0, 1, 2, 3, 0.5, -1, -2.5])),
         lambda x, c: x ** c, lambda A, c: obj_map(lambda v: v ** c, A), lambda x, c: x ** c, label="pow_const"),
    Spec("pow", _with_const(lambda s: values(s, -5, 5, 0.5), st.sampled_from([0, 1, 2, 3, -1, -2])),
         lambda x, c: x ** c, lambda A, c: obj_map(lambda v: v ** c, A), lambda x, c: x ** c,
         label="pow_int_const"),
    Spec("pow", _with_const(lambda s: values(s, -3, 3), st.sampled_from([2, 0.5, 3.0])),
         lambda x, c: c ** x, lambda A, c: obj_map(lambda v: c ** v, A), lambda x, c: c ** x, label="rpow_const"),
]


def _clip_draw(data):
    shape = data.draw(SHAPE, label="shape")
    lo = data.draw(st.one_of(st.none(), st.sampled_from([-2.0, -0.5])), label="lo")
    hi = data.draw(st.one_of(st.none(), st.sampled_from([0.5, 3.0])) if lo is not None else st.sampled_from([0.5, 3.0]),
                   label="hi")
    # away from the bounds, where the derivative jumps
    x = data.draw(values(shape, -5, 5).filter(
        lambda a: all(b is None or np.all(np.abs(a - b) > 1e-3) for b in (lo, hi))), label="x")
    return [x], {"lo": lo, "hi": hi}


def _where_draw(data):
    sc, sa, sb = data.draw(TRIPLE, label="shapes").input_shapes
    c = data.draw(hnp.arrays(np.bool_, sc), label="cond")
    return [c, data.draw(values(sa, -10, 10), label="a"), data.draw(values(sb, -10, 10), label="b")], {}


SPECS += [
    Spec("clip", _clip_draw, lambda x, lo, hi: x.clip(lo, hi),
         lambda A, lo, hi: obj_map(s_clip(lo, hi), A), lambda x, lo, hi: x.clamp(lo, hi)),
    Spec("where", _where_draw, lambda c, a, b: where(c, a, b),
         lambda C, A, B: obj_map(lambda c, a, b: a if c else b, C, A, B),
         lambda c, a, b: __import__("torch").where(c, a, b), exact=False, tags={"cond0"}),
]


# ---------------------------------------------------------------------------------------------- reductions
def _reduce_draw(nonempty_axes=False, distinct_values=False, keep=True):
    def draw(data):
        shape = data.draw(SHAPE, label="shape")
        axis = data.draw(axes_for(len(shape)), label="axis")
        if nonempty_axes:
            red = range(len(shape)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
            if any(shape[a] == 0 for a in red):  # the max of nothing is an error (tested elsewhere)
                shape = tuple(max(n, 1) for n in shape)
        x = data.draw(distinct(shape) if distinct_values else values(shape, -10, 10), label="x")
        return [x], {"axis": axis, "keepdims": data.draw(st.booleans(), label="keepdims") if keep else False}
    return draw


def _torch_reduce(name):
    def f(x, axis, keepdims):
        dims = _torch_axis(axis, x.ndim)
        if name == "sum":
            return x.sum(dim=dims, keepdim=keepdims) if x.ndim else x
        if name == "mean":
            return x.mean(dim=dims, keepdim=keepdims) if x.ndim else x
        if name == "logsumexp":
            return x.logsumexp(dim=dims, keepdim=keepdims) if x.ndim else x
        return getattr(x, "a" + name)(dim=dims, keepdim=keepdims) if x.ndim else x
    return f


SPECS += [
    Spec("sum", _reduce_draw(), lambda x, axis, keepdims: x.sum(axis, keepdims),
         lambda A, axis, keepdims: per_slice(lambda vs: scalar.sum(vs), A, axis, keepdims),
         _torch_reduce("sum"), exact=False),
    Spec("mean", _reduce_draw(), lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
         lambda A, axis, keepdims: per_slice(s_mean, A, axis, keepdims), _torch_reduce("mean"), exact=False),
    Spec("max", _reduce_draw(nonempty_axes=True, distinct_values=True),
         lambda x, axis, keepdims: x.max(axis, keepdims),
         lambda A, axis, keepdims: per_slice(s_extremum(max), A, axis, keepdims), _torch_reduce("max"),
         exact=False),
    Spec("min", _reduce_draw(nonempty_axes=True, distinct_values=True),
         lambda x, axis, keepdims: x.min(axis, keepdims),
         lambda A, axis, keepdims: per_slice(s_extremum(min), A, axis, keepdims), _torch_reduce("min"),
         exact=False),
    Spec("logsumexp", _reduce_draw(), lambda x, axis, keepdims: x.logsumexp(axis, keepdims),
         lambda A, axis, keepdims: per_slice(s_logsumexp, A, axis, keepdims), _torch_reduce("logsumexp"),
         exact=False),
]


def _softmax_draw(data):
    shape = data.draw(NONEMPTY_SHAPE.filter(lambda s: True), label="shape")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    scale = data.draw(st.sampled_from([1.0, 1e3]), label="scale")  # logits of magnitude 1e3: stability
    return [data.draw(values(shape, -10, 10), label="x") * scale], {"axis": axis}


SPECS += [
    Spec("softmax", _softmax_draw, lambda x, axis: x.softmax(axis),
         lambda A, axis: along(s_softmax, A, axis), lambda x, axis: x.softmax(axis), exact=False),
    Spec("logsoftmax", _softmax_draw, lambda x, axis: x.logsoftmax(axis),
         lambda A, axis: along(s_logsoftmax, A, axis), lambda x, axis: x.log_softmax(axis), exact=False),
]


# ---------------------------------------------------------------------------------------------- matmul
@st.composite
def _matmul_shapes(draw):
    kind = draw(st.sampled_from(["1x1", "1xN", "Nx1", "2x2", "batched"]))
    m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
    if kind == "1x1":
        return (k,), (k,)
    if kind == "1xN":
        batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
        return (k,), batch + (k, n)
    if kind == "Nx1":
        batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
        return batch + (m, k), (k,)
    if kind == "2x2":
        return (m, k), (k, n)
    ba, bb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3)).input_shapes
    return ba + (m, k), bb + (k, n)


def _matmul_draw(data):
    sa, sb = data.draw(_matmul_shapes(), label="shapes")
    return [data.draw(values(sa, -10, 10), label="a"), data.draw(values(sb, -10, 10), label="b")], {}


SPECS.append(Spec("matmul", _matmul_draw, lambda a, b: a @ b, s_matmul, lambda a, b: a @ b, exact=False))


def _linear_draw(data):
    lead = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), label="lead")
    n_in, n_out = data.draw(st.integers(0, 4), label="in"), data.draw(st.integers(0, 4), label="out")
    arrays = [data.draw(values(lead + (n_in,), -10, 10), label="x"),
              data.draw(values((n_out, n_in), -10, 10), label="weight")]
    if data.draw(st.booleans(), label="bias"):
        arrays.append(data.draw(values((n_out,), -10, 10), label="bias"))
    return arrays, {}


def s_linear(X, W, B=None):
    out = s_matmul(X, W.T)
    return out if B is None else obj_map(lambda a, b: a + b, out, B)


def _torch_linear(x, w, b=None):
    import torch

    return torch.nn.functional.linear(x, w, b)


SPECS.append(Spec("linear", _linear_draw, lambda *ts: linear(*ts), s_linear, _torch_linear, exact=False))


# ---------------------------------------------------------------------------------------------- movement
def _reshape_draw(data):
    shape = data.draw(SHAPE, label="shape")
    n = int(np.prod(shape))
    # a factorisation of n into up to 3 sizes, one of which may be given as -1
    sizes = []
    rest = n
    for _ in range(data.draw(st.integers(0, 2), label="k")):
        d = data.draw(st.sampled_from([d for d in range(1, 5) if rest % d == 0] or [1]), label="d")
        sizes.append(d)
        rest //= d
    sizes.append(rest)
    if n and data.draw(st.booleans(), label="minus1"):
        sizes[data.draw(st.integers(0, len(sizes) - 1), label="i")] = -1
    if n == 0:
        sizes = [0] + sizes
    return [data.draw(values(shape, -10, 10), label="x")], {"shape": tuple(sizes)}


def _perm_draw(data):
    shape = data.draw(SHAPE, label="shape")
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    return [data.draw(values(shape, -10, 10), label="x")], {"axes": tuple(perm)}


def _expand_draw(data):
    target = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), label="target")
    ndim = data.draw(st.integers(0, len(target)), label="ndim")
    shape = tuple(data.draw(st.sampled_from([1, n]), label="side") for n in target[len(target) - ndim:])
    return [data.draw(values(shape, -10, 10), label="x")], {"shape": target}


def _squeeze_draw(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)
                      .map(lambda s: tuple(1 if n == 2 else n for n in s)), label="shape")
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True, min_size=1).map(tuple))
                     if ones else st.none(), label="axis")
    return [data.draw(values(shape, -10, 10), label="x")], {"axis": axis}


def _unsqueeze_draw(data):
    shape = data.draw(SHAPE, label="shape")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    return [data.draw(values(shape, -10, 10), label="x")], {"axis": axis}


def _join_draw(new_axis):
    def draw(data):
        base = data.draw(hnp.array_shapes(min_dims=0 if new_axis else 1, max_dims=3, min_side=0, max_side=3),
                         label="shape")
        nd = len(base) + (1 if new_axis else 0)
        axis = data.draw(st.integers(-nd, nd - 1), label="axis")
        count = data.draw(st.integers(1, 3), label="count")
        arrays = []
        for _ in range(count):
            s = list(base)
            if not new_axis:
                s[axis % nd] = data.draw(st.integers(0, 3), label="along")
            arrays.append(data.draw(values(tuple(s), -10, 10), label="x"))
        return arrays, {"axis": axis}
    return draw


def _pad_draw(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), label="shape")
    form = data.draw(st.sampled_from(["int", "pair", "per_axis"]), label="form")
    w = st.integers(0, 2)
    if form == "int":
        pw = data.draw(w, label="w")
    elif form == "pair":
        pw = (data.draw(w, label="b"), data.draw(w, label="a"))
    else:
        pw = tuple((data.draw(w, label="b"), data.draw(w, label="a")) for _ in shape)
    return [data.draw(values(shape, -10, 10), label="x")], {"pad_width": pw, "value": 0.0}


def _index_strategy(shape):
    """An index mixing ints, slices, None, Ellipsis, integer arrays (with repeats) and a bool mask."""
    @st.composite
    def build(draw):
        kind = draw(st.sampled_from(["basic", "intarray", "mask", "mixed"]))
        if kind == "mask" and shape:
            return (draw(hnp.arrays(np.bool_, shape[:draw(st.integers(1, len(shape)))])),)
        parts, dims = [], list(shape)
        use_array = kind in ("intarray", "mixed")
        for n in dims:
            choice = draw(st.sampled_from(["slice", "int", "array", "none"] if n else ["slice", "none"]))
            if choice == "int" and kind != "intarray":
                parts.append(draw(st.integers(-n, n - 1)))
            elif choice == "array" and use_array:
                parts.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=0, max_size=4)),
                                      dtype=np.intp))
                use_array = kind == "intarray"  # numpy moves mixed advanced axes: keep one array in "mixed"
            elif choice == "none":
                parts.extend([None, slice(None)])
            else:
                a, b = sorted(draw(st.integers(-n - 1, n + 1)) for _ in range(2))
                parts.append(slice(a, b, draw(st.sampled_from([1, 2, -1]))))
        if parts and draw(st.booleans()):
            parts[draw(st.integers(0, len(parts) - 1))] = Ellipsis
        return tuple(parts)
    return build()


def _getitem_draw(data):
    shape = data.draw(SHAPE, label="shape")
    index = data.draw(_index_strategy(shape), label="index")
    # advanced indices of different lengths do not broadcast: keep those draws simple
    arrays = [p for p in index if isinstance(p, np.ndarray) and p.dtype != bool]
    if len({len(p) for p in arrays}) > 1:
        index = tuple(p[:0] if isinstance(p, np.ndarray) and p.dtype != bool else p for p in index)
    if sum(p is Ellipsis for p in index) > 1 or len([p for p in index if p is not None and p is not Ellipsis]) > len(shape):
        index = ()
    return [data.draw(values(shape, -10, 10), label="x")], {"index": index}


def _torch_index(index):
    import torch

    if any(isinstance(p, slice) and (p.step or 1) < 0 for p in index):
        reject()  # PyTorch has no negative steps

    def conv(p):
        return torch.as_tensor(p) if isinstance(p, np.ndarray) else p
    return tuple(conv(p) for p in index)


def _torch_pad(x, pad_width, value):
    import torch.nn.functional as F

    pw = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    flat = [int(v) for pair in pw[::-1] for v in pair]
    return F.pad(x, flat, value=value) if x.ndim else x


SPECS += [
    Spec("reshape", _reshape_draw, lambda x, shape: x.reshape(shape), lambda A, shape: A.reshape(shape),
         lambda x, shape: x.reshape(shape)),
    Spec("transpose", _perm_draw, lambda x, axes: x.permute(*axes), lambda A, axes: A.transpose(axes),
         lambda x, axes: x.permute(tuple(axes))),
    Spec("expand", _expand_draw, lambda x, shape: x.expand(shape), lambda A, shape: np.broadcast_to(A, shape),
         lambda x, shape: x.expand(tuple(shape)), exact=False),
    Spec("squeeze", _squeeze_draw, lambda x, axis: x.squeeze(axis), lambda A, axis: A.squeeze(axis),
         lambda x, axis: x.squeeze(axis) if axis is not None else x.squeeze()),
    Spec("unsqueeze", _unsqueeze_draw, lambda x, axis: x.unsqueeze(axis),
         lambda A, axis: np.expand_dims(A, axis), lambda x, axis: x.unsqueeze(axis)),
    Spec("concatenate", _join_draw(False), lambda *xs, axis: concatenate(xs, axis=axis),
         lambda *As, axis: np.concatenate(As, axis=axis), lambda *xs, axis: __import__("torch").cat(xs, axis)),
    Spec("stack", _join_draw(True), lambda *xs, axis: stack(xs, axis=axis),
         lambda *As, axis: np.stack(As, axis=axis), lambda *xs, axis: __import__("torch").stack(xs, axis)),
    Spec("pad", _pad_draw, lambda x, pad_width, value: x.pad(pad_width, value),
         lambda A, pad_width, value: np.pad(A, pad_width, constant_values=value), _torch_pad),
    Spec("getitem", _getitem_draw, lambda x, index: x[index], lambda A, index: A[index],
         lambda x, index: x[_torch_index(index)], exact=False),
]

# ---------------------------------------------------------------------------------------------- losses
def _nll_draw(data):
    n, c = data.draw(st.integers(0, 5), label="n"), data.draw(st.integers(1, 5), label="c")
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="target"),
                      dtype=np.int64)
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    return [data.draw(values((n, c), -10, 10), label="logp")], {"target": target, "reduction": reduction}


def s_nll(A, target, reduction):
    picked = [A[i, t] for i, t in enumerate(target)]
    if reduction == "none":
        return np.array([-v for v in picked] + [None], dtype=object)[:-1]
    if reduction == "sum":
        return -scalar.sum(picked)
    return -scalar.sum(picked) / len(picked) if picked else math.nan


def _torch_nll(x, target, reduction):
    import torch

    return torch.nn.functional.nll_loss(x, torch.as_tensor(target), reduction=reduction)


SPECS.append(Spec("nllloss", _nll_draw, lambda x, target, reduction: nll_loss(x, target, reduction),
                  s_nll, _torch_nll, exact=False))

SPEC_IDS = [s.id for s in SPECS]
