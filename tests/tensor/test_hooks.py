"""Tensor.register_hook (and its handle's remove) and retain_grad, against torch's where installed."""

import gc

import numpy as np
import pytest

from naivegrad.grad_mode import no_grad
from naivegrad.tensor import Tensor, tensor as tensor_module


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 3)).astype(np.float32)
W = RNG.standard_normal((3, 4)).astype(np.float32)
for _a in (X, W):
    _a.flags.writeable = False


def _leaves(lib_tensor):
    return lib_tensor(X), lib_tensor(W)


def _ours():
    return _leaves(lambda a: Tensor(a.copy()))


def _theirs(torch):
    return _leaves(lambda a: torch.tensor(a, requires_grad=True))


def _close(a, b):
    np.testing.assert_allclose(a, b.detach().numpy() if hasattr(b, "detach") else b, rtol=1e-5, atol=1e-6)


def test_a_hook_doubling_a_leaf_gradient_matches_torch(torch):
    def run(x, w):
        h = w.register_hook(lambda g: g * 2)
        (x @ w).tanh().sum().backward()
        return h, x.grad, w.grad

    _, gx, gw = run(*_ours())
    _, tgx, tgw = run(*_theirs(torch))
    _close(gx, tgx)
    _close(gw, tgw)


def test_a_hook_on_an_interior_tensor_changes_what_flows_upstream(torch):
    def run(x, w):
        h = x @ w
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        (h.tanh() * 3).sum().backward()
        return h.grad, x.grad, w.grad

    for a, b in zip(run(*_ours()), run(*_theirs(torch))):
        _close(a, b)


def test_several_hooks_run_in_registration_order_each_on_the_previous_result(torch):
    def run(x, w, calls):
        y = x @ w
        y.register_hook(lambda g: calls.append("first") or g * 2)
        y.register_hook(lambda g: calls.append("second") or g + 1)
        y.register_hook(lambda g: calls.append("third"))  # observes only
        y.sum().backward()
        return x.grad

    ours_calls, theirs_calls = [], []
    _close(run(*_ours(), ours_calls), run(*_theirs(torch), theirs_calls))
    assert ours_calls == theirs_calls == ["first", "second", "third"]


def test_handle_remove_and_the_same_function_twice(torch):
    def run(x, w):
        double = lambda g: g * 2  # noqa: E731
        h1 = x.register_hook(double)
        h2 = x.register_hook(double)  # registered twice: runs twice
        (x @ w).sum().backward()
        first = x.grad.clone() if hasattr(x.grad, "clone") else x.grad.copy()
        h1.remove()
        h1.remove()  # a second remove does nothing
        x.grad = None
        (x @ w).sum().backward()
        second = x.grad
        h2.remove()
        x.grad = None
        (x @ w).sum().backward()
        return first, second, x.grad

    for a, b in zip(run(*_ours()), run(*_theirs(torch))):
        _close(a, b)


def test_a_leaf_hook_sees_each_backward_alone_before_accumulation(torch):
    def run(x, w):
        seen = []
        x.register_hook(lambda g: seen.append(g.sum().item() if hasattr(g, "item") else float(g.sum())) or g * 3)
        y = x * 2
        (y + y * y).sum().backward()  # x reached through two paths: the hook runs once, on the sum
        (x * 5).sum().backward()
        return seen, x.grad

    (seen, g), (tseen, tg) = run(*_ours()), run(*_theirs(torch))
    np.testing.assert_allclose(seen, tseen, rtol=1e-5)
    assert len(seen) == 2
    _close(g, tg)


def test_a_hook_on_the_root_and_on_a_leaf_root(torch):
    def run(x, w, ones):
        y = (x @ w).sum()
        y.register_hook(lambda g: g * 10)
        y.backward()
        x.register_hook(lambda g: g + 1)
        x.backward(ones)  # backward from a leaf itself: its hook runs on the given gradient
        return x.grad, w.grad

    ours = run(*_ours(), np.ones((2, 3), np.float32))
    theirs = run(*_theirs(torch), torch.ones(2, 3))
    for a, b in zip(ours, theirs):
        _close(a, b)


def test_the_hook_gets_a_read_only_array_and_may_return_a_tensor():
    x = Tensor(X.copy())
    got = []

    def look(g):
        got.append(g)
        assert isinstance(g, np.ndarray) and not g.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            g *= 2
        return Tensor(g * 4, requires_grad=False)

    x.register_hook(look)
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, 4.0)
    assert x.grad.flags.writeable and x.grad.dtype == np.float32
    assert len(got) == 1


def test_a_hook_changing_the_shape_raises_naming_both_shapes():
    x = Tensor(X.copy())
    x.register_hook(lambda g: g[:1])
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(2, 3\)"):
        (x * 2.0).sum().backward()
    y = Tensor(X.copy())
    z = y * 2.0
    z.register_hook(lambda g: g.sum())
    with pytest.raises(ValueError, match=r"shape \(\).*shape \(2, 3\)"):
        z.sum().backward()


def test_refusals(torch):
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(X.copy(), requires_grad=False).register_hook(lambda g: g)
    with no_grad():
        y = Tensor(X.copy()) * 2.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        Tensor(X.copy()).register_hook(3)
    with pytest.raises(RuntimeError):
        torch.zeros(2).register_hook(lambda g: g)


def test_retain_grad(torch):
    x = Tensor(X.copy())
    y = x * 2.0
    assert y.retain_grad() is None and y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    ty = torch.tensor(X, requires_grad=True) * 2.0
    assert ty.retain_grad() is None
    (ty * ty).sum().backward()
    _close(y.grad, ty.grad)
    assert x.retain_grad() is None  # a leaf: nothing to do, as torch
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(X.copy(), requires_grad=False).retain_grad()
    with pytest.raises(RuntimeError):
        torch.zeros(2).retain_grad()


def test_hooks_stay_with_the_value_from_before_an_in_place_op(torch):
    """PyTorch's rule: hooks registered before an in-place op see the gradient of the old value."""
    def run(x, w):
        calls = []
        y = x @ w
        y.register_hook(lambda g: calls.append(("old", float(g.sum()))))
        y.mul_(2.0)
        y.register_hook(lambda g: calls.append(("new", float(g.sum()))))
        (y * 3.0).sum().backward()
        return calls, x.grad

    (calls, g), (tcalls, tg) = run(*_ours()), run(*_theirs(torch))
    assert [c[0] for c in calls] == [c[0] for c in tcalls] == ["new", "old"]
    np.testing.assert_allclose([c[1] for c in calls], [c[1] for c in tcalls], rtol=1e-5)
    _close(g, tg)


def test_hooks_go_with_their_tensor():
    x = Tensor(X.copy())
    h = x.register_hook(lambda g: g)
    assert tensor_module._hooks
    del x
    gc.collect()
    assert not tensor_module._hooks  # backward is back on its hook-free path
    h.remove()  # harmless on a dead tensor
    y = Tensor(X.copy())
    with y.register_hook(lambda g: g * 0):
        (y * 1.0).sum().backward()
    np.testing.assert_array_equal(y.grad, 0.0)
    (y * 1.0).sum().backward()  # removed on leaving the with block
    np.testing.assert_array_equal(y.grad, 1.0)
    assert not tensor_module._hooks


def test_a_failing_backward_gives_hooked_leaves_their_grad_back():
    x = Tensor(X.copy())
    x.register_hook(lambda g: g * 2)
    (x * 1.0).sum().backward()
    before = x.grad.copy()
    y = x * 3.0
    y.register_hook(lambda g: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        (y + x).sum().backward()  # x's first contribution (from + x) is already in when y's hook fails
    np.testing.assert_array_equal(x.grad, before)
