"""Reverse mode that records its own work, so that a gradient can be differentiated again.

``backward()`` multiplies the float local derivatives that every op stores in ``_local``; floats are the end
of the road. Here each node's local derivatives are computed again, as Values: the node's ``_op`` carries
the op's derivative rule (``naivegrad.scalar.value``), the very rule that gave the floats, and the rule is
evaluated on the node's operands, which are Values (``Op.derivatives``). The gradient then comes out as a
graph of Values: ``x.grad`` after ``y.backward(create_graph=True)`` can itself be ``backward()``-ed, which
gives second, third, ... derivatives. A local derivative that is constant where it exists (``abs``,
``relu``, the 2.0 of ``x * 2.0``) comes out of its rule as a plain float, which keeps the recorded graph
small. A node built by hand, micrograd style, has a plain str for ``_op``: no rule, so it is refused.

>>> x = Value(2.0); y = x ** 3; y.backward(create_graph=True)
>>> g = x.grad; x.grad = 0.0; g.backward(); x.grad      # d2/dx2 x**3 = 6 x
12.0
"""

from ..grad_mode import _state as _grad_state
from ._collector import pausing_collector
from .value import SELECTED, Op, Value, _by_creation, _topological

__all__ = ["backward_with_graph", "grad"]


def _local_values(v):
    """The local derivatives of node ``v`` as Values (or constant floats): its op's rule on its operands."""
    op = v._op
    if not isinstance(op, Op):
        raise ValueError(
            f"backward(create_graph=True): node {v!r} with op {op!r} was made by hand (Value(data, children, "
            f"op)); it records no derivative rule that could be differentiated again (its backward() local "
            f"derivatives are zeros)"
        )
    return [d if type(d) is Value or d is SELECTED else float(d) for d in op.derivatives(v)]


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
        locals_ = _local_values(v) if create_graph else v._local
        for child, local in zip(v._prev, locals_):
            c = _mul_grad(local, g) if create_graph else local * g
            acc = get(child)
            adjoint[child] = c if acc is None else acc + c


def _as_value(g):
    return g if type(g) is Value else Value(g)


@pausing_collector
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


@pausing_collector
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
