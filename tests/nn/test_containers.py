"""ModuleList, ModuleDict and Identity: registration, state-dict names as torch's, list/dict methods, backends."""

import copy
import pickle

import numpy as np
import pytest

from naivegrad import nn, optim
from naivegrad.scalar import Value

BACKENDS = ["tensor", "scalar"]


class Net(nn.Module):
    """blocks: a ModuleList of Linear + activation; heads: a ModuleDict; proj: Identity."""

    def __init__(self, backend="tensor", seed=0, dtype=None):
        super().__init__(backend, dtype)
        rng = np.random.default_rng(seed)
        self.blocks = nn.ModuleList([nn.Linear(3, 4, backend=backend, dtype=dtype, seed=rng), nn.Tanh(),
                                     nn.Linear(4, 4, backend=backend, dtype=dtype, seed=rng)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2, backend=backend, dtype=dtype, seed=rng),
                                    "b": nn.Linear(4, 1, bias=False, backend=backend, dtype=dtype, seed=rng)})
        self.proj = nn.Identity()
        self.head = "a"  # which head forward() ends with (one output: the scalar backend returns one)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = self.proj(x)
        return self.heads["a"](x) if self.head == "a" else self.heads.b(x)


def torch_net(torch):
    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(4, 2), "b": torch.nn.Linear(4, 1, bias=False)})
            self.proj = torch.nn.Identity()

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            x = self.proj(x)
            return self.heads["a"](x), self.heads.b(x)

    return TorchNet().double()


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------- against torch
@pytest.mark.parametrize("backend", BACKENDS)
def test_state_dict_names_shapes_and_outputs_match_torch(torch, backend):
    tnet = torch_net(torch)
    net = Net(backend, dtype=np.float64)
    want = {k: v.numpy() for k, v in tnet.state_dict().items()}
    assert list(net.state_dict()) == list(want)
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in want.items()}
    net.load_state_dict(want)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    ta, tb = tnet(torch.tensor(x))
    a = net(x)
    net.head = "b"
    b = net(x)
    if backend == "scalar":  # rows of Values; a one-output row comes as its Value
        a, b = (np.array([[v.data for v in (r if isinstance(r, list) else [r])] for r in o]) for o in (a, b))
    else:
        a, b = a.data, b.data
    np.testing.assert_allclose(a, ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b, tb.detach().numpy(), rtol=1e-12)


def test_named_modules_as_torch(torch):
    from naivegrad.nn.module import _named_modules

    ours = [name.rstrip(".") for name, _ in _named_modules(Net(), "")]
    theirs = [name for name, _ in torch_net(torch).named_modules()]
    assert ours == theirs


# ------------------------------------------------------------------------------------------ module machinery
@pytest.mark.parametrize("backend", BACKENDS)
def test_parameters_grads_modes_and_optimizers_reach_the_members(backend):
    net = Net(backend, dtype=np.float64)
    n = 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2 + 2 + 4
    params = net.parameters()
    assert (len(params) if backend == "scalar" else sum(p.data.size for p in params)) == n
    opt = optim.SGD(params, lr=0.1)
    a = net([[0.5, -1.0, 2.0]])
    net.head = "b"
    b = net([[0.5, -1.0, 2.0]])
    loss = (sum(a[0]) + b[0]) if backend == "scalar" else a.sum() + b.sum()
    loss.backward()
    assert all(np.any(g != 0) for k, g in net.grad_dict().items() if "weight" in k)
    before = net.state_dict()
    opt.step()
    assert all(not np.array_equal(before[k], v) for k, v in net.state_dict().items() if "weight" in k)
    net.zero_grad()
    assert all(np.all(g == 0) for g in net.grad_dict().values())
    net.eval()
    assert not any(m.training for m in net.modules())
    assert net.blocks.training is False and net.heads["a"].training is False


def test_to_moves_every_member_and_copies_work():
    net = Net("tensor", dtype=np.float64)
    sd = net.state_dict()
    net.to("scalar")
    assert net.blocks.backend == "scalar" and net.heads["b"].backend == "scalar" and net.blocks[1].backend == "scalar"
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert list(clone.state_dict()) == list(sd) and clone.heads.a is clone.heads["a"]
        assert clone.heads["a"] is not net.heads["a"]


def test_repr_lists_members():
    text = repr(Net())
    assert "(blocks): ModuleList(" in text and "(0): Linear(3, 4" in text and "(a): Linear(4, 2" in text
    assert "(proj): Identity()" in text
    assert repr(nn.ModuleList()) == "ModuleList([])" and repr(nn.ModuleDict()) == "ModuleDict({})"


# ---------------------------------------------------------------------------------------------- ModuleList
def test_module_list_methods():
    a, b, c, d = (nn.Linear(2, 2, seed=i) for i in range(4))
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert len(ml) == 3 and list(ml) == [a, b, c] and ml[-1] is c and c in ml and d not in ml
    ml.insert(1, d)
    assert list(ml) == [a, d, b, c]
    assert list(ml.state_dict())[:4] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    np.testing.assert_array_equal(ml.state_dict()["1.weight"], d.weight.data)  # names follow positions
    part = ml[1:3]
    assert isinstance(part, nn.ModuleList) and list(part) == [d, b]
    ml[0] = c
    assert ml[0] is c
    del ml[0]
    assert list(ml) == [d, b, c]
    assert ml.pop() is c and list(ml) == [d, b]
    ml += [a]
    ml.extend(nn.ModuleList([c]))
    assert list(ml) == [d, b, a, c]
    both = nn.ModuleList([a]) + nn.ModuleList([b])
    assert list(both) == [a, b]
    del ml[1:3]
    assert list(ml) == [d, c]
    assert ml.insert(-1, a) is None and list(ml) == [d, a, c]
    assert ml.append(b) is ml


def test_module_list_errors():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    with pytest.raises(IndexError, match="index 1 is out of range for a ModuleList of length 1"):
        ml[1]
    with pytest.raises(IndexError, match="index -2"):
        ml[-2] = nn.ReLU()
    with pytest.raises(TypeError, match="indices must be integers or slices, not str"):
        ml["0"]
    with pytest.raises(TypeError, match=r"ModuleList\[1\] must be a Module, got int: 3"):
        ml.append(3)
    with pytest.raises(TypeError, match="extend should be called with an iterable of Modules, but got Linear"):
        ml.extend(nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"ModuleList\[0\] must be a Module, got str"):
        nn.ModuleList(["relu"])
    with pytest.raises(NotImplementedError, match="no forward"):
        ml([1.0, 2.0])
    assert len(ml) == 1


# ---------------------------------------------------------------------------------------------- ModuleDict
def test_module_dict_methods():
    a, b, c = (nn.Linear(2, 2, seed=i) for i in range(3))
    md = nn.ModuleDict([("x", a), ("y", b)])
    assert list(md.keys()) == ["x", "y"] and list(md.values()) == [a, b] and list(md.items()) == [("x", a), ("y", b)]
    assert list(md) == ["x", "y"] and len(md) == 2 and "x" in md and "z" not in md
    assert md.x is a and md["y"] is b
    md.update({"z": c, "x": b})
    assert list(md.keys()) == ["x", "y", "z"] and md["x"] is b  # replacing keeps the position, as a dict
    assert list(md.state_dict()) == ["x.weight", "x.bias", "y.weight", "y.bias", "z.weight", "z.bias"]
    assert md.pop("y") is b and list(md) == ["x", "z"]
    del md["x"]
    assert list(md) == ["z"]
    md["w"] = nn.ReLU()
    assert list(md) == ["z", "w"]
    md.v = nn.Tanh()  # attribute assignment adds a member
    assert list(md) == ["z", "w", "v"] and md["v"] is md.v
    md.clear()
    assert len(md) == 0 and md.state_dict() == {}


@pytest.mark.parametrize("call, error, match", [
    (lambda md: md["nope"], KeyError, r"no key 'nope'; its keys are \['x'\]"),
    (lambda md: md.__setitem__(1, nn.ReLU()), TypeError, "keys must be strings, got int"),
    (lambda md: md.__setitem__("a.b", nn.ReLU()), KeyError, "without '.'"),
    (lambda md: md.__setitem__("", nn.ReLU()), KeyError, "non-empty"),
    (lambda md: md.__setitem__("keys", nn.ReLU()), KeyError, "shadow the attribute 'keys'"),
    (lambda md: md.__setitem__("training", nn.ReLU()), KeyError, "shadow the attribute 'training'"),
    (lambda md: md.__setitem__("y", "relu"), TypeError, r"ModuleDict\['y'\] must be a Module, got str"),
    (lambda md: md.update([("y",)]), ValueError, "element #0 should be a \\(key, module\\) pair"),
    (lambda md: md.update(3), TypeError, "mapping or an iterable of \\(key, module\\) pairs, but got int"),
    (lambda md: md.nope, AttributeError, "no attribute 'nope'"),
    (lambda md: md.pop("q"), KeyError, "no key 'q'"),
    (lambda md: md.__delitem__("q"), KeyError, "no key 'q'"),
])
def test_module_dict_errors(call, error, match):
    md = nn.ModuleDict({"x": nn.Linear(2, 2)})
    with pytest.raises(error, match=match):
        call(md)
    assert list(md) == ["x"]


# ------------------------------------------------------------------------------------------------- backends
@pytest.mark.parametrize("container", ["list", "dict"])
def test_backend_follows_the_first_member_with_parameters(container):
    def make(mods, **kw):
        if container == "list":
            return nn.ModuleList(mods, **kw)
        return nn.ModuleDict({f"m{i}": m for i, m in enumerate(mods)}, **kw)

    relu = nn.ReLU()
    c = make([relu, nn.Linear(2, 2, backend="scalar")])
    assert c.backend == "scalar" and relu.backend == "scalar"
    assert make([nn.ReLU()]).backend == "tensor"
    with pytest.raises(ValueError, match="on the scalar backend got Linear .* on the tensor backend; build it "
                                         "with backend='scalar'"):
        make([nn.Linear(2, 2, backend="scalar"), nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="on the tensor backend got Linear"):
        make([nn.Linear(2, 2, backend="scalar")], backend="tensor")
    with pytest.raises(ValueError, match="backend must be one of"):
        make([], backend="gpu")
    empty = make([], backend="scalar")
    if container == "list":
        empty.append(nn.Tanh())
        assert empty[0].backend == "scalar"
        out = empty[0]([0.5, -0.5])
        assert all(isinstance(v, Value) for v in out)


def test_an_empty_list_takes_the_backend_of_what_is_appended_later():
    ml = nn.ModuleList()
    act = nn.ReLU()
    ml.append(act)
    ml.append(nn.Linear(2, 3, backend="scalar"))
    assert ml.backend == "scalar" and act.backend == "scalar"
    ml.append(nn.Linear(3, 1, backend="scalar"))
    with pytest.raises(ValueError, match="scalar backend got Linear"):
        ml.append(nn.Linear(3, 1))


# ------------------------------------------------------------------------------------------------- Identity
@pytest.mark.parametrize("backend", BACKENDS)
def test_identity(backend):
    ident = nn.Identity(54, unused_argument1=0.1, backend=backend)
    assert ident.state_dict() == {} and ident.parameters() == []
    x = np.array([[1.0, -2.0]], dtype=np.float64)
    assert ident(x) is x
    t = nn.Linear(2, 2, backend=backend, seed=0)(x)
    assert ident(t) is t  # a layer's output, Tensor or Values, passes through as it is
    seq = nn.Sequential(nn.Linear(2, 2, backend=backend, seed=0), nn.Identity(), nn.ReLU())
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]
