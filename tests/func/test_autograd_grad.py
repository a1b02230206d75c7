"""naivegrad.autograd.grad on the scalar engine: torch.autograd.grad's signature and conventions on Values."""

import math

import pytest

import naivegrad
from naivegrad import Value
from naivegrad.autograd import grad


def test_returns_a_tuple_and_touches_no_grad():
    x, y = Value(2.0), Value(3.0)
    x.grad = 0.5
    z = x * x * y
    gx, gy = grad(z, [x, y])
    assert (gx.data, gy.data) == (12.0, 4.0) and not gx._prev and x.grad == 0.5 and y.grad == 0.0
    assert isinstance(grad(z, x), tuple) and grad(z, x)[0].data == grad(z, (x,))[0].data == 12.0


def test_create_graph_gives_values_to_differentiate_again():
    x = Value(0.7)
    (g,) = grad(x ** 3 * x.sin(), x, create_graph=True)
    (h,) = grad(g, x, create_graph=True)
    (t,) = grad(h, x)
    a = 0.7
    assert math.isclose(h.data, 6 * a * math.sin(a) + 6 * a * a * math.cos(a) - a ** 3 * math.sin(a), rel_tol=1e-12)
    assert math.isclose(t.data, 6 * math.sin(a) + 18 * a * math.cos(a) - 9 * a * a * math.sin(a)
                        - a ** 3 * math.cos(a), rel_tol=1e-12)


def test_grad_outputs_weights_and_none():
    x = Value(2.0)
    (g,) = grad([x * x, x * 3.0], [x], grad_outputs=[2.0, None])
    assert g.data == 2 * 4.0 + 3.0
    (g,) = grad(x * x, [x], grad_outputs=Value(0.5))
    assert g.data == 2.0
    with pytest.raises(ValueError, match="1 entries for 2 outputs"):
        grad([x, x], [x], grad_outputs=[1.0])


def test_allow_unused():
    x, w = Value(1.0), Value(2.0)
    with pytest.raises(RuntimeError, match="input 1 .* not used.*allow_unused=True"):
        grad(x * 2.0, [x, w])
    assert grad(x * 2.0, [x, w], allow_unused=True)[1] is None


def test_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = 0.3, -1.2
    x, y = Value(a), Value(b)
    (gx, gy) = grad((x * y).tanh() + x.exp() * y, [x, y], create_graph=True)
    (hxy,) = grad(gx, [y])
    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tgx, tgy = torch.autograd.grad((tx * ty).tanh() + tx.exp() * ty, [tx, ty], create_graph=True)
    (thxy,) = torch.autograd.grad(tgx, [ty])
    assert math.isclose(gx.data, tgx.item(), rel_tol=1e-14) and math.isclose(gy.data, tgy.item(), rel_tol=1e-14)
    assert math.isclose(hxy.data, thxy.item(), rel_tol=1e-13)


def test_lazy_export_and_mixing_refused():
    assert naivegrad.autograd.grad is grad
    with pytest.raises(TypeError, match="not a mix"):
        grad(Value(1.0), [naivegrad.Tensor([1.0])])
