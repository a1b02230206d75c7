"""Weight tying and nn.Parameter: a shared parameter is one parameter everywhere, as in PyTorch.

Assigning a parameter registers it (or replaces the registered one of that name); ``parameters()`` and
``named_parameters()`` yield a shared parameter once; ``state_dict()`` lists it under every name.
"""

import numpy as np
import pytest

from naivegrad import Value, nn, optim
from naivegrad.tensor import Tensor

BACKENDS = ["scalar", "tensor"]


def dtype_for(backend):
    return np.float64 if backend == "tensor" else None


def tied_pair(backend, seed=0):
    a = nn.Linear(3, 3, backend=backend, dtype=dtype_for(backend), seed=seed)
    b = nn.Linear(3, 3, backend=backend, dtype=dtype_for(backend), seed=seed + 1)
    b.weight = a.weight
    return a, b


@pytest.mark.parametrize("backend", BACKENDS)
def test_assigned_weight_is_the_one_parameter_everywhere(backend):
    a, b = tied_pair(backend)
    assert b.weight is a.weight
    assert b._parameters["weight"] is a.weight
    np.testing.assert_array_equal(b.state_dict()["weight"], a.state_dict()["weight"])
    b_params = b.parameters()
    if backend == "tensor":
        assert any(p is a.weight for p in b_params)
    else:
        ids = {id(v) for v in b_params}
        assert all(id(v) in ids for v in a.weight.ravel().tolist())


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequential_lists_a_shared_weight_once_and_state_dict_under_every_name(backend):
    a, b = tied_pair(backend)
    model = nn.Sequential(a, nn.Tanh(backend), b)
    per_layer = 9 if backend == "scalar" else 1
    bias = 3 if backend == "scalar" else 1
    assert len(model.parameters()) == per_layer + 2 * bias
    assert len({id(p) for p in model.parameters()}) == len(model.parameters())
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "2.weight",
                                                                             "2.bias"]
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_array_equal(sd["0.weight"], sd["2.weight"])
    assert list(model.grad_dict()) == list(sd)
    same = nn.Sequential(a, a)  # one module twice: its parameters once
    assert len(same.parameters()) == per_layer + bias
    assert len(list(same.modules())) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_shared_weight_gets_the_gradient_of_both_uses(backend):
    a, b = tied_pair(backend)
    model = nn.Sequential(a, b)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    out = model(x)
    loss = nn.mse_loss(out, np.zeros((2, 3)))
    loss.backward()
    w = model.state_dict()["0.weight"]
    ba, bb = model.state_dict()["0.bias"], model.state_dict()["1.bias"]
    h = x @ w.T + ba
    y = h @ w.T + bb
    gy = 2 * y / y.size
    expected = gy.T @ h + ((gy @ w).T @ x)  # the second use plus the first
    np.testing.assert_allclose(model.grad_dict()["0.weight"], expected, rtol=1e-10)
    np.testing.assert_array_equal(model.grad_dict()["1.weight"], model.grad_dict()["0.weight"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_register_parameter_shares_a_parameter_and_copies_initial_values(backend):
    a = nn.Linear(3, 3, backend=backend, dtype=dtype_for(backend), seed=0)
    m = nn.Module(backend, dtype_for(backend))
    assert m.register_parameter("w", a.weight) is a.weight
    assert m.w is a.weight and list(m.state_dict()) == ["w"]
    fresh = m.register_parameter("v", np.ones(2))
    assert fresh is m.v and m.state_dict()["v"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="'a.b'"):
        m.register_parameter("a.b", np.ones(2))
    t = Tensor(np.ones(2))
    registered = m.register_parameter("t", t)
    if backend == "tensor":
        assert registered is t and isinstance(t, nn.Parameter)  # a leaf Tensor is shared, as torch's would be
        with pytest.raises(TypeError, match="leaf"):
            m.register_parameter("u", t * 2)
    else:
        assert registered.dtype == object and [v.data for v in registered] == [1.0, 1.0]


def test_parameter_is_a_tensor_and_assigning_one_registers_it():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__("tensor", np.float64)
            self.scale = nn.Parameter(np.array([2.0, 3.0]))

        def forward(self, x):
            return x * self.scale

    m = Scale()
    assert isinstance(m.scale, nn.Parameter) and isinstance(m.scale, Tensor) and m.scale.requires_grad
    assert type(m.scale) is Tensor  # a marked Tensor: the engine's hot paths see one class
    assert list(m.state_dict()) == ["scale"] and m.parameters()[0] is m.scale
    assert isinstance(nn.Linear(2, 2).weight, nn.Parameter)
    assert not isinstance(Tensor([1.0]), nn.Parameter) and not isinstance(m.scale * 1, nn.Parameter)
    m.constant = Tensor([1.0, 1.0])  # a plain Tensor on a new name is an attribute, as in torch
    assert list(m.state_dict()) == ["scale"]
    opt = optim.SGD(m.parameters(), lr=0.5)
    nn.mse_loss(m(np.array([[1.0, 1.0]])), np.array([[0.0, 0.0]])).backward()
    opt.step()
    np.testing.assert_allclose(m.scale.data, [2.0 - 0.5 * 2.0, 3.0 - 0.5 * 3.0])
    shared = Tensor(np.array([1.0, 2.0]))
    p = nn.Parameter(shared)
    assert p.data is shared.data  # shares its data, as torch.nn.Parameter does
    assert nn.Parameter([1.0], requires_grad=False).requires_grad is False


def test_scalar_backend_parameters_are_object_arrays_of_leaf_values():
    m = nn.Module("scalar")
    arr = np.empty(2, dtype=object)
    arr[:] = [Value(1.0), Value(2.0)]
    m.w = arr  # an object array of leaf Values registers, shared
    assert m.w is arr and list(m.state_dict()) == ["w"] and m.parameters()[1] is arr[1]
    m.p = nn.Parameter(np.array([5.0, 6.0]))  # a Tensor parameter becomes Values with its values
    assert m.p.dtype == object and [v.data for v in m.p] == [5.0, 6.0]
    assert list(m.state_dict()) == ["w", "p"]
    computed = np.empty(1, dtype=object)
    computed[:] = [Value(1.0) * 2]
    m.cache = computed  # results of computations are not parameters
    assert "cache" not in m.state_dict()
    with pytest.raises(TypeError, match="leaf Values"):
        m.w = computed


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_assignments_to_a_parameter_name_raise(backend):
    a, b = tied_pair(backend)
    other = nn.Linear(3, 2, backend=backend, dtype=dtype_for(backend), seed=0)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 3\)"):
        b.weight = other.weight
    with pytest.raises(TypeError, match="load_state_dict"):
        b.weight = np.zeros((3, 3))  # values, not a parameter: silently not registering it would be wrong
    if backend == "tensor":
        with pytest.raises(TypeError, match="leaf"):
            b.weight = a.weight * 2  # the result of an op
        with pytest.raises(TypeError, match="float32.*float64"):
            b.weight = nn.Parameter(np.zeros((3, 3), np.float32))
    assert b.weight is a.weight
    plain = Tensor(np.zeros((3, 3)))
    b.weight = plain  # a leaf Tensor on a parameter's name becomes the parameter (torch would refuse it)
    assert list(b.state_dict()) == ["weight", "bias"] and b.state_dict()["weight"].sum() == 0
    if backend == "tensor":
        assert b.weight is plain and b.parameters()[0] is plain
    b.weight = a.weight
    b.bias = None  # removes the parameter, as bias=False
    assert list(b.state_dict()) == ["weight"]
    assert b(np.zeros((1, 3))) is not None
    del b.weight
    assert list(b.state_dict()) == []


def test_to_keeps_tied_weights_tied():
    a, b = tied_pair("tensor")
    model = nn.Sequential(a, b)
    before = model.state_dict()
    model.to("scalar")
    assert model[1].weight is model[0].weight and model[0].weight.dtype == object
    assert len(model.parameters()) == 9 + 3 + 3
    model.to("tensor", dtype=np.float64)
    assert model[1].weight is model[0].weight and isinstance(model[0].weight, nn.Parameter)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_state_dict_of_tied_model(backend):
    a, b = tied_pair(backend)
    model = nn.Sequential(a, b)
    sd = model.state_dict()
    other_a, other_b = tied_pair(backend, seed=5)
    target = nn.Sequential(other_a, other_b)
    target.load_state_dict(sd)
    assert target[1].weight is target[0].weight
    np.testing.assert_array_equal(target.state_dict()["1.weight"], sd["0.weight"])
    before = target.state_dict()
    bad = dict(sd)
    bad["1.weight"] = sd["1.weight"] + 1  # two names of one parameter, two different values
    with pytest.raises(ValueError, match=r"'0\.weight' and '1\.weight'"):
        target.load_state_dict(bad)
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tied_model_trains_as_torch_does(backend):
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(4, 4, backend=backend, dtype=dtype_for(backend), seed=0), nn.Tanh(backend),
                          nn.Linear(4, 4, backend=backend, dtype=dtype_for(backend), seed=1))
    model[2].weight = model[0].weight
    ref = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4)).double()
    with torch.no_grad():
        sd = model.state_dict()
        ref[0].weight.copy_(torch.from_numpy(sd["0.weight"]))
        ref[0].bias.copy_(torch.from_numpy(sd["0.bias"]))
        ref[2].bias.copy_(torch.from_numpy(sd["2.bias"]))
    ref[2].weight = ref[0].weight
    assert len(list(ref.parameters())) == 3
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
        loss = nn.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_loss = torch.nn.functional.mse_loss(ref(torch.from_numpy(x)), torch.from_numpy(y))
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
        assert float(loss.data if backend == "scalar" else loss.item()) == pytest.approx(ref_loss.item(), rel=1e-10)
    ref_sd = ref.state_dict()
    assert list(model.state_dict()) == list(ref_sd)
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v, ref_sd[k].numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], model.state_dict()["2.weight"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_deepcopy_and_pickle_keep_ties_and_parameter_marks(backend):
    import copy
    import pickle

    a, b = tied_pair(backend)
    model = nn.Sequential(a, b)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone[1].weight is clone[0].weight and clone[0].weight is not a.weight
        assert len(clone.parameters()) == len(model.parameters())
        if backend == "tensor":
            assert isinstance(clone[0].weight, nn.Parameter)
        x = np.ones((2, 3))
        np.testing.assert_array_equal(_values(clone(x)), _values(model(x)))


def _values(out):
    return out.numpy() if isinstance(out, Tensor) else np.array([[v.data for v in r] for r in out])
