"""``draw``: DOT always, SVG/PNG through Graphviz when installed, clear errors otherwise, atomic writes."""

import os
import re
import shutil
import struct
import sys
import types
import xml.etree.ElementTree as ET

import pytest

from naivegrad.scalar import Value
from naivegrad.viz import GraphvizNotInstalled, draw, set_label, to_dot

from viz_dot_parser import drawing


def small_graph(n=3):
    x = set_label(Value(0.5), "x")
    y = x
    for _ in range(n):
        y = (y * 2.0).tanh()
    y.backward()
    return y


def leftovers(directory, keep):
    return sorted(set(os.listdir(directory)) - set(keep))


def test_dot_output_is_the_to_dot_text(tmp_path):
    root = small_graph()
    out = draw(root, tmp_path / "g.dot")
    assert out == tmp_path / "g.dot"
    assert out.read_text(encoding="utf-8") == to_dot(root)
    draw(root, str(tmp_path / "notes.txt"), format="dot", max_nodes=2, rankdir="TB")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == to_dot(root, max_nodes=2, rankdir="TB")
    assert leftovers(tmp_path, ["g.dot", "notes.txt"]) == []


def test_unknown_formats_are_refused_by_name(tmp_path):
    root = small_graph()
    with pytest.raises(ValueError, match=r"'\.jpeg'"):
        draw(root, tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="'bmp'"):
        draw(root, tmp_path / "g.png", format="bmp")
    with pytest.raises(ValueError, match="extension ''"):
        draw(root, tmp_path / "graph")
    assert os.listdir(tmp_path) == []


def test_without_the_graphviz_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(GraphvizNotInstalled) as err:
        draw(small_graph(), tmp_path / "g.png")
    message = str(err.value)
    assert 'pip install "naivegrad[viz]"' in message and "apt-get install graphviz" in message
    assert "graphviz Python package" in message and ".png" in message
    assert isinstance(err.value, RuntimeError)
    assert os.listdir(tmp_path) == []
    draw(small_graph(), tmp_path / "g.dot")  # DOT text never needs Graphviz
    assert os.listdir(tmp_path) == ["g.dot"]


class _CalledProcessError(Exception):
    def __init__(self, stderr):
        super().__init__("dot failed")
        self.stderr = stderr


def fake_graphviz(pipe):
    """A stand-in for the graphviz package whose Source(text).pipe(format=...) calls ``pipe``."""
    module = types.ModuleType("graphviz")
    module.ExecutableNotFound = type("ExecutableNotFound", (RuntimeError,), {})
    module.CalledProcessError = _CalledProcessError

    class Source:
        def __init__(self, text):
            self.text = text

        def pipe(self, format):
            return pipe(self.text, format, module)

    module.Source = Source
    return module


def test_without_the_dot_program_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", fake_graphviz(lambda *a: b"never"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotInstalled, match='"dot" program.*apt-get install graphviz'):
        draw(small_graph(), tmp_path / "g.svg")
    assert os.listdir(tmp_path) == []


def test_a_dot_program_that_cannot_start_gives_the_same_advice(tmp_path, monkeypatch):
    def pipe(text, fmt, module):
        raise module.ExecutableNotFound("no dot")

    monkeypatch.setitem(sys.modules, "graphviz", fake_graphviz(pipe))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    with pytest.raises(GraphvizNotInstalled, match=r'naivegrad\[viz\]'):
        draw(small_graph(), tmp_path / "g.png")


def test_rendered_bytes_are_written_atomically_and_a_failed_render_keeps_the_old_file(tmp_path, monkeypatch):
    seen = {}

    def pipe(text, fmt, module):
        seen["text"], seen["format"] = text, fmt
        return b"rendered " + fmt.encode()

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setitem(sys.modules, "graphviz", fake_graphviz(pipe))
    root = small_graph()
    target = tmp_path / "g.png"
    draw(root, target)
    assert target.read_bytes() == b"rendered png" and seen == {"text": to_dot(root), "format": "png"}
    assert target.stat().st_mode & 0o777 == 0o644
    draw(root, tmp_path / "G.SVG")  # the extension decides, whatever its case
    assert (tmp_path / "G.SVG").read_bytes() == b"rendered svg"

    def failing(text, fmt, module):
        raise module.CalledProcessError(b"Error: syntax error in line 1")

    monkeypatch.setitem(sys.modules, "graphviz", fake_graphviz(failing))
    with pytest.raises(RuntimeError, match="syntax error in line 1"):
        draw(root, target)
    assert target.read_bytes() == b"rendered png"
    assert leftovers(tmp_path, ["g.png", "G.SVG"]) == []


# ------------------------------------------------------------------------------- with Graphviz installed
def _real_graphviz():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz dot program is not installed")


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_a_real_picture_of_the_graph(tmp_path):
    _real_graphviz()
    short, long = tmp_path / "short.png", tmp_path / "long.png"
    draw(small_graph(1), short)
    draw(small_graph(6), long)
    w1, h1 = png_size(short.read_bytes())
    w2, h2 = png_size(long.read_bytes())
    assert 50 < w1 < w2 and h1 > 10 and h2 > 10  # left to right: more ops, a wider picture
    assert leftovers(tmp_path, ["short.png", "long.png"]) == []


def test_svg_has_one_shape_per_node_and_edge_and_shows_odd_names_literally(tmp_path):
    _real_graphviz()
    name = 'we{ir}d|<x> "q" \\ back \\N \\n'
    a = set_label(Value(1.0), name)
    root = set_label((a * a).exp(), "out")
    text = to_dot(root)
    d = drawing(text)
    draw(root, tmp_path / "g.svg")
    svg = ET.parse(tmp_path / "g.svg").getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    groups = svg.findall(".//svg:g", ns)
    nodes = [g for g in groups if g.get("class") == "node"]
    edges = [g for g in groups if g.get("class") == "edge"]
    assert sorted(g.find("svg:title", ns).text for g in nodes) == sorted([*d.boxes, *d.ops])
    assert len(edges) == sum(d.edges.values())
    texts = [" ".join((t.text or "").replace("\u00a0", " ").split()) for t in svg.iter(f"{{{ns['svg']}}}text")]
    assert " ".join(name.split()) in texts


def test_collapsed_graph_renders_the_kept_nodes_and_counts_the_hidden_ones(tmp_path):
    _real_graphviz()
    steps, max_nodes = 40, 10
    root = small_graph(steps)
    values = 1 + 2 * steps  # x, then a product and a tanh per step
    draw(root, tmp_path / "big.svg", max_nodes=max_nodes)
    svg = ET.parse(tmp_path / "big.svg").getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    d = drawing(to_dot(root, max_nodes=max_nodes))
    titles = [g.find("svg:title", ns).text for g in svg.findall(".//svg:g", ns) if g.get("class") == "node"]
    assert sorted(titles) == sorted([*d.boxes, *d.ops, *d.more])  # every drawn node is in the picture
    assert sum(title in d.boxes for title in titles) == max_nodes  # the kept values, no more
    texts = [" ".join((t.text or "").split()) for t in svg.iter(f"{{{ns['svg']}}}text")]
    hidden = [int(m.group(1)) for m in map(re.compile(r"^\.\.\. (\d+) more nodes?$").match, texts) if m]
    assert hidden and sum(hidden) == values - max_nodes, (hidden, values)
