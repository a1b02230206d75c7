"""state_dict / load_state_dict: through a real .npz file, a resumed run continues exactly as an uninterrupted
one; a state dict that does not fit is refused with the offending key named, and leaves the optimizer as it was."""

import numpy as np
import pytest

from naivegrad import optim
from naivegrad.scalar import Value

from optim_helpers import ALL_CONFIGS, StandIn, config_id, make, regression_data, regression_grads, \
    regression_start, rosenbrock


def save_and_load(sd, path):
    """Write the state dict to .npz and read it back (plain arrays only: no pickle allowed)."""
    np.savez(path, **sd)
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


class ValuesRun:
    """Values on Rosenbrock's function, resumable: the parameters' data can be copied into a fresh run."""

    def __init__(self, name, cfg, data=(-1.2, 1.0)):
        self.ps = [Value(v) for v in data]
        self.opt = make(name, self.ps, cfg)

    def steps(self, n):
        for _ in range(n):
            self.opt.zero_grad()
            rosenbrock(*self.ps).backward()
            self.opt.step()

    def weights(self):
        return np.array([p.data for p in self.ps])


class TensorRun:
    """Three stand-in tensors on the regression; the third only gets a gradient from step 7 on."""

    def __init__(self, name, cfg, data=None, t=0):
        self.ps = [StandIn(a) for a in (data if data is not None else regression_start())]
        self.opt = make(name, self.ps, cfg)
        self.t = t
        self.X, self.Y = regression_data()

    def steps(self, n):
        for _ in range(n):
            self.opt.zero_grad()
            grads = regression_grads(*(p.data for p in self.ps), self.X, self.Y, with_c=self.t >= 7)
            for p, g in zip(self.ps, grads):
                p.grad = g
            self.opt.step()
            self.t += 1

    def weights(self):
        return np.concatenate([p.data.ravel() for p in self.ps])


@pytest.mark.parametrize("name,cfg", ALL_CONFIGS, ids=[config_id(*c) for c in ALL_CONFIGS])
@pytest.mark.parametrize("Run", [ValuesRun, TensorRun], ids=["values", "tensor"])
def test_resumed_run_ends_bitwise_equal_to_an_uninterrupted_one(tmp_path, Run, name, cfg):
    straight = Run(name, cfg)
    straight.steps(12)

    first = Run(name, cfg)
    first.steps(5)  # the tensor run's third parameter has not taken a step yet: step counts differ
    sd = save_and_load(first.opt.state_dict(), tmp_path / "opt.npz")
    data = [p.data if isinstance(p.data, float) else p.data.copy() for p in first.ps]
    if Run is ValuesRun:
        second = Run(name, {"lr": 0.123}, data=data)  # other hyper-parameters: the state dict restores them
    else:
        second = Run(name, {"lr": 0.123}, data=data, t=first.t)
    second.opt.load_state_dict(sd)
    for k in cfg:
        assert second.opt.param_groups[0][k] == first.opt.param_groups[0][k]
    second.steps(7)
    np.testing.assert_array_equal(second.weights(), straight.weights())


def test_state_dict_layout_and_copies():
    v = [Value(1.0), Value(2.0), Value(3.0)]
    t32 = StandIn(np.ones((2, 3)), np.float32)
    t64 = StandIn([5.0])
    opt = optim.Adam([{"params": v}, {"params": [t32, t64], "lr": 0.5}], lr=0.1)
    for p in v:
        p.grad = 1.0
    t32.grad = np.full((2, 3), 2.0, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups.0.lr"] == 0.1 and sd["param_groups.1.lr"] == 0.5
    assert sd["param_groups.1.betas"] == (0.9, 0.999)
    assert sd["param_groups.0.sizes"].tolist() == [1, 1, 1] and sd["param_groups.1.sizes"].tolist() == [6, 1]
    assert sd["state.0.step"].tolist() == [1, 1, 1] and sd["state.1.step"].tolist() == [1, 0]
    exp_avg = sd["state.1.exp_avg"]
    assert exp_avg.dtype == np.float64 and exp_avg.shape == (7,)
    np.testing.assert_allclose(exp_avg, [0.2] * 6 + [0.0], rtol=1e-6)  # (1 - beta1) * grad; t64 not started
    np.testing.assert_allclose(sd["state.0.exp_avg"], [0.1] * 3)
    # Copies: scribbling on the returned arrays does not reach the optimizer.
    sd["state.0.exp_avg"][:] = 1e9
    sd["state.1.exp_avg"][:] = 1e9
    np.testing.assert_allclose(opt.state_dict()["state.0.exp_avg"], [0.1] * 3)
    # Loading restores each tensor's state in its own dtype and shape.
    opt.load_state_dict(opt.state_dict())
    opt.step()
    assert t32.data.dtype == np.float32 and t32.data.shape == (2, 3)


def fresh_adam(tmp_steps=3):
    ps = [Value(1.0), Value(-2.0)]
    opt = optim.Adam(ps, lr=0.1, weight_decay=0.01)
    for _ in range(tmp_steps):
        for p in ps:
            p.grad = p.data
        opt.step()
    return ps, opt


def bad(sd, key, value=None, drop=False):
    sd = dict(sd)
    if drop:
        del sd[key]
    else:
        sd[key] = value
    return sd


CORRUPTIONS = [
    ("missing state", lambda sd: bad(sd, "state.0.exp_avg_sq", drop=True), KeyError, "state.0.exp_avg_sq"),
    ("missing hyper", lambda sd: bad(sd, "param_groups.0.eps", drop=True), KeyError, "param_groups.0.eps"),
    ("unexpected", lambda sd: bad(sd, "state.0.momentum_buffer", np.zeros(2)), KeyError, "state.0.momentum_buffer"),
    ("rmsprop's", lambda sd: bad(sd, "param_groups.0.alpha", 0.9), KeyError, "param_groups.0.alpha"),
    ("sizes", lambda sd: bad(sd, "param_groups.0.sizes", np.ones(3, np.int64)), ValueError, "param_groups.0.sizes"),
    ("length", lambda sd: bad(sd, "state.0.exp_avg", np.zeros(3)), ValueError, "state.0.exp_avg"),
    ("dtype", lambda sd: bad(sd, "state.0.exp_avg", np.array(["a", "b"])), TypeError, "state.0.exp_avg"),
    ("steps", lambda sd: bad(sd, "state.0.step", np.array([3, 2])), ValueError, "state.0.step"),
    ("negative step", lambda sd: bad(sd, "state.0.step", np.array([-1, -1])), ValueError, "state.0.step"),
    ("lr", lambda sd: bad(sd, "param_groups.0.lr", -0.5), ValueError, "-0.5"),
    ("betas", lambda sd: bad(sd, "param_groups.0.betas", (0.9, 1.5)), ValueError, "1.5"),
    ("betas shape", lambda sd: bad(sd, "param_groups.0.betas", 0.9), ValueError, "param_groups.0.betas"),
    ("text lr", lambda sd: bad(sd, "param_groups.0.lr", np.array("fast")), ValueError, "param_groups.0.lr"),
    ("groups", lambda sd: dict(sd, **{k.replace(".0.", ".1."): v for k, v in sd.items()}), ValueError, "2 parameter"),
]


@pytest.mark.parametrize("what,corrupt,error,named", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_bad_state_dict_is_refused_and_leaves_the_optimizer_unchanged(what, corrupt, error, named):
    ps, opt = fresh_adam()
    before = opt.state_dict()
    with pytest.raises(error, match=named.replace(".", r"\.")):
        opt.load_state_dict(corrupt(opt.state_dict()))
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    # And it still steps exactly as an untouched twin.
    twin_ps, twin = fresh_adam()
    for p in ps + twin_ps:
        p.grad = p.data
    opt.step()
    twin.step()
    assert [p.data for p in ps] == [p.data for p in twin_ps]


def test_load_refuses_other_parameter_counts_and_non_mappings():
    _, opt = fresh_adam()
    other = optim.Adam([Value(0.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\.0\.sizes.*2 parameter"):
        other.load_state_dict(opt.state_dict())
    tensor_opt = optim.Adam([StandIn(np.zeros(2))])
    with pytest.raises(ValueError, match=r"sizes"):
        tensor_opt.load_state_dict(optim.Adam([StandIn(np.zeros((2, 2)))]).state_dict())
    with pytest.raises(TypeError, match="list"):
        opt.load_state_dict([1, 2])


def test_fresh_state_dict_loads_and_reset_works():
    """A state dict saved before any step has no state arrays; loading it resets a trained optimizer."""
    ps, opt = fresh_adam(3)
    blank = optim.Adam([Value(0.0), Value(0.0)], lr=0.1, weight_decay=0.01).state_dict()
    assert not any(k.startswith("state.0.exp") for k in blank)
    opt.load_state_dict(blank)
    for p in ps:
        p.grad = 2.0
    start = [p.data for p in ps]
    opt.step()
    # A first step again: about lr against the gradient.
    np.testing.assert_allclose(np.array(start) - [p.data for p in ps], 0.1, rtol=1e-3)
