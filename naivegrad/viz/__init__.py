"""Drawing computation graphs, micrograd-style: a box per value, a node per op, edges along the computation.

>>> from naivegrad.viz import draw, graph_expression, to_dot
>>> out = graph_expression("a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()"); out.backward()
>>> draw(out, "graph.svg")     # or "graph.png"; "graph.dot" needs no Graphviz at all

``to_dot`` needs nothing beyond Python; rendering SVG/PNG needs ``pip install "naivegrad[viz]"`` and the
Graphviz ``dot`` program. Works on ``naivegrad.scalar.Value`` and ``naivegrad.tensor.Tensor`` graphs.
"""

from .dot import to_dot
from .expression import graph_expression
from .labels import get_label, set_label
from .render import GraphvizNotInstalled, draw

__all__ = ["to_dot", "draw", "graph_expression", "set_label", "get_label", "GraphvizNotInstalled"]
