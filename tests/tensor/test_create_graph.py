"""Higher-order derivatives on the tensor engine: ``backward(create_graph=True)`` and ``naivegrad.autograd.grad``.

For every op of the table (``harness.OPS``), on seeded smooth float64 cases: the Hessian-vector product that
the tensor engine gets by differentiating its own gradient (create_graph, then backward again) equals central
differences of its first derivative, the scalar engine's nested ``create_graph`` result, and PyTorch's double
backward. Then the API: a gradient penalty against PyTorch, what ``autograd.grad`` touches and returns,
``inputs=``, the contract's refusals, and a Tensor ``.grad`` used as an array.
"""

import itertools

import numpy as np
import pytest

import harness
from harness.check import _call_tensor, _tensor, seeded_cases
from harness.scalar_ref import objects

import naivegrad.scalar as S
from naivegrad import optim
from naivegrad.autograd import grad
from naivegrad.scalar import Value
from naivegrad.scalar import higher_order
from naivegrad.tensor import Function, Tensor

OPS = pytest.mark.parametrize("op", harness.OPS, ids=lambda op: op.name)
CASES = 3


def _variables(case):
    return [i for i, c in enumerate(case.constant) if not c]


def tensor_hvp(case, form, leaves=None):
    """(gradient, H v) of <u, form(leaves)> on the tensor engine: create_graph, then grad again."""
    leaves = [_tensor(a, np.float64, not c) for a, c in zip(case.leaves if leaves is None else leaves, case.constant)]
    out = _call_tensor(case, form, leaves)
    var = [leaves[i] for i in _variables(case)]
    gs = grad(out, var, grad_outputs=case.cotangent, create_graph=True, allow_unused=True)
    first = [np.zeros(v.shape) if g is None else np.array(g.data) for g, v in zip(gs, var)]
    s = None
    for g, i in zip(gs, _variables(case)):
        if g is not None and g.requires_grad:
            term = (g * case.tangents[i]).sum()
            s = term if s is None else s + term
    if s is None:  # the gradient is constant: H = 0
        return first, [np.zeros(v.shape) for v in var]
    hs = grad(s, var, allow_unused=True)
    return first, [np.zeros(v.shape) if h is None else np.array(h.data) for h, v in zip(hs, var)]


def differences_hvp(case, form, h=1e-6):
    """(g(x + h v) - g(x - h v)) / 2h, g the tensor engine's first derivative."""
    def g_at(sign):
        moved = [a if c else a + sign * h * v for a, v, c in zip(case.leaves, case.tangents, case.constant)]
        leaves = [_tensor(a, np.float64, not c) for a, c in zip(moved, case.constant)]
        var = [leaves[i] for i in _variables(case)]
        gs = grad(_call_tensor(case, form, leaves), var, grad_outputs=case.cotangent, allow_unused=True)
        return [np.zeros(v.shape) if g is None else np.array(g.data) for g, v in zip(gs, var)]
    return [(p - m) / (2 * h) for p, m in zip(g_at(1.0), g_at(-1.0))]


def scalar_hvp(case):
    """H v of <u, reference(leaves)> on the scalar engine, differentiating its own create_graph gradient."""
    leaves = []
    for a, c in zip(case.leaves, case.constant):
        arr = np.empty(a.shape, dtype=object)
        for i in np.ndindex(a.shape):
            arr[i] = float(a[i]) if c else Value(float(a[i]))
        leaves.append(arr)
    out = objects(case.op.scalar_reference(*[leaves[i] for i in case.inputs], **case.params))
    loss = S.dot(list(out.ravel()), [float(u) for u in case.cotangent.ravel()]) if out.size else Value(0.0)
    values = [v for i in _variables(case) for v in leaves[i].ravel()]
    directions = [float(d) for i in _variables(case) for d in case.tangents[i].ravel()]
    if type(loss) is not Value or not values:
        return [np.zeros(case.leaves[i].shape) for i in _variables(case)]
    # Every reference differentiates to any order (harness.scalar_ref): a node built by hand would raise here.
    gs = higher_order.grad(loss, values, create_graph=True)
    s = S.dot([g if type(g) is Value else Value(float(g)) for g in gs], directions)
    hv = higher_order.grad(s, values)
    result, k = [], 0
    for i in _variables(case):
        n = case.leaves[i].size
        result.append(np.array([float(x) for x in hv[k:k + n]]).reshape(case.leaves[i].shape))
        k += n
    return result


def _close(actual, expected, rtol, what, case):
    for a, e in zip(actual, expected):
        scale = 1.0 + np.abs(e).max(initial=0.0)
        err = np.abs(a - e).max(initial=0.0)
        assert err <= rtol * scale, f"{what}: off by {err:.3g} (scale {scale:.3g})\n{case.describe()}"


def _cases(op):
    """The first CASES seeded smooth draws the op's smooth filter keeps (std's rejects most): never none."""
    cases = list(itertools.islice(seeded_cases(op, "smooth", 50 * CASES, dtype=np.float64), CASES))
    assert len(cases) == CASES, f"{op.name}: only {len(cases)} smooth cases among {50 * CASES} draws"
    return cases


@OPS
def test_second_derivatives_match_differences_of_the_gradient(op):
    for case in _cases(op):
        for key, form in op.tensor_forms.items():
            first, hv = tensor_hvp(case, form)
            _close(hv, differences_hvp(case, form), 1e-5, f"{op.name} as Tensor.{key}: H v vs differences", case)


@OPS
def test_second_derivatives_match_the_scalar_engine(op):
    for case in _cases(op):
        expected = scalar_hvp(case)
        for key, form in op.tensor_forms.items():
            _close(tensor_hvp(case, form)[1], expected, 1e-9, f"{op.name} as Tensor.{key}: H v vs scalar", case)


@OPS
def test_second_derivatives_match_torch(op):
    torch = pytest.importorskip("torch")
    for case in _cases(op):
        leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=not c) for a, c in zip(case.leaves, case.constant)]
        out = op.torch(*[leaves[i] for i in case.inputs], **case.params)
        var = [leaves[i] for i in _variables(case)]
        if not out.requires_grad:
            continue
        gs = torch.autograd.grad(out, var, torch.tensor(case.cotangent), create_graph=True, allow_unused=True)
        s = sum((g * torch.tensor(case.tangents[i])).sum() for g, i in zip(gs, _variables(case))
                if g is not None and g.requires_grad)
        if isinstance(s, int):
            expected = [np.zeros(v.shape) for v in var]
        else:
            hs = torch.autograd.grad(s, var, allow_unused=True)
            expected = [np.zeros(v.shape) if h is None else h.numpy(force=True) for h, v in zip(hs, var)]
        form = next(iter(op.tensor_forms.values()))
        _close(tensor_hvp(case, form)[1], expected, 1e-9, f"{op.name}: H v vs torch", case)


# ---------------------------------------------------------------------------------------------- gradient penalty
def test_gradient_penalty_matches_torch():
    """WGAN-GP: ||d D(x) / dx||^2 of a small critic, backpropagated to the critic's weights."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    ws = [rng.standard_normal((4, 8)) * 0.5, rng.standard_normal(8) * 0.1, rng.standard_normal((8, 1)) * 0.5]

    params = [Tensor(w.copy()) for w in ws]
    xt = Tensor(x.copy())
    d = ((xt @ params[0] + params[1]).tanh() @ params[2]).sum()
    (gx,) = grad(d, [xt], create_graph=True)
    penalty = ((gx * gx).sum(axis=1).sqrt() - 1.0).square().mean()
    penalty.backward()

    tparams = [torch.tensor(w, requires_grad=True) for w in ws]
    tx = torch.tensor(x, requires_grad=True)
    td = ((tx @ tparams[0] + tparams[1]).tanh() @ tparams[2]).sum()
    (tgx,) = torch.autograd.grad(td, [tx], create_graph=True)
    tpen = ((tgx * tgx).sum(dim=1).sqrt() - 1.0).square().mean()
    tpen.backward()

    assert abs(penalty.item() - tpen.item()) < 1e-12
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(np.asarray(p.grad), tp.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert xt.grad is not None  # backward() reaches x too (through the penalty's graph), as torch's


def test_gradient_penalty_through_relu_linear_logsoftmax_matches_torch():
    torch = pytest.importorskip("torch")
    import naivegrad.tensor as T

    rng = np.random.default_rng(1)
    x, w1, b1, w2 = rng.standard_normal((6, 5)), rng.standard_normal((7, 5)), rng.standard_normal(7), rng.standard_normal((3, 7))
    y = np.array([0, 2, 1, 1, 0, 2])

    def ours():
        ps = [Tensor(a.copy()) for a in (x, w1, b1, w2)]
        loss = T.cross_entropy(T.linear(T.linear(ps[0], ps[1], ps[2]).relu(), ps[3]), y)
        (gx,) = grad(loss, [ps[0]], create_graph=True)
        (gx * gx).sum().backward()
        return [np.asarray(p.grad) for p in ps[1:]]

    def theirs():
        ps = [torch.tensor(a, requires_grad=True) for a in (x, w1, b1, w2)]
        F = torch.nn.functional
        loss = F.cross_entropy(F.linear(F.relu(F.linear(ps[0], ps[1], ps[2])), ps[3]), torch.tensor(y))
        (gx,) = torch.autograd.grad(loss, [ps[0]], create_graph=True)
        (gx * gx).sum().backward()
        return [p.grad.numpy() for p in ps[1:]]

    for a, b in zip(ours(), theirs()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------- the API
def test_backward_create_graph_gives_tensor_grads_and_without_it_arrays():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    (x ** 3).sum().backward()
    assert type(x.grad) is np.ndarray
    x.grad = None
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Tensor) and g.requires_grad and g._ctx is not None
    np.testing.assert_allclose(np.asarray(g), 3 * x.data ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)
    assert type(x.grad) is np.ndarray


def test_third_derivative():
    x = Tensor(np.array([0.5, -1.0]))
    (g,) = grad(x.sin().sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x], create_graph=True)
    (t,) = grad(h.sum(), [x])
    np.testing.assert_allclose(t.data, -np.cos(x.data), rtol=1e-14)


def test_autograd_grad_touches_no_grad_and_returns_tensors():
    x, w = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))
    x.grad = sentinel = np.array([7.0, 7.0])
    y = (x * w).sum()
    gx, gw = grad(y, [x, w])
    assert isinstance(gx, Tensor) and not gx.requires_grad
    np.testing.assert_array_equal(gx.data, w.data)
    np.testing.assert_array_equal(gw.data, x.data)
    assert x.grad is sentinel and w.grad is None and y.grad is None
    with pytest.raises(RuntimeError):  # released: no retain_graph
        grad(y, [x])


def test_autograd_grad_unused_inputs_and_several_outputs():
    x, z = Tensor(np.array([1.0, 2.0])), Tensor(np.array([5.0]))
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad((x * x).sum(), [x, z])
    gx, gz = grad((x * x).sum(), [x, z], allow_unused=True)
    assert gz is None
    a, b = x * 2.0, x * x
    (g,) = grad([a, b], [x], grad_outputs=[np.array([1.0, 1.0]), Tensor(np.array([0.5, 2.0]))])
    np.testing.assert_allclose(g.data, 2.0 + np.array([0.5, 2.0]) * 2 * x.data)
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2.0).sum(), [Tensor(np.ones(2), requires_grad=False)])


def test_backward_inputs_accumulates_only_into_them():
    x, w = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, x.data)


def test_a_tensor_grad_works_where_an_array_did():
    p = Tensor(np.array([1.0, -2.0, 3.0]))
    (p * p).sum().backward(create_graph=True)
    assert isinstance(p.grad, Tensor)
    assert np.allclose(p.grad, 2 * p.data)
    np.testing.assert_array_equal(np.asarray(p.grad), 2 * p.data)
    before = p.data.copy()
    p.data -= 0.1 * p.grad
    np.testing.assert_allclose(p.data, before * 0.8)
    opt = optim.SGD([p], lr=0.1)
    opt.step()
    np.testing.assert_allclose(p.data, before * 0.8 - 0.1 * 2 * before)


def test_numpy_calls_on_tensors_give_tensors():
    t = Tensor(np.array([0.5, 1.0]))
    for r in (np.exp(t), np.float64(2) * t, np.array([1.0, 2.0]) + t, np.where(t.data > 0.7, t, 0.0),
              np.sum(t), np.matmul(t, t), np.broadcast_to(t, (3, 2))):
        assert isinstance(r, Tensor) and r.requires_grad
    assert isinstance(np.isfinite(t), np.ndarray)
    assert (np.float64(2) * Tensor(np.ones(2, np.float32))).dtype == np.float32


def test_a_rule_reading_an_array_derived_in_forward_refuses_create_graph():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x * x)  # derived: a second derivative would treat it as a constant
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (xx,) = ctx.saved_tensors
            return 3 * xx * g

    x = Tensor(np.array([1.0, 2.0]))
    Cube.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0])
    with pytest.raises(NotImplementedError, match="Cube's backward uses an array it derived in forward"):
        Cube.apply(x).sum().backward(create_graph=True)


def test_a_rule_written_with_the_operands_differentiates_twice():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = Tensor(np.array([1.0, 2.0]))
    (g,) = grad(Cube.apply(x).sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x])
    np.testing.assert_array_equal(h.data, 6 * x.data)


def test_selections_keep_exact_zeros_on_the_create_graph_path():
    inf = np.inf
    x = Tensor(np.array([-2.0, 3.0]))
    for make in (lambda v: v.relu(), lambda v: v ** 0.0, lambda v: v.clip(0.0, 1.0),
                 lambda v: v.maximum(Tensor(np.array([0.0, 0.0]), requires_grad=False))):
        (g,) = grad(make(x), [x], grad_outputs=np.array([inf, inf]), create_graph=True, allow_unused=True)
        (g0,) = grad(make(x), [x], grad_outputs=np.array([inf, inf]), allow_unused=True)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(g0))
        assert not np.isnan(np.asarray(g)[0])


@pytest.mark.parametrize("mutate", ["add_", "mul_const", "clamp_", "sub_", "copy_", "fill_"])
def test_inplace_ops_differentiate_twice(mutate):
    ops = {"add_": lambda y, x: y.add_(x), "mul_const": lambda y, x: y.mul_(np.array([2.0, 3.0, 4.0])),
           "clamp_": lambda y, x: y.clamp_(0.2, 0.6), "sub_": lambda y, x: y.sub_(x * x, alpha=2),
           "copy_": lambda y, x: y.copy_(x * x), "fill_": lambda y, x: y.fill_((x * x).sum())}
    f = ops[mutate]
    x0 = np.array([0.3, 0.7, 1.2])

    def gradient(xv, create):
        x = Tensor(xv.copy())
        (g,) = grad(f((x * x).sin() * 1.0, x).sum(), [x], create_graph=create)
        return x, g

    x, g = gradient(x0, True)
    (h,) = grad((g * g).sum(), [x])
    eps = 1e-6
    expected = [(gradient(x0 + eps * e, False)[1].data - gradient(x0 - eps * e, False)[1].data) @ (2 * g.data)
                / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(h.data, expected, rtol=1e-6, atol=1e-8)


def test_mul_inplace_with_an_operand_needing_grad_differentiates_twice():
    # y = x * x, written in place: d/dx = 2x, d2/dx2 = 2 (tests/tensor/test_inplace_rules.py checks more)
    x = Tensor(np.array([0.3, 0.7]))
    y = (x * 1.0).mul_(x)
    (g,) = grad(y.sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x])
    np.testing.assert_allclose(g.data, 2 * x.data, rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(h), [2.0, 2.0], rtol=0, atol=0)
