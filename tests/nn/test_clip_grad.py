"""nn.utils.clip_grad_norm_ and clip_grad_value_ against torch.nn.utils, on both engines."""

import math

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.nn.utils import clip_grad_norm_, clip_grad_value_
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

SHAPES = [(3, 4), (4,), (2, 2, 3)]
NORM_TYPES = [2.0, 1, 3.5, 0.5, float("inf"), "inf", 0, -float("inf")]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def grads(seed=0, scale=1.0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(s) for s in shapes]


def tensors(gs, dtype=np.float64):
    out = []
    for g in gs:
        t = Tensor(np.zeros(g.shape, dtype), requires_grad=True)
        t.grad = g.astype(dtype)
        out.append(t)
    return out


def values(gs):
    """One Value per element, as a scalar model's parameters() lists them."""
    out = []
    for g in gs:
        for x in g.ravel().tolist():
            v = Value(0.0)
            v.grad = x
            out.append(v)
    return out


def torch_params(torch, gs, dtype=None):
    dtype = dtype or torch.float64
    out = []
    for g in gs:
        p = torch.zeros(g.shape, dtype=dtype, requires_grad=True)
        p.grad = torch.tensor(g, dtype=dtype)
        out.append(p)
    return out


def flat_tensor_grads(ts):
    return np.concatenate([np.asarray(t.grad, np.float64).ravel() for t in ts])


def flat_value_grads(vs):
    return np.array([v.grad for v in vs])


def torch_flat(ps):
    return np.concatenate([p.grad.double().numpy().ravel() for p in ps])


# ---------------------------------------------------------------------------------------------- against torch
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("norm_type", NORM_TYPES, ids=str)
def test_clip_grad_norm_matches_torch_on_both_engines(torch, norm_type, max_norm):
    gs = grads(1, scale=2.0)
    tp = torch_params(torch, gs)
    want_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type).item()
    want = torch_flat(tp)

    ts = tensors(gs)
    total = clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    assert isinstance(total, np.float64) and total.item() == pytest.approx(want_total, rel=1e-12)
    np.testing.assert_allclose(flat_tensor_grads(ts), want, rtol=1e-12, atol=1e-300)

    vs = values(gs)
    total = clip_grad_norm_(vs, max_norm, norm_type=norm_type)
    if norm_type == 0:
        # Order 0 counts non-zero gradients: each Value is one (torch counts whole tensors).
        assert total == sum(g.size for g in gs)
    else:
        assert total.item() == pytest.approx(want_total, rel=1e-12)
        np.testing.assert_allclose(flat_value_grads(vs), want, rtol=1e-12, atol=1e-300)


def test_float32_tensors(torch):
    gs = grads(2, scale=3.0)
    tp = torch_params(torch, gs, torch.float32)
    want_total = torch.nn.utils.clip_grad_norm_(tp, 1.0).item()
    ts = tensors(gs, np.float32)
    total = clip_grad_norm_(ts, 1.0)
    assert total.dtype == np.float32 and total == pytest.approx(want_total, rel=1e-6)
    assert all(t.grad.dtype == np.float32 for t in ts)
    np.testing.assert_allclose(flat_tensor_grads(ts), torch_flat(tp), rtol=1e-6)


@pytest.mark.parametrize("backend", ["tensor", "scalar"])
def test_a_models_gradients(torch, backend):
    """clip_grad_norm_(model.parameters()) after a backward pass: the torch MLP with the same weights and input."""
    model = nn.MLP(3, [5, 2], backend=backend, seed=0, dtype=np.float64)
    x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
    out = model(x)
    loss = sum(v * v for row in out for v in row) if backend == "scalar" else (out * out).sum()
    loss.backward()

    sd = model.state_dict()
    layers = [torch.nn.Linear(3, 5).double(), torch.nn.Linear(5, 2).double()]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.weight.copy_(torch.tensor(sd[f"layers.{i}.weight"]))
            layer.bias.copy_(torch.tensor(sd[f"layers.{i}.bias"]))
    tout = layers[1](torch.relu(layers[0](torch.tensor(x, dtype=torch.float64))))
    (tout * tout).sum().backward()
    tparams = [p for layer in layers for p in (layer.weight, layer.bias)]
    want_total = torch.nn.utils.clip_grad_norm_(tparams, 0.1).item()

    total = clip_grad_norm_(model.parameters(), 0.1)
    assert total == pytest.approx(want_total, rel=1e-10)
    got = model.grad_dict()
    for i, layer in enumerate(layers):
        np.testing.assert_allclose(got[f"layers.{i}.weight"], layer.weight.grad.numpy(), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(got[f"layers.{i}.bias"], layer.bias.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nonfinite_norms(torch, bad):
    gs = grads(3)
    gs[1][2] = bad
    tp = torch_params(torch, gs)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
    want_total = torch.nn.utils.clip_grad_norm_(tp, 1.0).item()
    want = torch_flat(tp)
    for make, flat in ((tensors, flat_tensor_grads), (values, flat_value_grads)):
        ps = make(gs)
        before = flat(ps)
        with pytest.raises(RuntimeError, match=r"total norm of order 2.0 .* non-finite \((nan|inf)\)"):
            clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(flat(ps), before)  # nothing changed
        total = clip_grad_norm_(ps, 1.0)
        np.testing.assert_array_equal(np.isnan(total), np.isnan(want_total))
        if not np.isnan(want_total):
            assert total == want_total
        np.testing.assert_array_equal(flat(ps), want)  # nan where torch has nan, zeros elsewhere


@pytest.mark.parametrize("clip", [0.3, 0.0, float("inf")])
def test_clip_grad_value_matches_torch(torch, clip):
    gs = grads(4, scale=2.0)
    gs[0][0, 0] = float("nan")
    tp = torch_params(torch, gs)
    torch.nn.utils.clip_grad_value_(tp, clip)
    ts, vs = tensors(gs), values(gs)
    assert clip_grad_value_(ts, clip) is None
    clip_grad_value_(vs, clip)
    np.testing.assert_array_equal(flat_tensor_grads(ts), torch_flat(tp))
    np.testing.assert_array_equal(flat_value_grads(vs), torch_flat(tp))


# ------------------------------------------------------------------------------------------- without torch
def test_norm_and_scaling_by_hand():
    ts = tensors([np.array([3.0, 4.0]), np.array([[12.0]])])
    total = clip_grad_norm_(ts, 6.5)
    assert total == 13.0
    coef = 6.5 / (13.0 + 1e-6)
    np.testing.assert_array_equal(ts[0].grad, np.array([3.0, 4.0]) * coef)
    assert clip_grad_norm_(ts, 100.0) == pytest.approx(6.5)  # below max_norm: unchanged (times 1)
    np.testing.assert_array_equal(ts[0].grad, np.array([3.0, 4.0]) * coef)


def test_parameter_forms():
    # a single Tensor, a single Value, a generator, object arrays of Values, Tensors without grad, mixes
    t = tensors([np.array([3.0, 4.0])])[0]
    assert clip_grad_norm_(t, 1.0) == 5.0
    v = Value(0.0)
    v.grad = -2.0
    assert clip_grad_norm_(v, 1.0) == 2.0 and v.grad == pytest.approx(-1.0, rel=1e-6)
    vs = values([np.array([3.0, 4.0])])
    assert clip_grad_norm_((p for p in vs), 1.0) == 5.0 and vs[0].grad == pytest.approx(0.6, rel=1e-6)
    model = nn.Linear(2, 2, backend="scalar", seed=0)
    for p in model.parameters():
        p.grad = 1.0
    arrays = [p for _, p in model.named_parameters()]
    assert clip_grad_norm_(arrays, 10.0) == pytest.approx(math.sqrt(6))
    no_grad = Tensor(np.ones(3), requires_grad=True)
    assert clip_grad_norm_([no_grad], 1.0) == 0.0 and no_grad.grad is None
    assert clip_grad_norm_([], 1.0) == 0.0
    mixed = tensors([np.array([3.0])]) + values([np.array([4.0])])
    assert clip_grad_norm_(mixed, 1.0) == 5.0
    tied = tensors([np.array([3.0, 4.0])])
    assert clip_grad_norm_(tied + tied, 1.0) == 5.0  # listed twice, counted and scaled once


def test_shared_gradient_arrays_are_not_written_into():
    shared = np.array([3.0, 4.0])
    a, b = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)
    a.grad = shared
    b.grad = shared
    clip_grad_norm_([a], 1.0)
    np.testing.assert_array_equal(shared, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [3.0, 4.0])
    assert a.grad[0] == pytest.approx(0.6, rel=1e-6)
    clip_grad_value_([b], 3.5)
    np.testing.assert_array_equal(shared, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [3.0, 3.5])


@pytest.mark.parametrize("call, error, match", [
    (lambda ps: clip_grad_norm_(ps, -1.0), ValueError, "max_norm must be a number >= 0, got -1.0"),
    (lambda ps: clip_grad_norm_(ps, float("nan")), ValueError, "max_norm must be a number >= 0, got nan"),
    (lambda ps: clip_grad_norm_(ps, "1"), TypeError, "max_norm must be a real number, got str"),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type="two"), TypeError, "norm_type must be a number or 'inf'"),
    (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=float("nan")), ValueError, "norm_type"),
    (lambda ps: clip_grad_norm_(3.0, 1.0), TypeError, "got float: 3.0"),
    (lambda ps: clip_grad_norm_(ps + [np.ones(2)], 1.0), TypeError, "item 2 is a ndarray"),
    (lambda ps: clip_grad_value_(ps, -0.1), ValueError, "clip_value must be a number >= 0, got -0.1"),
    (lambda ps: clip_grad_value_(ps, None), TypeError, "clip_value must be a real number, got NoneType"),
])
def test_errors_name_the_bad_value(call, error, match):
    ps = tensors(grads(5, shapes=[(2,), (3,)]))
    before = flat_tensor_grads(ps)
    with pytest.raises(error, match=match):
        call(ps)
    np.testing.assert_array_equal(flat_tensor_grads(ps), before)
