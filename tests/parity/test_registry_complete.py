"""The op table is complete by construction: every public op of both engines is in it or excused.

If one of these fails after you added an op: add an ``Op`` for it in ``tests/harness/ops_*.py`` (see
CONTRIBUTING.md); if the name is not an op (state, metadata, creation), add it to ``api.NOT_OPS`` with the
reason. The generated parity, finite-difference and tangent tests then cover it.
"""

import ast
import os
import re

import numpy as np
import pytest

import naivegrad
from naivegrad.scalar import Value
from naivegrad.tensor import REGISTRY, Tensor

import harness
from harness import api
from harness.check import draw_case
from harness.draw import RandomDraw
from harness.spec import Domain, Op
from harness.values import SmoothElements

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_public_op_of_both_engines_is_registered():
    missing = api.missing(harness.OPS)
    assert not missing, (
        f"public ops not in the op table (add an Op in tests/harness/ops_*.py, or a reasoned "
        f"api.NOT_OPS entry if they build no node): {sorted(missing)}")


def test_nothing_registered_or_excused_is_stale():
    stale = api.stale(harness.OPS)
    assert not stale, f"names in the op table or NOT_OPS that the engines no longer have: {sorted(stale)}"


def test_every_tensor_function_is_exercised_by_some_op():
    used = {f for op in harness.OPS for f in op.functions}
    assert set(REGISTRY) <= used, sorted(set(REGISTRY) - used)
    assert used <= set(REGISTRY), sorted(used - set(REGISTRY))


def test_introspection_sees_operators_methods_properties_and_module_functions():
    """The completeness check is only as good as its view of the API: it must see each kind of name."""
    names = api.public_api()
    for name in ["Value.__add__", "Value.__rpow__", "Value.__neg__", "Value.exp", "Value.relu",
                 "Tensor.__matmul__", "Tensor.__getitem__", "Tensor.T", "Tensor.logsumexp", "Tensor.clamp",
                 "scalar.sum", "scalar.dot", "scalar.conv.amax", "tensor.where", "tensor.cat",
                 "tensor.ops.conv.conv2d", "REGISTRY.matmul"]:
        assert name in names, name


def test_a_new_method_or_operator_would_be_reported(monkeypatch):
    """Add an op-like method and an operator to both classes: the completeness check must flag all four."""
    monkeypatch.setattr(Value, "softsign", lambda self: self / (abs(self) + 1.0), raising=False)
    monkeypatch.setattr(Tensor, "softsign", lambda self: self / (abs(self) + 1.0), raising=False)
    monkeypatch.setattr(Value, "__mod__", lambda self, other: self, raising=False)
    monkeypatch.setattr(Tensor, "__floordiv__", lambda self, other: self, raising=False)
    assert {"Value.softsign", "Tensor.softsign", "Value.__mod__", "Tensor.__floordiv__"} <= api.missing(harness.OPS)


def test_a_new_tensor_function_would_be_reported(monkeypatch):
    monkeypatch.setitem(REGISTRY, "softsign", object)
    assert "REGISTRY.softsign" in api.missing(harness.OPS)


# How the probe below calls an excused callable (default: with no arguments).
_PROBE_ARGS = {
    "zeros": (2, 3), "zeroes": (2, 3), "ones": (2, 3), "eye": (3,), "randn": (2, 3), "uniform": (2, 3), "arange": (4,),
    "unbroadcast": (np.ones((2, 3)), (3,)),
    "normalize_axis": (-1, 2, (2, 3), "probe"), "normalize_axes": ((0, -1), 2, (2, 3), "probe"),
}
_TEST_FILE = re.compile(r"tests/[\w/]+\.py")


def _resolve(name):
    """The object an excused name stands for: on an instance that depends on a leaf (Value, Tensor), or in
    the engine's module; and the leaf."""
    owner, _, attr = name.rpartition(".")
    if owner in ("Value", "Tensor"):
        leaf = Value(1.5) if owner == "Value" else Tensor([1.5], requires_grad=True)
        receiver = leaf * 2.0
        return getattr(receiver, attr), leaf, receiver
    module = {"scalar": naivegrad.scalar, "tensor": naivegrad.tensor}[owner.split(".")[0]]
    for part in owner.split(".")[1:]:
        module = getattr(module, part)
    return getattr(module, attr), None, None


def _nodes(result):
    if isinstance(result, (Value, Tensor)):
        yield result
    elif isinstance(result, (list, tuple)):
        for r in result:
            yield from _nodes(r)


def _reaches(node, leaf):
    """True when backward from ``node`` changes ``leaf``'s gradient: a node was built on top of the leaf."""
    if isinstance(node, Tensor):
        return not node.is_leaf
    leaf.grad = 0.0
    node.backward()
    return leaf.grad != 0.0


@pytest.mark.parametrize("name", sorted(api.NOT_OPS))
def test_every_excused_name_builds_no_node_or_names_the_tests_that_check_it(name):
    """An excuse is a claim: the name builds no differentiable node. Probe it: evaluate the name (call it, on an
    instance that depends on a leaf), and no Value or Tensor it returns may be a new node on that leaf. The few
    names that build graphs on purpose (second order) must name the test file that checks them instead."""
    reason = api.NOT_OPS[name]
    short = name.rsplit(".", 1)[-1]
    pointer = _TEST_FILE.search(reason)
    if pointer:
        path = os.path.join(os.path.dirname(TESTS), pointer.group())
        assert os.path.isfile(path), f"{name}: its excuse names {pointer.group()}, which does not exist"
        quoted = re.findall(r"``([^`]+)``", reason)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for needle in quoted or [short]:
            assert needle in text, f"{name}: {pointer.group()} never mentions {needle!r}"
        return
    obj, leaf, receiver = _resolve(name)
    result = obj
    if callable(obj) and not isinstance(obj, (Value, Tensor)):
        try:
            result = obj(*_PROBE_ARGS.get(short, ()))
        except TypeError as e:
            raise AssertionError(f"{name}: cannot probe it ({e}); give it arguments in _PROBE_ARGS") from None
    for node in _nodes(result):
        if node is receiver:
            continue  # returns the node itself (``+x``): nothing new
        assert leaf is None or not _reaches(node, leaf), f"{name} ({reason!r}) built a node on its input"
        if isinstance(node, Tensor):
            assert node.is_leaf, f"{name} ({reason!r}) returned a recorded node"


def test_the_probe_would_catch_an_op_excused_by_mistake():
    """The probe above, on names that are ops: each builds a node on the leaf."""
    for name in ("Value.exp", "Value.__neg__", "Tensor.exp", "Tensor.sum", "tensor.where"):
        if name == "tensor.where":
            t = Tensor([1.5], requires_grad=True)
            assert not naivegrad.tensor.where(np.array([True]), t, t).is_leaf
            continue
        obj, leaf, _ = _resolve(name)
        assert any(_reaches(node, leaf) for node in _nodes(obj())), name


def test_the_scalar_closed_forms_check_every_scalar_elementwise_op_of_the_table():
    """tests/scalar/scalar_oracles.py holds numpy closed forms for the table's scalar references: every scalar
    elementwise op without options has one, applied through the table's own forms (its constant forms, x + 2.0
    and 2.0 ** x, are the binary ops' number operands there)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("scalar_oracles_probe",
                                                  os.path.join(TESTS, "scalar", "scalar_oracles.py"))
    oracles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracles)
    entries = {e.name: e for e in oracles.UNARY + oracles.BINARY}
    for op in harness.OPS:
        if op.elementwise and op.value_forms and op.params is None:
            assert op.name in entries, f"{op.name}: no closed form in tests/scalar/scalar_oracles.py"
    for name, entry in entries.items():
        table = harness.get(name if name in harness.names() else name.split("_")[0])
        assert entry.apply in table.value_forms.values(), f"{name}: applied otherwise than the table says"


def test_the_library_never_imports_the_test_harness_or_hypothesis():
    """The op table is test code: nothing under naivegrad/ may import it (nor hypothesis, a test dependency)."""
    root = os.path.dirname(os.path.abspath(naivegrad.__file__))
    offenders = []
    for folder, _, files in os.walk(root):
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(folder, file)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                offenders += [f"{os.path.relpath(path, root)}: {m}" for m in modules
                              if m.split(".")[0] in ("harness", "tests", "hypothesis")
                              or m.startswith("naivegrad.registry")]
    assert not offenders, offenders


@pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
def test_each_op_draws_valid_cases_in_both_modes(op):
    """Samplers produce cases the engines accept, with inputs inside their domains in smooth mode."""
    made = {"parity": 0, "smooth": 0}
    for seed in range(12):
        for mode in made:
            case = draw_case(RandomDraw(seed), op, mode)
            if case is None:
                continue
            made[mode] += 1
            assert len(case.inputs) <= op.arity
            assert case.cotangent is not None
            for a in case.leaves:  # parity cases hold inf, -inf and nan now and then; smooth ones never
                assert a.dtype == np.float64 and (mode == "parity" or np.all(np.isfinite(a)))
                np.testing.assert_array_equal(a, a.astype(case.dtype).astype(np.float64))
    assert made["parity"] == 12
    assert made["smooth"] >= 6, f"{op.name}: only {made['smooth']} of 12 smooth draws usable"


def test_lookup_by_name_and_clear_errors():
    assert harness.get("matmul").functions == ("matmul",)
    assert harness.names()[0] == harness.OPS[0].name
    with pytest.raises(KeyError, match="no op 'softsign' in the table"):
        harness.get("softsign")
    with pytest.raises(ValueError, match="no forms"):
        Op(name="x", arity=1, shapes=lambda d: ((),), tensor_forms={}, functions=())
    with pytest.raises(ValueError, match="needs a reference"):
        Op(name="x", arity=1, shapes=lambda d: ((),), tensor_forms={"exp": lambda x: x.exp()}, functions=("exp",))
    with pytest.raises(ValueError, match="lo"):
        Domain(1.0, 1.0)


class _Always:
    """A draw whose every float is ``x``: what a smooth sampler makes of that one number."""

    def __init__(self, x):
        self.x = x

    def floats(self, lo, hi):
        return self.x


def test_smooth_points_keep_their_margin_from_kinks():
    d = Domain(-1.0, 1.0, kinks=(0.0,), margin=0.1)
    assert d.is_smooth([0.5, -0.1]) and not d.is_smooth([0.05]) and not d.is_smooth([1.5])
    elements = SmoothElements(d)
    for x in (0.01, -0.01, 0.0, 0.0999, -0.0999):
        assert abs(elements.draw_one(_Always(x))) >= 0.1, x
        assert d.is_smooth([elements.draw_one(_Always(x))]), x
    assert elements.draw_one(_Always(0.5)) == 0.5
    edge = SmoothElements(Domain(0.0, 1.0, kinks=(0.0,), margin=0.1))  # a kink on the bound: moved inside
    assert edge.draw_one(_Always(0.02)) == pytest.approx(0.1)


# ---------------------------------------------------------------------------------------------- found by the op table
def test_transpose_of_two_axes_swaps_them_on_a_matrix_too():
    """Found by the op table's swap form: t.transpose(0, 1) on a matrix used to be numpy's identity permutation."""
    t = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(t.transpose(0, 1).data, t.data.T)
    np.testing.assert_array_equal(t.transpose(1, 0).data, t.data.T)


def test_padding_a_0d_tensor_returns_it_unchanged_like_numpy():
    """Found by the op table's pad op: a 0-d tensor used to make np.pad raise (its widths became [])."""
    for width in (1, (1, 2), ()):
        t = Tensor(np.float64(2.0))
        out = t.pad(width)
        assert out.shape == () and out.item() == 2.0
        out.backward()
        assert t.grad == 1.0
