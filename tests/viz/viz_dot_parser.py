"""A strict parser for the subset of DOT that ``naivegrad.viz.to_dot`` writes, written from the DOT grammar.

It is deliberately independent of the code under test: it tokenizes the text, accepts only
``digraph ID { ... }`` with node, edge and default-attribute statements, and fails loudly on anything else.
Record labels are decoded as Graphviz does: ``\\{ \\} \\| \\< \\> \\ `` are literal characters, ``\\\\`` is a
backslash, and unescaped spaces around a field are dropped.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<arrow>->)
  | (?P<punct>[\[\]{}=;,])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<id>[A-Za-z_][A-Za-z_0-9]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Dot:
    name: str
    defaults: dict = field(default_factory=dict)  # "graph"/"node"/"edge" -> attrs
    nodes: dict = field(default_factory=dict)  # id -> attrs, in order of appearance
    edges: list = field(default_factory=list)  # (tail, head), in order

    def edge_counts(self):
        return Counter(self.edges)


def _tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SyntaxError(f"bad DOT at {pos}: {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            continue
        value = m.group()
        if kind == "string":
            # DOT itself unescapes only \" ; every other backslash pair is left for the label parser.
            value = value[1:-1].replace('\\"', '"')
        out.append((kind, value))
    return out


def parse_dot(text):
    toks = _tokens(text)
    i = 0

    def take(kind=None, value=None):
        nonlocal i
        if i >= len(toks):
            raise SyntaxError("unexpected end of DOT")
        k, v = toks[i]
        if (kind and k != kind) or (value is not None and v != value):
            raise SyntaxError(f"expected {kind or ''} {value or ''}, got {k} {v!r}")
        i += 1
        return v

    def attrs():
        nonlocal i
        out = {}
        if i < len(toks) and toks[i] == ("punct", "["):
            take("punct", "[")
            while toks[i] != ("punct", "]"):
                key = take("id")
                take("punct", "=")
                k, v = toks[i]
                if k not in ("id", "string"):
                    raise SyntaxError(f"bad attribute value {v!r}")
                i += 1
                if key in out:
                    raise SyntaxError(f"attribute {key} given twice")
                out[key] = v
                if toks[i] == ("punct", ","):
                    take("punct", ",")
            take("punct", "]")
        return out

    take("id", "digraph")
    dot = Dot(take("id"))
    take("punct", "{")
    while toks[i] != ("punct", "}"):
        first = take("id")
        if first in ("graph", "node", "edge"):
            dot.defaults[first] = attrs()
        elif i < len(toks) and toks[i][0] == "arrow":
            take("arrow")
            head = take("id")
            attrs()
            dot.edges.append((first, head))
        else:
            if first in dot.nodes:
                raise SyntaxError(f"node {first} declared twice")
            dot.nodes[first] = attrs()
        take("punct", ";")
    take("punct", "}")
    if i != len(toks):
        raise SyntaxError("text after the graph")
    for tail, head in dot.edges:
        for end in (tail, head):
            if end not in dot.nodes:
                raise SyntaxError(f"edge {tail} -> {head} uses undeclared node {end}")
    return dot


def record_fields(label):
    """The fields of a record label ``{ f1 | f2 | ... }``, unescaped as Graphviz reads them."""
    if not (label.startswith("{") and label.endswith("}")):
        raise ValueError(f"not a vertical-group record label: {label!r}")
    body = label[1:-1]
    fields, current = [], []  # current: list of (char, escaped)
    j = 0
    while j < len(body):
        c = body[j]
        if c == "\\":
            nxt = body[j + 1]
            if nxt in "{}|<> ":
                current.append((nxt, True))
            elif nxt == "\\":
                current.append(("\\", True))
            else:
                raise ValueError(f"escape \\{nxt} in a record label would be interpreted: {label!r}")
            j += 2
            continue
        if c in "{}<>":
            raise ValueError(f"unescaped {c!r} in a record field: {label!r}")
        if c == "|":
            fields.append(current)
            current = []
        else:
            current.append((c, False))
        j += 1
    fields.append(current)
    out = []
    for f in fields:
        while f and f[0] == (" ", False):
            f.pop(0)
        while f and f[-1] == (" ", False):
            f.pop()
        out.append("".join(c for c, _ in f))
    return out


def plain_label(label):
    """A non-record label as shown: ``\\\\`` is a backslash; any other escape would be interpreted."""
    out, j = [], 0
    while j < len(label):
        if label[j] == "\\":
            if label[j + 1] != "\\":
                raise ValueError(f"escape in a plain label would be interpreted: {label!r}")
            out.append("\\")
            j += 2
        else:
            out.append(label[j])
            j += 1
    return "".join(out)


@dataclass
class Drawing:
    """What a DOT text draws, by role: value boxes, op nodes and summary ("... N more") nodes."""

    boxes: dict  # id -> list of record fields
    ops: dict  # id -> op label
    more: dict  # id -> N
    edges: Counter


_MORE = re.compile(r"\.\.\. (\d+) more nodes?")


def drawing(text):
    dot = parse_dot(text)
    boxes, ops, more = {}, {}, {}
    for nid, a in dot.nodes.items():
        label = a.get("label", "")
        if a.get("shape") == "record":
            boxes[nid] = record_fields(label)
        elif a.get("style") == "dashed":
            m = _MORE.fullmatch(label)
            assert m, label
            more[nid] = int(m.group(1))
        else:
            ops[nid] = plain_label(label)
    return Drawing(boxes, ops, more, dot.edge_counts())
