"""``naivegrad graph``: the DOT it prints has one box per value, one node per op and one edge per operand, with
the gradients of backward; rendering works with Graphviz and fails clearly without it."""

import math
import re
import shutil
import sys

import pytest

from naivegrad.scalar import Value

from cli_helpers import one_line_error

NODE = re.compile(r"^\s*(\w+) \[(.*)\];$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")


def parse(dot):
    """(nodes {id: attribute text}, edges [(tail, head)]) of the DOT text, refusing any line it does not know."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph naivegrad {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if line.strip().startswith(("graph [", "node [", "edge [", "//")):
            continue
        m = EDGE.match(line)
        if m:
            edges.append(m.groups())
            continue
        m = NODE.match(line)
        assert m, f"unexpected DOT line: {line!r}"
        assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
        nodes[m.group(1)] = m.group(2)
    for tail, head in edges:
        assert tail in nodes and head in nodes, (tail, head)
    return nodes, edges


def graph_counts(root):
    """(values, ops, edges) of the graph below ``root``, walked independently of the drawing code."""
    seen, stack = {}, [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v._prev)
    values = list(seen.values())
    made = [v for v in values if v._prev]
    return len(values), len(made), sum(1 + len(v._prev) for v in made)


def box(nodes, name):
    """data and grad shown in the box labelled ``name``."""
    for attrs in nodes.values():
        m = re.search(r'label="\{ ' + name + r' \| data (\S+) \| grad (\S+) \}"', attrs)
        if m:
            return float(m.group(1)), float(m.group(2))
    raise AssertionError(f"no box named {name}")


def test_micrographs_example_prints_a_dot_graph_with_the_right_gradients(run_cli):
    status, dot, err = run_cli("graph", "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()")
    assert status == 0 and err == ""
    nodes, edges = parse(dot)
    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    values, ops, n_edges = graph_counts((a * b + c).tanh())
    assert (values, ops, n_edges) == (6, 3, 8)
    records = [n for n, attrs in nodes.items() if "shape=record" in attrs]
    assert len(records) == values and len(nodes) - len(records) == ops and len(edges) == n_edges
    # d tanh(ab + c) = (1 - tanh^2) * (b da + a db + dc)
    t = 1 - math.tanh(2.0 * -3.0 + 10.0) ** 2
    for name, data, grad in (("a", 2.0, t * -3.0), ("b", -3.0, t * 2.0), ("c", 10.0, t)):
        shown = box(nodes, name)
        assert shown == (pytest.approx(data, abs=5e-5), pytest.approx(grad, abs=5e-5))


def test_a_reused_name_is_one_box_with_its_gradient_summed(run_cli):
    status, dot, _ = run_cli("graph", "x=0.5; y=x*x + exp(x); y.log()")
    assert status == 0
    nodes, edges = parse(dot)
    x = Value(0.5)
    values, ops, n_edges = graph_counts((x * x + x.exp()).log())
    assert len(nodes) == values + ops and len(edges) == n_edges
    y = 0.25 + math.exp(0.5)
    assert box(nodes, "x")[1] == pytest.approx((2 * 0.5 + math.exp(0.5)) / y, abs=5e-5)


def test_max_nodes_summarises_a_long_chain(run_cli):
    expr = "x=1.0; " + "+".join(["x*x"] * 40)
    status, dot, _ = run_cli("graph", expr, "--max-nodes", 10)
    assert status == 0
    nodes, _ = parse(dot)
    assert sum("shape=record" in attrs for attrs in nodes.values()) == 10
    assert any("more nodes" in attrs for attrs in nodes.values())


def test_dot_file_is_the_printed_text(run_cli, tmp_path):
    expr = "a=2.0; b=-3.0; (a*b).relu()"
    _, printed, _ = run_cli("graph", expr)
    status, out, _ = run_cli("graph", expr, "-o", tmp_path / "g.dot")
    assert status == 0 and f"wrote {tmp_path / 'g.dot'}" in out
    assert (tmp_path / "g.dot").read_text() == printed


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz dot program is not installed")
def test_svg_and_png_are_rendered_with_graphviz(run_cli, tmp_path):
    pytest.importorskip("graphviz")
    expr = "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()"
    assert run_cli("graph", expr, "-o", tmp_path / "g.svg")[0] == 0
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "grad" in svg and svg.count("<g id=\"node") == 9
    assert run_cli("graph", expr, "-o", tmp_path / "g.png")[0] == 0
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_svg_fails_naming_the_extra_and_dot_still_works(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    expr = "a=2.0; (a*a).tanh()"
    status, out, err = run_cli("graph", expr, "-o", tmp_path / "g.svg")
    assert status == 2
    assert 'pip install "naivegrad[viz]"' in one_line_error(err)
    assert not (tmp_path / "g.svg").exists() and out == ""
    assert run_cli("graph", expr, "-o", tmp_path / "g.dot")[0] == 0
    assert run_cli("graph", expr)[0] == 0
