"""Fused n-ary nodes: one node, with all its local derivatives, where micrograd would build a chain.

``sum(vs)`` over n Values is one node instead of n - 1 additions, and ``dot(ws, xs, bias)`` (a neuron's
pre-activation) is one node instead of 2n. Backward then walks a short graph, which is what makes the
scalar engine's MLP fast while every derivative stays a plain float. Each has its derivative rule, used as
value.py's are: on floats when the node is made, on Values by ``backward(create_graph=True)``.
"""

import builtins
from operator import attrgetter, mul as _mul

from ._collector import pausing_collector
from .value import Op, Value, _const, _new, _ids, _record_many

__all__ = ["sum", "dot"]

_tangent = attrgetter("tangent")


def _fused(data, prev, local, op, tangents=True):
    """Make an n-ary node: ``prev`` its Value operands, ``local`` d(data)/d(operand) for each.

    ``tangents=False`` says that no operand carries a tangent (the caller checked): none is looked for.
    """
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._id = next(_ids)
    out.tangent = None
    if tangents and not _no_tangents(prev):
        out.tangent = builtins.sum(l * p.tangent for l, p in zip(local, prev) if p.tangent is not None)
    _record_many(out, tuple(prev), tuple(local), op)
    return out


def _no_tangents(values):
    return set(map(_tangent, values)) <= _NONE


_NONE = {None}


def _check(x, what):
    raise TypeError(f"{what} needs Values or real numbers, got {type(x).__name__}: {x!r}")


# ---------------------------------------------------------------------------- sum
def _d_sum(terms, out):
    return (1.0,) * len(terms)  # d/dterm = 1 for every term


class _SumOp(Op):
    def derivatives(self, node):
        return self.rule(node._prev, node)  # the terms are the node's operands (numbers only shift the sum)


_SUM = _SumOp("sum", _d_sum)


@pausing_collector  # as every call that makes nodes (a generator of terms makes its own in this one)
def sum(values, start=0.0):
    """The sum of ``values`` (Values and numbers mixed) plus ``start``, as one node.

    >>> naivegrad.scalar.sum([a, b, 2.0])    # one node; d/da = d/db = 1
    """
    total = start.data if type(start) is Value else _num(start, "naivegrad.scalar.sum")
    prev = [start] if type(start) is Value else []
    for v in values:
        if type(v) is Value:
            total += v.data
            prev.append(v)
        else:
            total += _num(v, "naivegrad.scalar.sum")
    return _fused(total, prev, _d_sum(prev, total), _SUM)


# ---------------------------------------------------------------------------- dot
def _d_dot(ws, xs, bias, out):
    return xs, ws, 1.0  # d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1


class _DotOp(Op):
    """"dot", or "dot:k" when k of the products multiply two Values.

    The node is sum_(i < k) p_i * p_(k+i) + sum_j c_j * q_j + (numbers): its ``_prev`` starts with the k pairs'
    weights p_0 ... p_(k-1), then their inputs p_k ... p_(2k-1); after them each operand q_j is multiplied by a
    number c_j (a bias by 1.0). Those numbers are kept where the node records d node / d q_j, which is c_j: in
    ``_local``. So its arguments are read back from the node.
    """

    def derivatives(self, node):
        prev, k = node._prev, self.pairs
        ws = prev[:k] + prev[2 * k:]
        xs = prev[k:2 * k] + node._local[2 * k:]
        dws, dxs, _ = self.rule(ws, xs, None, node)
        return list(dws[:k]) + list(dxs[:k]) + list(dws[k:])


class _DotOps(dict):
    def __missing__(self, k):
        op = self[k] = _DotOp(f"dot:{k}" if k else "dot", _d_dot)
        op.pairs = k
        return op


_DOT = _DotOps()  # by k


@pausing_collector
def dot(ws, xs, bias=None):
    """sum(w * x for w, x in zip(ws, xs)) + bias, as one node: a neuron's pre-activation.

    ``ws`` and ``xs`` are sequences of equal length holding Values or numbers; ``bias`` is a Value, a
    number or None. d/dw_i = x_i and d/dx_i = w_i are recorded once, in the node, named "dot" (or "dot:k"
    when k of the products multiply two Values).
    """
    ws = ws if isinstance(ws, (list, tuple)) else list(ws)
    xs = xs if isinstance(xs, (list, tuple)) else list(xs)
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs")
    if ws and (bias is None or type(bias) is Value and bias.tangent is None):
        wd, inputs = _plain_values(ws), _plain_inputs(xs)
        if wd is not None and inputs is not None:
            return _dot_node(ws, wd, xs, *inputs, bias)
    wd = [w.data if type(w) is Value else _num(w) for w in ws]
    xd = [x.data if type(x) is Value else _num(x) for x in xs]
    total = builtins.sum(map(_mul, wd, xd), 0.0)
    if bias is not None:
        total += bias.data if type(bias) is Value else _num(bias)
    dws, dxs, dbias = _d_dot(wd, xd, bias, total)
    # The k products of two Values come first, their weights w then their inputs x, and the op's name counts
    # them ("dot:k"); then every other Value w_i or x_i, then the bias.
    pw, px, pdw, pdx, single, single_local = [], [], [], [], [], []
    for w, x, dw, dx in zip(ws, xs, dws, dxs):
        if type(w) is Value:
            if type(x) is Value:
                pw.append(w)
                px.append(x)
                pdw.append(dw)
                pdx.append(dx)
            else:
                single.append(w)
                single_local.append(dw)
        elif type(x) is Value:
            single.append(x)
            single_local.append(dx)
    prev, local = pw + px + single, pdw + pdx + single_local
    if type(bias) is Value:
        prev.append(bias)
        local.append(dbias)
    return _fused(total, prev, local, _DOT[len(pw)])


# ---------------------------------------------------------------------------- a layer's dots, fast
# A layer's dots have Value weights (and a Value bias, or none) and inputs that are all Values (the previous
# layer's outputs) or all floats (the data), and no tangents anywhere. For those the numbers are read once per
# call (per layer, for the weights) and once per input row, and each node is made directly: the node the
# general code in dot() makes, faster.
def _plain_values(vs):
    """The numbers of ``vs`` if every one is a Value without a tangent, else None."""
    data = [v.data for v in vs if type(v) is Value and v.tangent is None]
    return data if len(data) == len(vs) else None


def _plain_inputs(xs):
    """(numbers, True) for inputs that are all Values without a tangent, (xs, False) for all floats, else None."""
    xd = _plain_values(xs)
    if xd is not None:
        return xd, True
    if set(map(type, xs)) == _FLOAT_TYPE:
        return xs, False
    return None


_FLOAT_TYPE = {float}


def _dot_node(ws, wd, xs, xd, pairs, bias):
    """The dot node of Values ``ws`` (numbers ``wd``) with inputs ``xs`` (numbers ``xd``; Values when ``pairs``,
    else floats) plus ``bias``, a Value or None. No operand has a tangent."""
    total = builtins.sum(map(_mul, wd, xd), 0.0)
    if bias is not None:
        total += bias.data
    dws, dxs, dbias = _d_dot(wd, xd, bias, total)
    if pairs:  # the weights, then the inputs, then the bias (see _DotOp)
        if bias is None:
            return _fused(total, (*ws, *xs), (*dws, *dxs), _DOT[len(ws)], tangents=False)
        return _fused(total, (*ws, *xs, bias), (*dws, *dxs, dbias), _DOT[len(ws)], tangents=False)
    if bias is None:
        return _fused(total, ws, dws, _DOT[0], tangents=False)
    return _fused(total, (*ws, bias), (*dws, dbias), _DOT[0], tangents=False)


def dots(weights, rows, biases):
    """``[[dot(w, x, b) for w, b in zip(weights, biases)] for x in rows]``: a layer on a batch, in one call
    (``naivegrad.nn``'s scalar backend makes its layers with it).

    ``weights`` is a list of rows of Values (one per output), ``biases`` a Value or None per output.
    """
    wds = [_plain_values(w) for w in weights]
    sizes = set(map(len, weights))
    if len(sizes) != 1 or 0 in sizes or None in wds or _plain_values([b for b in biases if b is not None]) is None:
        return [[dot(w, x, b) for w, b in zip(weights, biases)] for x in rows]
    (nin,) = sizes
    out = []
    for x in rows:
        x = x if isinstance(x, (list, tuple)) else list(x)
        inputs = _plain_inputs(x) if len(x) == nin else None
        if inputs is None:
            out.append([dot(w, x, b) for w, b in zip(weights, biases)])
        else:
            xd, pairs = inputs
            out.append([_dot_node(w, wd, x, xd, pairs, b) for w, wd, b in zip(weights, wds, biases)])
    return out


def _num(x, what="naivegrad.scalar.dot"):
    # The same rule as Value's operators: real numbers only, as exact floats ("3" and complex are errors).
    c = _const(x)
    if c is None:
        _check(x, what)
    return c
