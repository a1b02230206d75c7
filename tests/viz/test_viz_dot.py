"""``to_dot`` on scalar graphs: the DOT text parses, and draws exactly the graph, its numbers and its names."""

import math
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naivegrad.scalar as ng
from naivegrad import no_grad
from naivegrad.scalar import Value
from naivegrad.viz import get_label, set_label, to_dot

from viz_dot_parser import drawing, parse_dot
from viz_graphs import build, close, distances, expected, named, reachable, recipes


def drawn_with_names(pool, root, **kw):
    labels = {v: f"n{i}" for i, v in enumerate(pool)}
    names = {id(v): f"n{i}" for i, v in enumerate(pool)}
    return to_dot(root, labels=labels, **kw), names


# ---------------------------------------------------------------------------------------------- structure
@given(recipes())
def test_nodes_and_edges_are_exactly_the_graph(recipe):
    pool = build(recipe, Value)
    root = pool[-1]
    text, names = drawn_with_names(pool, root)
    assert named(text) == expected(root, names)


def test_diamond_shares_its_source():
    a = set_label(Value(0.5), "a")
    b = set_label(a.exp(), "b")
    c = set_label(a.tanh(), "c")
    d = set_label(b * c, "d")
    boxes, ops, edges = named(to_dot(d))
    assert boxes == {"a", "b", "c", "d"}
    assert ops == {"b": "exp", "c": "tanh", "d": "*"}
    assert edges == Counter({
        ("a", "op:b"): 1, ("op:b", "b"): 1,
        ("a", "op:c"): 1, ("op:c", "c"): 1,
        ("b", "op:d"): 1, ("c", "op:d"): 1, ("op:d", "d"): 1,
    })


def test_constant_operands_are_folded_not_drawn():
    x = set_label(Value(1.5), "x")
    y = set_label(2.0 * x, "y")
    z = set_label(y + 3, "z")
    w = set_label(1.0 / z, "w")
    boxes, ops, edges = named(to_dot(w))
    assert boxes == {"x", "y", "z", "w"}
    assert edges == Counter({("x", "op:y"): 1, ("op:y", "y"): 1, ("y", "op:z"): 1, ("op:z", "z"): 1,
                             ("z", "op:w"): 1, ("op:w", "w"): 1})


def test_an_operand_used_twice_has_two_edges():
    a = set_label(Value(3.0), "a")
    sq = set_label(a * a, "sq")
    _, _, edges = named(to_dot(sq))
    assert edges[("a", "op:sq")] == 2


def test_fused_sum_and_dot_are_one_op_node():
    xs = [set_label(Value(float(i)), f"x{i}") for i in range(4)]
    ws = [set_label(Value(0.5 * i), f"w{i}") for i in range(4)]
    s = set_label(ng.sum(xs + [1.0]), "s")
    d = set_label(ng.dot(ws, xs, bias=s), "d")
    boxes, ops, edges = named(to_dot(d))
    assert ops == {"s": "sum", "d": "dot:4"}  # four products of two Values
    assert sum(k for (_, head), k in edges.items() if head == "op:d") == 9
    assert boxes == {f"x{i}" for i in range(4)} | {f"w{i}" for i in range(4)} | {"s", "d"}


def test_a_leaf_alone_and_a_value_made_under_no_grad_are_single_boxes():
    for v in (Value(2.0), None):
        if v is None:
            a = Value(2.0)
            with no_grad():
                v = a * a + 1
        d = drawing(to_dot(v))
        assert len(d.boxes) == 1 and not d.ops and not d.edges and not d.more


def test_nodes_unreachable_from_the_root_are_not_drawn():
    a, b = Value(1.0), Value(2.0)
    _ = a * b  # a sibling result: not part of the root's graph
    root = a.tanh()
    assert len(drawing(to_dot(root)).boxes) == 2


# ---------------------------------------------------------------------------------------------- numbers
finite_or_not = st.floats(allow_nan=True, allow_infinity=True)


@given(finite_or_not, finite_or_not)
def test_boxes_show_data_and_grad(x, g):
    v = Value(x)
    v.grad = g
    (fields,) = drawing(to_dot(v)).boxes.values()
    assert len(fields) == 2 and fields[0].startswith("data ") and fields[1].startswith("grad ")
    assert close(fields[0][5:], x), (fields, x)
    assert close(fields[1][5:], g), (fields, g)


def test_drawn_grads_are_the_backward_grads():
    a, b = set_label(Value(2.0), "a"), set_label(Value(-3.0), "b")
    out = set_label((a * b + a.sin()).tanh(), "out")
    out.backward()
    d = drawing(to_dot(out))
    by_name = {f[0]: f for f in d.boxes.values()}
    # Independent derivative: d/da tanh(ab + sin a) = (1 - tanh^2)(b + cos a).
    t = math.tanh(2.0 * -3.0 + math.sin(2.0))
    assert close(by_name["a"][2][5:], (1 - t * t) * (-3.0 + math.cos(2.0)))
    assert close(by_name["b"][2][5:], (1 - t * t) * 2.0)
    assert close(by_name["out"][1][5:], t) and close(by_name["out"][2][5:], 1.0)


# ---------------------------------------------------------------------------------------------- names
odd = st.text(alphabet=list('ab {}|<>"\\\';[]=,-#é→\u00a0\u200dx_N'), min_size=1, max_size=20)


@given(st.text(min_size=1, max_size=20))
def test_any_name_gives_valid_utf8_dot_text(name):
    text = to_dot(set_label(Value(1.0), name) * 2)
    text.encode("utf-8")  # lone surrogates would fail here
    assert len(drawing(text).boxes) == 2


@given(odd)
def test_odd_names_are_escaped_and_read_back_exactly(name):
    v = set_label(Value(1.0), name)
    w = v * 2
    text = to_dot(w)
    boxes = drawing(text).boxes
    assert sorted(f[0] for f in boxes.values() if len(f) == 3) == [name]


@pytest.mark.parametrize("name, shown", [("a\nb", "a\\nb"), ("tab\there", "tab\\there"), ("\x00", "\\x00")])
def test_control_characters_are_shown_not_interpreted(name, shown):
    boxes = drawing(to_dot(set_label(Value(1.0), name))).boxes
    (fields,) = boxes.values()
    assert fields[0] == shown


@given(st.text(alphabet=list('ab"\\{}|<> n*'), min_size=1, max_size=12))
def test_odd_op_names_are_escaped(op):
    a = Value(1.0)
    v = Value(2.0, (a,), op)  # micrograd lets users build nodes by hand, with any op name
    d = drawing(to_dot(v))
    assert list(d.ops.values()) == [op]


def test_labels_argument_overrides_set_label_and_micrograd_style_label_attribute_is_used():
    a = set_label(Value(1.0), "from-set_label")
    assert get_label(a) == "from-set_label"
    fields = list(drawing(to_dot(a, labels={a: "from-argument"})).boxes.values())[0]
    assert fields[0] == "from-argument"
    set_label(a, None)
    assert get_label(a) == "" and len(list(drawing(to_dot(a)).boxes.values())[0]) == 2


def test_labels_are_forgotten_with_their_node():
    """A label neither keeps its node alive nor outlives it: memory does not grow with labelled nodes that are
    gone, and new nodes (which reuse the dead ones' memory, and so their ids) start without a label."""
    import gc
    import tracemalloc
    import weakref

    v = set_label(Value(1.0), "temp")
    alive = weakref.ref(v)
    del v
    gc.collect()
    assert alive() is None  # the label did not keep its node

    def label_and_drop(n):  # n labelled nodes alive together (distinct ids), then all gone
        nodes = [set_label(Value(float(i)), f"temp{i % 7}") for i in range(n)]
        del nodes
        gc.collect()

    label_and_drop(100)
    n = 10_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        label_and_drop(n)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Forgotten: only the label table's emptied slots stay (about 30 bytes a node); remembered names with their
    # weak references would keep about 200 bytes a node.
    assert kept < 100 * n, f"{kept} bytes kept for {n} labelled nodes that are gone"
    fresh = [Value(0.0) for _ in range(1000)]
    assert not [get_label(f) for f in fresh if get_label(f)]


def test_set_label_rejects_bad_names_and_unreferenceable_nodes():
    with pytest.raises(TypeError, match="str"):
        set_label(Value(1.0), 3)
    with pytest.raises(TypeError, match="int"):
        set_label(5, "five")


# ---------------------------------------------------------------------------------------------- order
@given(recipes())
def test_ids_follow_creation_order_and_the_text_is_reproducible(recipe):
    pool = build(recipe, Value)
    text, names = drawn_with_names(pool, pool[-1])
    number_of = {fields[0]: int(bid[1:]) for bid, fields in drawing(text).boxes.items()}
    drawn_in_creation_order = [names[id(v)] for v in pool if names[id(v)] in number_of]
    assert sorted(number_of, key=number_of.get) == drawn_in_creation_order
    again = build(recipe, Value)  # new objects, later creation counters: the same text
    assert drawn_with_names(again, again[-1])[0] == text
    assert to_dot(pool[-1]) == to_dot(pool[-1])


# ---------------------------------------------------------------------------------------------- collapse
@settings(max_examples=max(20, settings.default.max_examples))
@given(recipes(max_steps=30), st.integers(1, 40))
def test_collapse_keeps_the_nearest_nodes_and_counts_the_rest(recipe, max_nodes):
    pool = build(recipe, Value)
    root = pool[-1]
    text, names = drawn_with_names(pool, root, max_nodes=max_nodes)
    d = drawing(text)
    everything = reachable(root)
    shown = {fields[0] for fields in d.boxes.values()}
    assert len(shown) == min(max_nodes, len(everything))
    assert sum(d.more.values()) == len(everything) - len(shown)
    assert bool(d.more) == (len(everything) > max_nodes)
    assert all(n >= 1 for n in d.more.values())
    dist = distances(root)
    kept = [v for v in everything if names[id(v)] in shown]
    hidden = [v for v in everything if names[id(v)] not in shown]
    if hidden:
        assert max(dist[id(v)] for v in kept) <= min(dist[id(v)] for v in hidden)
    # Every kept value keeps its op node and its kept operands' edges; hidden operands arrive via a summary.
    box_of = {fields[0]: bid for bid, fields in d.boxes.items()}
    op_of = {head: tail for (tail, head) in d.edges if tail in d.ops}
    fed_by_more = {head for (tail, head) in d.edges if tail in d.more}
    for (tail, head) in d.edges:
        if tail in d.more:
            assert head in d.ops
        assert head not in d.more
    for v in kept:
        if not v._prev:
            continue
        op = op_of[box_of[names[id(v)]]]
        from_kept = Counter(t for (t, h), k in d.edges.items() if h == op and t in d.boxes for _ in range(k))
        assert from_kept == Counter(box_of[names[id(c)]] for c in v._prev if names[id(c)] in shown)
        has_hidden = any(names[id(c)] not in shown for c in v._prev)
        assert (op in fed_by_more) == has_hidden


def test_collapse_of_parallel_chains_gives_one_summary_per_chain():
    heads = []
    for k in range(5):
        x = Value(float(k))
        for _ in range(3):
            x = x.tanh()
        heads.append(x)  # each chain: 4 values
    root = ng.sum(heads)
    d = drawing(to_dot(root, max_nodes=6))  # the root and the five chain heads
    assert len(d.boxes) == 6
    assert sorted(d.more.values()) == [3] * 5
    assert sorted(Counter(t for t, _ in d.edges if t in d.more).values()) == [1] * 5


def test_summary_says_node_for_one():
    x = Value(1.0)
    d = drawing(to_dot(x.exp(), max_nodes=1))
    assert list(d.more.values()) == [1]
    assert "... 1 more node\"" in to_dot(x.exp(), max_nodes=1)


def test_a_very_deep_graph_is_walked_without_recursion():
    depth = 20_000
    x = Value(0.1)
    y = x
    for _ in range(depth):
        y = y * 1.0
    assert sys.getrecursionlimit() < depth
    d = drawing(to_dot(y, max_nodes=25))
    assert len(d.boxes) == 25 and list(d.more.values()) == [depth + 1 - 25]
    assert len(parse_dot(to_dot(y, max_nodes=depth + 1)).nodes) == 2 * depth + 1


# ---------------------------------------------------------------------------------------------- arguments
def test_layout_direction_and_bad_arguments():
    v = Value(1.0).exp()
    assert parse_dot(to_dot(v, rankdir="TB")).defaults["graph"]["rankdir"] == "TB"
    with pytest.raises(ValueError, match="max_nodes.*0"):
        to_dot(v, max_nodes=0)
    with pytest.raises(TypeError, match="max_nodes"):
        to_dot(v, max_nodes=2.5)
    with pytest.raises(ValueError, match="rankdir.*'XY'"):
        to_dot(v, rankdir="XY")
    with pytest.raises(TypeError, match="float"):
        to_dot(3.0)
    with pytest.raises(TypeError, match="labels.*list"):
        to_dot(v, labels=[v])
    with pytest.raises(TypeError, match="int: 7"):
        to_dot(v, labels={v: 7})


def test_micrograd_graphs_draw_too():
    engine = pytest.importorskip("micrograd.engine")
    a, b = engine.Value(2.0), engine.Value(-3.0)
    a.label, b.label = "a", "b"
    c = a * b
    c.label = "c"
    c.backward()
    boxes, ops, edges = named(to_dot(c))
    assert boxes == {"a", "b", "c"} and ops == {"c": "*"}
    assert edges == Counter({("a", "op:c"): 1, ("b", "op:c"): 1, ("op:c", "c"): 1})
