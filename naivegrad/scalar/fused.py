"""Fused n-ary nodes: one node, with all its local derivatives, where micrograd would build a chain.

``sum(vs)`` over n Values is one node instead of n - 1 additions, and ``dot(ws, xs, bias)`` (a neuron's
pre-activation) is one node instead of 2n. Backward then walks a short graph, which is what makes the
scalar engine's MLP fast while every derivative stays a plain float.
"""

import builtins

from .value import Value, _const, _new, _ids
from ..grad_mode import _state as _grad_state

__all__ = ["sum", "dot"]


def _fused(data, prev, local, op):
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
    return _fused(total, prev, (1.0,) * len(prev), "sum")


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
    # Operands where both w_i and x_i are Values come first, as pairs w_0, x_0, w_1, x_1, ..., and the op's
    # name counts them ("dot:k"): second derivatives need to know which operands multiply each other.
    prev, local, single, single_local = [], [], [], []
    for w, x, a, b in zip(ws, xs, wd, xd):
        if type(w) is Value:
            if type(x) is Value:
                prev += (w, x)
                local += (b, a)
            else:
                single.append(w)
                single_local.append(b)
        elif type(x) is Value:
            single.append(x)
            single_local.append(a)
    k = len(prev) // 2
    prev += single
    local += single_local
    if bias is not None:
        if type(bias) is Value:
            total += bias.data
            prev.append(bias)
            local.append(1.0)
        else:
            total += _num(bias)
    return _fused(total, prev, local, f"dot:{k}" if k else "dot")


def _num(x, what="naivegrad.scalar.dot"):
    # The same rule as Value's operators: real numbers only, as exact floats ("3" and complex are errors).
    c = _const(x)
    if c is None:
        _check(x, what)
    return c
