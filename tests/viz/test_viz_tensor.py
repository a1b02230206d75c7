"""``to_dot`` on tensor graphs: the same picture as the scalar engine's, with shapes and dtypes in the boxes."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given

from naivegrad.scalar import Value
from naivegrad.viz import set_label, to_dot

from viz_dot_parser import drawing
from viz_graphs import build, close, expected, named, recipes

tensor = pytest.importorskip("naivegrad.tensor")
Tensor = tensor.Tensor


def as_tensor(x):
    return Tensor(x, dtype=np.float64)


@given(recipes())
def test_a_tensor_graph_draws_like_the_same_scalar_graph(recipe):
    values = build(recipe, Value)
    tensors = build(recipe, as_tensor)
    names_v = {id(v): f"n{i}" for i, v in enumerate(values)}
    names_t = {id(t): f"n{i}" for i, t in enumerate(tensors)}
    drawn_v = to_dot(values[-1], labels={v: f"n{i}" for i, v in enumerate(values)})
    drawn_t = to_dot(tensors[-1], labels={t: f"n{i}" for i, t in enumerate(tensors)})
    boxes_t, ops_t, edges_t = named(drawn_t)
    boxes_v, ops_v, edges_v = expected(values[-1], names_v)
    # The scalar engine is the oracle for the structure: same values, same ops, same edges.
    assert (boxes_t, set(ops_t), edges_t) == (boxes_v, set(ops_v), edges_v)
    assert named(drawn_t) == expected(tensors[-1], names_t)
    assert ops_t == {names_t[id(t)]: t._ctx.fn.__name__ for t in tensors if names_t[id(t)] in ops_t}
    # One-element tensors also show their value, which must be the scalar engine's.
    by_name = {f[0]: f for f in drawing(drawn_t).boxes.values()}
    for v in values:
        fields = by_name.get(names_v[id(v)])
        if fields is not None:
            assert fields[1:3] == ["shape ()", "dtype float64"]
            assert fields[3].startswith("data ") and close(fields[3][5:], v.data), (fields, v.data)


def test_boxes_show_shape_and_dtype_and_ops_their_function():
    w = set_label(Tensor(np.ones((3, 2)), dtype=np.float64), "w")
    x = set_label(Tensor([[1.0, 2.0, 3.0]], requires_grad=False), "x")  # float32 data, a leaf
    h = set_label((x @ w).relu(), "h")
    loss = set_label((h * 2.0).sum(), "loss")  # the 2.0 is a constant: no box
    loss.backward()
    d = drawing(to_dot(loss))
    by_name = {f[0]: f for f in d.boxes.values()}
    assert {"w", "x", "h", "loss"} <= set(by_name)
    assert len(d.boxes) == 6 and len(d.ops) == 4  # w, x, x@w, h, h*2, loss; MatMul, Relu, Mul, Sum
    for t, name in ((w, "w"), (x, "x"), (h, "h")):
        assert by_name[name][1:] == [f"shape {t.shape}", f"dtype {t.dtype}"]
    assert by_name["loss"][1:3] == ["shape ()", f"dtype {loss.dtype}"]
    assert close(by_name["loss"][3][5:], float(loss.data)) and close(by_name["loss"][4][5:], 1.0)
    assert Counter(d.ops.values()) == Counter({"MatMul": 1, "Relu": 1, "Mul": 1, "Sum": 1})


def test_collapse_counts_tensor_nodes():
    x = Tensor(np.arange(4.0), dtype=np.float64)
    y = x
    for _ in range(30):
        y = y.tanh()
    d = drawing(to_dot(y.sum(), max_nodes=5))
    assert len(d.boxes) == 5 and list(d.more.values()) == [32 - 5]
