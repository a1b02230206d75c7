"""Hypothesis strategies over the op table (this module imports hypothesis).

>>> @given(data=st.data())
... def test_something(data):
...     case = data.draw(cases(harness.get("matmul"), "parity"))
"""

from hypothesis import strategies as st

from .check import draw_case
from .dag import draw_dag
from .draw import HypothesisDraw

__all__ = ["cases", "dags"]


@st.composite
def cases(draw, op, mode="parity", dtype=None):
    """A ``check.Case`` of ``op`` (None for a smooth-mode draw that still touches a kink: reject it)."""
    return draw_case(HypothesisDraw(draw), op, mode, dtype)


@st.composite
def dags(draw, min_nodes=10, max_nodes=200, ops=None):
    """A random expression DAG (``dag.draw_dag``)."""
    return draw_dag(HypothesisDraw(draw), min_nodes, max_nodes, ops)
