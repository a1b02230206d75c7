"""The optimizers on real naivegrad Tensors, with gradients from the tensor engine's own backward."""

import numpy as np
import pytest

from naivegrad import optim

from optim_helpers import ALL_CONFIGS, config_id, make, regression_data, regression_start, run_standins

tensor = pytest.importorskip("naivegrad.tensor")
Tensor = tensor.Tensor


def tensor_loss(W, b, c, X, Y, with_c):
    loss = ((X @ W.T + b).tanh() - Y).pow(2).mean()
    return loss + (c * c * (1 + c)).sum() if with_c else loss


def run_tensors(name, cfg, steps, c_from=5, dtype=np.float64):
    """The stand-in regression of optim_helpers, on real Tensors: the third parameter joins at ``c_from``."""
    X, Y = (Tensor(a.astype(dtype), requires_grad=False) for a in regression_data())
    ps = [Tensor(a.astype(dtype)) for a in regression_start()]
    storage = [p.data for p in ps]
    opt = make(name, ps, cfg)
    out = []
    for t in range(steps):
        opt.zero_grad()
        tensor_loss(*ps, X, Y, with_c=t >= c_from).backward()
        if t < c_from:
            assert ps[2].grad is None  # not in the graph: skipped by the optimizer, as in PyTorch
        opt.step()
        out.append(np.concatenate([p.data.ravel() for p in ps]).astype(np.float64))
    assert all(p.data is s and p.data.dtype == dtype for p, s in zip(ps, storage))  # in place, dtype kept
    return np.array(out)


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS, ids=[config_id(*c) for c in ALL_CONFIGS])
def test_tensor_trajectory_matches_hand_written_gradients(name, cfg):
    """Same run as the stand-in one (whose gradients are written by hand): only the gradients' rounding differs."""
    ours = run_tensors(name, cfg, 25)
    ref = run_standins(name, cfg, 25)
    assert np.abs(ref[-1] - ref[0]).max() > 5e-3
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS[::4], ids=[config_id(*c) for c in ALL_CONFIGS[::4]])
def test_tensor_trajectory_matches_torch(name, cfg):
    torch = pytest.importorskip("torch")
    from test_optim_torch import torch_standins_run

    np.testing.assert_allclose(run_tensors(name, cfg, 25), torch_standins_run(name, cfg, 25), rtol=1e-12,
                               atol=1e-12)


def test_float32_tensors_stay_float32():
    ours = run_tensors("Adam", dict(lr=1e-2), 20, dtype=np.float32)
    ref = run_standins("Adam", dict(lr=1e-2), 20, dtype=np.float32)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_with_tensors(tmp_path):
    def fresh():
        ps = [Tensor(a) for a in regression_start()]
        return ps, optim.RMSProp(ps, lr=1e-2, momentum=0.9, centered=True)

    X, Y = (Tensor(a, requires_grad=False) for a in regression_data())

    def steps(ps, opt, n):
        for _ in range(n):
            opt.zero_grad()
            tensor_loss(*ps, X, Y, with_c=True).backward()
            opt.step()

    a, opt_a = fresh()
    steps(a, opt_a, 10)
    b, opt_b = fresh()
    steps(b, opt_b, 4)
    np.savez(tmp_path / "opt.npz", **opt_b.state_dict())
    c, opt_c = fresh()
    for p, q in zip(c, b):
        p.data[...] = q.data
    with np.load(tmp_path / "opt.npz") as f:
        opt_c.load_state_dict(f)
    steps(c, opt_c, 6)
    for p, q in zip(a, c):
        np.testing.assert_array_equal(p.data, q.data)
