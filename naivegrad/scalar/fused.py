"""Fused n-ary nodes: one node, with all its local derivatives, where micrograd would build a chain.

``sum(vs)`` over n Values is one node instead of n - 1 additions, and ``dot(ws, xs, bias)`` (a neuron's
pre-activation) is one node instead of 2n. Backward then walks a short graph, which is what makes the
scalar engine's MLP fast while every derivative stays a plain float. Each has its derivative rule, used as
value.py's are: on floats when the node is made, on Values by ``backward(create_graph=True)``.
"""

import builtins

from .value import Op, Value, _const, _new, _ids
from ..grad_mode import _state as _grad_state

__all__ = ["sum", "dot"]


def _fused(data, prev, local, op):
    """Make an n-ary node: ``prev`` its Value operands, ``local`` d(data)/d(operand) for each."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._id = next(_ids)
    out.tangent = None
    for l, p in zip(local, prev):
        if p.tangent is not None:
            out.tangent = builtins.sum(l * p.tangent for l, p in zip(local, prev) if p.tangent is not None)
            break
    if _grad_state.enabled:
        out._prev, out._local, out._op = tuple(prev), tuple(local), op
    else:
        out._prev = out._local = ()
        out._op = ""
    return out


def _check(x, what):
    raise TypeError(f"{what} needs Values or real numbers, got {type(x).__name__}: {x!r}")


# ---------------------------------------------------------------------------- sum
def _d_sum(terms, out):
    return (1.0,) * len(terms)  # d/dterm = 1 for every term


class _SumOp(Op):
    def derivatives(self, node):
        return self.rule(node._prev, node)  # the terms are the node's operands (numbers only shift the sum)


_SUM = _SumOp("sum", _d_sum)


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

    The node is sum_(i < k) p_2i * p_(2i+1) + sum_j c_j * q_j + (numbers): after the k pairs of its ``_prev``,
    each operand q_j is multiplied by a number c_j (a bias by 1.0). Those numbers are kept where the node
    records d node / d q_j, which is c_j: in ``_local``. So its arguments are read back from the node.
    """

    def derivatives(self, node):
        prev, k = node._prev, self.pairs
        ws = prev[0:2 * k:2] + prev[2 * k:]
        xs = prev[1:2 * k:2] + node._local[2 * k:]
        dws, dxs, _ = self.rule(ws, xs, None, node)
        return [d for i in range(k) for d in (dws[i], dxs[i])] + list(dws[k:])


class _DotOps(dict):
    def __missing__(self, k):
        op = self[k] = _DotOp(f"dot:{k}" if k else "dot", _d_dot)
        op.pairs = k
        return op


_DOT = _DotOps()  # by k


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
    wd = [w.data if type(w) is Value else _num(w) for w in ws]
    xd = [x.data if type(x) is Value else _num(x) for x in xs]
    total = builtins.sum(map(float.__mul__, wd, xd), 0.0)
    if bias is not None:
        total += bias.data if type(bias) is Value else _num(bias)
    dws, dxs, dbias = _d_dot(wd, xd, bias, total)
    # Operands where both w_i and x_i are Values come first, as pairs w_0, x_0, w_1, x_1, ..., and the op's
    # name counts them ("dot:k"); then every other Value w_i or x_i, then the bias.
    prev, local, single, single_local = [], [], [], []
    for w, x, dw, dx in zip(ws, xs, dws, dxs):
        if type(w) is Value:
            if type(x) is Value:
                prev += (w, x)
                local += (dw, dx)
            else:
                single.append(w)
                single_local.append(dw)
        elif type(x) is Value:
            single.append(x)
            single_local.append(dx)
    k = len(prev) // 2
    prev += single
    local += single_local
    if type(bias) is Value:
        prev.append(bias)
        local.append(dbias)
    return _fused(total, prev, local, _DOT[k])


def _num(x, what="naivegrad.scalar.dot"):
    # The same rule as Value's operators: real numbers only, as exact floats ("3" and complex are errors).
    c = _const(x)
    if c is None:
        _check(x, what)
    return c
