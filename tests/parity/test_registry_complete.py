"""The registry is complete by construction: every public op of both engines is registered or excused.

If one of these fails after you added an op: add an ``Op`` for it in ``naivegrad/registry/ops_*.py`` (see
CONTRIBUTING.md); if the name is not an op (state, metadata, creation), add it to ``api.NOT_OPS`` with the
reason. The generated parity, finite-difference and tangent tests then cover it.
"""

import numpy as np
import pytest

from naivegrad import registry
from naivegrad.registry import api
from naivegrad.registry.check import draw_case
from naivegrad.registry.draw import RandomDraw
from naivegrad.registry.spec import Domain, Op
from naivegrad.scalar import Value
from naivegrad.tensor import REGISTRY, Tensor


def test_every_public_op_of_both_engines_is_registered():
    missing = api.missing(registry.OPS)
    assert not missing, (
        f"public ops without registry entries (add an Op in naivegrad/registry/ops_*.py, or a reasoned "
        f"api.NOT_OPS entry if they build no node): {sorted(missing)}")


def test_nothing_registered_or_excused_is_stale():
    stale = api.stale(registry.OPS)
    assert not stale, f"registry names that the engines no longer have: {sorted(stale)}"


def test_every_tensor_function_is_exercised_by_some_op():
    used = {f for op in registry.OPS for f in op.functions}
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
    monkeypatch.setattr(Value, "softplus", lambda self: (self.exp() + 1.0).log(), raising=False)
    monkeypatch.setattr(Tensor, "softplus", lambda self: (self.exp() + 1.0).log(), raising=False)
    monkeypatch.setattr(Value, "__mod__", lambda self, other: self, raising=False)
    monkeypatch.setattr(Tensor, "__floordiv__", lambda self, other: self, raising=False)
    assert {"Value.softplus", "Tensor.softplus", "Value.__mod__", "Tensor.__floordiv__"} <= api.missing(registry.OPS)


def test_a_new_tensor_function_would_be_reported(monkeypatch):
    monkeypatch.setitem(REGISTRY, "softplus", object)
    assert "REGISTRY.softplus" in api.missing(registry.OPS)


def test_every_excuse_gives_a_reason():
    for name, reason in api.NOT_OPS.items():
        assert isinstance(reason, str) and len(reason) > 3, name


@pytest.mark.parametrize("op", registry.OPS, ids=lambda op: op.name)
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
            for a in case.leaves:
                assert a.dtype == np.float64 and np.all(np.isfinite(a))
                np.testing.assert_array_equal(a, a.astype(case.dtype).astype(np.float64))
    assert made["parity"] == 12
    assert made["smooth"] >= 6, f"{op.name}: only {made['smooth']} of 12 smooth draws usable"


def test_lookup_by_name_and_clear_errors():
    assert registry.get("matmul").functions == ("matmul",)
    assert registry.names()[0] == registry.OPS[0].name
    with pytest.raises(KeyError, match="no registered op 'softplus'"):
        registry.get("softplus")
    with pytest.raises(ValueError, match="no forms"):
        Op(name="x", arity=1, shapes=lambda d: ((),), tensor_forms={}, functions=())
    with pytest.raises(ValueError, match="needs a reference"):
        Op(name="x", arity=1, shapes=lambda d: ((),), tensor_forms={"exp": lambda x: x.exp()}, functions=("exp",))
    with pytest.raises(ValueError, match="lo"):
        Domain(1.0, 1.0)


def test_smooth_points_keep_their_margin_from_kinks():
    d = Domain(-1.0, 1.0, kinks=(0.0,), margin=0.1)
    assert d.is_smooth([0.5, -0.1]) and not d.is_smooth([0.05]) and not d.is_smooth([1.5])
    from naivegrad.registry.values import SmoothElements

    away = SmoothElements(d)._away
    assert abs(away(0.01)) >= 0.1 and abs(away(-0.01)) >= 0.1 and away(0.5) == 0.5


# ---------------------------------------------------------------------------------------------- found by the registry
def test_transpose_of_two_axes_swaps_them_on_a_matrix_too():
    """Found by the registry's swap form: t.transpose(0, 1) on a matrix used to be numpy's identity permutation."""
    t = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(t.transpose(0, 1).data, t.data.T)
    np.testing.assert_array_equal(t.transpose(1, 0).data, t.data.T)


def test_padding_a_0d_tensor_returns_it_unchanged_like_numpy():
    """Found by the registry's pad op: a 0-d tensor used to make np.pad raise (its widths became [])."""
    for width in (1, (1, 2), ()):
        t = Tensor(np.float64(2.0))
        out = t.pad(width)
        assert out.shape == () and out.item() == 2.0
        out.backward()
        assert t.grad == 1.0
