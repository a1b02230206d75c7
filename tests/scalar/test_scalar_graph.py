"""Graph semantics of ``backward()``: reuse and diamonds, deep chains, accumulation across calls.

The random-graph properties use an independent oracle: the same program run on exact dual numbers
(Fractions carrying d/d leaf), so reverse mode over any DAG with reuse is checked against forward mode
with no rounding at all. Leaves and constants are small integers, so as long as every magnitude stays
below 2**50 the float computation is exact too and the comparison can be equality.
"""

import math
import sys
from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

import naivegrad.scalar as scalar
from naivegrad.scalar import Value
from scalar_oracles import finite

EXACT_LIMIT = 2.0**50


# ---------------------------------------------------------------------------------------------- exact dual numbers
class Dual:
    """A Fraction with its exact gradient with respect to every leaf (forward mode, no rounding)."""

    def __init__(self, value, grad):
        self.value, self.grad = Fraction(value), grad

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, {})

    def _combine(self, other, da, db, value):
        grad = {k: da * g for k, g in self.grad.items()}
        for k, g in other.grad.items():
            grad[k] = grad.get(k, 0) + db * g
        return Dual(value, grad)

    def __add__(self, o):
        o = Dual.lift(o)
        return self._combine(o, 1, 1, self.value + o.value)

    def __sub__(self, o):
        o = Dual.lift(o)
        return self._combine(o, 1, -1, self.value - o.value)

    def __mul__(self, o):
        o = Dual.lift(o)
        return self._combine(o, o.value, self.value, self.value * o.value)

    def __neg__(self):
        return self * -1


def dual_sum(xs, start):
    total = Dual.lift(start)
    for x in xs:
        total = total + x
    return total


def dual_dot(ws, xs, bias):
    total = Dual.lift(0 if bias is None else bias)
    for w, x in zip(ws, xs):
        total = total + Dual.lift(w) * x
    return total


# ---------------------------------------------------------------------------------------------- random programs
small = st.integers(-3, 3)


@st.composite
def programs(draw, max_leaves=4, max_steps=10):
    """Leaf values and a list of instructions; operands refer to earlier nodes, often the same one twice."""
    n_leaves = draw(st.integers(1, max_leaves))
    leaves = draw(st.lists(small, min_size=n_leaves, max_size=n_leaves))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        n = n_leaves + k
        node = st.integers(0, n - 1)
        steps.append(draw(st.one_of(
            st.tuples(st.sampled_from(["add", "sub", "mul"]), node, node),
            st.tuples(st.sampled_from(["radd", "rsub", "rmul", "addc", "subc", "mulc"]), node, small),
            st.tuples(st.just("neg"), node),
            st.tuples(st.just("sum"), st.lists(st.one_of(node, small.map(float)), max_size=4), small),
            st.tuples(st.just("dot"), st.lists(st.tuples(st.one_of(node, small.map(float)), node), max_size=3),
                      st.one_of(st.none(), st.tuples(st.just("node"), node), st.tuples(st.just("const"), small))),
        )))
    return leaves, steps


def run(program, leaf_type):
    """Evaluate the program with Values (leaf_type=Value) or Duals; the root sums every node it made."""
    values, steps = program
    if leaf_type is Value:
        leaves = [Value(x) for x in values]
        add_all, dot = scalar.sum, scalar.dot
    else:
        leaves = [Dual(x, {i: 1}) for i, x in enumerate(values)]
        add_all, dot = dual_sum, dual_dot
    nodes = list(leaves)

    def get(ref):
        return nodes[ref] if isinstance(ref, int) else ref  # an int refers to a node, a float is a constant

    for op, *args in steps:
        if op in ("add", "sub", "mul"):
            a, b = nodes[args[0]], nodes[args[1]]
            out = {"add": a + b, "sub": a - b, "mul": a * b}[op]
        elif op in ("radd", "rsub", "rmul"):
            a, c = nodes[args[0]], args[1]
            out = {"radd": c + a, "rsub": c - a, "rmul": c * a}[op] if leaf_type is Value else \
                {"radd": Dual.lift(c) + a, "rsub": Dual.lift(c) - a, "rmul": Dual.lift(c) * a}[op]
        elif op in ("addc", "subc", "mulc"):
            a, c = nodes[args[0]], args[1]
            out = {"addc": a + c, "subc": a - c, "mulc": a * c}[op]
        elif op == "neg":
            out = -nodes[args[0]]
        elif op == "sum":
            out = add_all([get(r) for r in args[0]], args[1])
        else:
            pairs, bias = args
            bias = None if bias is None else nodes[bias[1]] if bias[0] == "node" else bias[1]
            out = dot([get(w) for w, _ in pairs], [nodes[x] for _, x in pairs], bias)
        nodes.append(out)
    root = add_all(nodes[len(leaves):], 0)
    return leaves, nodes, root


def exact(x):
    return abs(x) < EXACT_LIMIT


@given(programs())
def test_reverse_mode_matches_exact_forward_mode_on_random_dags(program):
    leaves, nodes, root = run(program, Value)
    _, _, droot = run(program, Dual)
    assume(all(exact(n.data) for n in nodes + [root]))
    root.backward()
    assume(all(exact(n.grad) for n in nodes))
    assert root.data == droot.value
    for i, leaf in enumerate(leaves):
        assert leaf.grad == droot.grad.get(i, 0), f"leaf {i}: {leaf.grad!r} vs exact {droot.grad.get(i, 0)}"


@given(programs(), st.integers(2, 5))
def test_k_backward_calls_give_exactly_k_times_the_gradient(program, k):
    leaves, nodes, root = run(program, Value)
    assume(all(exact(n.data) for n in nodes + [root]))
    root.backward()
    once = [n.grad for n in nodes]
    assume(all(exact(g * k) for g in once))
    for _ in range(k - 1):
        root.backward()
    for i, (n, g) in enumerate(zip(nodes, once)):
        if n._prev:
            # Interior nodes are reset at each call: they hold one gradient, not k (no over-counting downstream).
            assert n.grad == g, f"interior node {i}: {n.grad!r} after {k} calls, {g!r} after one"
        else:
            # Leaves (and nodes without operands, such as a sum of constants only) accumulate.
            assert n.grad == k * g, f"leaf {i}: {n.grad!r} after {k} calls, {g!r} after one"
    assert root.grad == 1.0


# ---------------------------------------------------------------------------------------------- hand-made graphs
@given(x=finite(-10, 10), y=finite(-10, 10))
def test_diamond_counts_both_paths(x, y):
    a, b = Value(x), Value(y)
    left, right = a * b, a + b  # a reaches out through two paths, b too
    out = left * right  # (ab)(a+b) = a^2 b + a b^2
    out.backward()
    assert math.isclose(a.grad, 2 * x * y + y * y, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(b.grad, x * x + 2 * x * y, rel_tol=1e-12, abs_tol=1e-12)
    assert left.grad == right.data and right.grad == left.data


def test_node_used_many_times():
    x = Value(3.0)
    y = x * x * x + x + x  # x three times in a product chain, twice more in sums
    y.backward()
    assert x.grad == 3 * 9 + 2


def test_leaf_as_root_accumulates():
    x = Value(2.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_backward_on_intermediate_then_on_root():
    x = Value(3.0)
    y = x * x  # interior
    z = y * 4.0 + x
    y.backward()
    assert x.grad == 6.0 and y.grad == 1.0
    z.backward()
    # As in PyTorch: x accumulates dy/dx + dz/dx; y, interior, holds dz/dy alone (reset, not 1 + 4).
    assert x.grad == 6.0 + (4.0 * 6.0 + 1.0)
    assert y.grad == 4.0 and z.grad == 1.0


def test_backward_leaves_unrelated_nodes_alone():
    x, w = Value(1.0), Value(5.0)
    other = w * 2.0
    other.backward()
    (x * 3.0).backward()
    assert w.grad == 2.0 and other.grad == 1.0 and x.grad == 3.0


def test_gradients_are_plain_floats_and_leaves_start_at_zero():
    x = Value(2)
    assert x.grad == 0.0 and type(x.grad) is float and type(x.data) is float
    (x * 3).backward()
    assert type(x.grad) is float


def test_deep_chain_of_a_million_nodes_under_the_default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the interpreter's default: no recursive walk survives a million levels
    try:
        # The collector stays on: every op pauses it, so it does not walk the growing chain again and again.
        x = Value(0.5)
        y = x
        for _ in range(1_000_000):
            y = y + 1.0
        y.backward()
        assert y.data == 1_000_000.5 and x.grad == 1.0
        del y  # freeing the chain must not recurse a million levels either
    finally:
        sys.setrecursionlimit(old)


def test_deep_chain_through_every_op_kind():
    # One cycle of steps whose derivatives multiply to 1, repeated: a deep graph through every op kind.
    cycle = [
        lambda y: y * 2.0, lambda y: y / 2.0, lambda y: 1.0 + y, lambda y: y - 1.0, lambda y: -y, lambda y: 0.0 - y,
        lambda y: scalar.sum([y, 0.25]), lambda y: scalar.dot([y], [1.0], -0.25), lambda y: y.exp().log(),
        lambda y: (y * y).sqrt(), lambda y: y.relu(), lambda y: abs(y), lambda y: (y**3.0) ** (1 / 3),
    ]
    x = Value(0.3)
    y = x
    for i in range(30_000):
        y = cycle[i % len(cycle)](y)
    y.backward()
    assert math.isclose(y.data, 0.3, rel_tol=1e-9) and math.isclose(x.grad, 1.0, rel_tol=1e-9)
