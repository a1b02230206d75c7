"""Reverse mode that records its own work, so that a gradient can be differentiated again.

``backward()`` multiplies the float local derivatives that every op stores in ``_local``; floats are the end
of the road. Here each local derivative is rebuilt as a ``Value`` expression from a table with one rule per
op name (the way HIPS autograd writes its gradient rules), so the gradient comes out as a graph of Values:
``x.grad`` after ``y.backward(create_graph=True)`` can itself be ``backward()``-ed, which gives second,
third, ... derivatives. A rule may use the node itself (``exp``'s derivative *is* its output) and its
operands; a local derivative that is constant where it exists (``abs``, ``relu``, a folded constant
operand) stays a plain float, which keeps the recorded graph small.

Every rule, evaluated on floats, equals the float ``_local`` that ``backward()`` uses, bit for bit; this is
checked node by node, so a rule can never drift from the op it differentiates (and a node built by hand,
micrograd style, with made-up locals is reported instead of silently differentiated).

>>> x = Value(2.0); y = x ** 3; y.backward(create_graph=True)
>>> g = x.grad; x.grad = 0.0; g.backward(); x.grad      # d2/dx2 x**3 = 6 x
12.0
"""

import math
from functools import lru_cache

from ..grad_mode import _state as _grad_state
from .ieee import log as _log
from .ieee import pow_ as _ieee_pow
from .value import Value, _by_creation, _topological

__all__ = ["backward_with_graph", "grad", "local_derivatives", "RULES"]


# ---------------------------------------------------------------------------- the rules, one per op
# Each takes the output node and returns its local derivatives (one per operand in ``_prev``), each a
# Value (differentiable) or a float (constant). ``out._prev`` holds the Value operands; a number operand was
# folded into ``out._local`` when the op ran, so one-operand forms of binary ops read it from there.


def _ones(out):
    return (1.0,) * len(out._prev)


def _recorded(out):
    # Piecewise constant derivatives (abs, relu) and folded constants: the float is the whole story.
    return out._local


def _sub(out):
    return (1.0, -1.0) if len(out._prev) == 2 else (1.0,)


def _mul(out):
    if len(out._prev) == 2:
        a, b = out._prev
        return (b, a)
    return out._local  # x * c: the constant c


def _div(out):
    if len(out._prev) == 2:
        _, b = out._prev
        return (1.0 / b, -(out / b))  # d/da = 1/b, d/db = -(a/b)/b
    return out._local  # x / c: the constant 1/c


def _rdiv(out):  # c / x
    (x,) = out._prev
    return (-(out / x),)


def _pow(out):  # a ** b, both Values
    a, b = out._prev
    da = _dpow_value(a, b)
    db = 0.0 if (a.data == 0.0 and b.data >= 0.0) else out * a.log()
    return (da, db)


def _dpow_value(a, b):
    """b * a ** (b - 1) as Values; 0 where the engine takes the convention 0 (b == 0)."""
    if b.data == 0.0 and not math.isfinite(_ieee_pow(a.data, -1.0)):
        # At b == 0 the expression is 0 too, and kept, so that d/db of this derivative (1/a) stays right;
        # where a ** -1 is not finite (a == 0, subnormal, inf, nan) it would be nan: take the constant.
        return 0.0
    return b * a ** (b - 1.0)


def _make_const_pow(n):
    def rule(out):
        if n == 0.0:
            return (0.0,)  # x ** 0 is the constant 1 (d/dx = 0 everywhere, also at x = 0)
        if n == 1.0:
            return (1.0,)
        (x,) = out._prev
        return (x ** (n - 1.0) * n,)

    return rule


def _make_rpow(c):
    lc = _log(c)

    def rule(out):  # c ** x
        (x,) = out._prev
        if c == 0.0 and x.data >= 0.0:
            return (0.0,)
        return (out * lc,)

    return rule


def _neg(out):
    return (-1.0,)


def _exp(out):
    return (out,)


def _log_rule(out):
    (x,) = out._prev
    return (1.0 / x,)


def _sqrt(out):
    return (0.5 / out,)


def _tanh(out):
    return (1.0 - out * out,)


def _sigmoid(out):
    return (out * (1.0 - out),)


def _sin(out):
    (x,) = out._prev
    return (x.cos(),)


def _cos(out):
    (x,) = out._prev
    return (-x.sin(),)


def _same(a, b):
    return a == b or (a != a and b != b)


def _make_dot_pairs(k):
    """``dot`` recording its pairs: op "dot:k" with the k Value-Value pairs first in ``_prev``, as
    w_0, x_0, ..., w_(k-1), x_(k-1); every later operand's local derivative is a number."""

    def rule(out):
        prev, local = out._prev, out._local
        pairs = []
        for i in range(0, 2 * k, 2):
            pairs.append(prev[i + 1])
            pairs.append(prev[i])
        return tuple(pairs) + tuple(local[2 * k:])

    return rule


RULES = {
    "+": _ones,
    "sum": _ones,
    "-": _sub,
    "*": _mul,
    "/": _div,
    "rsub": lambda out: (-1.0,),
    "rdiv": _rdiv,
    "**": _pow,
    "neg": _neg,
    "abs": _recorded,
    "relu": _recorded,
    "exp": _exp,
    "log": _log_rule,
    "sqrt": _sqrt,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "sin": _sin,
    "cos": _cos,
    "dot": _make_dot_pairs(0),  # "dot:k" (k > 0 pairs of Values) is parsed by _rule_for
}
"""Op name -> rule(out) giving the local derivatives as Values (or constant floats). Ops with a constant in
their name ("**2.0", "rpow2.0", "dot:3") are parsed by ``_rule_for``."""


@lru_cache(maxsize=256)
def _named_constant_rule(op):
    # A constant exponent or base is part of the name ("**" + repr(n), "rpow" + repr(c)), and so is the
    # number of Value-Value pairs of a dot ("dot:" + str(k)).
    if op.startswith("dot:"):
        try:
            return _make_dot_pairs(int(op[4:]))
        except ValueError:
            return None
    for prefix, make in (("**", _make_const_pow), ("rpow", _make_rpow)):
        if op.startswith(prefix) and len(op) > len(prefix):
            try:
                return make(float(op[len(prefix):]))
            except ValueError:
                return None
    return None


def _rule_for(op):
    rule = RULES.get(op)
    if rule is None and type(op) is str:
        rule = _named_constant_rule(op)
    if rule is not None:
        return rule
    raise ValueError(
        f"backward(create_graph=True): no derivative rule for op {op!r}; a node made by hand "
        f"(Value(data, children, op)) records no local derivatives that could be differentiated again. "
        f"Known ops: {', '.join(sorted(RULES))}, '**<n>'"
    )


def local_derivatives(out):
    """The local derivatives of node ``out`` as Values (or constant floats), checked against ``out._local``.

    >>> y = Value(0.5).tanh(); local_derivatives(y)   # (1 - y*y,), a Value whose data is y._local[0]
    """
    rules = _rule_for(out._op)(out)
    recorded = out._local
    if len(rules) != len(recorded):
        raise ValueError(
            f"node {out!r} with op {out._op!r} has {len(recorded)} operands, but the rule for {out._op!r} "
            f"gives {len(rules)} derivatives (a node made by hand?)"
        )
    for r, f in zip(rules, recorded):
        got = r.data if type(r) is Value else r
        if not _same(got, f):
            raise ValueError(
                f"node {out!r} with op {out._op!r} records local derivatives {recorded!r}, but the "
                f"second-order rule for {out._op!r} gives {got!r} for one of them: a node made by hand, "
                f"or value.py changed an op's derivative without updating naivegrad/scalar/higher_order.py"
            )
    return rules


# ---------------------------------------------------------------------------- the walk
def _mul_grad(local, g):
    """local * g, where either is a float or a Value; multiplying by exactly 1.0 records nothing."""
    if type(local) is not Value:
        if type(g) is not Value:
            return local * g
        if local == 1.0:
            return g
    elif type(g) is not Value and g == 1.0:
        return local
    return local * g


def _add_grad(acc, c):
    if acc is None:
        return c
    return acc + c


def _reachable(roots, lowest_id):
    """Nodes reachable from ``roots`` with id >= lowest_id, outputs before operands (iterative)."""
    seen = set()
    order = []
    stack = []
    for r in roots:
        if r not in seen and r._id >= lowest_id:
            seen.add(r)
            order.append(r)
            stack.append(r)
    while stack:
        for child in stack.pop()._prev:
            if child not in seen and child._id >= lowest_id:
                seen.add(child)
                order.append(child)
                stack.append(child)
    order.sort(key=_by_creation, reverse=True)
    return order


def _propagate(order, adjoint, create_graph):
    """Push adjoints from outputs to operands in reverse creation order; ``adjoint`` is updated in place."""
    get = adjoint.get
    for v in order:
        if not v._prev:
            continue
        g = get(v)
        if g is None:
            continue
        locals_ = local_derivatives(v) if create_graph else v._local
        for child, local in zip(v._prev, locals_):
            c = _mul_grad(local, g) if create_graph else local * g
            acc = get(child)
            adjoint[child] = c if acc is None else acc + c


def _as_value(g):
    return g if type(g) is Value else Value(g)


def grad(outputs, inputs, grad_outputs=None, create_graph=False):
    """d(sum_i grad_outputs[i] * outputs[i]) / d(inputs), without touching any ``.grad`` (torch.autograd.grad).

    ``outputs`` is a Value or a sequence of Values, ``inputs`` a sequence of Values (leaves or interior
    nodes), ``grad_outputs`` the weights (floats or Values; default 1.0 each). Returns a list with one
    gradient per input: floats, or with ``create_graph=True`` Values carrying a graph (differentiable
    again, and carrying tangents when the graph does). An input the outputs do not depend on gets 0.

    >>> x = Value(3.0); grad(x * x, [x])
    [6.0]
    """
    if type(outputs) is Value:
        outputs = [outputs]
    outputs = list(outputs)
    inputs = list(inputs)
    for what, seq in (("outputs", outputs), ("inputs", inputs)):
        for v in seq:
            if type(v) is not Value:
                raise TypeError(f"grad: {what} must be Values, got {type(v).__name__}: {v!r}")
    if grad_outputs is None:
        grad_outputs = [1.0] * len(outputs)
    else:
        grad_outputs = list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    if not inputs:
        return []
    saved = _grad_state.enabled
    _grad_state.enabled = create_graph or saved
    try:
        adjoint = {}
        for o, u in zip(outputs, grad_outputs):
            if type(u) is not Value:
                u = float(u)
            acc = adjoint.get(o)
            adjoint[o] = u if acc is None else acc + u
        # Nodes created before every input cannot lead to one: the walk stops there.
        order = _reachable(outputs, min(v._id for v in inputs))
        _propagate(order, adjoint, create_graph)
    finally:
        _grad_state.enabled = saved
    result = []
    for v in inputs:
        g = adjoint.get(v, 0.0)
        result.append(_as_value(g) if create_graph else (g.data if type(g) is Value else g))
    return result


def backward_with_graph(root):
    """``root.backward(create_graph=True)``: as ``backward()``, but every ``.grad`` it sets is a Value.

    Leaves accumulate as in PyTorch: ``leaf.grad`` becomes ``leaf.grad + new`` (a Value whose graph reaches
    back through the old gradient, if that was a Value too). Interior nodes get their gradient, reset first.
    A gradient that does not depend on anything (e.g. of ``2 * x``) becomes a Value with no graph.
    """
    order = _topological(root)
    saved = _grad_state.enabled
    _grad_state.enabled = True  # the gradient's own graph is recorded even under no_grad (as PyTorch)
    try:
        # Leaves start from their current grad and add contributions in the order backward() adds them.
        adjoint = {}
        for v in order:
            if not v._prev:
                g = v.grad
                if type(g) is Value or g != 0.0:
                    adjoint[v] = g
        adjoint[root] = _add_grad(adjoint.get(root), 1.0)
        _propagate(order, adjoint, True)
        for v in order:
            g = adjoint.get(v)
            v.grad = Value(0.0) if g is None else _as_value(g)
    finally:
        _grad_state.enabled = saved
