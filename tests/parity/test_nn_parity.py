"""The same model on both engines: same weights, outputs, gradients and optimizer trajectories (float64).

The scalar engine is the reference; a disagreement means the tensor engine (or the nn seam) is wrong.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naivegrad import nn, optim

ACTIVATIONS = ["relu", "tanh", "sigmoid"]


def pair(nin, sizes, activation, seed):
    s = nn.MLP(nin, sizes, backend="scalar", seed=seed, activation=activation)
    t = nn.MLP(nin, sizes, backend="tensor", seed=seed, activation=activation, dtype=np.float64)
    return s, t


def scalar_outputs(out):
    """The scalar backend's micrograd-style output as a float array of shape (B, nout)."""
    rows = [[v.data for v in r] if isinstance(r, list) else [r.data] for r in out]
    return np.array(rows)


def losses(name, s_out, t_out, rng, nout, batch):
    """The same loss on both engines' outputs."""
    if name == "mse":
        y = rng.normal(size=(batch, nout))
        return nn.mse_loss(s_out, y), nn.mse_loss(t_out, y)
    if name == "hinge":
        y = rng.choice([-1.0, 1.0], size=(batch, nout))
        return nn.hinge_loss(s_out, y), nn.hinge_loss(t_out, y)
    if name == "cross_entropy":
        y = rng.integers(0, nout, size=batch)
        return nn.cross_entropy(s_out, y), nn.cross_entropy(t_out, y)
    raise AssertionError(name)


models = st.tuples(
    st.integers(1, 5),                                   # nin
    st.lists(st.integers(1, 6), min_size=1, max_size=3),  # layer sizes
    st.sampled_from(ACTIVATIONS),
    st.integers(0, 2**31 - 1),                            # seed
    st.integers(1, 7),                                    # batch size
)


@given(models, st.sampled_from(["mse", "hinge", "cross_entropy"]))
@settings(max_examples=40)
def test_outputs_and_gradients_agree(model, loss_name):
    nin, sizes, activation, seed, batch = model
    s, t = pair(nin, sizes, activation, seed)
    for k, v in s.state_dict().items():
        np.testing.assert_array_equal(v, t.state_dict()[k])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, nin)) * 2
    s_out, t_out = s(x), t(x)
    if sizes[-1] == 1:
        assert len(s_out) == batch
    np.testing.assert_allclose(t_out.numpy(), scalar_outputs(s_out), rtol=1e-12, atol=1e-300)
    ls, lt = losses(loss_name, s_out, t_out, rng, sizes[-1], batch)
    np.testing.assert_allclose(lt.item(), ls.data, rtol=1e-12)
    ls.backward()
    lt.backward()
    gs, gt = s.grad_dict(), t.grad_dict()
    for k in gs:
        np.testing.assert_allclose(gt[k], gs[k], rtol=1e-10, atol=1e-14, err_msg=k)


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum_wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd_nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam_wd": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-2),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSProp(p, lr=1e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_twenty_optimizer_steps_agree(name):
    s, t = pair(3, [8, 8, 3], "tanh", seed=11)
    os_, ot = OPTIMIZERS[name](s.parameters()), OPTIMIZERS[name](t.parameters())
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.normal(size=(6, 3))
        y = rng.integers(0, 3, size=6)
        ls, lt = nn.cross_entropy(s(x), y), nn.cross_entropy(t(x), y)
        os_.zero_grad()
        ot.zero_grad()
        ls.backward()
        lt.backward()
        os_.step()
        ot.step()
    moved = s.state_dict()
    start = pair(3, [8, 8, 3], "tanh", seed=11)[0].state_dict()
    assert any(not np.allclose(moved[k], start[k]) for k in moved)  # the optimizer really moved the weights
    tt = t.state_dict()
    for k in moved:
        np.testing.assert_allclose(tt[k], moved[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def test_moons_reach_97_percent_in_100_steps(backend):
    from naivegrad.examples.moons import train

    _, acc = train(backend=backend, steps=100, seed=0, log=None)
    assert acc >= 0.97
