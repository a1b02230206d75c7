"""nn.init on both backends: torch's fans, gains, bounds and standard deviations; seeded, in-place fills."""

import math

import numpy as np
import pytest

from naivegrad import nn, optim
from naivegrad.nn import init
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

SHAPES = [(3, 5), (16, 3, 5, 5), (7, 2, 3), (4, 6, 1, 1, 2), (1, 1)]
GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)), ("selu", None),
         ("conv_transpose3d", None)]


def param(backend, shape, dtype=None):
    """A fresh parameter of ``shape`` as a module registers it on ``backend``."""
    m = nn.Module(backend, dtype)
    return m.register_parameter("w", np.zeros(shape))


def values_of(p):
    if isinstance(p, Tensor):
        return p.data.astype(np.float64)
    return np.vectorize(lambda v: v.data, otypes=[np.float64])(p)


# (name, call, distribution, spread(fan_in, fan_out, torch) -> bound or std via torch's own functions)
def _torch_spread(torch, kind, shape, kw):
    t = torch.empty(shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    if kind.startswith("xavier"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_in if kw.get("mode", "fan_in").lower() == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    return math.sqrt(3.0) * std if kind.endswith("uniform_") else std


RANDOM = [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 5 / 3}),
    ("xavier_normal_", {}), ("xavier_normal_", {"gain": math.sqrt(2)}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"nonlinearity": "tanh", "mode": "fan_out"}),
    ("kaiming_normal_", {"a": 0.2, "mode": "FAN_IN"}),
]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------- against torch
@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(torch, shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for backend in ("tensor", "scalar"):
        assert init._calculate_fan_in_and_fan_out(param(backend, shape)) == expected


@pytest.mark.parametrize("nonlinearity, p", GAINS)
def test_gains_match_torch(torch, nonlinearity, p):
    assert init.calculate_gain(nonlinearity, p) == torch.nn.init.calculate_gain(nonlinearity, p)


@pytest.mark.parametrize("backend, dtype", [("tensor", np.float64), ("tensor", np.float32), ("scalar", None)])
@pytest.mark.parametrize("kind, kw", RANDOM, ids=[f"{k}{kw}" for k, kw in RANDOM])
def test_draws_are_numpys_with_torchs_bound_or_std(torch, kind, kw, backend, dtype):
    """Exactly ``rng.uniform(-bound, bound)`` / ``rng.normal(0, std)``, with bound / std from torch's functions."""
    shape = (6, 4, 3)
    spread = _torch_spread(torch, kind, shape, kw)
    rng = np.random.default_rng(7)
    want = rng.uniform(-spread, spread, shape) if kind.endswith("uniform_") else rng.normal(0.0, spread, shape)
    p = param(backend, shape, dtype)
    out = getattr(init, kind)(p, generator=7, **kw)
    assert out is p
    got = values_of(p)
    if dtype == np.float32:
        assert p.data.dtype == np.float32
        want = want.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind, kw", RANDOM, ids=[f"{k}{kw}" for k, kw in RANDOM])
def test_statistics_agree_with_torchs_draws(torch, kind, kw):
    shape = (256, 128, 3)
    torch.manual_seed(0)
    t = getattr(torch.nn.init, kind)(torch.empty(shape, dtype=torch.float64), **kw).numpy()
    ours = values_of(getattr(init, kind)(param("tensor", shape, np.float64), seed=0, **kw))
    spread = _torch_spread(torch, kind, shape, kw)
    for x in (t, ours):
        assert abs(x.mean()) < 0.01 * spread
    assert ours.std() == pytest.approx(t.std(), rel=0.01)
    if kind.endswith("uniform_"):
        assert np.abs(ours).max() <= spread and np.abs(t).max() <= spread
        assert np.abs(ours).max() == pytest.approx(np.abs(t).max(), rel=1e-3)
        assert ours.std() == pytest.approx(spread / math.sqrt(3), rel=0.01)
    else:
        assert ours.std() == pytest.approx(spread, rel=0.01)


def test_kaiming_uniform_with_sqrt5_is_linears_default(torch):
    """torch's Linear draws its weight with kaiming_uniform_(a=sqrt(5)): U(+-1/sqrt(fan_in)), as nn.Linear here."""
    w = param("tensor", (30, 50), np.float64)
    init.kaiming_uniform_(w, a=math.sqrt(5), seed=1)
    assert np.abs(w.data).max() <= 1 / math.sqrt(50)
    assert np.abs(w.data).max() > 0.98 / math.sqrt(50)


# ------------------------------------------------------------------------------------------ fills, both engines
@pytest.mark.parametrize("backend", ["tensor", "scalar"])
def test_plain_fills(backend):
    p = param(backend, (3, 4), np.float64)
    assert init.ones_(p) is p and np.all(values_of(p) == 1)
    init.zeros_(p)
    assert np.all(values_of(p) == 0)
    init.constant_(p, -2.5)
    assert np.all(values_of(p) == -2.5)
    init.uniform_(p, -0.5, 0.25, seed=3)
    np.testing.assert_array_equal(values_of(p), np.random.default_rng(3).uniform(-0.5, 0.25, (3, 4)))
    init.normal_(p, mean=1.0, std=0.1, generator=np.random.default_rng(4))
    np.testing.assert_array_equal(values_of(p), np.random.default_rng(4).normal(1.0, 0.1, (3, 4)))


def test_same_seed_same_values_on_both_backends_and_generators_continue():
    a, b = param("scalar", (5, 6)), param("tensor", (5, 6), np.float64)
    init.xavier_normal_(a, seed=11)
    init.xavier_normal_(b, generator=11)
    np.testing.assert_array_equal(values_of(a), values_of(b))
    g = np.random.default_rng(5)
    first = values_of(init.normal_(param("tensor", (4,), np.float64), generator=g))
    second = values_of(init.normal_(param("tensor", (4,), np.float64), generator=g))
    assert not np.array_equal(first, second)  # the stream continues
    np.testing.assert_array_equal(np.concatenate([first, second]), np.random.default_rng(5).normal(size=8))
    unseeded = [values_of(init.uniform_(param("tensor", (8,), np.float64))) for _ in range(2)]
    assert not np.array_equal(*unseeded)


def test_single_value_and_plain_arrays():
    v = Value(3.0)
    assert init.constant_(v, 0.5) is v and v.data == 0.5
    init.uniform_(v, 1.0, 2.0, seed=0)
    assert 1.0 <= v.data < 2.0
    arr = np.zeros((2, 3), np.float32)
    init.kaiming_uniform_(arr, seed=0)
    assert arr.dtype == np.float32 and np.abs(arr).max() > 0


@pytest.mark.parametrize("backend", ["tensor", "scalar"])
def test_in_place_keeps_the_model_and_optimizer_attached(backend):
    model = nn.MLP(4, [8, 2], backend=backend, seed=0)
    w = model.layers[0].weight
    opt = optim.SGD(model.parameters(), lr=0.1)
    init.kaiming_normal_(w, nonlinearity="relu", seed=2)
    init.zeros_(model.layers[0].bias)
    assert model.layers[0].weight is w
    sd = model.state_dict()
    np.testing.assert_allclose(sd["layers.0.weight"], np.random.default_rng(2).normal(0, math.sqrt(2 / 4), (8, 4)),
                               rtol=1e-6 if backend == "tensor" else 0)
    assert np.all(sd["layers.0.bias"] == 0)
    out = model([[1.0, 2.0, 3.0, 4.0]])
    loss = sum(out[0]) if backend == "scalar" else out.sum()
    loss.backward()
    before = model.state_dict()["layers.0.weight"].copy()
    opt.step()
    assert not np.array_equal(model.state_dict()["layers.0.weight"], before)  # the optimizer moves the new values


def test_zero_element_kaiming_is_a_noop_with_torchs_warning():
    p = np.zeros((0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(p) is p
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(p)


# ------------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call, error, match", [
    (lambda p1, p2: init.xavier_uniform_(p1), ValueError, r"fewer than 2 dimensions \(shape \(5,\)\)"),
    (lambda p1, p2: init.kaiming_normal_(p1), ValueError, "fewer than 2 dimensions"),
    (lambda p1, p2: init.kaiming_uniform_(p2, mode="fan_avg"), ValueError, "Mode 'fan_avg' not supported"),
    (lambda p1, p2: init.kaiming_uniform_(p2, nonlinearity="gelu"), ValueError, "Unsupported nonlinearity 'gelu'"),
    (lambda p1, p2: init.kaiming_uniform_(p2, a="x"), ValueError, "negative_slope 'x' not a valid number"),
    (lambda p1, p2: init.uniform_(p2, 1.0, 0.0), ValueError, "a <= b, got a=1.0 and b=0.0"),
    (lambda p1, p2: init.normal_(p2, std=-1), ValueError, "std >= 0, got std=-1"),
    (lambda p1, p2: init.normal_(p2, std="1"), TypeError, "std must be a real number, got str"),
    (lambda p1, p2: init.constant_(p2, float("nan")), ValueError, "val must be a number, got nan"),
    (lambda p1, p2: init.uniform_(p2, generator=1, seed=1), TypeError, "not both"),
    (lambda p1, p2: init.uniform_(p2, seed=-1), TypeError, "seed must be a numpy.random.Generator or an int"),
    (lambda p1, p2: init.uniform_(p2, generator=1.5), TypeError, "generator must be"),
    (lambda p1, p2: init.zeros_([1.0, 2.0]), TypeError, "expected a parameter .*got list"),
    (lambda p1, p2: init.zeros_(np.zeros(3, np.int64)), TypeError, "dtype int64"),
    (lambda p1, p2: init.zeros_(np.array([Value(1.0), 2.0], dtype=object)), TypeError, "found a float: 2.0"),
])
@pytest.mark.parametrize("backend", ["tensor", "scalar"])
def test_errors_name_the_bad_value(call, error, match, backend):
    with pytest.raises(error, match=match):
        call(param(backend, (5,)), param(backend, (3, 4)))
