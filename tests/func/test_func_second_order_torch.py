"""naivegrad.func's second order on the tensor engine against torch.func (float64, to 1e-9): hessian, hvp,
jacfwd(jacrev(f)), jacrev(jacrev(f)), grad(grad(...)), on small models whose parameters are a dict (a
pytree): an MLP's loss, log-softmax cross-entropy (by gather and by cross_entropy), logsumexp, a conv net,
causal attention (masked_fill and where). Plus value_and_grad / has_aux / pytrees against torch.func's
conventions, and a third derivative."""

import numpy as np
import pytest

from naivegrad.func import grad, grad_and_value, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from naivegrad.tensor import Tensor

from second_order_models import MODELS

torch = pytest.importorskip("torch")
tfunc = pytest.importorskip("torch.func")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")

TOL = 1e-9
NAMES = sorted(MODELS)


def _max_diff(ours, theirs):
    """max |ours - theirs| over matching pytrees (dicts, tuples, arrays / Tensors)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), (type(ours), list(theirs))
        return max(_max_diff(ours[k], theirs[k]) for k in theirs)
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        return max(_max_diff(a, b) for a, b in zip(ours, theirs))
    a = np.asarray(ours.data if isinstance(ours, Tensor) else ours, dtype=np.float64)
    b = theirs.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max(initial=0.0))


def _direction(model, seed=7):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(v.shape) for k, v in model.params.items()}


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_torch(name):
    m = MODELS[name]
    H = hessian(m.naivegrad_loss())(m.params)
    assert list(H) == list(m.params) and all(list(H[k]) == list(m.params) for k in H)
    assert H["b" if "b" in H else next(iter(H))][next(iter(H))].shape  # blocks: param.shape + param.shape
    want = tfunc.hessian(m.torch_loss())(m.torch_params())
    assert _max_diff(H, want) <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_hvp_and_nested_compositions_match_torch(name):
    m = MODELS[name]
    f, ft = m.naivegrad_loss(), m.torch_loss()
    v = _direction(m)
    vt = {k: torch.tensor(x) for k, x in v.items()}
    out, hv = hvp(f, m.params, v)
    tout = ft(m.torch_params())
    _, thv = tfunc.jvp(tfunc.grad(ft), (m.torch_params(),), (vt,))  # torch.func's hvp recipe
    assert abs(float(out.data) - tout.item()) <= TOL and _max_diff(hv, thv) <= TOL
    # Reverse-over-reverse by nesting grad: d/dp <grad f(p), v>.
    gv = grad(lambda p: sum(((g * Tensor(v[k], requires_grad=False)).sum() for k, g in grad(f)(p).items()),
                            Tensor(0.0, requires_grad=False)))(m.params)
    assert _max_diff(gv, thv) <= TOL
    # Forward-over-reverse: jvp of the gradient.
    _, jv = jvp(grad(f), (m.params,), (v,))
    assert _max_diff(jv, thv) <= TOL


@pytest.mark.parametrize("name", ["mlp", "attention", "conv"])
def test_jacfwd_of_jacrev_and_jacrev_of_jacrev_match_torch(name):
    m = MODELS[name]
    f = m.naivegrad_loss()
    want = tfunc.hessian(m.torch_loss())(m.torch_params())
    assert _max_diff(jacfwd(jacrev(f))(m.params), want) <= TOL
    assert _max_diff(jacrev(jacrev(f))(m.params), want) <= TOL


def test_grad_nests_to_third_order_like_torch():
    f = lambda x: (x ** 3 * x.sin()).sum()  # noqa: E731
    for a in (-1.3, 0.4, 2.0):
        third = tfunc.grad(lambda t: tfunc.grad(lambda s: tfunc.grad(f)(s).sum())(t).sum())
        want = third(torch.tensor([a], dtype=torch.float64))
        ours = grad(lambda t: grad(lambda s: grad(f)(s).sum())(t).sum())(np.array([a]))
        assert _max_diff(ours, want) <= TOL


def test_hessian_of_a_vector_function_and_tuple_argnums_match_torch():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    f = lambda a, b: (a * b).tanh() * a.sum()  # noqa: E731
    want = tfunc.hessian(f, argnums=(0, 1))(torch.tensor(x), torch.tensor(y))
    assert _max_diff(hessian(f, argnums=(0, 1))(x, y), want) <= TOL
    assert _max_diff(jacrev(jacrev(f))(x, y), tfunc.jacrev(tfunc.jacrev(f))(torch.tensor(x), torch.tensor(y))) <= TOL


# ---------------------------------------------------------------------------- value_and_grad, has_aux, pytrees
def test_value_and_grad_and_has_aux_follow_torch_func():
    m = MODELS["mlp"]
    f, ft = m.naivegrad_loss(), m.torch_loss()

    def with_aux(p):
        loss = f(p)
        return loss, {"loss": loss, "n": 5}

    def with_aux_t(p):  # torch.func wants Tensors in aux; anything goes in naivegrad's
        loss = ft(p)
        return loss, {"loss": loss}

    # value_and_grad is JAX's order, (value, grad); grad_and_value torch.func's, (grad, value).
    value, g = value_and_grad(f)(m.params)
    tg, tvalue = tfunc.grad_and_value(ft)(m.torch_params())
    assert abs(float(value.data) - tvalue.item()) <= TOL and _max_diff(g, tg) <= TOL
    (value, aux), g = value_and_grad(with_aux, has_aux=True)(m.params)
    tg, (tvalue, taux) = tfunc.grad_and_value(with_aux_t, has_aux=True)(m.torch_params())
    assert aux["n"] == 5 and aux["loss"] is value and _max_diff(g, tg) <= TOL
    g2, (value2, aux2) = grad_and_value(with_aux, has_aux=True)(m.params)
    assert _max_diff(g2, tg) <= TOL and aux2["n"] == 5 and abs(float(value2.data) - tvalue.item()) <= TOL
    g, aux = grad(with_aux, has_aux=True)(m.params)
    tg, taux = tfunc.grad(with_aux_t, has_aux=True)(m.torch_params())
    assert _max_diff(g, tg) <= TOL and abs(float(aux["loss"].data) - taux["loss"].item()) <= TOL
    jac, aux = jacrev(with_aux, has_aux=True)(m.params)
    assert _max_diff(jac, tfunc.jacrev(with_aux_t, has_aux=True)(m.torch_params())[0]) <= TOL
    jac, aux = jacfwd(with_aux, has_aux=True)(m.params)
    assert _max_diff(jac, tfunc.jacfwd(with_aux_t, has_aux=True)(m.torch_params())[0]) <= TOL
    with pytest.raises(ValueError, match=r"has_aux=True\): f must return a tuple \(output, aux\)"):
        grad(f, has_aux=True)(m.params)


def test_lists_tuples_and_dicts_of_arrays_as_arguments_and_outputs():
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal(3), rng.standard_normal((2, 3)), rng.standard_normal(2)

    def f(xs):  # a list [a, (b, c)] -> a tuple of two outputs
        x, (y, z) = xs
        return (y @ x).tanh() * z, (x * x).sum().reshape(1)

    def ft(xs):
        x, (y, z) = xs
        return (y @ x).tanh() * z, (x * x).sum().reshape(1)

    args = [a, (b, c)]
    targs = [torch.tensor(a), (torch.tensor(b), torch.tensor(c))]
    assert _max_diff(jacrev(f)(args), tfunc.jacrev(ft)(targs)) <= TOL
    assert _max_diff(jacfwd(f)(args), tfunc.jacfwd(ft)(targs)) <= TOL
    g = grad(lambda xs: f(xs)[0].sum())(args)
    assert isinstance(g, list) and isinstance(g[1], tuple) and all(isinstance(t, Tensor) for t in (g[0], *g[1]))
    assert _max_diff(g, tfunc.grad(lambda xs: ft(xs)[0].sum())(targs)) <= TOL
    out, vjp_fn = vjp(f, args)
    (pulled,) = vjp_fn((np.ones(2), np.ones(1)))
    _, tvjp_fn = tfunc.vjp(ft, targs)
    ones = (torch.ones(2, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    assert _max_diff(pulled, tvjp_fn(ones)[0]) <= TOL
    d = {"a": a, "nested": {"b": b}}
    jd = jacrev(lambda p: (p["nested"]["b"] @ p["a"]).exp())(d)
    assert set(jd) == {"a", "nested"} and jd["a"].shape == (2, 3) and jd["nested"]["b"].shape == (2, 2, 3)
