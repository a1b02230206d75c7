"""Random computation graphs for the drawing tests, as recipes that build the same graph on either engine.

A recipe is a list of leaf numbers and a list of steps; each step makes exactly one new node from earlier
ones (Values or Tensors alike), so the pool's order is the creation order.
"""

import math
from collections import Counter, deque
from decimal import Decimal

from hypothesis import strategies as st

from viz_dot_parser import drawing

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
    shown = Decimal(shown)  # exact: "1.798e+308" is beyond the largest float but is a fine rounding
    if math.isnan(x):
        return shown.is_nan()
    if math.isinf(x):
        return shown == Decimal(x)
    x = Decimal(x)
    return abs(shown - x) <= Decimal("5e-5") + Decimal("5e-4") * abs(x)


def named(text):
    """The drawing in terms of box names: (box names, {box name: op label}, Counter of named edges)."""
    d = drawing(text)
    box_name = {bid: fields[0] for bid, fields in d.boxes.items()}
    assert len(set(box_name.values())) == len(box_name), "box names must be unique in these tests"
    produces = {}
    for (tail, head), k in d.edges.items():
        if tail in d.ops:
            assert head in d.boxes and k == 1 and tail not in produces, (tail, head)
            produces[tail] = head
    assert set(produces) == set(d.ops), "every op node makes exactly one value"

    def name(nid):
        if nid in d.boxes:
            return box_name[nid]
        if nid in d.ops:
            return "op:" + box_name[produces[nid]]
        return nid

    edges = Counter()
    for (tail, head), k in d.edges.items():
        edges[name(tail), name(head)] += k
    ops = {box_name[produces[o]]: label for o, label in d.ops.items()}
    return set(box_name.values()), ops, edges


def expected(root, names):
    """What the drawing must show, computed from the graph itself."""
    boxes, ops, edges = set(), {}, Counter()
    for v in reachable(root):
        n = names[id(v)]
        boxes.add(n)
        if v._prev:
            ops[n] = v._op
            edges["op:" + n, n] += 1
            for c in v._prev:
                edges[names[id(c)], "op:" + n] += 1
    return boxes, ops, edges
