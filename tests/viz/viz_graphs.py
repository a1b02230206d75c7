"""Random computation graphs for the drawing tests, as recipes that build the same graph on either engine.

A recipe is a list of leaf numbers and a list of steps; each step makes exactly one new node from earlier
ones (Values or Tensors alike), so the pool's order is the creation order.
"""

import math
from collections import deque

from hypothesis import strategies as st

BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b,
}
UNARY = {
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "sin": lambda a: a.sin(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: abs(a),
    "neg": lambda a: -a,
}
WITH_CONSTANT = {  # one operand is a plain number: folded, not a node
    "c*": lambda a, c: c * a,
    "+c": lambda a, c: a + c,
    "c-": lambda a, c: c - a,
    "/c": lambda a, c: a / c,
    "**c": lambda a, c: a ** c,
}

small = st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def recipes(draw, max_leaves=4, max_steps=20):
    leaves = draw(st.lists(small, min_size=1, max_size=max_leaves))
    steps = []
    size = len(leaves)
    for _ in range(draw(st.integers(0, max_steps))):
        kind = draw(st.sampled_from(["binary", "unary", "constant"]))
        if kind == "binary":
            step = (kind, draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, size - 1)),
                    draw(st.integers(0, size - 1)))
        elif kind == "unary":
            step = (kind, draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, size - 1)))
        else:
            step = (kind, draw(st.sampled_from(sorted(WITH_CONSTANT))), draw(st.integers(0, size - 1)),
                    draw(small.filter(lambda c: c != 0)))
        steps.append(step)
        size += 1
    return leaves, steps


def build(recipe, leaf):
    """The pool of nodes in creation order; ``leaf(x)`` makes a leaf (Value or Tensor)."""
    leaves, steps = recipe
    pool = [leaf(x) for x in leaves]
    for step in steps:
        kind, name, i = step[:3]
        if kind == "binary":
            pool.append(BINARY[name](pool[i], pool[step[3]]))
        elif kind == "unary":
            pool.append(UNARY[name](pool[i]))
        else:
            pool.append(WITH_CONSTANT[name](pool[i], step[3]))
    return pool


def reachable(root):
    """Every node the root was computed from (including itself), found independently of naivegrad.viz."""
    seen = {id(root): root}
    todo = [root]
    while todo:
        for c in todo.pop()._prev:
            if id(c) not in seen:
                seen[id(c)] = c
                todo.append(c)
    return list(seen.values())


def distances(root):
    """Shortest number of operand steps from the root to each node, by id."""
    dist = {id(root): 0}
    queue = deque([root])
    while queue:
        n = queue.popleft()
        for c in n._prev:
            if id(c) not in dist:
                dist[id(c)] = dist[id(n)] + 1
                queue.append(c)
    return dist


def close(shown, x):
    """``shown`` (a number as the drawing printed it) agrees with ``x`` to the 4 digits it shows."""
    shown = float(shown)
    if math.isnan(x):
        return math.isnan(shown)
    if math.isinf(x):
        return shown == x
    return abs(shown - x) <= 5e-5 + 5e-4 * abs(x)
