"""``naivegrad.optimizer``: the original project's optimizers, their signatures, defaults and update rules, and
the one rule that differs from ``naivegrad.optim``: a step consumes the Tensor gradients it used.

The original's ``backward()`` replaced gradients, so its loops (forward, backward, step) never zeroed them;
here gradients accumulate, as in PyTorch, and these optimizers reset each Tensor's ``grad`` to None after
stepping with it so that those loops still train.
"""

import numpy as np
import pytest

from naivegrad import optim, optimizer
from naivegrad.core_sc import Scalar
from naivegrad.core_tn import Tensor


def quadratic_grad(w, target):
    """Backward of sum((w - target)**2) into w.grad: 2 (w - target)."""
    ((w - Tensor(target, requires_grad=False)) ** 2).sum().backward()


def fresh(values):
    return Tensor(np.array(values, dtype=np.float64))


# ------------------------------------------------------------------ signatures and defaults


def test_sgd_defaults_to_the_original_learning_rate():
    w = fresh([1.0])
    opt = optimizer.SGD([w])
    assert opt.lr == 0.001 and opt.param_groups[0]["lr"] == 0.001
    assert optimizer.SGD([w], 0.5).lr == 0.5  # lr is the second positional argument


def test_rmsprop_defaults_are_the_originals_not_pytorchs():
    w = fresh([1.0])
    opt = optimizer.RMSProp([w])
    assert (opt.lr, opt.decay, opt.eps) == (0.001, 0.9, 1e-8)
    assert opt.param_groups[0]["alpha"] == 0.9
    # the new API keeps PyTorch's defaults
    assert optim.RMSProp([w]).param_groups[0]["alpha"] == 0.99
    assert optim.RMSProp([w]).param_groups[0]["lr"] == 0.01
    # the original's positional order: params, lr, decay, eps
    opt = optimizer.RMSProp([w], 0.002, 0.5, 1e-6)
    assert (opt.lr, opt.decay, opt.eps) == (0.002, 0.5, 1e-6)
    assert optimizer.RMSprop is optimizer.RMSProp


def test_adam_takes_b1_b2_and_eps():
    w = fresh([1.0])
    opt = optimizer.Adam([w])
    assert (opt.lr, opt.b1, opt.b2, opt.eps) == (0.001, 0.9, 0.999, 1e-8)
    opt = optimizer.Adam([w], lr=0.01, b1=0.5, b2=0.75, eps=1e-6)
    assert opt.param_groups[0]["betas"] == (0.5, 0.75) and opt.param_groups[0]["eps"] == 1e-6
    opt = optimizer.Adam([w], 0.01, 0.5, 0.75, 1e-6)  # the original's positional order
    assert (opt.lr, opt.b1, opt.b2, opt.eps) == (0.01, 0.5, 0.75, 1e-6)


def test_hyper_parameters_can_be_changed_as_attributes():
    w = fresh([1.0])
    opt = optimizer.Adam([w])
    opt.lr, opt.b1 = 0.25, 0.5
    assert opt.param_groups[0]["lr"] == 0.25 and opt.param_groups[0]["betas"] == (0.5, 0.999)
    rms = optimizer.RMSProp([w])
    rms.decay = 0.8
    assert rms.param_groups[0]["alpha"] == 0.8


def test_params_lists_the_parameters_in_order():
    a, b = fresh([1.0]), fresh([2.0, 3.0])
    opt = optimizer.SGD([a, b])
    assert len(opt.params) == 2 and opt.params[0] is a and opt.params[1] is b


def test_conflicting_names_are_refused():
    w = fresh([1.0])
    with pytest.raises(TypeError, match="decay"):
        optimizer.RMSProp([w], decay=0.9, alpha=0.9)
    with pytest.raises(TypeError, match="betas"):
        optimizer.Adam([w], b1=0.8, betas=(0.9, 0.999))


def test_they_are_new_api_optimizers_underneath():
    w = fresh([1.0])
    for opt in (optimizer.SGD([w]), optimizer.Adam([w]), optimizer.RMSProp([w])):
        assert isinstance(opt, optimizer.Optimizer) and isinstance(opt, optim.Optimizer)
        assert "state.0.step" in opt.state_dict()


# ------------------------------------------------------------------ the update rules, written out by hand


def test_sgd_rule():
    w = fresh([1.0, -2.0])
    opt = optimizer.SGD([w], lr=0.1)
    quadratic_grad(w, np.array([0.0, 0.0]))
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.1 * 2.0, -2.0 + 0.1 * 4.0], rtol=1e-15)


def test_adam_rule_as_the_original_wrote_it():
    rng = np.random.default_rng(0)
    start, target = rng.standard_normal(5), rng.standard_normal(5)
    lr, b1, b2, eps = 0.05, 0.8, 0.9, 1e-6
    w = fresh(start)
    opt = optimizer.Adam([w], lr=lr, b1=b1, b2=b2, eps=eps)
    p, m, v = start.copy(), np.zeros(5), np.zeros(5)
    for t in range(1, 6):
        quadratic_grad(w, target)
        opt.step()
        g = 2 * (p - target)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(w.data, p, rtol=1e-12, atol=1e-14)
    assert opt.t == 5


def test_rmsprop_rule_as_the_original_wrote_it():
    rng = np.random.default_rng(1)
    start, target = rng.standard_normal(4), rng.standard_normal(4)
    w = fresh(start)
    opt = optimizer.RMSProp([w], lr=0.01)  # decay 0.9, eps 1e-8
    p, v = start.copy(), np.zeros(4)
    for _ in range(5):
        quadratic_grad(w, target)
        opt.step()
        g = 2 * (p - target)
        v = 0.9 * v + 0.1 * g * g
        p = p - 0.01 / (np.sqrt(v) + 1e-8) * g
        np.testing.assert_allclose(w.data, p, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ gradients: consumed here, accumulated in optim


@pytest.mark.parametrize("make", [optimizer.SGD, optimizer.Adam, optimizer.RMSProp], ids=["SGD", "Adam", "RMSProp"])
def test_a_step_consumes_the_tensor_gradients_it_used(make):
    w, unused = fresh([1.0, 2.0]), fresh([5.0])
    opt = make([w, unused])
    quadratic_grad(w, np.zeros(2))
    assert w.grad is not None and unused.grad is None
    opt.step()
    assert w.grad is None and unused.grad is None
    np.testing.assert_array_equal(unused.data, [5.0])  # no gradient, no step (as in PyTorch)


def test_the_original_loop_without_zero_grad_takes_the_same_steps_as_the_new_api_with_it():
    rng = np.random.default_rng(2)
    start, targets = rng.standard_normal(3), rng.standard_normal((6, 3))
    old, new = fresh(start), fresh(start)
    old_opt = optimizer.SGD([old], lr=0.1)
    new_opt = optim.SGD([new], lr=0.1)
    for target in targets:
        quadratic_grad(old, target)   # the original's loop: forward, backward, step
        old_opt.step()
        new_opt.zero_grad()           # the new API: PyTorch's loop
        quadratic_grad(new, target)
        new_opt.step()
        np.testing.assert_array_equal(old.data, new.data)


def test_naivegrad_optim_still_accumulates_as_pytorch():
    w = fresh([1.0])
    opt = optim.SGD([w], lr=0.1)
    quadratic_grad(w, np.zeros(1))
    opt.step()
    np.testing.assert_array_equal(w.grad, [2.0])  # kept after the step
    quadratic_grad(w, np.zeros(1))
    np.testing.assert_allclose(w.grad, [2.0 + 1.6])  # and added to by the next backward


def test_value_gradients_are_left_alone():
    """The original's scalar engine already accumulated (micrograd's rule) and its loops zeroed by hand."""
    x = Scalar(3.0)
    opt = optimizer.SGD([x], lr=0.1)
    (x * x).backward()
    opt.step()
    assert x.grad == 6.0 and x.data == pytest.approx(3.0 - 0.6)


def test_zero_grad_is_there_too():
    w = fresh([1.0])
    opt = optimizer.Adam([w])
    quadratic_grad(w, np.zeros(1))
    opt.zero_grad()
    assert w.grad is None


def test_a_custom_optimizer_in_the_originals_style_consumes_too():
    class HalfStep(optimizer.Optimizer):
        def __init__(self, params, lr=0.5):
            super().__init__(params)
            self.lr = lr

        def step(self):
            for t in self.params:
                t.data -= self.lr * t.grad

    w = fresh([4.0])
    opt = HalfStep([w])
    for _ in range(3):
        quadratic_grad(w, np.zeros(1))
        opt.step()
        assert w.grad is None
    np.testing.assert_array_equal(w.data, [0.0])  # 4 - 0.5 * 8 = 0, and it stays there
