"""The scalar engine: one ``Value`` per number, micrograd's idea made exact and fast.

Each op computes its result and its *local derivatives* (d out / d operand, as plain floats) and records
them in the output node. Reverse mode multiplies them by the incoming gradient; forward mode multiplies
them by the operands' tangents. So every op's derivative is written exactly once, next to its value.

Numerics follow IEEE-754 as numpy and PyTorch do (log(0) = -inf, exp(1000) = inf, (-8) ** 0.5 = nan):
the functions in ``naivegrad.scalar.ieee`` replace ``math``'s, which raise instead.
"""

import math
from itertools import count
from numbers import Real
from operator import attrgetter

from ..grad_mode import _state as _grad_state
from .ieee import cos, div, exp, log, pow_, sigmoid, sin, sqrt

__all__ = ["Value"]

_ids = count()                 # creation order is a topological order: operands always exist first
_by_creation = attrgetter("_id")
_new = object.__new__


def _node(data, prev, local, op):
    """Make an op's output. ``prev`` are the Value operands, ``local`` d(data)/d(operand) for each."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._id = next(_ids)
    # Forward mode: the same local derivatives times the operands' tangents (unary and binary ops).
    if prev[0].tangent is None and prev[-1].tangent is None:
        out.tangent = None
    else:
        out.tangent = sum(l * p.tangent for l, p in zip(local, prev) if p.tangent is not None)
    if _grad_state.enabled:
        out._prev = prev
        out._local = local
        out._op = op
    else:
        out._prev = out._local = ()
        out._op = ""
    return out


def _const(x):
    """A plain real number as a float, or None: a constant operand gets no node of its own (as in PyTorch)."""
    if type(x) is float:  # not isinstance: a numpy float64 must become a float, or numpy arithmetic leaks in
        return x
    if isinstance(x, Real):
        return float(x)
    return None


class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can find its gradient.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a.tanh(); c.backward(); a.grad   # dc/da = b + 1 - tanh(a)**2
    -2.929349...

    Attributes: ``data`` (float), ``grad`` (float, accumulated by ``backward``), ``tangent`` (float or None,
    the forward-mode derivative carried along), and micrograd's ``_prev`` (the operands, in order) and
    ``_op`` (the op's name) for inspection and drawing.
    """

    __slots__ = ("data", "grad", "tangent", "_prev", "_local", "_op", "_id", "__weakref__")

    def __init__(self, data, _children=(), _op="", *, tangent=None):
        if isinstance(data, Value):
            data = data.data
        elif not isinstance(data, Real):
            raise TypeError(f"Value() needs a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.tangent = None if tangent is None else float(tangent)
        # micrograd lets users build nodes by hand; such nodes have no local derivatives to walk.
        self._prev = tuple(_children)
        self._local = (0.0,) * len(self._prev)
        self._op = _op
        self._id = next(_ids)

    # ------------------------------------------------------------------ binary ops
    def __add__(self, other):
        if type(other) is Value:
            return _node(self.data + other.data, (self, other), (1.0, 1.0), "+")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, (self,), (1.0,), "+")

    __radd__ = __add__

    def __mul__(self, other):
        if type(other) is Value:
            return _node(self.data * other.data, (self, other), (other.data, self.data), "*")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data * c, (self,), (c,), "*")

    __rmul__ = __mul__

    def __sub__(self, other):
        if type(other) is Value:
            return _node(self.data - other.data, (self, other), (1.0, -1.0), "-")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, (self,), (1.0,), "-")

    def __rsub__(self, other):  # other - self
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(c - self.data, (self,), (-1.0,), "rsub")

    def __truediv__(self, other):
        if type(other) is Value:
            a, b = self.data, other.data
            q = div(a, b)
            return _node(q, (self, other), (div(1.0, b), -div(q, b)), "/")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(div(self.data, c), (self,), (div(1.0, c),), "/")

    def __rtruediv__(self, other):  # other / self
        c = _const(other)
        if c is None:
            return NotImplemented
        b = self.data
        q = div(c, b)
        return _node(q, (self,), (-div(q, b),), "rdiv")

    def __pow__(self, other):
        a = self.data
        if type(other) is Value:
            b = other.data
            out = pow_(a, b)
            # d/db a**b = a**b ln a; PyTorch takes it as 0 where a == 0 and b >= 0 (the limit from a > 0).
            db = 0.0 if (a == 0.0 and b >= 0.0) else out * log(a)
            return _node(out, (self, other), (_dpow(a, b), db), "**")
        n = _const(other)
        if n is None:
            return NotImplemented
        return _node(pow_(a, n), (self,), (_dpow(a, n),), "**" + repr(n))

    def __rpow__(self, other):  # other ** self
        c = _const(other)
        if c is None:
            return NotImplemented
        out = pow_(c, self.data)
        return _node(out, (self,), (0.0 if (c == 0.0 and self.data >= 0.0) else out * log(c),), "rpow" + repr(c))

    # ------------------------------------------------------------------ unary ops
    def __neg__(self):
        return _node(-self.data, (self,), (-1.0,), "neg")

    def __pos__(self):
        return self

    def __abs__(self):
        x = self.data
        return _node(abs(x), (self,), (1.0 if x > 0 else -1.0 if x < 0 else 0.0,), "abs")

    abs = __abs__

    def exp(self):
        out = exp(self.data)
        return _node(out, (self,), (out,), "exp")

    def log(self):
        x = self.data
        return _node(log(x), (self,), (div(1.0, x),), "log")

    def sqrt(self):
        out = sqrt(self.data)
        return _node(out, (self,), (div(0.5, out),), "sqrt")

    def tanh(self):
        out = math.tanh(self.data)
        return _node(out, (self,), (1.0 - out * out,), "tanh")

    def sigmoid(self):
        out = sigmoid(self.data)
        return _node(out, (self,), (out * (1.0 - out),), "sigmoid")

    def relu(self):
        x = self.data
        # `not x <= 0` keeps nan as nan (numpy's maximum(nan, 0)); relu'(0) = 0 as in PyTorch.
        return _node(x if not x <= 0.0 else 0.0, (self,), (1.0 if x > 0.0 else 0.0,), "relu")

    def sin(self):
        x = self.data
        return _node(sin(x), (self,), (cos(x),), "sin")

    def cos(self):
        x = self.data
        return _node(cos(x), (self,), (-sin(x),), "cos")

    # ------------------------------------------------------------------ reverse mode
    def backward(self, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``grad``, walking the graph in reverse.

        As in PyTorch, leaf gradients add up across calls (zero them between steps). Interior nodes are
        reset first, so a second backward through the same graph adds exactly one more gradient.
        With ``create_graph=True`` the gradients are themselves Values with a graph, so they can be
        differentiated again (higher-order derivatives); see ``naivegrad.func``.
        """
        if create_graph:
            from .higher_order import backward_with_graph

            return backward_with_graph(self)
        order = _topological(self)
        for v in order:
            if v._prev:
                v.grad = 0.0
        self.grad += 1.0
        for v in order:
            g = v.grad
            for child, local in zip(v._prev, v._local):
                child.grad += local * g

    # ------------------------------------------------------------------ conveniences
    def item(self):
        """The value as a Python float (PyTorch's name)."""
        return self.data

    def __float__(self):
        return self.data

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"


def _dpow(a, n):
    """d/da a**n; PyTorch's convention makes it 0 for n == 0 (instead of 0 * inf at a == 0)."""
    if n == 0.0:
        return 0.0
    return n * pow_(a, n - 1.0)


def _topological(root):
    """Every node reachable from ``root``, outputs before their operands (an iterative walk: no depth limit)."""
    seen = {root}
    order = [root]
    stack = [root]
    push, add = stack.append, seen.add
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                add(child)
                order.append(child)
                push(child)
    order.sort(key=_by_creation, reverse=True)
    return order
