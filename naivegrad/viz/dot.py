"""``to_dot``: a computation graph as Graphviz DOT text, in pure Python.

The picture is micrograd's: one record box per value (name, data, grad; or shape and dtype for a tensor),
one small node per op, and edges operand -> op -> result. Node ids follow creation order (``v0`` is the
oldest value, ``v0_op`` the op that made it), so the same graph always gives the same text.
"""

import math
import re
import unicodedata
from numbers import Real

from .graph import operands, read_graph
from .labels import get_label

__all__ = ["to_dot"]

RANKDIRS = ("LR", "RL", "TB", "BT")
_UNSAFE = {"Cc", "Cs", "Zl", "Zp"}
_LOOSE_SPACE = re.compile(r"^ | (?= )|(?<= ) | $")


def to_dot(root, max_nodes=200, rankdir="LR", *, labels=None):
    """The graph that computed ``root`` as Graphviz DOT text (no dependency needed).

    >>> a, b = Value(2.0), Value(-3.0); c = (a * b).tanh(); c.backward()
    >>> print(to_dot(c))      # paste into any Graphviz viewer, or use draw(c, "c.svg")

    ``root`` is a ``naivegrad.scalar.Value`` (boxes show data and grad), a ``naivegrad.tensor.Tensor``
    (boxes show shape and dtype, plus data and grad for one-element tensors), or anything with
    micrograd's ``_prev`` and ``_op``. Beyond ``max_nodes`` values, only the ``max_nodes`` nearest the
    root are drawn and each group of the rest becomes one "... N more nodes" box. ``rankdir`` is the
    direction of the layout (LR, RL, TB, BT). ``labels`` maps nodes to names, in addition to
    ``naivegrad.viz.set_label``.
    """
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"to_dot: max_nodes must be an int, got {type(max_nodes).__name__}: {max_nodes!r}")
    if max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be at least 1, got {max_nodes}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    names = _names(labels)

    g = read_graph(root, max_nodes)
    lines = [
        "digraph naivegrad {",
        f"  graph [rankdir={rankdir}];",
        '  node [fontname="Helvetica"];',
    ]
    if g.hidden:
        lines.append(f"  // {len(g.kept)} of {len(g.nodes)} values drawn; the rest are summarised")
    for node in g.nodes:
        if id(node) not in g.kept:
            continue
        vid = f"v{g.number[id(node)]}"
        name = names.get(id(node))
        if name is None:
            name = get_label(node)
        lines.append(f'  {vid} [shape=record, label="{_record(_fields(node, name))}"];')
        prev = operands(node)
        op = getattr(node, "_op", "")
        if prev or op:
            lines.append(f'  {vid}_op [label="{_quote(_text(op or "?"))}"];')
            lines.append(f"  {vid}_op -> {vid};")
            for child in prev:
                if id(child) in g.kept:
                    lines.append(f"  v{g.number[id(child)]} -> {vid}_op;")
    for i, (count, feeds) in enumerate(g.hidden):
        what = "node" if count == 1 else "nodes"
        lines.append(f'  more{i} [shape=box, style=dashed, label="... {count} more {what}"];')
        for fed in feeds:
            lines.append(f"  more{i} -> v{g.number[fed]}_op;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _names(labels):
    """``labels`` as {id(node): name}: iterating items() never hashes a node (a Tensor may not be hashable)."""
    if labels is None:
        return {}
    if not hasattr(labels, "items"):
        raise TypeError(f"to_dot: labels must map nodes to names, got {type(labels).__name__}")
    names = {}
    for node, name in labels.items():
        if not isinstance(name, str):
            raise TypeError(f"to_dot: label names must be str, got {type(name).__name__}: {name!r}")
        names[id(node)] = name
    return names


def format_number(x):
    """A float for a box: 4 decimals as micrograd shows them, or 4 significant digits when far from 1."""
    x = float(x)
    if math.isfinite(x) and (x == 0.0 or 1e-4 <= abs(x) < 1e6):
        return f"{x:.4f}"
    return f"{x:.4g}"


def _fields(node, name):
    """The lines of one value's box: its name (if any), then data and grad or shape and dtype."""
    fields = [name] if name else []
    data = getattr(node, "data", None)
    if isinstance(data, Real):
        fields.append(f"data {format_number(data)}")
        grad = getattr(node, "grad", None)
        fields.append("grad " + (format_number(grad) if isinstance(grad, Real) else "-"))
        return fields
    shape = getattr(node, "shape", getattr(data, "shape", None))
    dtype = getattr(node, "dtype", getattr(data, "dtype", None))
    fields.append(f"shape {tuple(shape) if shape is not None else '?'}")
    fields.append(f"dtype {dtype if dtype is not None else '?'}")
    size = getattr(data, "size", None)
    if size == 1:
        # A loss or other one-element tensor: its value and gradient say more than its shape.
        fields.append(f"data {format_number(data.reshape(-1)[0])}")
        grad = getattr(node, "grad", None)
        if getattr(grad, "size", None) == 1:
            fields.append(f"grad {format_number(grad.reshape(-1)[0])}")
    return fields


def _text(s):
    """Any string made safe on one line: control characters, line breaks and lone surrogates (which UTF-8
    cannot encode) become visible escapes such as ``\\n``."""
    s = str(s)
    if s.isprintable():
        return s
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _UNSAFE else c for c in s)


def _quote(s):
    """``s`` inside a DOT double-quoted string, shown literally (a backslash stays a backslash)."""
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _record(fields):
    """A record label ``{ a | b }`` (a row of fields when rankdir is LR); record syntax characters escaped."""
    escaped = []
    for f in fields:
        f = _text(f).replace("\\", "\\\\")
        for c in '{}|<>"':
            f = f.replace(c, "\\" + c)
        # Records trim and merge spaces; escaping all but single inner ones keeps them and the text readable.
        escaped.append(_LOOSE_SPACE.sub(r"\\ ", f))
    return "{ " + " | ".join(escaped) + " }"
