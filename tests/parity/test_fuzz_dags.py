"""Differential fuzzing: random expression DAGs (10 to 200 nodes, shared subexpressions, unary, binary,
reduction, softmax, matmul, movement ops) on the tensor engine, the scalar engine and PyTorch float64.

Every node's value and every input's gradient must agree. A failing DAG is shrunk by hypothesis and shown as
a standalone Python script (``harness.dag.to_python``) that reproduces it on the tensor engine.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import dag as D
from harness.draw import RandomDraw
from harness.strategies import dags

EXAMPLES = max(10, settings.default.max_examples // 4)
RTOL = 1e-9  # long chains of float64 ops: a few thousand ulps of slack, still blind to any real mistake


def _disagreement(dag, mine, theirs, label):
    """None, or a description of the first node (then input gradient) where the two runs differ."""
    (values_a, grads_a), (values_b, grads_b) = mine, theirs
    k = len(dag.inputs)
    for i, (a, b) in enumerate(zip(values_a, values_b)):
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))
        if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=RTOL * scale):
            name = f"x{i}" if i < k else f"v{i}"
            return f"{label}: value of {name} differs: {a.tolist()!r} vs {b.tolist()!r}"
    for i, (a, b) in enumerate(zip(grads_a, grads_b)):
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))
        if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=RTOL * scale):
            return f"{label}: gradient of x{i} differs: {a.tolist()!r} vs {b.tolist()!r}"
    return None


def check_engines_agree(dag):
    problem = _disagreement(dag, D.run_tensor(dag), D.run_scalar(dag), "tensor engine vs scalar engine")
    if problem:
        raise AssertionError(f"{problem}\n\n{D.to_python(dag, comment=problem)}")


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_dags_agree_on_both_engines(data):
    check_engines_agree(data.draw(dags()))


@settings(max_examples=max(5, EXAMPLES // 2), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_dags_agree_with_torch_float64(data):
    pytest.importorskip("torch")
    dag = data.draw(dags())
    problem = _disagreement(dag, D.run_tensor(dag), D.run_torch(dag), "tensor engine vs torch")
    if problem:
        raise AssertionError(f"{problem}\n\n{D.to_python(dag, comment=problem)}")


def test_dags_have_the_promised_size_reuse_and_mix():
    """Across a few seeds: 10 to 200 op nodes, nodes used more than once, every kind of op."""
    seen_ops, sizes, reused = set(), [], 0
    for seed in range(12):
        dag = D.draw_dag(RandomDraw(seed))
        sizes.append(D.size(dag))
        uses = {}
        for node in dag.nodes:
            for a in node.args:
                uses[a] = uses.get(a, 0) + 1
            seen_ops.add(node.op)
        reused += sum(1 for n in uses.values() if n > 1)
    assert 10 <= min(sizes) and max(sizes) <= 200 and max(sizes) > 60
    assert reused > 12
    kinds = {D.FUZZ_OPS[o] for o in seen_ops if o != "input"}
    assert kinds == set(D.FUZZ_OPS.values())


def test_the_printed_program_rebuilds_the_same_dag():
    """The script recomputes exactly the gradients of the DAG it prints (exec'd in a fresh namespace)."""
    for seed in range(6):
        dag = D.draw_dag(RandomDraw(seed), 10, 40)
        source = D.to_python(dag, comment="a comment line\nand another")
        assert source.startswith("# a comment line\n# and another\nimport numpy as np\n")
        node_lines = [line for line in source.splitlines() if line.startswith("v")]
        assert len(node_lines) == D.size(dag)
        namespace = {"print": lambda *a: None}
        exec(compile(source, f"<dag {seed}>", "exec"), namespace)
        _, grads = D.run_tensor(dag)
        for i, g in enumerate(grads):
            got = namespace[f"x{i}"].grad
            np.testing.assert_array_equal(np.zeros(g.shape) if got is None else got, g)


def test_index_and_array_literals_round_trip():
    from harness.dag import _array, _index

    for index in [(slice(None, None, -1), 0), (Ellipsis, None, slice(1, 5, 2)), np.array([0, 0, 1]),
                  (slice(None), np.array([True, False, True])), [1, 1], (), 1, np.array([], dtype=np.intp),
                  np.array([[True, False, True], [False, False, True]])]:
        rebuilt = eval(f"x[{_index(index)}]", {"np": np, "x": np.arange(24.0).reshape(2, 3, 4)[..., :2]})
        expected = np.arange(24.0).reshape(2, 3, 4)[..., :2][index]
        np.testing.assert_array_equal(rebuilt, expected)
    for a in [np.array(0.1), np.zeros((2, 0)), np.array([[1e-300, -2.5]]), np.array([True, False])]:
        b = eval(_array(a), {"np": np})
        np.testing.assert_array_equal(b, a)
        assert b.shape == a.shape


def test_a_failing_dag_is_shrunk_and_printed_as_python(monkeypatch):
    """Break one derivative rule in memory (the sine's): hypothesis must find a DAG that shows it, shrink
    it to a node or two, and print a script where the culprit appears. (Small DAGs over a few ops, so that
    finding and shrinking take seconds; the full-size search is the tests above.)"""
    from naivegrad.tensor.ops import elementwise

    right_backward = elementwise.Sin.backward

    def wrong_backward(ctx, g):  # 1.5 times the right gradient, whatever the rule's own shape
        grads = right_backward(ctx, g)
        return tuple(None if d is None else d * 1.5 for d in grads) if isinstance(grads, tuple) else grads * 1.5

    monkeypatch.setattr(elementwise.Sin, "backward", staticmethod(wrong_backward))

    @settings(max_examples=300, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(data=st.data())
    def small_dags_agree(data):
        check_engines_agree(data.draw(dags(1, 4, ops=("sin", "mul", "sum", "tanh"))))

    with pytest.raises(AssertionError) as failure:
        small_dags_agree()
    message = str(failure.value)
    assert "tensor engine vs scalar engine" in message and "import numpy as np" in message
    script = message[message.index("# "):]
    assert ".sin()" in script
    compile(script, "<shrunk dag>", "exec")
    # Shrunk: down to (almost) the sine alone, on a one-element input.
    node_lines = [line for line in script.splitlines() if line.startswith("v")]
    assert 1 <= len(node_lines) <= 2, script
    assert "Tensor(np.array([[0.0]]))" in script or "Tensor(np.array([0.0]))" in script, script
