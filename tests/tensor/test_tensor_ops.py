"""Every op on generated shapes (broadcasting, size-0 and size-1 axes), value and gradient, against three
independent oracles: the scalar engine applied elementwise, central finite differences, PyTorch float64.

The ops and their oracles are tabled in ``tensor_oracles.py``; these tests loop over that table.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naivegrad
import naivegrad.scalar as scalar
from naivegrad.tensor import REGISTRY, Tensor
from tensor_oracles import SPEC_IDS, SPECS, data_of, leaves, values

FEW = max(8, settings.default.max_examples // 4)


def _inputs(spec, arrays, dtype=np.float64):
    """Tensors for the differentiable inputs; a leading condition array stays a bool array."""
    out = []
    for i, a in enumerate(arrays):
        if i == 0 and "cond0" in spec.tags:
            out.append(a)
        else:
            out.append(Tensor(np.asarray(a, dtype=dtype)))
    return out


def _differentiable(spec, tensors):
    return [(i, t) for i, t in enumerate(tensors) if isinstance(t, Tensor)]


def _grad(t):
    return np.zeros(t.shape) if t.grad is None else t.grad


def assert_match(got, want, exact, what, atol=0.0):
    """nan, ±inf in the same places; finite entries within 1e-12 relative (``exact``), or else within
    1e-12 relative plus 1.6e-11 of the array's magnitude (sums round in a different order); plus ``atol``."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: nan positions")
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=f"{what}: infinities")
    fin = np.isfinite(want)
    if not fin.any():
        return
    g, w = got[fin], want[fin]
    tol = 1e-12 * np.abs(w) + atol
    if not exact:
        tol = tol + 1.6e-11 * (1.0 + np.abs(w).max())
    bad = np.abs(g - w) > tol
    assert not bad.any(), f"{what}: got {g[bad][:5]}, want {w[bad][:5]}"


# ---------------------------------------------------------------------------------------------- scalar engine
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(max_examples=FEW)
@given(data=st.data())
def test_value_and_gradient_match_the_scalar_engine(spec, data):
    arrays, kw = spec.draw(data)
    ts = _inputs(spec, arrays)
    out = spec.tensor(*ts, **kw)
    g = data.draw(values(out.shape, -2, 2), label="grad_output")
    out.backward(g)

    refs = [a if (i == 0 and "cond0" in spec.tags) else leaves(a) for i, a in enumerate(arrays)]
    ref = np.asarray(spec.scalar(*refs, **kw), dtype=object)
    assert out.shape == ref.shape
    want = np.array([data_of(v) for v in ref.ravel()], dtype=np.float64).reshape(ref.shape)
    assert_match(out.data, want, spec.exact, f"{spec.id} value")
    loss = scalar.dot([float(x) for x in g.ravel()], list(ref.ravel()))
    loss.backward()
    for i, t in _differentiable(spec, ts):
        want_grad = np.array([v.grad for v in refs[i].ravel()], dtype=np.float64).reshape(t.shape)
        # numpy's and math's tanh, exp... may differ in the last bit, and derivatives such as
        # 1 - tanh(x)**2 cancel: allow a few units of roundoff of the output gradient's size.
        assert_match(_grad(t), want_grad, spec.exact, f"{spec.id} gradient of input {i}",
                     atol=1e-14 * (1.0 + np.abs(g).max(initial=0.0)))


# ---------------------------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(max_examples=FEW)
@given(data=st.data())
def test_gradient_matches_central_differences(spec, data):
    arrays, kw = (spec.smooth_draw or spec.draw)(data)
    ts = _inputs(spec, arrays)
    out = spec.tensor(*ts, **kw)
    g = data.draw(values(out.shape, -2, 2), label="grad_output")
    out.backward(g)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    eps = 1e-6
    if not np.all(np.isfinite(out.data)):  # e.g. the mean of nothing: no derivative to check
        return
    for i, t in _differentiable(spec, ts):
        v = rng.standard_normal(t.shape)

        def phi(s):
            moved = [np.asarray(a) + s * v if j == i else a for j, a in enumerate(arrays)]
            with naivegrad.no_grad():
                return float(np.sum(g * spec.tensor(*_inputs(spec, moved), **kw).data))

        fd = (phi(eps) - phi(-eps)) / (2 * eps)
        an = float(np.sum(_grad(t) * v))
        # truncation ~ eps**2, and roundoff ~ 2.2e-16 * |phi| / eps = 2.2e-10 * |phi| (logits of 1e3...)
        tol = 1e-6 * (1.0 + abs(an)) + 1e-9 * abs(phi(0.0))
        assert abs(fd - an) <= tol, f"{spec.id} input {i}: finite differences {fd}, backward {an}"


# ---------------------------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(max_examples=FEW)
@given(data=st.data())
def test_value_and_gradient_match_torch_float64(spec, data):
    torch = pytest.importorskip("torch")
    arrays, kw = spec.draw(data)
    ts = _inputs(spec, arrays)
    out = spec.tensor(*ts, **kw)
    g = data.draw(values(out.shape, -2, 2), label="grad_output")
    out.backward(g)

    tts = [torch.tensor(a) if (i == 0 and "cond0" in spec.tags)
           else torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for i, a in enumerate(arrays)]
    tout = spec.torch(*tts, **kw)
    assert tuple(tout.shape) == out.shape
    assert_match(out.data, tout.detach().numpy(), False, f"{spec.id} value vs torch")
    if tout.requires_grad:
        tout.backward(torch.tensor(g))
    for i, t in _differentiable(spec, ts):
        tg = tts[i].grad
        want = np.zeros(t.shape) if tg is None else tg.numpy()
        assert_match(_grad(t), want, False, f"{spec.id} gradient of input {i} vs torch")


# ---------------------------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@settings(max_examples=max(4, FEW // 3))
@given(data=st.data())
def test_float32_in_float32_out_and_float32_gradients(spec, data):
    arrays, kw = spec.draw(data)
    ts = _inputs(spec, arrays, np.float32)
    out = spec.tensor(*ts, **kw)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for _, t in _differentiable(spec, ts):
        assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.shape == t.shape


def test_every_op_in_these_modules_has_a_spec():
    mine = {n for n, cls in REGISTRY.items()
            if cls.__module__.rsplit(".", 1)[-1] in {"elementwise", "reduce", "linalg", "movement", "activation", "loss"}}
    assert mine - {s.name for s in SPECS} == set()
