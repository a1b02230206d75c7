"""BatchNorm1d on both backends against torch.nn.BatchNorm1d: outputs, gradients and running statistics over
several training steps, then evaluation; buffers in the state dict; train()/eval() reaching every module."""

import numpy as np
import pytest
import torch

from naivegrad.models import GPT
from naivegrad.nn.dropout import Dropout
from naivegrad.nn.layers import Linear, Sequential, Tanh
from naivegrad.nn.normalization import BatchNorm1d
from naivegrad.scalar import Value, dot
from naivegrad.tensor import Tensor

BACKENDS = ["scalar", "tensor"]
TOL = dict(rtol=0, atol=1e-10)


def data_of(out):
    if isinstance(out, Tensor):
        return out.data
    return np.vectorize(lambda v: v.data, otypes=[float])(np.array(out, dtype=object))


def leaf_input(x, backend):
    if backend == "tensor":
        return Tensor(x, requires_grad=True)
    flat = np.empty(x.size, dtype=object)
    flat[:] = [Value(float(v)) for v in x.ravel()]
    return flat.reshape(x.shape)


def grad_of(x):
    return x.grad if isinstance(x, Tensor) else np.vectorize(lambda v: v.grad, otypes=[float])(x)


def weighted_sum(out, w):
    if isinstance(out, Tensor):
        return (out * Tensor(w, requires_grad=False)).sum()
    return dot(np.array(out, dtype=object).ravel().tolist(), w.ravel().tolist())


CASES = [
    dict(shape=(5, 3)),
    dict(shape=(4, 3, 2)),
    dict(shape=(5, 3), momentum=None),
    dict(shape=(4, 3, 2), momentum=0.3, eps=1e-3),
    dict(shape=(5, 3), affine=False),
    dict(shape=(5, 3), track_running_stats=False),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_batchnorm_matches_torch_over_training_steps_and_in_eval(backend, case):
    case = dict(case)
    shape = case.pop("shape")
    ours = BatchNorm1d(3, backend=backend, dtype=np.float64, **case)
    ref = torch.nn.BatchNorm1d(3, dtype=torch.float64, **case)
    rng = np.random.default_rng(0)
    if ours.affine:
        state = {"weight": rng.normal(size=3), "bias": rng.normal(size=3)}
        ours.load_state_dict(state, strict=False)
        ref.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    for step in range(4):
        if step == 3:
            ours.eval()
            ref.eval()
        x = rng.normal(size=shape) * (step + 1) + step
        w = rng.normal(size=shape)
        xin = leaf_input(x, backend)
        out = ours(xin)
        weighted_sum(out, w).backward()
        X = torch.tensor(x, requires_grad=True)
        r = ref(X)
        (r * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(data_of(out), r.detach().numpy(), **TOL)
        np.testing.assert_allclose(grad_of(xin), X.grad.numpy(), **TOL)
        theirs = ref.state_dict()
        assert list(ours.state_dict()) == list(theirs)
        for k, v in ours.state_dict().items():
            np.testing.assert_allclose(v, theirs[k].numpy(), **TOL, err_msg=k)
        if ours.affine:
            np.testing.assert_allclose(ours.grad_dict()["weight"], ref.weight.grad.numpy(), **TOL)
            np.testing.assert_allclose(ours.grad_dict()["bias"], ref.bias.grad.numpy(), **TOL)
            ours.zero_grad()
            ref.zero_grad()


def test_running_statistics_use_the_unbiased_variance():
    bn = BatchNorm1d(1, momentum=1.0, dtype=np.float64)
    bn(np.array([[1.0], [3.0]]))
    assert bn.running_mean[0] == 2.0
    assert bn.running_var[0] == 2.0       # unbiased: ((1-2)^2 + (3-2)^2) / (2 - 1)
    assert int(bn.num_batches_tracked) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_batchnorm_checks_its_input(backend):
    bn = BatchNorm1d(3, backend=backend)
    with pytest.raises(ValueError, match=r"takes input of shape \(N, 3\) or \(N, 3, L\), got shape \(2, 4\)"):
        bn(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.zeros((1, 3)))
    bn.eval()
    assert np.shape(data_of(bn(np.zeros((1, 3))))) in [(1, 3), (3,)]


def test_batchnorm_state_loads_from_torch_and_survives_a_move_between_backends():
    ref = torch.nn.BatchNorm1d(4)
    ref(torch.randn(8, 4))
    ref(torch.randn(8, 4))
    ours = BatchNorm1d(4)
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert int(ours.num_batches_tracked) == 2
    np.testing.assert_array_equal(ours.running_var, ref.running_var.numpy())
    ours.to("scalar")
    assert ours.running_mean.dtype == np.float64
    np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-7)
    ours.eval()
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(data_of(ours(x)), ref.eval()(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_buffers_are_state_but_not_parameters():
    bn = BatchNorm1d(2)
    assert [k for k, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.grad_dict()) == ["weight", "bias"]
    with pytest.raises(KeyError, match="running_var"):
        bn.load_state_dict({"weight": np.ones(2), "bias": np.zeros(2), "running_mean": np.zeros(2),
                            "num_batches_tracked": np.array(0)})
    with pytest.raises(ValueError, match=r"'running_mean' has shape \(3,\)"):
        bn.load_state_dict({**bn.state_dict(), "running_mean": np.zeros(3)})
    assert list(BatchNorm1d(2, track_running_stats=False).state_dict()) == ["weight", "bias"]


def test_train_and_eval_reach_every_module_of_a_model():
    model = GPT(5, block_size=4, n_embd=4, n_head=2, n_layer=2, dropout=0.1)
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert not model.layers[1].drop.training
    model.train()
    assert all(m.training for m in model.modules())
    seq = Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), Tanh(), Dropout(0.5))
    seq.eval()
    assert not seq[1].training and not seq[3].training
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(seq(x).data, seq(x).data)  # eval: deterministic
