"""Reading a computation graph for drawing: which nodes, in which order, and which to hide when it is big.

Any node that follows micrograd's convention can be drawn: ``_prev`` (its operands, in order; empty for a
leaf) and ``_op`` (the name of the op that made it). ``naivegrad.scalar.Value``, ``naivegrad.tensor.Tensor``
and micrograd's own ``Value`` all do. An integer ``_id`` (the scalar engine's creation counter) orders the
nodes; without it, a depth-first order with operands first stands in, which is the same for the same graph.
"""

from collections import deque

__all__ = ["Graph", "read_graph"]


class Graph:
    """The part of a graph to draw.

    ``nodes``: every node reachable from the root, operands before results (creation order).
    ``number``: id(node) -> its position in ``nodes`` (stable whatever ``max_nodes`` is).
    ``kept``: the ids of the nodes drawn, at most ``max_nodes``, the nearest to the root.
    ``hidden``: one entry per group of hidden nodes, ``(count, [ids of kept nodes it feeds])``.
    """

    __slots__ = ("root", "nodes", "number", "kept", "hidden")

    def __init__(self, root, nodes, number, kept, hidden):
        self.root, self.nodes, self.number, self.kept, self.hidden = root, nodes, number, kept, hidden


def operands(node):
    """The node's operands, in order, as a tuple (micrograd keeps them in a set; that works too)."""
    prev = getattr(node, "_prev", None)
    if prev is None:
        raise TypeError(
            f"cannot draw a {type(node).__name__}: a graph node needs micrograd's `_prev` (operands) and "
            f"`_op` (op name), as naivegrad.scalar.Value and naivegrad.tensor.Tensor have"
        )
    return prev if type(prev) is tuple else tuple(prev)


def _nearest_first(root):
    """Every node reachable from ``root`` in breadth-first order (nearest first), operands in order."""
    order = [root]
    seen = {id(root)}
    queue = deque(order)
    while queue:
        for child in operands(queue.popleft()):
            if id(child) not in seen:
                seen.add(id(child))
                order.append(child)
                queue.append(child)
    return order


def _creation_order(root, reached):
    """``reached`` sorted operands-first: by ``_id`` when every node has one, else by a depth-first walk."""
    ids = [getattr(n, "_id", None) for n in reached]
    if all(type(i) is int for i in ids):
        return [n for _, n in sorted(zip(ids, reached), key=lambda pair: pair[0])]
    # Iterative post-order: a node is emitted after all its operands (left to right).
    order, done = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for child in reversed(operands(node)):
            if id(child) not in done:
                stack.append((child, False))
    return order


def read_graph(root, max_nodes):
    """Walk the graph under ``root`` (iteratively) and choose what to draw; see ``Graph``."""
    reached = _nearest_first(root)
    nodes = _creation_order(root, reached)
    number = {id(n): i for i, n in enumerate(nodes)}
    kept_nodes = reached[:max_nodes]
    kept = {id(n) for n in kept_nodes}
    hidden = []
    owner = {}  # id(hidden node) -> index of its group in `hidden`
    # Each hidden node belongs to the first group that reaches it, so the counts add up to the total hidden.
    for node in kept_nodes:
        group = None
        for child in operands(node):
            cid = id(child)
            if cid in kept:
                continue
            if cid not in owner:
                if group is None:
                    group = len(hidden)
                    hidden.append([0, []])
                hidden[group][0] += _claim(child, group, kept, owner)
            feeds = hidden[owner[cid]][1]
            if not feeds or feeds[-1] != id(node):
                feeds.append(id(node))
    return Graph(root, nodes, number, kept, [(count, feeds) for count, feeds in hidden])


def _claim(start, group, kept, owner):
    """Give ``start`` and every unclaimed hidden node under it to ``group``; return how many were claimed."""
    owner[id(start)] = group
    stack = [start]
    claimed = 1
    while stack:
        for child in operands(stack.pop()):
            cid = id(child)
            if cid not in kept and cid not in owner:
                owner[cid] = group
                claimed += 1
                stack.append(child)
    return claimed
