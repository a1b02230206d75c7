"""``graph_expression``: the issue's language evaluated on Values, and nothing else ever evaluated."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from naivegrad.scalar import Value
from naivegrad.viz import get_label, graph_expression, to_dot

from viz_dot_parser import drawing
from viz_graphs import reachable

EXAMPLE = "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()"


def leaves_by_name(root):
    return {get_label(v): v for v in reachable(root) if not v._prev}


def test_the_issue_example_evaluates_with_named_leaves():
    out = graph_expression(EXAMPLE)
    assert isinstance(out, Value)
    assert out.data == pytest.approx(math.tanh(2.0 * -3.0 + 10.0), abs=1e-15)
    leaves = leaves_by_name(out)
    assert {n: v.data for n, v in leaves.items()} == {"a": 2.0, "b": -3.0, "c": 10.0}
    assert all(v.grad == 0.0 for v in leaves.values())  # backward only on request
    d = drawing(to_dot(out))
    assert sorted(f[0] for f in d.boxes.values() if len(f) == 3) == ["a", "b", "c"]
    assert sorted(d.ops.values()) == ["*", "+", "tanh"]


def f_example(a, b, c):
    return math.tanh(a * b + c)


def test_backward_flag_gives_the_finite_difference_gradients():
    out = graph_expression(EXAMPLE, backward=True)
    leaves = leaves_by_name(out)
    point = {n: v.data for n, v in leaves.items()}
    h = 1e-6
    for name, v in leaves.items():
        up, down = dict(point), dict(point)
        up[name] += h
        down[name] -= h
        fd = (f_example(**up) - f_example(**down)) / (2 * h)
        assert v.grad == pytest.approx(fd, rel=1e-5, abs=1e-9), name


def test_assigned_intermediates_are_named_and_aliases_keep_the_first_name():
    out = graph_expression("a=2.0; b=-3.0; e=a*b; f=e; d=f+a; L=d.relu()\nL")
    names = {get_label(v) for v in reachable(out)}
    assert names == {"a", "b", "e", "d", "L"}
    assert out.data == 0.0 and get_label(out) == "L"
    # The last statement may itself be an assignment.
    assert graph_expression("x=3.0; y=x*x").data == 9.0


@pytest.mark.parametrize("func", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs"])
def test_functions_and_methods_are_the_same_graph(func):
    as_method = graph_expression(f"x=0.7; y=-1.3; (x*y).{func}()")
    as_function = graph_expression(f"x=0.7; y=-1.3; {func}(x*y)")
    direct = getattr(Value(0.7) * Value(-1.3), func)()
    assert as_method.data == as_function.data == direct.data or math.isnan(direct.data)
    assert to_dot(as_method) == to_dot(as_function)


def test_number_only_parts_are_folded_with_ieee_results():
    out = graph_expression("a=1.0; a * log(0.0) + a / 0 - (-8.0) ** 0.5 + 2 ** 3")
    assert math.isnan(out.data)
    assert graph_expression("a=1.0; a * log(0.0)").data == -math.inf
    assert graph_expression("a=1.0; a / 0").data == math.inf
    folded = graph_expression("x=2.0; x * (3 + 4) - exp(0)")
    assert folded.data == 13.0
    assert len(reachable(folded)) == 3  # x, x*7, (x*7)-1: the constants made no nodes
    big = graph_expression("x=1.0; x + 1e400")
    assert big.data == math.inf
    assert graph_expression("k = 2 * 3").data == 6.0  # a named number is a leaf Value


# A random expression over the language, and the same expression evaluated by Python with math functions.
NAMES = {"a": 0.3, "b": -1.2, "c": 2.5}
SAFE_FUNCTIONS = {
    "tanh": math.tanh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "sin": math.sin,
    "cos": math.cos,
    "abs": abs,
    "relu": lambda x: max(x, 0.0),
}

atoms = st.sampled_from(sorted(NAMES)) | st.sampled_from(["0.5", "2", "1.25", "3.0"])


def combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(sorted(SAFE_FUNCTIONS)), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(sorted(SAFE_FUNCTIONS))).map(lambda t: f"({t[0]}).{t[1]}()"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"({c}) ** 2"),
        children.map(lambda c: f"({c}) / 4"),
    )


expressions = st.recursive(atoms, combine, max_leaves=12)


class _M(float):
    """A float that also answers x.tanh() and friends, so that Python can evaluate the method spelling."""

    def __getattr__(self, name):
        return lambda: _M(SAFE_FUNCTIONS[name](self))


for _op in ("neg", "add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "pow"):
    setattr(_M, f"__{_op}__", (lambda f: lambda *args: _M(f(*args)))(getattr(float, f"__{_op}__")))


def python_value(body):
    env = {k: _M(v) for k, v in NAMES.items()}
    env.update({k: (lambda f: lambda x: _M(f(x)))(f) for k, f in SAFE_FUNCTIONS.items()})
    env["_M"] = _M
    body = re.sub(r"\d+(?:\.\d+)?", lambda m: f"_M({m.group()})", body)  # (0.5).abs() works too
    return eval(body, {"__builtins__": {}}, env)  # test oracle only, on strings this test generated


@given(expressions)
def test_random_expressions_match_python(body):
    prelude = "; ".join(f"{k}={v}" for k, v in NAMES.items())
    want = python_value(body)
    if not re.search(r"\b[abc]\b", body):  # numbers only: folded to a number, which has no graph
        with pytest.raises(ValueError, match="plain number"):
            graph_expression(f"{prelude}; {body}")
        return
    out = graph_expression(f"{prelude}; {body}")
    assert out.data == pytest.approx(float(want), rel=1e-12, abs=1e-12)


# -------------------------------------------------------------------------------------------- rejections
@pytest.mark.parametrize(
    "expr, token",
    [
        ("__import__('os')", "__import__"),
        ("__import__('os').system('touch /tmp/pwned')", "system"),
        ("a=1.0; a.__class__", "__class__"),
        ("a=1.0; a.__class__.__bases__", "__bases__"),
        ("a=1.0; a.data", "data"),
        ("a=1.0; a.tanh", "tanh"),
        ("a=1.0; a.backward()", "backward"),
        ("a=1.0; a.exp().__class__()", "__class__"),
        ("lambda: 0", "lambda"),
        ("a=1.0; (lambda x: x)(a)", "lambda"),
        ("a=1.0; a[0]", "indexing"),
        ("a=1.0; a if a else a", "if/else"),
        ("a=1.0; a < 2", "comparison"),
        ("a=1.0; a and a", "and/or"),
        ("'abc'", "str"),
        ("b'abc'", "bytes"),
        ("a=True", "bool"),
        ("a=1j", "complex"),
        ("a=1.0; a // 2", "//"),
        ("a=1.0; a % 2", "%"),
        ("a=1.0; a @ a", "@"),
        ("a=1.0; ~a", "~"),
        ("a=1.0; +a", "unary +"),
        ("a=1.0; not a", "not"),
        ("a=1.0; a.tanh(2)", "tanh"),
        ("a=1.0; tanh(a, a)", "tanh"),
        ("a=1.0; tanh()", "tanh"),
        ("a=1.0; tanh(x=a)", "x=a"),
        ("a=1.0; tanh(*[a])", "["),
        ("a=1.0; print(a)", "print"),
        ("open('/etc/passwd')", "open"),
        ("a=1.0; [a for a in (a,)]", "comprehension"),
        ("a=1.0; f'{a}'", "f-string"),
        ("(a := 1.0)", ":="),
        ("a, b = 1.0, 2.0", "a, b"),
        ("a = b = 1.0", "a = b = 1.0"),
        ("a=1.0; a += 1", "augmented"),
        ("import os", "import"),
        ("from os import path", "import"),
        ("def f(): pass", "def"),
        ("class C: pass", "class"),
        ("a=1.0; b", "'b'"),
        ("x", "'x'"),
        ("exp = 1.0", "exp"),
        ("a=1.0; exp", "exp"),
        ("a=1.0; a.tanh()()", "a.tanh()"),
        ("a=1.0; {a: a}", "Dict"),
        ("a=1.0; (a, a)", "Tuple"),
        ("a=1.0\nfor i in (1,): a", "For"),
        ("a=1.0; a.real", "real"),
    ],
)
def test_anything_outside_the_language_is_refused_by_name(expr, token):
    with pytest.raises(ValueError) as err:
        graph_expression(expr)
    assert token in str(err.value), str(err.value)
    assert str(err.value).startswith("graph expression")


def test_refused_code_never_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError):
        graph_expression(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    with pytest.raises(ValueError):
        graph_expression(f"a=1.0; open({str(marker)!r}, 'w')")
    assert not marker.exists()


def test_errors_name_the_column_and_line():
    with pytest.raises(ValueError, match=r"column 12\): 'foo'"):
        graph_expression("a=1.0; a + foo")
    with pytest.raises(ValueError, match=r"line 2, column 3\): 'b'"):
        graph_expression("a=1.0\na+b")


def test_syntax_errors_empty_input_plain_numbers_and_non_strings():
    with pytest.raises(ValueError, match="invalid syntax"):
        graph_expression("a=1.0; (a *")
    with pytest.raises(ValueError, match="empty"):
        graph_expression("  ")
    with pytest.raises(ValueError, match="plain number 5.0"):
        graph_expression("2 + 3")
    with pytest.raises(ValueError, match="plain number"):
        graph_expression("a=1.0; 2 * 4")
    with pytest.raises(ValueError, match="cannot be parsed|invalid syntax"):
        graph_expression("a=1.0\x00")
    with pytest.raises(ValueError, match="too large|invalid syntax"):
        graph_expression("a=" + "9" * 400)
    with pytest.raises(TypeError, match="bytes"):
        graph_expression(b"a=1.0")


def test_long_and_deep_expressions_do_not_hit_the_recursion_limit():
    n = 600  # Python's own parser gives up near its recursion limit; the evaluator itself is iterative
    out = graph_expression("a=1.0; " + " + ".join(["a"] * n))
    assert out.data == float(n)
    for too_much in ("(" * 5000 + "a" + ")" * 5000, " + ".join(["a"] * 50_000)):
        with pytest.raises(ValueError, match="too deeply|invalid syntax"):
            graph_expression("a=1.0; " + too_much)
