"""Trajectories against torch.optim (float64): the same problem, the same hyper-parameters, every step compared.

The scalar path trains Values on Rosenbrock's function with naivegrad's backward; the tensor path trains three
stand-in tensors (one of which has no gradient for the first steps, so is skipped) on a small regression.
torch computes its own gradients with autograd, so the two sides share nothing but the maths.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from optim_helpers import (
    ALL_CONFIGS, ROSENBROCK_START, StandIn, config_id, make, regression_data, regression_grads, regression_start,
    regression_torch_loss, rosenbrock, run_standins, run_values,
)

torch = pytest.importorskip("torch")

STEPS = 25
TORCH_NAMES = {"SGD": "SGD", "Adam": "Adam", "AdamW": "AdamW", "RMSProp": "RMSprop"}


def torch_opt(name, params, cfg):
    # foreach=False: the one-tensor-at-a-time implementation, PyTorch's default on CPU.
    return getattr(torch.optim, TORCH_NAMES[name])(params, foreach=False, **cfg)


def torch_values_run(name, cfg, steps, start=ROSENBROCK_START):
    ps = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start]
    opt = torch_opt(name, ps, cfg)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(*ps).backward()
        opt.step()
        out.append([p.item() for p in ps])
    return np.array(out)


def torch_standins_run(name, cfg, steps, c_from=5, dtype=torch.float64, seed=1):
    X, Y = (torch.tensor(a, dtype=dtype) for a in regression_data())
    ps = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in regression_start(seed)]
    opt = torch_opt(name, ps, cfg)
    out = []
    for t in range(steps):
        opt.zero_grad()
        regression_torch_loss(*ps, X, Y, with_c=t >= c_from).backward()
        opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel() for p in ps]).astype(np.float64))
    return np.array(out)


def assert_same_trajectory(ours, theirs, rtol):
    assert ours.shape == theirs.shape
    assert np.isfinite(theirs).all()  # a diverged run would compare inf with inf and prove nothing
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=f"after step {step + 1}")


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS, ids=[config_id(*c) for c in ALL_CONFIGS])
def test_values_trajectory_matches_torch(name, cfg):
    ours = run_values(name, cfg, STEPS)
    theirs = torch_values_run(name, cfg, STEPS)
    # The runs must actually move, or matching would be trivial.
    assert np.abs(theirs[-1] - np.array(ROSENBROCK_START)).max() > 5e-3
    assert_same_trajectory(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS, ids=[config_id(*c) for c in ALL_CONFIGS])
def test_tensor_trajectory_matches_torch(name, cfg):
    ours = run_standins(name, cfg, STEPS)
    theirs = torch_standins_run(name, cfg, STEPS)
    assert np.abs(theirs[-1] - theirs[0]).max() > 5e-3
    assert_same_trajectory(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("name,cfg", [ALL_CONFIGS[1], ALL_CONFIGS[6], ALL_CONFIGS[11], ALL_CONFIGS[-1]],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_float32_tensor_trajectory_matches_torch_float32(name, cfg):
    ours = run_standins(name, cfg, STEPS, dtype=np.float32)
    theirs = torch_standins_run(name, cfg, STEPS, dtype=torch.float32)
    assert_same_trajectory(ours, theirs, rtol=2e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSProp"])
def test_param_groups_and_lr_change_match_torch(name):
    """Two groups with their own hyper-parameters, and a learning rate changed through param_groups mid-run."""
    start = regression_start()
    X, Y = regression_data()
    cfg = dict(lr=1e-3, momentum=0.9) if name in ("SGD", "RMSProp") else dict(lr=1e-2)
    ours = [StandIn(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]

    opt = make(name, [{"params": ours[:1]}, {"params": ours[1:], "lr": 3 * cfg["lr"]}], cfg)
    topt = torch_opt(name, [{"params": theirs[:1]}, {"params": theirs[1:], "lr": 3 * cfg["lr"]}], cfg)
    for t in range(20):
        if t == 10:
            opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = cfg["lr"] / 4
        opt.zero_grad()
        topt.zero_grad()
        for p, g in zip(ours, regression_grads(*(p.data for p in ours), X, Y, with_c=True)):
            p.grad = g
        regression_torch_loss(*theirs, torch.tensor(X), torch.tensor(Y), with_c=True).backward()
        opt.step()
        topt.step()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, atol=1e-12)


@given(
    lr=st.floats(1e-4, 0.1),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    weight_decay=st.sampled_from([0.0, 1e-3, 0.3]),
    eps=st.sampled_from([1e-8, 1e-3]),
    name=st.sampled_from(["SGD", "Adam", "AdamW", "RMSProp"]),
    centered=st.booleans(),
)
def test_generated_hyper_parameters_match_torch_on_a_quadratic(lr, momentum, beta1, beta2, weight_decay, eps,
                                                                name, centered):
    """A convex quadratic with an exact numpy gradient fed to both sides: only the update rules differ."""
    if name == "SGD":
        cfg = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0)
    elif name == "RMSProp":
        cfg = dict(lr=lr / 10, alpha=beta2, eps=eps, momentum=momentum, weight_decay=weight_decay,
                   centered=centered)
    else:
        cfg = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    rng = np.random.default_rng(0)
    M = rng.normal(size=(5, 5))
    A = M @ M.T / 5 + np.eye(5)
    b = rng.normal(size=5)
    x0 = rng.normal(size=5)
    ours = StandIn(x0)
    theirs = torch.tensor(x0, requires_grad=True)
    opt = make(name, [ours], cfg)
    topt = torch_opt(name, [theirs], cfg)
    for _ in range(20):
        ours.grad = A @ ours.data - b
        theirs.grad = torch.from_numpy(A @ theirs.detach().numpy() - b)
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-11, atol=1e-12)
