"""Tensor-only ops composed from scalar-engine ops on numpy object arrays of Values: the oracles.

numpy moves the Values around (reshape, transpose, broadcasting, indexing, padding: the same Value object ends
up in several places, and the scalar engine adds up its gradient from each); arithmetic is Value arithmetic,
with the fused ``naivegrad.scalar.sum`` / ``dot`` for sums. Where the tensor engine has a convention at a
non-differentiable point, it is written here as a plain scalar expression, so that it is stated once:

- ``maximum(a, b)`` is the larger operand itself (the other one is not in the graph: it gets exactly 0, even
  from an infinite gradient), ``(a + b) / 2`` at a tie (half the gradient each), and ``a + b`` where either is
  nan (PyTorch passes the whole gradient to both).
- ``max`` over a slice with k tied maxima is their mean (the tie set a constant chosen from the data), and the
  other elements get 0 * the gradient (nan from an infinite gradient: ``torch.amax`` multiplies, it does not
  select) through ``zero_term``; a slice with a nan gives nan, value and gradients. ``clip`` is x itself inside
  [lo, hi] (bounds included) and the bound, a constant, outside (and at nan); max pooling picks the first
  maximum in row-major order, or the last nan.
- ``torch.max(x, dim)``'s values are the first maximum of the slice itself, or its first nan; ``var`` is one
  node whose derivative rule, 2 (v - mean) / (n - correction) with the mean a Value expression of the operands,
  is PyTorch's ``var_backward`` (see ``variance``); ``std`` is sqrt of it, and a fresh constant 0 where the
  variance is 0; ``norm`` spells out PyTorch's rule for each p (``vector_norm``); ``prod`` is a chain of
  products (the product of a whole tensor with two zeros or more: a constant 0, as PyTorch).

These conventions are PyTorch's, with inf, -inf and nan among the inputs and the cotangents (tests/parity
draws them): a derivative that selects gives an exact 0, one that multiplies gives 0 * inf = nan. Every node
carries a derivative rule (none is built by hand), so each reference differentiates to any order
(``backward(create_graph=True)``) and its second derivatives are the op's (tests/parity/test_ops_second_order.py).

Elements of the results are Values or plain floats (constants, e.g. padding).
"""

import math

import numpy as np

from naivegrad import scalar
from naivegrad.engines import is_value
from naivegrad.scalar import Value, ieee
from naivegrad.scalar.fused import _fused
from naivegrad.scalar.value import Op

__all__ = ["objects", "data_of", "reduce_slices", "along_axis", "maximum", "minimum", "clip", "sum_", "mean",
           "extremum", "logsumexp", "softmax", "logsoftmax", "matmul", "conv2d", "max_pool2d", "avg_pool2d",
           "chain_sum", "chain_dot", "first_extremum", "variance", "std", "vector_norm", "running_sums",
           "product", "zero_term"]


def objects(x):
    """``x`` as a numpy object array (a lone Value or number becomes 0-d)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    out = np.empty(np.shape(x), dtype=object)
    if out.ndim == 0:
        out[()] = x if is_value(x) else float(np.asarray(x))
        return out
    out[...] = x
    return out


def data_of(x):
    return x.data if is_value(x) else float(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    return (axis % ndim,)


def reduce_slices(fn, A, axis=None, keepdims=False):
    """``fn(list of elements) -> element`` over the reduced axes of object array A."""
    A = objects(A)
    nd = A.ndim
    axes = _axes(axis, nd)
    rest = [i for i in range(nd) if i not in axes]
    kept = tuple(A.shape[i] for i in rest)
    moved = np.transpose(A, rest + list(axes)).reshape(kept + (math.prod(A.shape[i] for i in axes),))
    out = np.empty(kept, dtype=object)
    for i in np.ndindex(kept):
        out[i] = fn(list(moved[i]))
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(A.shape)))
    return out


def along_axis(fn, A, axis):
    """``fn(list) -> list`` applied to each 1-D slice of A along ``axis``."""
    moved = np.moveaxis(objects(A), axis, -1)
    out = np.empty(moved.shape, dtype=object)
    for i in np.ndindex(moved.shape[:-1]):
        row = fn(list(moved[i]))
        for j, v in enumerate(row):
            out[i + (j,)] = v
    return np.moveaxis(out, -1, axis)


# ---------------------------------------------------------------------------------------------- elementwise
def maximum(a, b):
    """max(a, b): the larger operand itself (the other gets no gradient at all, so exactly 0 whatever the
    gradient is), half the gradient to each at a tie, and all of it to both where either is nan."""
    return _larger(a, b, 1.0)


def minimum(a, b):
    return _larger(a, b, -1.0)


def _larger(a, b, sign):
    x, y = data_of(a) * sign, data_of(b) * sign
    if x != x or y != y:
        return a + b  # nan, and PyTorch's maximum hands the whole gradient to both operands
    if x == y:
        return (a + b) * 0.5  # exact: (x + x) / 2 == x, infinities included
    return a if x > y else b


def clip(x, lo=None, hi=None):
    """x inside [lo, hi] (bounds included: gradient 1), else the bound (a constant: gradient 0)."""
    v = data_of(x)
    if lo is not None and hi is not None and lo > hi:
        return float(hi)  # numpy's np.clip: the upper bound wins
    if v != v:
        return v  # nan stays nan, a constant: PyTorch's clamp passes no gradient to it
    if lo is not None and v < lo:
        return float(lo)
    if hi is not None and v > hi:
        return float(hi)
    return x


# ---------------------------------------------------------------------------------------------- reductions
def sum_(vs):
    return scalar.sum(vs)


def mean(vs):
    # scalar.sum of nothing is 0; 0 / 0 is nan, as numpy's and torch's mean of nothing.
    return scalar.sum(vs) / float(len(vs))


def zero_term(vs, value=0.0):
    """``value`` plus 0 * tanh(v) for each Value v of ``vs`` (none of them nan): worth exactly ``value``, with a
    derivative with respect to each v of 0 * (1 - tanh(v)**2), a product: the gradient reaches v as 0 * g, so nan
    from an infinite g (PyTorch's backward multiplies by a mask, it does not select), and every higher
    derivative is 0 * ... as well. Forward mode selects instead (PyTorch's jvps pick with ``where``, and so do the
    tensor engine's): the term carries no tangent, so a tangent of v, even inf, adds nothing."""
    term = scalar.sum([v.tanh() * 0.0 for v in vs if is_value(v)], start=value)
    term.tangent = None
    return term


def extremum(pick):
    """max (``pick=max``) or min of a slice, as ``torch.amax``: k tied extrema share the gradient equally (the
    sum of the tied elements over k: the tie set is a constant, chosen from the data); every other element gets
    0 * the gradient, a product (nan from an infinite gradient), through ``zero_term``. A slice with a nan has no
    element equal to its maximum (nan): value and every gradient nan, as PyTorch divides the gradient among 0
    maxima. All of it Value ops: the second derivative is 0, as the tensor engine's and torch's (a constant mask)."""
    def f(vs):
        data = [data_of(v) for v in vs]
        if any(d != d for d in data):
            return scalar.sum(vs) * math.nan
        m = pick(data)
        tied = [v for v, d in zip(vs, data) if d == m]
        rest = [v for v, d in zip(vs, data) if d != m and is_value(v)]
        out = tied[0] if len(tied) == 1 else scalar.sum(tied) * (1.0 / len(tied))
        return out + zero_term(rest) if rest else out
    return f


def _shift(vs):
    """The largest finite value (0 if none): what logsumexp subtracts, a constant."""
    return max((d for d in map(data_of, vs) if math.isfinite(d)), default=0.0)


def logsumexp(vs):
    """log(sum(exp(v))), shifted by the largest finite value (a constant) so nothing finite overflows: then an
    inf gives inf and its gradient nan, the other elements' 0 (PyTorch's g * exp(x - out)); all -inf gives
    -inf, and gradients nan."""
    if not vs:
        return -math.inf
    m = _shift(vs)
    return scalar.sum([(v - m).exp() for v in vs]).log() + m


def softmax(vs):
    if not vs:
        return []
    m = max(data_of(v) for v in vs)
    es = [(v - m).exp() for v in vs]
    total = scalar.sum(es)
    return [e / total for e in es]


def logsoftmax(vs):
    if not vs:
        return []
    m = max(data_of(v) for v in vs)
    lse = scalar.sum([(v - m).exp() for v in vs]).log()
    return [(v - m) - lse for v in vs]


def first_extremum(pick):
    """``torch.max(x, dim)`` (``pick=max``) or ``torch.min``'s values over a slice: its first maximum, or its first
    nan, that Value itself (a selection: the other elements are not in the graph, and get exactly 0)."""
    def f(vs):
        data = [data_of(v) for v in vs]
        for v, d in zip(vs, data):
            if d != d:
                return v
        return vs[data.index(pick(data))]
    return f


class _SliceOp(Op):
    """The op of a node over a whole slice, whose rule takes the operands as one list: ``rule(operands)`` gives
    d out / d operand for each, on floats when the node is made (what ``backward()`` multiplies) and on the
    operand Values under ``backward(create_graph=True)`` (a rule written in Value arithmetic: any order)."""

    def derivatives(self, node):
        return self.rule(list(node._prev))


def _mean_of(xs):
    """The mean of floats, or of Values as a Value expression (one fused sum over n)."""
    if xs and is_value(xs[0]):
        return scalar.sum(xs) / float(len(xs))
    return sum(xs) / len(xs)


def variance(correction):
    """sum((v - m)**2) / max(0, n - correction) (m the mean), as one node over the slice whose derivative rule is
    PyTorch's ``var_backward``: 2 (v - m) / (n - correction), with m the mean of the operands, a Value expression
    under ``create_graph``, so the second derivative 2 (delta_ij - 1/n) / (n - correction) is var's, mean term
    included. It is the derivative of the variance (the mean's own term, -2 sum(v - m) / (n - correction), is 0);
    as a rule, not a composition with the mean in it, it leaves that term out as PyTorch does, where it is not 0
    in floats: an inf among the inputs gives the others -inf, not nan, and an infinite gradient gives +-inf (nan
    only where v == m), not nan. (Value ops alone cannot do both: any graph through a Value mean carries that
    term, and one without it is right to first order only.) n <= correction divides by 0: inf, or nan where the
    sum is 0; constants give a constant."""
    def f(vs):
        n = len(vs)
        dof = max(0.0, n - correction)
        data = [data_of(v) for v in vs]
        m = sum(data) / n if n else math.nan
        value = ieee.div(sum([(d - m) * (d - m) for d in data], 0.0), dof)
        if not vs or not all(is_value(v) for v in vs):
            return Value(value)
        scale = ieee.div(2.0, dof)

        def rule(xs):
            mean = _mean_of(xs)
            return [(x - mean) * scale for x in xs]
        return _fused(value, tuple(vs), tuple(rule(data)), _SliceOp("var", rule))
    return f


def std(correction):
    """sqrt(variance), and exactly 0 with no gradient where the variance is 0 (PyTorch's std_backward selects 0
    there, at sqrt's kink): a fresh constant Value."""
    var = variance(correction)

    def f(vs):
        v = var(vs)
        return Value(0.0) if v.data == 0.0 else v.sqrt()
    return f


def vector_norm(p):
    """``torch.linalg.vector_norm`` of a slice with PyTorch's conventions at the points where it is not
    differentiable, each as a plain expression:

    - p = 0: the count of nonzero elements, a constant (no gradient at all).
    - p = 1: sum |v| (abs'(0) = 0, and 0 at nan: PyTorch's sgn).
    - p = +-inf: the mean of the elements whose |v| is the norm, or that are nan (PyTorch's mask), and 0 * the
      gradient to the others (a product, ``zero_term``, as ``extremum``).
    - p = 2: sqrt(sum v * v); at the zero vector, 0 * the gradient to each element (PyTorch multiplies the
      gradient by x / norm taken as 0): ``zero_term``.
    - other p > 1: (sum |v|**p)**(1/p); at the zero vector a constant 0 (PyTorch selects 0 there).
    - p < 1: the same sum, where a zero element's term |0|**p (0, or inf for p < 0) has the derivative 0, a
      product (PyTorch takes |x|**(p-1) as 0 there, then multiplies): ``zero_term`` again."""
    def f(vs):
        data = [data_of(v) for v in vs]
        if p == 0.0:
            return Value(float(sum(d != 0.0 for d in data)))
        if p == 1.0:
            return scalar.sum([abs(v) for v in vs])
        if math.isinf(p):
            a = [abs(d) for d in data]
            m = math.nan if any(x != x for x in a) else (max(a) if p > 0 else min(a))
            hit = [v for v, x in zip(vs, a) if x == m or x != x]
            rest = [v for v, x in zip(vs, a) if not (x == m or x != x)]
            out = scalar.sum([abs(v) for v in hit]) * (1.0 / len(hit))
            return out + zero_term(rest) if any(map(is_value, rest)) else out
        zero = all(d == 0.0 for d in data)
        if p == 2.0:
            return zero_term(vs) if zero else scalar.sum([v * v for v in vs]).sqrt()
        if p < 1.0:
            terms = [zero_term([v], 0.0 if p > 0 else math.inf) if d == 0.0 else abs(v) ** p
                     for v, d in zip(vs, data)]
            return scalar.sum(terms) ** (1.0 / p)
        return Value(0.0) if zero else scalar.sum([abs(v) ** p for v in vs]) ** (1.0 / p)
    return f


def running_sums(vs):
    """cumsum of a slice: one fused sum per prefix."""
    return [scalar.sum(vs[:i + 1]) for i in range(len(vs))]


def product(vs, flat=False):
    """The product of a slice as a chain of * nodes (the derivative of each element: the product of the others,
    zeros included); 1 for nothing. ``flat``: the product of a whole tensor (PyTorch's ``prod()`` without dim),
    whose gradient PyTorch sets to exactly 0 when two elements or more are 0: then a constant 0."""
    if not vs or (flat and sum(data_of(v) == 0.0 for v in vs) > 1):
        return Value(0.0 if vs else 1.0)
    out = vs[0]
    for v in vs[1:]:
        out = out * v
    return out


# ---------------------------------------------------------------------------------------------- products
def matmul(A, B):
    """numpy's matmul rules (1-D operands promoted, batch axes broadcast), one fused dot per output element."""
    A, B = objects(A), objects(B)
    A2 = A[None, :] if A.ndim == 1 else A
    B2 = B[:, None] if B.ndim == 1 else B
    batch = np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
    A2 = np.broadcast_to(A2, batch + A2.shape[-2:])
    B2 = np.broadcast_to(B2, batch + B2.shape[-2:])
    out = np.empty(batch + (A2.shape[-2], B2.shape[-1]), dtype=object)
    for i in np.ndindex(out.shape):
        *b, r, c = i
        out[i] = scalar.dot(list(A2[tuple(b) + (r,)]), list(B2[tuple(b) + (slice(None), c)]))
    if A.ndim == 1:
        out = out[..., 0, :]
    if B.ndim == 1:
        out = out[..., 0]
    return out


def chain_sum(vs, start=0.0):
    """micrograd's way: one + node per term (the fused sum's reference)."""
    total = start
    for v in vs:
        total = total + v
    return total if is_value(total) else Value(total)


def chain_dot(ws, xs, bias=None):
    total = 0.0
    for w, x in zip(ws, xs):
        total = total + w * x
    if bias is not None:
        total = total + bias
    return total if is_value(total) else Value(total)


# ---------------------------------------------------------------------------------------------- images
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _pads(padding, kernel, dilation):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def _pad_images(X, pads, fill):
    top, bottom, left, right = pads
    n, c, h, w = X.shape
    P = np.empty((n, c, h + top + bottom, w + left + right), dtype=object)
    P[...] = fill
    P[:, :, top:top + h, left:left + w] = X
    return P


def conv2d(X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, y, x] = b[o] + sum over (c, i, j) of W[o, c, i, j] * Xpadded[n, group(o) c, ...]: one dot each."""
    X, W = objects(X), objects(W)
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    stride, dilation = _pair(stride), _pair(dilation)
    o, cg, kh, kw = W.shape
    pads = _pads(padding, (kh, kw), dilation)
    # Padding multiplies its weight (0 * inf = nan), and, when the input has tangents, its tangent 0 does too:
    # PyTorch convolves the zero-padded input and tangent.
    with_tangent = any(is_value(v) and v.tangent is not None for v in X.flat)
    P = _pad_images(X, pads, Value(0.0, tangent=0.0) if with_tangent else 0.0)
    n = X.shape[0]
    oh = (P.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (P.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    per_group = o // groups
    out = np.empty((n, o, oh, ow), dtype=object)
    for m, oc, y, x in np.ndindex(out.shape):
        g = oc // per_group
        y0, x0 = y * stride[0], x * stride[1]
        window = P[m, g * cg:(g + 1) * cg, y0:y0 + dilation[0] * (kh - 1) + 1:dilation[0],
                   x0:x0 + dilation[1] * (kw - 1) + 1:dilation[1]]
        out[m, oc, y, x] = scalar.dot(list(W[oc].ravel()), list(window.ravel()),
                                      None if b is None else objects(b)[oc])
    return out[0] if unbatched else out


def _pool(X, kernel_size, stride, padding, fill, fn):
    X = objects(X)
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    P = _pad_images(X, (ph, ph, pw, pw), fill)
    oh = (P.shape[2] - k[0]) // s[0] + 1
    ow = (P.shape[3] - k[1]) // s[1] + 1
    out = np.empty(X.shape[:2] + (oh, ow), dtype=object)
    for m, c, y, x in np.ndindex(out.shape):
        y0, x0 = y * s[0], x * s[1]
        out[m, c, y, x] = fn(P[m, c, y0:y0 + k[0], x0:x0 + k[1]], (y0 - ph, x0 - pw), X.shape[2:])
    return out[0] if unbatched else out


def max_pool2d(X, kernel_size, stride=None, padding=0):
    """Each window's first maximum in row-major order (padding, -inf, never wins): that Value itself."""
    def first_max(window, _origin, _size):
        best = None
        for v in window.ravel():
            if v is None or isinstance(v, float):  # padding
                continue
            if best is None or v.data > best.data or v.data != v.data:  # a nan wins, the last one (PyTorch)
                best = v
        return best
    return _pool(X, kernel_size, stride, padding, None, first_max)


def avg_pool2d(X, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Each window's sum over its size (or, without count_include_pad, over its real, unpadded cells)."""
    k = _pair(kernel_size)

    def average(window, origin, size):
        if count_include_pad:
            count = k[0] * k[1]
        else:
            rows = min(origin[0] + k[0], size[0]) - max(origin[0], 0)
            cols = min(origin[1] + k[1], size[1]) - max(origin[1], 0)
            count = rows * cols
        return scalar.sum(list(window.ravel())) * (1.0 / count)
    return _pool(X, kernel_size, stride, padding, 0.0, average)
