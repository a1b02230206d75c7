"""The update rules against closed forms and exact identities (no torch needed), on both kinds of parameter."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from naivegrad import optim
from naivegrad.scalar import Value

from optim_helpers import ALL_CONFIGS, StandIn, config_id, make

finite = st.floats(-1e3, 1e3, allow_nan=False)
vectors = st.lists(finite, min_size=1, max_size=8)
lrs = st.floats(0.0, 10.0)


def values_with_grads(data, grads):
    ps = [Value(d) for d in data]
    for p, g in zip(ps, grads):
        p.grad = g
    return ps


def standin_with_grad(data, grad, dtype=np.float64):
    p = StandIn(data, dtype)
    p.grad = np.array(grad, dtype)
    return p


# ---------------------------------------------------------------- single steps
@given(data=st.data(), lr=lrs)
def test_sgd_step_is_exactly_p_minus_lr_g(data, lr):
    p0 = data.draw(vectors)
    g = data.draw(st.lists(finite, min_size=len(p0), max_size=len(p0)))
    expected = np.array(p0) - lr * np.array(g)
    ps = values_with_grads(p0, g)
    optim.SGD(ps, lr=lr).step()
    assert [p.data for p in ps] == expected.tolist()
    assert all(type(p.data) is float for p in ps)  # Value.data stays a Python float, not an np.float64
    for dtype in (np.float64, np.float32):
        t = standin_with_grad(p0, g, dtype)
        storage = t.data
        optim.SGD([t], lr=lr).step()
        assert t.data is storage and t.data.dtype == dtype  # updated in place, dtype kept
        np.testing.assert_array_equal(t.data, np.array(p0, dtype) - dtype(lr) * np.array(g, dtype))


@given(g=st.lists(st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3), min_size=1, max_size=6),
       lr=st.floats(1e-4, 1.0), name=st.sampled_from(["Adam", "AdamW"]))
def test_adam_first_step_moves_each_parameter_by_lr(g, lr, name):
    """m_hat = g and v_hat = g**2 after one step, so the step is lr * g / (|g| + eps): about lr, against g."""
    g = np.array(g)
    for eps in (1e-8, 0.0):
        ps = values_with_grads(np.zeros(len(g)), g)
        getattr(optim, name)(ps, lr=lr, eps=eps, weight_decay=0.0).step()
        moved = np.array([p.data for p in ps])
        np.testing.assert_allclose(moved, -lr * g / (np.abs(g) + eps), rtol=1e-12)
        assert (np.abs(moved) <= lr * (1 + 1e-15)).all()


@given(g=st.floats(1e-3, 1e3), alpha=st.floats(0.0, 0.999), eps=st.sampled_from([0.0, 1e-8, 1e-2]),
       lr=st.floats(1e-4, 1.0))
def test_rmsprop_first_step(g, alpha, eps, lr):
    """v = (1 - alpha) g**2, so the first step is lr * g / (sqrt(1 - alpha) |g| + eps): eps outside the root."""
    t = standin_with_grad([0.0], [g])
    optim.RMSProp([t], lr=lr, alpha=alpha, eps=eps).step()
    np.testing.assert_allclose(-t.data[0], lr * g / (np.sqrt(1 - alpha) * g + eps), rtol=1e-12)


# ---------------------------------------------------------------- constant gradients: closed forms
def run_constant_grad(opt_factory, g, steps):
    """Values pulled by a constant gradient ``g`` (a linear loss); the trajectory of their data."""
    ps = [Value(0.0) for _ in g]
    opt = opt_factory(ps)
    out = []
    for _ in range(steps):
        for p, gi in zip(ps, g):
            p.grad = gi
        opt.step()
        out.append([p.data for p in ps])
    return np.array(out)


@given(g=st.lists(finite, min_size=1, max_size=4), momentum=st.floats(0.0, 0.99), lr=st.floats(1e-3, 1.0),
       nesterov=st.booleans())
def test_sgd_momentum_under_a_constant_gradient(g, momentum, lr, nesterov):
    """The buffer starts at g (not 0): buf_t = g (1 + m + ... + m**(t-1)); nesterov steps by g + m buf_t."""
    nesterov = nesterov and momentum > 0
    steps = 12
    traj = run_constant_grad(lambda ps: optim.SGD(ps, lr=lr, momentum=momentum, nesterov=nesterov), g, steps)
    g = np.array(g)
    bufs = np.array([sum(momentum ** k for k in range(t)) for t in range(1, steps + 1)])
    step_sizes = 1 + momentum * bufs if nesterov else bufs
    expected = -lr * np.cumsum(step_sizes)[:, None] * g
    np.testing.assert_allclose(traj, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max(initial=1))


@given(g=st.lists(st.floats(1e-2, 1e2) | st.floats(-1e2, -1e-2), min_size=1, max_size=4),
       beta1=st.floats(0.0, 0.99), beta2=st.floats(0.0, 0.999), lr=st.floats(1e-3, 1.0))
def test_adam_under_a_constant_gradient_steps_lr_each_time(g, beta1, beta2, lr):
    """Bias correction makes m_hat = g and v_hat = g**2 at every step, so each step is lr * g / (|g| + eps)."""
    eps = 1e-8
    steps = 15
    traj = run_constant_grad(lambda ps: optim.Adam(ps, lr=lr, betas=(beta1, beta2), eps=eps), g, steps)
    g = np.array(g)
    expected = -lr * np.arange(1, steps + 1)[:, None] * (g / (np.abs(g) + eps))
    np.testing.assert_allclose(traj, expected, rtol=1e-9)


@given(g=st.floats(1e-2, 1e2), alpha=st.floats(0.0, 0.999), lr=st.floats(1e-3, 1.0))
def test_rmsprop_under_a_constant_gradient(g, alpha, lr):
    """v_t = (1 - alpha**t) g**2 with no bias correction: early steps are larger than lr."""
    eps = 1e-8
    steps = 15
    traj = run_constant_grad(lambda ps: optim.RMSProp(ps, lr=lr, alpha=alpha, eps=eps), [g], steps)[:, 0]
    t = np.arange(1, steps + 1)
    expected = -np.cumsum(lr * g / (np.sqrt(1 - alpha ** t) * g + eps))
    np.testing.assert_allclose(traj, expected, rtol=1e-11)


@given(p0=vectors, lr=st.floats(1e-4, 0.5), wd=st.floats(0.0, 1.0))
def test_adamw_with_zero_gradient_only_decays(p0, lr, wd):
    """Decoupled decay touches p alone: with g = 0 the moments stay 0 and p shrinks by (1 - lr wd) per step."""
    t = standin_with_grad(p0, np.zeros(len(p0)))
    opt = optim.AdamW([t], lr=lr, weight_decay=wd)
    expected = np.array(p0)
    for _ in range(5):
        opt.step()
        expected = expected * (1 - lr * wd)
        np.testing.assert_array_equal(t.data, expected)


# ---------------------------------------------------------------- identities between configurations
def feed_trajectory(opt_factory, x0, grad_fn, steps, kind):
    """Run an optimizer on Values (kind "values") or one stand-in (kind "tensor"), feeding grad_fn(x) directly."""
    if kind == "values":
        ps = [Value(float(v)) for v in x0]
        opt = opt_factory(ps)
    else:
        t = StandIn(x0)
        opt = opt_factory([t])
    out = []
    for _ in range(steps):
        if kind == "values":
            x = np.array([p.data for p in ps])
            for p, gi in zip(ps, grad_fn(x).tolist()):
                p.grad = gi
        else:
            t.grad = grad_fn(t.data.copy())
        opt.step()
        out.append([p.data for p in ps] if kind == "values" else t.data.copy())
    return np.array(out)


def quadratic(seed=0, n=5):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A, b = M @ M.T / n + np.eye(n), rng.normal(size=n)
    return rng.normal(size=n), (lambda x: A @ x - b)


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS, ids=[config_id(*c) for c in ALL_CONFIGS])
def test_value_and_tensor_paths_are_bitwise_identical(name, cfg):
    """The packed Value path and the in-place Tensor path run the same arithmetic, element by element."""
    x0, grad = quadratic()
    a = feed_trajectory(lambda ps: make(name, ps, cfg), x0, grad, 20, "values")
    b = feed_trajectory(lambda ps: make(name, ps, cfg), x0, grad, 20, "tensor")
    assert np.abs(a[-1] - x0).max() > 1e-3
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSProp"])
@pytest.mark.parametrize("kind", ["values", "tensor"])
def test_weight_decay_is_the_gradient_plus_wd_times_p(name, kind):
    """SGD, Adam and RMSProp fold weight decay into the gradient (L2): the same as adding wd * p by hand."""
    x0, grad = quadratic(1)
    wd = 0.3
    cfg = dict(lr=0.01, momentum=0.5) if name != "Adam" else dict(lr=0.01)
    a = feed_trajectory(lambda ps: make(name, ps, dict(cfg, weight_decay=wd)), x0, grad, 15, kind)
    b = feed_trajectory(lambda ps: make(name, ps, cfg), x0, lambda x: grad(x) + wd * x, 15, kind)
    np.testing.assert_array_equal(a, b)


def test_adamw_decay_is_decoupled_from_adams():
    x0, grad = quadratic(2)
    adam = feed_trajectory(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.3), x0, grad, 15, "tensor")
    adamw = feed_trajectory(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.3), x0, grad, 15, "tensor")
    assert np.abs(adam - adamw).max() > 1e-4
    plain = feed_trajectory(lambda ps: optim.Adam(ps, lr=0.01), x0, grad, 15, "tensor")
    plain_w = feed_trajectory(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.0), x0, grad, 15, "tensor")
    np.testing.assert_array_equal(plain, plain_w)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSProp"])
@given(k=st.integers(-20, 20))
def test_adaptive_optimizers_ignore_the_gradient_scale(name, k):
    """With eps = 0, scaling every gradient by 2**k (an exact scaling) leaves Adam's and RMSProp's steps unchanged."""
    x0, grad = quadratic(3)
    cfg = dict(lr=0.01, eps=0.0)
    a = feed_trajectory(lambda ps: make(name, ps, cfg), x0, grad, 10, "tensor")
    b = feed_trajectory(lambda ps: make(name, ps, cfg), x0, lambda x: grad(x) * 2.0 ** k, 10, "tensor")
    np.testing.assert_array_equal(a, b)


def test_decay_is_an_alias_of_alpha():
    x0, grad = quadratic(4)
    a = feed_trajectory(lambda ps: optim.RMSProp(ps, lr=0.01, alpha=0.9), x0, grad, 10, "values")
    b = feed_trajectory(lambda ps: optim.RMSProp(ps, lr=0.01, decay=0.9), x0, grad, 10, "values")
    c = feed_trajectory(lambda ps: optim.RMSProp(ps, lr=0.01), x0, grad, 10, "values")
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6  # the default alpha (0.99) differs from 0.9: the alias is not ignored
    assert optim.RMSprop is optim.RMSProp


# ---------------------------------------------------------------- parameters, gradients, groups
def test_tensor_without_grad_is_skipped_and_takes_no_step():
    a, b = standin_with_grad([1.0, 2.0], [0.5, 0.5]), StandIn([3.0, 4.0])
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(b.data, [3.0, 4.0])
    assert (a.data != [1.0, 2.0]).all()
    steps = opt.state_dict()["state.0.step"]
    assert steps.tolist() == [1, 0]
    b.grad = np.array([1.0, -1.0])
    opt.step()
    # b's first step is a first step (about lr), even though a is on its second.
    np.testing.assert_allclose(b.data, [3.0 - 0.1, 4.0 + 0.1], rtol=1e-7)


def test_zero_grad():
    v = Value(1.0)
    v.grad = 3.0
    t = standin_with_grad([1.0, 2.0], [1.0, 1.0], np.float32)
    opt = optim.SGD([{"params": [v]}, {"params": [t]}], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert v.grad == 0.0 and type(v.grad) is float
    assert t.grad.dtype == np.float32 and t.grad.shape == (2,) and not t.grad.any()
    t.grad = np.ones(2, np.float32)
    opt.zero_grad()  # PyTorch's default: set_to_none=True
    assert t.grad is None and v.grad == 0.0


def test_values_and_tensors_in_separate_groups_of_one_optimizer():
    v, t = Value(1.0), standin_with_grad([1.0], [2.0])
    v.grad = 2.0
    opt = optim.SGD([{"params": [v]}, {"params": [t], "lr": 0.5}], lr=0.1)
    opt.step()
    assert v.data == 1.0 - 0.1 * 2.0
    assert t.data[0] == 1.0 - 0.5 * 2.0


def test_generator_of_parameters_is_read_once():
    ps = [Value(float(i)) for i in range(4)]
    opt = optim.SGD((p for p in ps), lr=0.5)
    for _ in range(2):
        for p in ps:
            p.grad = 1.0
        opt.step()
    assert [p.data for p in ps] == [i - 1.0 for i in range(4)]
    assert len(opt.param_groups[0]["params"]) == 4


def test_step_with_closure_returns_its_loss():
    x = Value(2.0)
    opt = optim.SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = x * x
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.data == 4.0 and x.data == 2.0 - 0.25 * 4.0


def test_trains_an_expression_of_values_to_its_minimum():
    """End to end on the scalar engine: Adam drives (x - 3)**2 + (y + 1)**2 to its minimum."""
    x, y = Value(0.0), Value(0.0)
    opt = optim.Adam([x, y], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((x - 3) ** 2 + (y + 1) ** 2).backward()
        opt.step()
    assert abs(x.data - 3) < 1e-2 and abs(y.data + 1) < 1e-2


def test_old_module_name_and_repr():
    from naivegrad import optimizer

    # The original's names share the update rules of naivegrad.optim (they differ only in defaults and in
    # using up the gradients they step with: see naivegrad/optimizer.py).
    for old, new in ((optimizer.SGD, optim.SGD), (optimizer.RMSProp, optim.RMSProp), (optimizer.Adam, optim.Adam)):
        assert issubclass(old, new) and old is not new
    r = repr(optim.Adam([Value(1.0), Value(2.0)], lr=0.5))
    assert r.startswith("Adam(") and "lr=0.5" in r and "2 Values" in r


@pytest.mark.parametrize("make_opt", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1)],
                         ids=["SGD", "Adam"])
def test_value_grad_with_a_graph_is_read_as_its_number(make_opt):
    """After backward(create_graph=True) a grad is a Value; the step uses its number and data stays a float."""
    x, y = Value(3.0), Value(3.0)
    (x * x * x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    y.grad = x.grad.data
    make_opt([x]).step()
    make_opt([y]).step()
    assert type(x.data) is float and x.data == y.data != 3.0
