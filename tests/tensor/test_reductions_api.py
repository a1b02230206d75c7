"""The reductions' PyTorch API beyond the op table: indices (``argmax``, ``argmin``, ``max(dim)``/``min(dim)``'s
``indices``), the two spellings of every reduction's arguments, errors, and the corners the table's cases keep
away from (var/std with n <= correction).

The table (tests/harness/ops_reduce.py) checks the differentiable values of every op against the scalar engine,
finite differences and PyTorch; here the oracles are torch (float64) and numpy, on hand-picked and random
tensors with ties (a coarse grid), nan, empty axes, negative and out-of-range dims.
"""

import math
import warnings

import numpy as np
import pytest

import naivegrad.tensor as nt
from naivegrad import no_grad
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf


def _grid(rng, shape, nan=0.0):
    """Values on a coarse grid (ties galore), with a share of nan."""
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    if nan:
        x[rng.random(shape) < nan] = NAN
    return x


def _shapes():
    return [(5,), (3, 4), (2, 3, 4), (1, 4), (4, 1), (2, 1, 3)]


# ---------------------------------------------------------------------------------------------- argmax, argmin
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("nan", [0.0, 0.2])
def test_argmax_and_argmin_match_torch_and_numpy_with_ties_and_nan(name, nan):
    """The first occurrence among ties, a nan counting as the extremum (its first occurrence), as torch and numpy;
    every dim (negative too), keepdim, and dim=None over the flattened tensor."""
    rng = np.random.default_rng(0)
    for trial in range(40):
        shape = _shapes()[trial % len(_shapes())]
        x = _grid(rng, shape, nan)
        t, tt = Tensor(x), torch.tensor(x)
        for dim in [None] + list(range(-len(shape), len(shape))):
            for keepdim in (False, True):
                got = getattr(t, name)(dim=dim, keepdim=keepdim)
                want = getattr(tt, name)(dim=dim, keepdim=keepdim).numpy()
                assert got.dtype == np.int64 and not got.requires_grad and got.is_leaf
                assert got.shape == want.shape, (dim, keepdim)
                np.testing.assert_array_equal(got.data, want)
                if dim is not None:
                    np.testing.assert_array_equal(got.data, getattr(np, name)(x, axis=dim, keepdims=keepdim))
                # the numpy spelling and the module function
                np.testing.assert_array_equal(getattr(t, name)(axis=dim, keepdims=keepdim).data, want)
                np.testing.assert_array_equal(getattr(nt, name)(t, dim, keepdim).data, want)


def test_argmax_conventions_by_hand():
    x = Tensor([[1.0, 3.0, 3.0], [NAN, 2.0, NAN]])
    assert x.argmax().item() == 3  # the first nan of the flattened tensor
    assert x.argmax(dim=1).data.tolist() == [1, 0]
    assert x.argmin(dim=1).data.tolist() == [0, 0]
    assert Tensor([-INF, NAN]).argmin().item() == 1
    assert Tensor([INF, 1.0, INF]).argmax().item() == 0
    assert x.argmax(keepdim=True).shape == (1, 1)
    assert Tensor(5.0).argmax(dim=0).item() == 0 and Tensor(5.0).argmin(dim=-1).shape == ()


def test_argmax_has_no_gradient_and_leaves_the_graph_alone():
    x = Tensor([[1.0, 2.0], [4.0, 3.0]])
    y = x * 2.0
    i = y.argmax(dim=1)
    assert not i.requires_grad and i._ctx is None
    with pytest.raises(RuntimeError):
        i.backward(np.ones(2))


# ---------------------------------------------------------------------------------------------- max(dim), min(dim)
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("nan", [0.0, 0.2])
def test_max_with_dim_returns_values_and_indices_as_torch(name, nan):
    """(values, indices) as a namedtuple; indices as torch's (first among ties, first nan); the values' gradient
    goes to that index alone, as torch.max(x, dim), even from inf and nan cotangents."""
    rng = np.random.default_rng(1)
    for trial in range(40):
        shape = _shapes()[trial % len(_shapes())]
        x = _grid(rng, shape, nan)
        for dim in range(-len(shape), len(shape)):
            for keepdim in (False, True):
                t = Tensor(x)
                tt = torch.tensor(x, requires_grad=True)
                got = getattr(t, name)(dim=dim, keepdim=keepdim)
                want = getattr(torch, name)(tt, dim=dim, keepdim=keepdim)
                values, indices = got  # unpacks as a tuple
                assert values is got.values and indices is got.indices and got[0] is values
                assert indices.dtype == np.int64 and not indices.requires_grad
                np.testing.assert_array_equal(indices.data, want.indices.numpy())
                np.testing.assert_array_equal(values.data, want.values.detach().numpy())
                u = _grid(rng, values.shape) * 1.5
                if trial % 4 == 0 and u.size:
                    u.reshape(-1)[0] = INF if trial % 8 else NAN
                values.backward(u)
                want.values.backward(torch.tensor(u))
                np.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_max_with_dim_tangent_is_the_selected_elements():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, NAN, 0.0]], requires_grad=False)
    x.tangent = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    out = x.max(dim=1).values
    assert out.tangent.tolist()[0] == 20.0 and np.isnan(out.data[1]) and out.tangent[1] == 50.0
    assert x.min(dim=0, keepdim=True).values.tangent.tolist() == [[10.0, 50.0, 60.0]]


def test_max_without_dim_keeps_numpys_max():
    """axis= (or nothing, or positional) is numpy's max: a Tensor, tied maxima sharing the gradient."""
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    out = x.max(axis=1)
    assert isinstance(out, Tensor)
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    assert isinstance(x.max(1, True), Tensor) and x.max(1, True).shape == (2, 1)
    assert x.max(axis=1, keepdim=True).shape == (2, 1)
    assert x.min().item() == 0.0


def test_max_of_a_scalar_along_dim_0():
    x = Tensor(2.5)
    values, indices = x.max(dim=0)
    assert values.item() == 2.5 and indices.item() == 0 and indices.shape == ()
    values.backward()
    assert x.grad.tolist() == 1.0
    assert x.min(dim=-1, keepdim=True).values.shape == ()


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call", [
    lambda x: x.argmax(dim=2), lambda x: x.argmin(dim=-3), lambda x: x.max(dim=2), lambda x: x.min(dim=-3),
    lambda x: x.cumsum(2), lambda x: x.prod(dim=5),
], ids=["argmax", "argmin", "max", "min", "cumsum", "prod"])
def test_an_out_of_range_dim_names_the_dim_and_the_shape(call):
    with pytest.raises(ValueError, match=r"dim -?\d+ is out of range for a tensor of shape \(2, 3\)"):
        call(Tensor(np.ones((2, 3))))


def test_reductions_over_nothing_name_the_shape():
    e = Tensor(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"shape \(0, 3\)"):
        e.argmax()
    with pytest.raises(ValueError, match=r"dim 0 of a tensor of shape \(0, 3\) has size 0"):
        e.argmin(dim=0)
    with pytest.raises(ValueError, match=r"dim 0 of a tensor of shape \(0, 3\) has size 0"):
        e.max(dim=0)
    with pytest.raises(ValueError, match=r"shape \(0, 3\)"):
        e.norm(math.inf)
    with pytest.raises(ValueError, match=r"shape \(0, 3\)"):
        e.norm(-1.0, dim=0)
    # Reducing a nonempty axis of an empty tensor is fine, as in torch.
    assert e.argmax(dim=1).shape == (0,) and e.max(dim=1).values.shape == (0,)
    assert e.argmax(dim=1).dtype == np.int64
    assert e.norm(math.inf, dim=1).shape == (0,)
    assert e.norm().item() == 0.0 and e.prod().item() == 1.0 and np.isnan(e.var().item())


@pytest.mark.parametrize("call, names", [
    (lambda x: x.sum(axis=0, dim=0), "axis= and dim="),
    (lambda x: x.sum(0, True, keepdim=True), "keepdims= and keepdim="),
    (lambda x: x.mean(axis=1, dim=1), "axis= and dim="),
    (lambda x: x.logsumexp(axis=1, dim=1), "axis= and dim="),
    (lambda x: x.max(axis=0, dim=0), "axis= and dim="),
    (lambda x: x.min(0, True, keepdim=True), "keepdims= and keepdim="),
    (lambda x: x.softmax(axis=0, dim=0), "axis= and dim="),
    (lambda x: x.log_softmax(0, dim=1), "axis= and dim="),
    (lambda x: x.var(dim=0, axis=0), "axis= and dim="),
    (lambda x: x.std(0, keepdim=True, keepdims=True), "keepdims= and keepdim="),
    (lambda x: x.norm(2, dim=0, axis=0), "axis= and dim="),
    (lambda x: x.prod(0, axis=0), "axis= and dim="),
    (lambda x: x.cumsum(0, axis=0), "axis= and dim="),
    (lambda x: x.argmax(0, True, keepdims=True), "keepdims= and keepdim="),
    (lambda x: x.var(0, True, correction=0), "unbiased= and correction="),
])
def test_one_argument_given_in_both_spellings_is_a_type_error_naming_both(call, names):
    with pytest.raises(TypeError, match=names):
        call(Tensor(np.ones((2, 3))))


def test_pytorch_type_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="one int"):
        x.max(dim=(0, 1))  # as torch: several dims only through axis= (the values alone)
    with pytest.raises(TypeError, match="one int"):
        x.argmin(dim=(0, 1))
    with pytest.raises(TypeError, match="one int"):
        x.prod(dim=(0, 1))
    with pytest.raises(TypeError, match="needs dim"):
        x.cumsum()
    with pytest.raises(ValueError, match="nuc"):
        x.norm("nuc")
    with pytest.raises(TypeError, match="correction must be a number"):
        x.var(correction="1")


# ---------------------------------------------------------------------------------------------- spellings
def test_both_spellings_give_the_same_results():
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((2, 3, 4)))
    for name in ("sum", "mean", "max", "min", "logsumexp"):
        for axis in (None, 0, -1, (0, 2)):
            a = getattr(x, name)(axis=axis, keepdims=True).data
            if name in ("max", "min") and axis is not None:
                b = getattr(x, name)(axis, keepdim=True).data
            else:
                b = getattr(x, name)(dim=axis, keepdim=True).data
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x.sum(0, True).data, x.sum(dim=0, keepdim=True).data)
    np.testing.assert_array_equal(x.softmax(dim=1).data, x.softmax(axis=1).data)
    np.testing.assert_array_equal(x.log_softmax(dim=0).data, x.logsoftmax(0).data)
    np.testing.assert_array_equal(x.var(1, False).data, x.var(dim=1, correction=0).data)
    np.testing.assert_array_equal(x.var(False).data, x.var(unbiased=False).data)
    np.testing.assert_array_equal(x.std(axis=(0, 1), keepdims=True).data, x.std((0, 1), keepdim=True).data)
    np.testing.assert_array_equal(nt.var(x, 1).data, x.var(1).data)


def test_new_reductions_match_torch_on_a_few_calls():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    t, tt = Tensor(x), torch.tensor(x)
    close = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.var().data, tt.var().numpy(), **close)
    np.testing.assert_allclose(t.var(0, False).data, tt.var(0, False).numpy(), **close)
    np.testing.assert_allclose(t.std(dim=1, correction=0.5).data, tt.std(dim=1, correction=0.5).numpy(), **close)
    np.testing.assert_allclose(t.norm().data, tt.norm().numpy(), **close)
    np.testing.assert_allclose(t.norm(1, dim=0).data, tt.norm(1, dim=0).numpy(), **close)
    np.testing.assert_allclose(t.norm("fro", dim=(0, 1)).data, tt.norm("fro", dim=(0, 1)).numpy(), **close)
    np.testing.assert_allclose(nt.norm(t, 3.5, 1, True).data, torch.norm(tt, 3.5, 1, True).numpy(), **close)
    np.testing.assert_allclose(t.prod(1).data, tt.prod(1).numpy(), **close)
    np.testing.assert_allclose(t.cumsum(-1).data, tt.cumsum(-1).numpy(), **close)
    np.testing.assert_allclose(nt.cumsum(t, 0).data, torch.cumsum(tt, 0).numpy(), **close)
    assert t.var().dtype == np.float64 and Tensor(x.astype(np.float32)).norm(0.5, dim=1).dtype == np.float32


# ---------------------------------------------------------------------------------------------- corners
def _both(f, x, u=None):
    """f on naivegrad and on torch float64: (value, gradient) each."""
    t = Tensor(np.asarray(x, dtype=np.float64))
    out = f(t)
    out.backward(np.ones(out.shape) if u is None else np.asarray(u, dtype=np.float64))
    tt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tout = f(tt)
    tout.backward(torch.ones_like(tout) if u is None else torch.tensor(u, dtype=torch.float64))
    return (out.data, t.grad), (tout.detach().numpy(), tt.grad.numpy())


def test_var_with_no_degrees_of_freedom_gives_inf_or_nan_as_torch():
    """n <= correction divides by max(0, n - correction) = 0: inf where the squares sum above 0, nan where they
    sum to 0, as PyTorch. The gradient is the forward's derivative, 2 (x - mean) / 0 * g: -inf, nan (at the
    mean) and inf, which is torch's where dim is given and n == correction; torch's other rules there lose the
    sign (dim=None: where(x == mean, nan, inf) * g) or do not clamp (dim given, n < correction: finite)."""
    (v, g), (tv, tg) = _both(lambda x: x.var(dim=0, correction=3), [1.0, 2.0, 3.0])
    assert v == tv == INF
    np.testing.assert_array_equal(g, tg)  # [-inf, nan, inf]
    (v, g), (tv, tg) = _both(lambda x: x.var(correction=3), [1.0, 2.0, 3.0])
    assert v == tv == INF and g.tolist()[0] == -INF and np.isnan(g[1]) and g[2] == INF
    for f in (lambda x: x.var(), lambda x: x.std(), lambda x: x.var(dim=0), lambda x: x.std(correction=2)):
        (v, g), (tv, tg) = _both(f, [4.0])
        assert np.isnan(v) and np.isnan(tv) and np.isnan(g).all() and np.isnan(tg).all()
    (v, _), (tv, _) = _both(lambda x: x.std(correction=5), [1.0, 2.0, 4.0])
    assert v == tv == INF
    (v, g), (tv, tg) = _both(lambda x: x.var(dim=1), np.zeros((2, 0)))
    assert np.isnan(v).all() and np.isnan(tv).all() and g.shape == tg.shape == (2, 0)


def test_std_of_equal_elements_has_gradient_zero_as_torch():
    for u in (1.0, INF):
        (v, g), (tv, tg) = _both(lambda x: x.std(), [3.0, 3.0, 3.0], u)
        assert v == tv == 0.0
        np.testing.assert_array_equal(g, tg)
        assert g.tolist() == [0.0, 0.0, 0.0]
    (v, g), (tv, tg) = _both(lambda x: x.std(dim=1), [[3.0, 3.0, 3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(g, tg, rtol=1e-12)


@pytest.mark.parametrize("p", [2.0, "fro", 1.0, 3.0, 1.5, 0.5, -1.0, INF, -INF, 0.0])
@pytest.mark.parametrize("u", [1.0, -2.5, INF])
def test_norm_at_the_zero_vector_and_at_zeros_as_torch(p, u):
    for x in ([0.0, 0.0, 0.0], [1.0, 0.0, -2.0], [2.0, -2.0, 1.0], [INF, 1.0, -2.0], [NAN, 1.0, -2.0], [0.0, 1.0]):
        t = Tensor(np.array(x))
        out = t.norm(p)
        out.backward(np.array(u))
        tt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        want = torch.linalg.vector_norm(tt, ord=2.0 if p == "fro" else p)
        want.backward(torch.tensor(u, dtype=torch.float64))
        np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12)
        want_grad = np.zeros(3 if len(x) == 3 else 2) if tt.grad is None else tt.grad.numpy()  # p = 0: no grad
        got = np.zeros(len(x)) if t.grad is None else t.grad  # p = 0: no grad here either (as torch's None)
        assert (t.grad is None) == (tt.grad is None), f"p={p} x={x} u={u}"
        np.testing.assert_allclose(got, want_grad, rtol=1e-12, err_msg=f"p={p} x={x} u={u}")
    if p in (2.0, "fro"):
        z = Tensor(np.zeros(4))
        z.norm().backward()
        assert z.grad.tolist() == [0.0] * 4


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_gradient_with_one_zero_and_several_zeros_as_torch(dim):
    cases = [[[2.0, 0.0, 3.0], [1.5, -2.0, 4.0]],
             [[0.0, 0.0, 3.0], [1.5, 0.0, 4.0]],
             [[0.0, 5.0, 3.0], [0.0, 0.0, 0.0]],
             [[2.0, 1.0, 3.0], [1.5, -2.0, 4.0]]]
    for x in cases:
        for u in (None, "inf"):
            shape = np.prod(np.array(x), axis=dim).shape
            uu = None if u is None else np.full(shape, INF)
            (v, g), (tv, tg) = _both(lambda a: a.prod() if dim is None else a.prod(dim), x, uu)
            np.testing.assert_allclose(v, tv, rtol=1e-12)
            np.testing.assert_allclose(g, tg, rtol=1e-12, err_msg=f"x={x} dim={dim} u={u}")


def test_cumsum_gradient_and_tangent():
    x = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    out = x.cumsum(1)
    out.backward(np.array([[1.0, 10.0, 100.0], [1.0, 1.0, 1.0]]))
    assert x.grad.tolist() == [[111.0, 110.0, 100.0], [3.0, 2.0, 1.0]]
    with no_grad():
        y = Tensor(np.ones((2, 2)), requires_grad=False)
        y.tangent = np.array([[1.0, 2.0], [3.0, 4.0]])
        assert y.cumsum(dim=0).tangent.tolist() == [[1.0, 2.0], [4.0, 6.0]]
    s = Tensor(3.0)
    assert s.cumsum(0).item() == 3.0 and s.prod(0).item() == 3.0
