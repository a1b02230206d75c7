"""einsum differentiated twice (and three times) on the tensor engine (issue #14).

The rule, given a Tensor gradient and a *lifted* context (the ``create_graph`` contract of
``naivegrad.tensor.function``), builds each operand's gradient from differentiable pieces: an einsum, the sums
and broadcasts of size-1 and single-operand letters, and a diagonal scatter for a repeated letter (whose own
rule takes the diagonal, an einsum again). Checked directly on a context lifted by hand, then through
``Tensor.backward(create_graph=True)``, against PyTorch's double backward in float64 and against central
differences of the first-order gradient, over the equation forms of the op table: products, traces,
diagonals, ellipses, broadcasting, repeated operands, empty axes, three operands.
"""

import numpy as np
import pytest

from harness.second_order import lift_by_hand as lift
from naivegrad.tensor import Tensor, einsum
from naivegrad.tensor.ops import einsum as ops

torch = pytest.importorskip("torch")

CLOSE = dict(rtol=1e-10, atol=1e-12)

CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("iji->ij", [(2, 3, 2)]), ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]), ("ba", [(2, 3)]), ("aB,Ba->", [(2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("...ij,...jk", [(5, 2, 3), (3, 2)]),
    ("...ij->ij", [(2, 3, 4)]), ("i...->...", [(2, 3, 4)]), ("...,...->...", [(2, 1), (3,)]),
    ("...ii->...i", [(2, 3, 3)]), ("ij,jk", [(2, 1), (3, 4)]), ("i,i->i", [(1,), (3,)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]), ("i,i,i->i", [(3,), (3,), (3,)]), (",i->i", [(), (3,)]),
    ("", [()]), ("i->", [(0,)]), ("ij,jk->ik", [(2, 0), (0, 3)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("i...j,j->i...", [(2, 3, 4), (4,)]),
    ("ij,k->ik", [(2, 3), (4,)]),        # j summed over the first operand alone: its gradient broadcasts along j
    ("iij,jk->ik", [(3, 3, 2), (2, 4)]),  # a diagonal meeting a product
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij,kj->ikj", [(2, 3), (4, 3)]),
]
IDS = [f"{eq or 'empty'}:{'x'.join(map(str, shapes))}" for eq, shapes in CASES]


def _arrays(shapes, rng):
    return [rng.standard_normal(s) for s in shapes]


def _torch_second_order(equation, arrays, g, directions):
    ps = [torch.tensor(a, requires_grad=True) for a in arrays]
    pg = torch.tensor(g, requires_grad=True)
    grads = torch.autograd.grad(torch.einsum(equation, *ps), ps, pg, create_graph=True, allow_unused=True)
    s = sum((gr * torch.tensor(v)).sum() for gr, v in zip(grads, directions) if gr is not None)
    if not isinstance(s, torch.Tensor) or not s.requires_grad:
        return [np.zeros(np.shape(a)) for a in arrays + [g]]
    out = torch.autograd.grad(s, ps + [pg], allow_unused=True)
    return [np.zeros(np.shape(a)) if d is None else d.numpy() for a, d in zip(arrays + [g], out)]


@pytest.mark.parametrize("equation, shapes", CASES, ids=IDS)
def test_einsum_rule_on_tensors_gives_a_graph_with_torchs_second_derivatives(equation, shapes):
    rng = np.random.default_rng(len(equation) + len(shapes))
    arrays = _arrays(shapes, rng)
    xs = [Tensor(a) for a in arrays]
    out = einsum(equation, *xs)
    g = rng.standard_normal(out.shape)
    tg = Tensor(g)
    grads = out._ctx.fn.backward(lift(out), tg)
    # The values are the first-order gradients.
    ref = [Tensor(a) for a in arrays]
    einsum(equation, *ref).backward(g)
    for gr, r in zip(grads, ref):
        assert isinstance(gr, Tensor)
        np.testing.assert_allclose(gr.data, r.grad, rtol=1e-13, atol=1e-13)
    directions = _arrays(shapes, rng)
    total = sum(((gr * Tensor(v, requires_grad=False)).sum() for gr, v in zip(grads, directions)), Tensor(0.0))
    total.backward()
    got = [np.zeros(t.shape) if t.grad is None else t.grad for t in xs + [tg]]
    expected = _torch_second_order(equation, arrays, g, directions)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, **CLOSE)

    # and central differences of the first-order (numpy path) gradient: S is quadratic in (operands, g)
    ds = _arrays(shapes, rng)
    dg = rng.standard_normal(g.shape)

    def s(eps):
        ts = [Tensor(a + eps * d) for a, d in zip(arrays, ds)]
        einsum(equation, *ts).backward(g + eps * dg)
        return sum(float(np.sum(t.grad * v)) for t, v in zip(ts, directions))

    eps = 1e-5  # exact but for rounding with two operands; three make S quartic, with an eps**2 error
    fd = (s(eps) - s(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(a * d)) for a, d in zip(got, ds + [dg]))
    assert analytic == pytest.approx(fd, rel=1e-7, abs=1e-7)


def test_a_repeated_letter_scatters_through_a_function_whose_rule_takes_the_diagonal():
    rng = np.random.default_rng(0)
    m = Tensor(rng.standard_normal((3, 3, 2)))
    out = einsum("iij->ij", m)
    g = Tensor(rng.standard_normal(out.shape))
    (gm,) = out._ctx.fn.backward(lift(out), g)
    assert gm._ctx.fn is ops._Diagonal
    v = Tensor(rng.standard_normal(m.shape))
    back = gm._ctx.fn.backward(lift(gm), v)  # third order: the diagonal of v, an einsum
    assert back._ctx.fn is ops.Einsum
    np.testing.assert_allclose(back.data, np.einsum("iij->ij", v.data))
    (back * Tensor(np.ones(back.shape))).sum().backward()
    expected = np.zeros(m.shape)
    for i in range(3):
        expected[i, i] = 1.0
    np.testing.assert_allclose(v.grad, expected)


def test_einsum_of_one_tensor_twice_lifts_both_operands_to_it():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    out = einsum("i,i->", x, x)
    ga, gb = out._ctx.fn.backward(lift(out), Tensor(np.array(2.0)))
    (ga + gb).sum().backward()  # d/dx sum(2 * x + 2 * x) = 4
    np.testing.assert_allclose(x.grad, [4.0, 4.0, 4.0])


# ---------------------------------------------------------------------- through backward(create_graph=True)
needs_engine = pytest.mark.skipif(
    "create_graph" not in Tensor.backward.__code__.co_varnames,
    reason="Tensor.backward(create_graph=True) is not there yet")


@needs_engine
@pytest.mark.parametrize("equation, shapes", CASES, ids=IDS)
def test_einsum_hessian_vector_product_through_create_graph(equation, shapes):
    # f = sum(tanh(einsum(...))): its Hessian-vector product in every operand, as PyTorch's.
    rng = np.random.default_rng(3)
    arrays = _arrays(shapes, rng)
    xs = [Tensor(a) for a in arrays]
    einsum(equation, *xs).tanh().sum().backward(create_graph=True)
    first = [x.grad for x in xs]
    vs = _arrays(shapes, rng)
    for x in xs:
        x.grad = None
    sum(((f * Tensor(v, requires_grad=False)).sum() for f, v in zip(first, vs)), Tensor(0.0)).backward()
    ps = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(torch.tanh(torch.einsum(equation, *ps)).sum(), ps, create_graph=True)
    s = sum((gr * torch.tensor(v)).sum() for gr, v in zip(grads, vs))
    expected = torch.autograd.grad(s, ps, allow_unused=True) if s.requires_grad else [None] * len(ps)
    for x, e in zip(xs, expected):
        got = np.zeros(x.shape) if x.grad is None else x.grad
        np.testing.assert_allclose(got, np.zeros(x.shape) if e is None else e.numpy(), **CLOSE)


@needs_engine
def test_einsum_third_derivative_through_nested_create_graph():
    # f = sum(einsum("ij,jk->ik", a, b) ** 3), differentiated in a, then b, then a, as PyTorch.
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    va, vb = rng.standard_normal(a.shape), rng.standard_normal(b.shape)
    ta, tb = Tensor(a), Tensor(b)
    (einsum("ij,jk->ik", ta, tb) ** 3).sum().backward(create_graph=True)
    ga = ta.grad
    ta.grad = tb.grad = None
    (ga * Tensor(va, requires_grad=False)).sum().backward(create_graph=True)
    gb = tb.grad
    ta.grad = tb.grad = None
    (gb * Tensor(vb, requires_grad=False)).sum().backward()

    pa, pb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (g1,) = torch.autograd.grad((torch.einsum("ij,jk->ik", pa, pb) ** 3).sum(), [pa], create_graph=True)
    (g2,) = torch.autograd.grad((g1 * torch.tensor(va)).sum(), [pb], create_graph=True)
    ea, eb = torch.autograd.grad((g2 * torch.tensor(vb)).sum(), [pa, pb])
    np.testing.assert_allclose(ta.grad, ea.numpy(), **CLOSE)
    np.testing.assert_allclose(tb.grad, eb.numpy(), **CLOSE)


@needs_engine
@pytest.mark.parametrize("mode", ["jacrev(jacrev)", "jacfwd(jacrev)"])
def test_einsum_hessian_through_func_transforms(mode):
    from naivegrad import func

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 3, 2)), rng.standard_normal((2, 4))

    def f(a, b):
        return einsum("iij,jk->ik", a, b).tanh().sum()

    def f_torch(a, b):
        return torch.tanh(torch.einsum("iij,jk->ik", a, b)).sum()

    outer = func.jacrev if mode == "jacrev(jacrev)" else func.jacfwd
    got = outer(func.jacrev(f, argnums=0), argnums=(0, 1))(Tensor(a), Tensor(b))
    expected = torch.func.jacfwd(torch.func.jacrev(f_torch, argnums=0), argnums=(0, 1))(
        torch.tensor(a), torch.tensor(b))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(getattr(g, "data", g)), e.numpy(), **CLOSE)
