"""``backward(create_graph=True)`` on the scalar engine: every op differentiated again, graph gradients,
accumulation."""

import inspect
import math

import numpy as np

import pytest
from hypothesis import given, settings, strategies as st

import naivegrad
import naivegrad.scalar as S
from naivegrad.scalar import Value
from naivegrad.scalar.higher_order import grad
from naivegrad.scalar.value import _topological

from func_cases import CASES, anywhere, case_points, central_difference, points, programs, run_program

CASE_IDS = [c.name for c in CASES]
# Per-op tests run once per op: half the profile's examples each keeps the file fast (--deep scales it up).
per_case = settings(max_examples=max(10, settings.default.max_examples // 2))


def _same(a, b):
    return a == b or (a != a and b != b)


def _identical(a, b):
    """The same float: equal with the same sign (0.0 is not -0.0), or both nan."""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)


# ---------------------------------------------------------------------------- every op differentiates twice
def _discovered_nodes():
    """A node of every op value.py and fused.py record, found by calling every public op of Value on operands."""
    found = []
    a, b = Value(1.5), Value(0.5)
    for name, member in inspect.getmembers(Value, callable):
        if name in ("backward", "item", "__init__", "__new__", "__repr__", "__float__", "__init_subclass__",
                    "__subclasshook__", "__getattribute__", "__setattr__", "__delattr__", "__reduce__",
                    "__reduce_ex__", "__sizeof__", "__dir__", "__format__", "__str__", "__hash__", "__eq__",
                    "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__class__", "__getstate__"):
            continue
        for args in ((), (b,), (2.0,)):
            try:
                out = getattr(a, name)(*args)
            except (TypeError, ValueError):
                continue
            if type(out) is Value and out._prev:
                found.append(out)
    found += [S.sum([a, b]), S.sum([a, 2.0], b), S.dot([a], [b]), S.dot([a, 2.0], [b, a], 1.0), S.dot([a], [3.0], b)]
    return found


def test_every_recorded_op_differentiates_twice_and_has_a_case():
    nodes = _discovered_nodes()
    ops = {n._op for n in nodes}
    # Ops with a constant in their name ("**2.0", "rpow2.0", "dot:1") count by their prefix.
    names = {op.rstrip("0123456789.-e+inf:") or op for op in ops} | ops
    assert {"+", "-", "*", "/", "rsub", "rdiv", "rpow", "**", "neg", "abs", "exp", "log", "sqrt", "tanh",
            "sigmoid", "relu", "sin", "cos", "sum", "dot"} <= names | {"**"}
    for node in nodes:
        operands = list(node._prev)
        first = grad(node, operands, create_graph=True)  # raises for an op that cannot be differentiated again
        assert all(type(g) is Value for g in first), node._op
        assert all(_same(g.data, f) for g, f in zip(first, grad(node, operands))), node._op
        for g in first:
            assert len(grad(g, operands)) == len(operands)
    covered = {c.op for c in CASES}
    missing = {op for op in ops if op not in covered and not op.startswith(("**", "rpow", "dot:"))}
    assert not missing, f"ops without a case in tests/func/func_cases.py: {missing}"


# ---------------------------------------------------------------------------- graph derivatives == recorded floats
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@per_case
@given(data=st.data())
def test_graph_local_derivatives_are_the_recorded_floats_anywhere(case, data):
    # Anywhere, IEEE specials included: the derivative Values that create_graph=True builds hold, as data, the
    # very floats backward() multiplies, to the last bit. (Not always the sign of a zero: d/da a ** b at b == 0
    # is the expression b * a ** (b - 1), kept for its derivative in b, which is -0.0 for a < 0.)
    xs = [data.draw(anywhere) for _ in case.domain]
    out = case.fn(*[Value(x) for x in xs])
    assert out._op == case.op
    operands = list(out._prev)
    graph = grad(out, operands, create_graph=True)
    assert len(graph) == len(out._local)
    if all(not p._prev for p in operands) and len(set(map(id, operands))) == len(operands):
        want = list(out._local)  # distinct leaves: d out / d operand is the node's own local derivative
    else:
        want = grad(out, operands)
    for g, f in zip(graph, want):
        assert type(g) is Value and _same(g.data, f), (case.name, xs, g.data, f)


@given(st.floats(), st.floats(), st.sampled_from([0.0, -0.0, 0.3, 1.0, 2.0, 5.5, math.e, math.inf, -2.0, math.nan]))
def test_number_base_and_exponent_derivatives_are_exact_for_any_operands(x, y, c):
    for make in (lambda v: c ** v, lambda v: v ** c, lambda v: y ** v, lambda v: v ** y):
        v = Value(x)
        out = make(v)
        (g,) = grad(out, [v], create_graph=True)
        assert _identical(g.data, out._local[0]), (x, y, c, out._op, g.data, out._local)


@pytest.mark.parametrize("c", [0.0, -0.0, 0.0, math.nan, 2.0, -2.0, math.inf, -math.inf, 2.0])
def test_a_number_operand_keeps_its_value_and_sign_in_second_derivatives(c):
    # The same number used again (or 0.0 after -0.0) must not borrow another number's derivative.
    x = Value(1.5)
    for out in (x + c, c + x, x - c, c - x, x * c, c * x, x / c, c / x, x ** c, c ** x):
        (g,) = grad(out, [x], create_graph=True)
        assert _identical(g.data, out._local[0]), (c, out._op, g.data, out._local)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@per_case
@given(data=st.data())
def test_second_derivatives_match_finite_differences_of_the_gradient(case, data):
    xs = data.draw(case_points(case))
    k = len(xs)
    vs = [Value(x) for x in xs]
    first = grad(case.fn(*vs), vs, create_graph=True)
    for i in range(k):
        row = grad(first[i], vs)
        for j in range(k):
            def dfi(t, i=i, j=j):
                ws = [Value(x) for x in xs]
                ws[j] = Value(t)
                return grad(case.fn(*ws), ws)[i]

            want = central_difference(dfi, xs[j])
            assert math.isclose(row[j], want, rel_tol=1e-5, abs_tol=1e-5), (case.name, xs, i, j, row[j], want)


# ---------------------------------------------------------------------------- backward(create_graph=True)
@given(programs(max_outputs=1), st.data())
def test_graph_gradients_have_the_values_of_backward(prog, data):
    xs = data.draw(points(prog[0]))
    plain = [Value(x) for x in xs]
    run_program(prog, plain)[0].backward()
    graph = [Value(x) for x in xs]
    out = run_program(prog, graph)[0]
    out.backward(create_graph=True)
    reached = set(map(id, _topological(out)))
    for p, g in zip(plain, graph):
        # A leaf the output does not reach keeps its grad, as in backward() (PyTorch leaves it None).
        assert type(g.grad) is (Value if id(g) in reached else float)
        # The same products summed in the same order: equal to the last bit.
        assert _same(g.grad.data if type(g.grad) is Value else g.grad, p.grad)


def test_leaf_grads_accumulate_as_values_like_pytorch():
    x = Value(1.2)
    y = x ** 3.0
    y.backward(create_graph=True)
    first = x.grad
    assert type(first) is Value and math.isclose(first.data, 3 * 1.2 ** 2)
    y.backward(create_graph=True)  # accumulates: x.grad = first + second, a graph through both
    assert math.isclose(x.grad.data, 6 * 1.2 ** 2)
    total = x.grad
    x.grad = 0.0
    total.backward()  # d/dx (2 * 3x^2) = 12 x
    assert math.isclose(x.grad, 12 * 1.2)


def test_float_grad_then_graph_grad_adds():
    x = Value(0.7)
    y = x.sin()
    y.backward()
    y.backward(create_graph=True)
    assert type(x.grad) is Value and math.isclose(x.grad.data, 2 * math.cos(0.7))
    g = x.grad
    x.grad = 0.0
    g.backward()
    assert math.isclose(x.grad, -math.sin(0.7))  # the float part is a constant: only one term differentiates


def test_constant_gradient_is_a_value_without_graph_and_interiors_get_values():
    x = Value(3.0)
    h = x * 2.0
    y = h + 1.0
    y.backward(create_graph=True)
    assert type(x.grad) is Value and x.grad.data == 2.0 and x.grad._prev == ()
    assert type(h.grad) is Value and h.grad.data == 1.0
    assert type(y.grad) is Value and y.grad.data == 1.0


def test_create_graph_records_under_no_grad():
    x = Value(0.4)
    y = x.exp() * x
    with naivegrad.no_grad():
        y.backward(create_graph=True)
    g = x.grad
    assert g._prev  # a graph, as torch.autograd.grad(create_graph=True) builds under no_grad
    x.grad = 0.0
    g.backward()
    assert math.isclose(x.grad, math.exp(0.4) * (0.4 + 2))
    assert naivegrad.is_grad_enabled()


def test_x3_sin_second_and_third_derivatives_by_repeated_backward():
    a = 0.9
    x = Value(a)
    (x ** 3 * x.sin()).backward(create_graph=True)
    d1 = x.grad
    x.grad = 0.0
    d1.backward(create_graph=True)
    d2 = x.grad
    x.grad = 0.0
    d2.backward()
    d3 = x.grad
    s, c = math.sin(a), math.cos(a)
    assert math.isclose(d1.data, 3 * a * a * s + a ** 3 * c, rel_tol=1e-14)
    assert math.isclose(d2.data, 6 * a * s + 6 * a * a * c - a ** 3 * s, rel_tol=1e-13)
    assert math.isclose(d3, 6 * s + 18 * a * c - 9 * a * a * s - a ** 3 * c, rel_tol=1e-12)


def test_tangents_flow_through_the_gradient_graph():
    # Forward-over-reverse by hand: a tangent on x makes x.grad carry H v.
    a = 0.8
    x = Value(a, tangent=1.0)
    (x.tanh() * x).backward(create_graph=True)
    t = math.tanh(a)
    sech2 = 1 - t * t
    assert math.isclose(x.grad.tangent, 2 * sech2 - 2 * a * t * sech2, rel_tol=1e-13)


def test_dot_mixed_partials_see_value_partners():
    w, x, b, c = Value(0.5), Value(-1.5), Value(2.0), Value(3.0)
    out = S.dot([w, 4.0, c], [x, b, 2.0], bias=c)
    gw, gx, gb, gc = grad(out, [w, x, b, c], create_graph=True)
    assert [g.data for g in (gw, gx, gb, gc)] == [-1.5, 0.5, 4.0, 3.0]
    assert grad(gw, [w, x, b, c]) == [0.0, 1.0, 0.0, 0.0]
    assert grad(gb, [w, x, b, c]) == [0.0, 0.0, 0.0, 0.0]
    sq = S.dot([x, w], [x, w])  # |v|^2: the Hessian is 2 I
    g = grad(sq, [x, w], create_graph=True)
    assert [grad(gi, [x, w]) for gi in g] == [[2.0, 0.0], [0.0, 2.0]]


def test_dot_pairs_its_products_by_operand_not_by_value():
    # w * x is the product of two Values; b's partner is the number 2.0, which happens to equal x.data (pairing
    # by value would take x * b for a product).
    w, x, b = Value(2.0), Value(2.0), Value(2.0)
    node = S.dot([w, 2.0], [x, b])
    assert node._op == "dot:1"
    g = grad(node, [w, x, b], create_graph=True)
    assert [v.data for v in g] == [2.0, 2.0, 2.0]
    assert [grad(gi, [w, x, b]) for gi in g] == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_max_of_values_differentiates_twice():
    from naivegrad.scalar.conv import amax

    a, b = Value(0.5), Value(-1.5)
    m = amax([a * a, b, 0.1])  # a * a = 0.25 is the max
    (ga, gb) = grad(m, [a, b], create_graph=True)
    assert (ga.data, gb.data) == (1.0, 0.0)
    assert grad(ga, [a, b]) == [2.0, 0.0]


def test_copied_and_pickled_graphs_differentiate_twice():
    import copy
    import pickle

    x = Value(0.7)
    y = (S.dot([x, 2.0], [x, x], 0.5).tanh() * x + 2.0 ** x - x / 3.0 + abs(x).relu()) ** 2.0
    (want,) = grad(grad(y, [x], create_graph=True)[0], [x])
    for clone in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert clone._op == "**2.0"
        (leaf,) = {n for n in _topological(clone) if not n._prev and n.data == 0.7}
        (g,) = grad(clone, [leaf], create_graph=True)
        assert grad(g, [leaf]) == [want]


def test_deep_chain_is_not_recursive():
    x = Value(0.5)
    y = x
    for _ in range(30000):
        y = y * 1.0001 + 0.0
    (g,) = grad(y, [x], create_graph=True)
    (h,) = grad(g, [x])
    assert math.isclose(g.data, 1.0001 ** 30000, rel_tol=1e-9) and h == 0.0


# ---------------------------------------------------------------------------- errors
def test_hand_built_node_with_unknown_op_names_it():
    a = Value(2.0)
    node = Value(5.0, (a,), "my_op")
    with pytest.raises(ValueError, match="my_op"):
        node.backward(create_graph=True)


def test_hand_built_node_with_a_known_name_but_made_up_locals_is_refused():
    a, b = Value(2.0), Value(3.0)
    node = Value(5.0, (a, b), "+")  # micrograd style: local derivatives are not recorded (zeros)
    with pytest.raises(ValueError, match=r"'\+'.*made by hand"):
        grad(node, [a], create_graph=True)
    assert grad(node, [a]) == [0.0]  # first order: the zeros it records


def test_hand_built_node_with_the_op_of_a_real_node_is_refused():
    a = Value(2.0)
    real = a * 3.0
    node = Value(6.0, (a,), real._op)  # the name of a real op, but no derivative recorded
    assert node._op == "*"
    with pytest.raises(ValueError, match="made by hand"):
        node.backward(create_graph=True)


def test_grad_checks_its_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match="float"):
        grad(x * 2, [1.0])
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        grad(x * 2, [x], grad_outputs=[1.0, 2.0])


def test_grad_leaves_grad_attributes_alone_and_unreached_inputs_get_zero():
    x, y = Value(2.0), Value(5.0)
    x.grad = 7.0
    out = x * x
    assert grad(out, [x, y]) == [4.0, 0.0]
    assert x.grad == 7.0 and out.grad == 0.0
    gy = grad(out, [y], create_graph=True)[0]
    assert type(gy) is Value and gy.data == 0.0


def test_dot_second_derivatives_know_which_operands_multiply():
    # w * 3.0 + 2.0 * x: no product of w and x, even where w == 2.0 and x == 3.0 mirror the constants.
    from naivegrad.func import hessian

    h = hessian(lambda v: S.dot([v[0], 2.0], [3.0, v[1]]))([2.0, 3.0])
    np.testing.assert_array_equal(np.asarray(h, dtype=float), np.zeros((2, 2)))
    h = hessian(lambda v: S.dot([v[0], 2.0], [v[1], v[0]]))([2.0, 3.0])  # w * x + 2 w: d2/dw dx = 1
    np.testing.assert_array_equal(np.asarray(h, dtype=float), [[0.0, 1.0], [1.0, 0.0]])
