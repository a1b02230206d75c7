"""Differential tests of initialisation against PyTorch: ``naivegrad.nn.init`` and the layers' defaults.

naivegrad draws with numpy, torch with its own generator, so the numbers differ by design; what must agree is
the distribution. Its parameters are pinned two ways:

- exactly, by reading torch's: torch's ``kaiming_uniform_(t, generator=g)`` equals ``t.uniform_(-B, B,
  generator=g)`` only for torch's bound B (and likewise a normal's std), and naivegrad's seeded draws equal
  ``rng.uniform(-B, B)`` / ``rng.normal(0, std)`` for that same B / std;
- statistically, on large samples of both libraries: every |w| <= B and the largest within a fraction of B that
  a uniform misses with probability < e^-20; sample standard deviations and empirical CDFs within 5 standard
  errors of the exact values.

Fans for 2-d to 5-d shapes, every gain of ``calculate_gain``, ``eye_``/``orthogonal_``/``trunc_normal_`` and the
plain fills against torch; the errors torch raises; in-place semantics (the same object, its dtype, no graph,
under ``no_grad`` or not) on both engines; and the default initialisation of every layer with parameters,
against the ``torch.nn`` module it mirrors, with the same numbers on both backends for a seed.

Deliberate differences (documented in ``naivegrad/nn/init.py`` and the layers' docstrings), not tested as
equalities:

- numpy's numbers, not torch's; layers round their draws to float32 (both backends start bit-identical);
- ValueError where torch's samplers raise RuntimeError (a negative gain, reversed bounds); ``constant_`` rejects
  nan; ``calculate_gain`` takes numpy numbers as the slope; no ``dirac_`` or ``sparse_``;
- ``CausalSelfAttention``'s projections are ``Linear`` layers with Linear's default, as nanoGPT's
  ``nn.Linear`` projections (torch's ``nn.MultiheadAttention`` draws its in-projection ``xavier_uniform_``
  with zero biases); ``GPT`` overrides every matrix with microgpt's N(0, 0.08^2) (``init_std``; GPT-2 uses
  0.02), biases 0, norm gains 1;
- micrograd's ``Neuron``/``Layer``/``MLP`` use Linear's default U(+-1/sqrt(nin)) (micrograd drew U(-1, 1)).

The regression tests at the end pin the discrepancies this testing found.
"""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from naivegrad import nn, no_grad
from naivegrad.models import GPT
from naivegrad.nn import init
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
UNIFORMS = {"uniform_", "xavier_uniform_", "kaiming_uniform_"}


def param(backend, shape, dtype=np.float64):
    """A fresh parameter of ``shape``, as a module registers it on ``backend``."""
    return nn.Module(backend, dtype).register_parameter("w", np.zeros(shape))


def values_of(p):
    if isinstance(p, Tensor):
        return p.data.astype(np.float64)
    return np.vectorize(lambda v: v.data, otypes=[np.float64])(p)


def shapes(min_dims=2, max_dims=5, max_side=5):
    return st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def torch_spread(kind, shape, kw):
    """torch's bound (uniforms) or std (normals) for ``kind`` on ``shape``, read off torch's own draws: the
    function's output with a seeded generator must equal uniform_(-B, B) / normal_(0, std) with that seed."""
    t = torch.empty(shape, dtype=torch.float64)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    if kind.startswith("xavier"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / float(fan_in + fan_out))
    else:
        fan = fan_in if kw.get("mode", "fan_in").lower() == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    spread = math.sqrt(3.0) * std if kind in UNIFORMS else std
    got = getattr(torch.nn.init, kind)(t, generator=torch.Generator().manual_seed(1), **kw)
    ref = torch.empty(shape, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    ref = ref.uniform_(-spread, spread, generator=g) if kind in UNIFORMS else ref.normal_(0, spread, generator=g)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-13, atol=0)  # spread is torch's, to rounding
    return spread


# ---------------------------------------------------------------------------------------------- statistics
def check_uniform_sample(x, bound, lo=None):
    """Every value in [lo, bound] (lo = -bound), and the extremes within eps of both ends, eps such that n
    uniform draws all miss the last eps of the range with probability exp(-20)."""
    lo = -bound if lo is None else lo
    x = np.asarray(x, dtype=np.float64).ravel()
    assert lo <= x.min() and x.max() <= bound, (x.min(), x.max(), lo, bound)
    eps = 20.0 / x.size * (bound - lo)
    assert x.min() <= lo + eps and x.max() >= bound - eps, (x.min(), x.max(), lo, bound)


def check_normal_sample(x, mean, std):
    """Sample mean and std within 5 standard errors of N(mean, std^2)'s (the std's error is std / sqrt(2n))."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) <= 5 * std / math.sqrt(n), (x.mean(), mean)
    assert abs(x.std() - std) <= 5 * std / math.sqrt(2 * n), (x.std(), std)


def check_cdf(x, cdf, points):
    """The empirical CDF within 5 standard errors (at most 0.5 / sqrt(n)) of ``cdf`` at each point."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    for p in points:
        assert abs(np.searchsorted(x, p, side="right") / x.size - cdf(p)) <= 5 * 0.5 / math.sqrt(x.size), p


def phi(z):
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def Phi(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def truncated_normal(mean, std, a, b):
    """Mean, std and CDF of N(mean, std^2) truncated to [a, b], in closed form."""
    al, be = (a - mean) / std, (b - mean) / std
    z = Phi(be) - Phi(al)
    d = (phi(al) - phi(be)) / z
    m = mean + std * d
    def zphi(t):  # t * phi(t), 0 at an infinite bound
        return 0.0 if math.isinf(t) else t * phi(t)

    s = std * math.sqrt(1.0 + (zphi(al) - zphi(be)) / z - d * d)
    return m, s, lambda x: min(1.0, max(0.0, (Phi((x - mean) / std) - Phi(al)) / z))


# ---------------------------------------------------------------------------------------------- fans, gains
@given(shape=shapes())
def test_fans_match_torch_for_2d_to_5d(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for backend in ("tensor", "scalar"):
        assert init._calculate_fan_in_and_fan_out(param(backend, shape)) == want
    assert init._calculate_fan_in_and_fan_out(np.zeros(shape)) == want


@pytest.mark.parametrize("shape", [(), (0,), (7,)])
def test_fans_of_fewer_than_2_dims_raise_as_torch(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for backend in ("tensor", "scalar"):
        with pytest.raises(ValueError, match=rf"fewer than 2 dimensions \(shape {re_shape(shape)}\)"):
            init._calculate_fan_in_and_fan_out(param(backend, shape))


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("name", NONLINEARITIES)
@pytest.mark.parametrize("p", [None, 0, 1, 0.01, 0.2, math.sqrt(5), -0.5, 100.0])
def test_every_gain_matches_torch(name, p):
    assert init.calculate_gain(name, p) == torch.nn.init.calculate_gain(name, p)


@pytest.mark.parametrize("name, p", [("gelu", None), ("ReLU", None), ("", None), ("leaky_relu", "0.1"),
                                     ("leaky_relu", True), ("leaky_relu", [0.1])])
def test_bad_gain_arguments_raise_valueerror_as_torch(name, p):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(name, p)
    with pytest.raises(ValueError, match=repr(name) if p is None else "not a valid number"):
        init.calculate_gain(name, p)


# ---------------------------------------------------------------------------------------------- random fills
@st.composite
def random_calls(draw):
    kind = draw(st.sampled_from(["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]))
    if kind.startswith("xavier"):
        kw = draw(st.sampled_from([{}, {"gain": 5 / 3}, {"gain": 0.0}, {"gain": math.sqrt(2)}]))
    else:
        kw = {"a": draw(st.sampled_from([0, 0.01, 0.2, math.sqrt(5), -1.0])),
              "mode": draw(st.sampled_from(["fan_in", "fan_out", "FAN_OUT", "Fan_In"])),
              "nonlinearity": draw(st.sampled_from(NONLINEARITIES))}
    return kind, kw


@given(call=random_calls(), shape=shapes(), seed=st.integers(0, 2**32 - 1),
       backend=st.sampled_from(["tensor", "scalar"]))
def test_seeded_draws_are_numpys_with_torchs_exact_bound_or_std(call, shape, seed, backend):
    kind, kw = call
    spread = torch_spread(kind, shape, kw)
    rng = np.random.default_rng(seed)
    want = rng.uniform(-spread, spread, shape) if kind in UNIFORMS else rng.normal(0.0, spread, shape)
    p = param(backend, shape)
    assert getattr(init, kind)(p, seed=seed, **kw) is p
    np.testing.assert_allclose(values_of(p), want, rtol=1e-13, atol=0)


LARGE = [
    ("uniform_", {"a": -0.3, "b": 0.7}), ("normal_", {"mean": 0.5, "std": 0.02}),
    ("xavier_uniform_", {"gain": 5 / 3}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}), ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "leaky_relu", "a": 0.2}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("kind, kw", LARGE, ids=[f"{k}{kw}" for k, kw in LARGE])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_samples_of_both_have_torchs_distribution(kind, kw, dtype):
    shape = (200, 40, 3, 3)  # fan_in 360, fan_out 1800; 72000 draws
    if kind == "uniform_":
        lo, hi = kw["a"], kw["b"]
    elif kind == "normal_":
        mean, std = kw["mean"], kw["std"]
    elif kind in UNIFORMS:
        lo, hi = -torch_spread(kind, shape, kw), torch_spread(kind, shape, kw)
    else:
        mean, std = 0.0, torch_spread(kind, shape, kw)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, kind)(torch.empty(shape, dtype=tdtype), **kw).numpy()
    p = param("tensor", shape, dtype)
    getattr(init, kind)(p, seed=0, **kw)
    assert p.data.dtype == dtype
    for x in (theirs, p.data):
        if kind in UNIFORMS:
            # float32 rounding may land on a bound: compare against the bounds rounded the same way
            check_uniform_sample(x, float(dtype(hi)), float(dtype(lo)))
        else:
            check_normal_sample(x, mean, std)
            check_cdf(x, lambda v: Phi((v - mean) / std), [mean + k * std for k in (-2, -1, -0.3, 0, 0.5, 1.5)])


TRUNC = [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 3.0, -0.5, 0.5), (0.0, 1.0, 1.5, 3.0),
         (-1.0, 0.5, -1.0, -1.0 + 1e-3), (0.0, 1.0, -math.inf, 0.0)]


@pytest.mark.parametrize("mean, std, a, b", TRUNC)
def test_trunc_normal_has_torchs_distribution(mean, std, a, b):
    m, s, cdf = truncated_normal(mean, std, a, b)
    torch.manual_seed(0)
    theirs = torch.nn.init.trunc_normal_(torch.empty(300, 200, dtype=torch.float64), mean, std, a, b).numpy()
    ours = values_of(init.trunc_normal_(param("tensor", (300, 200)), mean, std, a, b, seed=0))
    lo, hi = max(a, m - 4 * s), min(b, m + 4 * s)
    for x in (theirs, ours):
        assert a <= x.min() and x.max() <= b
        check_normal_sample(x, m, s)
        check_cdf(x, cdf, np.linspace(lo, hi, 9)[1:-1])


def test_trunc_normal_far_from_the_bounds_warns_as_torch():
    with pytest.warns(UserWarning, match="more than 2 std"):
        torch.nn.init.trunc_normal_(torch.empty(4, 4), mean=5.0, std=1.0)
    with pytest.warns(UserWarning, match="more than 2 std"):
        x = values_of(init.trunc_normal_(param("tensor", (4, 4)), mean=5.0, std=1.0, seed=0))
    assert np.all((x >= -2) & (x <= 2))


@given(shape=shapes(max_side=6), gain=st.sampled_from([1.0, 0.5, math.sqrt(2)]),
       backend=st.sampled_from(["tensor", "scalar"]), seed=st.integers(0, 2**32 - 1))
def test_orthogonal_is_torchs_haar_construction(shape, gain, backend, seed):
    """Rows (or, if fewer rows, columns) orthonormal times gain, as torch's; and Q's first column (row) is the
    normalized first column of the N(0, 1) matrix, sign included: the sign fix that makes Q uniform (Haar)."""
    rows, cols = shape[0], math.prod(shape[1:])
    p = param(backend, shape)
    ours = values_of(init.orthogonal_(p, gain=gain, seed=seed)).reshape(rows, cols)
    theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain,
                                       generator=torch.Generator().manual_seed(seed % 2**63)).numpy()
    normals = {"ours": np.random.default_rng(seed).standard_normal((rows, cols)),
               "theirs": torch.empty(rows, cols, dtype=torch.float64).normal_(
                   0, 1, generator=torch.Generator().manual_seed(seed % 2**63)).numpy()}
    for who, q in (("ours", ours), ("theirs", theirs.reshape(rows, cols))):
        small = q @ q.T if rows <= cols else q.T @ q
        np.testing.assert_allclose(small, gain ** 2 * np.eye(min(rows, cols)), atol=1e-12, err_msg=who)
        x = normals[who] if rows >= cols else normals[who].T
        first = (q if rows >= cols else q.T)[:, 0]
        np.testing.assert_allclose(first, gain * x[:, 0] / np.linalg.norm(x[:, 0]), atol=1e-12, err_msg=who)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2), (0, 3), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eye_and_constant_fills_equal_torchs(shape, dtype):
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    for ours, theirs in [
        (lambda p: init.eye_(p), lambda t: torch.nn.init.eye_(t)),
        (lambda p: init.constant_(p, -0.1), lambda t: torch.nn.init.constant_(t, -0.1)),
        (lambda p: init.ones_(p), lambda t: torch.nn.init.ones_(t)),
        (lambda p: init.zeros_(p), lambda t: torch.nn.init.zeros_(t)),
    ]:
        for backend in ("tensor", "scalar"):
            p = param(backend, shape, dtype if backend == "tensor" else None)
            want = theirs(torch.full(shape, 7.0, dtype=tdtype if backend == "tensor" else torch.float64))
            np.testing.assert_array_equal(values_of(ours(p)), want.numpy().astype(np.float64))


# ---------------------------------------------------------------------------------------------- errors
ERRORS = [  # (ours, torch's, shape): both must raise; ours a ValueError naming the shape or value
    ("eye_", {}, (3,), r"2 dimensions, got shape \(3,\)"),
    ("eye_", {}, (2, 3, 4), r"2 dimensions, got shape \(2, 3, 4\)"),
    ("orthogonal_", {}, (4,), r"2 or more dimensions, got shape \(4,\)"),
    ("xavier_uniform_", {}, (4,), r"fewer than 2 dimensions \(shape \(4,\)\)"),
    ("xavier_normal_", {}, (), r"fewer than 2 dimensions \(shape \(\)\)"),
    ("kaiming_uniform_", {}, (4,), "fewer than 2 dimensions"),
    ("kaiming_normal_", {"nonlinearity": "gelu"}, (4, 4), "Unsupported nonlinearity 'gelu'"),
    ("kaiming_uniform_", {"mode": "fan_avg"}, (4, 4), "Mode 'fan_avg' not supported"),
    ("xavier_uniform_", {"gain": -1.0}, (4, 4), "gain must be >= 0, got gain=-1.0"),
    ("xavier_normal_", {"gain": -1.0}, (4, 4), "gain must be >= 0, got gain=-1.0"),
    ("uniform_", {"a": 1.0, "b": 0.0}, (4,), "a <= b, got a=1.0 and b=0.0"),
    ("normal_", {"std": -0.5}, (4,), r"std >= 0, got std=-0.5"),
    ("trunc_normal_", {"a": 1.0, "b": -1.0}, (4,), "a <= b, got a=1.0 and b=-1.0"),
]


@pytest.mark.parametrize("kind, kw, shape, match", ERRORS, ids=[f"{k}{kw}{s}" for k, kw, s, _ in ERRORS])
@pytest.mark.parametrize("backend", ["tensor", "scalar"])
def test_errors_raise_as_torch_and_name_the_value(kind, kw, shape, match, backend):
    with pytest.raises((ValueError, RuntimeError)):
        getattr(torch.nn.init, kind)(torch.empty(shape), **kw)
    with pytest.raises(ValueError, match=match):
        getattr(init, kind)(param(backend, shape), **kw)


# ---------------------------------------------------------------------------------------------- in place
CALLS = {
    "uniform_": lambda p: init.uniform_(p, -1.0, 2.0, seed=0), "normal_": lambda p: init.normal_(p, 1.0, 3.0, seed=0),
    "constant_": lambda p: init.constant_(p, 0.25), "ones_": init.ones_, "zeros_": init.zeros_, "eye_": init.eye_,
    "xavier_uniform_": lambda p: init.xavier_uniform_(p, seed=0),
    "xavier_normal_": lambda p: init.xavier_normal_(p, seed=0),
    "kaiming_uniform_": lambda p: init.kaiming_uniform_(p, seed=0),
    "kaiming_normal_": lambda p: init.kaiming_normal_(p, seed=0),
    "trunc_normal_": lambda p: init.trunc_normal_(p, seed=0), "orthogonal_": lambda p: init.orthogonal_(p, seed=0),
}


def test_every_torch_function_we_claim_is_covered():
    assert set(CALLS) <= set(init.__all__) and set(CALLS) <= set(dir(torch.nn.init))
    assert set(init.__all__) - set(CALLS) == {"calculate_gain"}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("grad_mode", ["enabled", "no_grad"])
def test_tensor_fills_are_in_place_keep_dtype_and_record_no_graph(name, dtype, grad_mode):
    p = param("tensor", (6, 5), dtype)
    data = p.data
    if grad_mode == "no_grad":
        with no_grad():
            out = CALLS[name](p)
    else:
        out = CALLS[name](p)
    assert out is p and p.data is data and p.data.dtype == dtype
    assert p._ctx is None and p.is_leaf and p.requires_grad and p.grad is None
    assert not np.all(p.data == 0) or name == "zeros_"
    # the filled parameter still trains: one backward reaches it, with no node recorded by the fill
    (p * 2.0).sum().backward()
    np.testing.assert_array_equal(p.grad, np.full((6, 5), 2.0, dtype))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_value_fills_are_in_place_and_equal_the_float64_tensors(name):
    p = param("scalar", (6, 5), None)
    ids = [id(v) for v in p.ravel()]
    with no_grad():
        assert CALLS[name](p) is p
    assert [id(v) for v in p.ravel()] == ids
    assert all(not v._prev for v in p.ravel())  # no graph node recorded
    assert all(type(v.data) is float for v in p.ravel())
    np.testing.assert_array_equal(values_of(p), values_of(CALLS[name](param("tensor", (6, 5)))))


# ---------------------------------------------------------------------------------------------- layer defaults
def uniform_params(ours, theirs, names):
    """Every named parameter of both modules is uniform on torch's bound 1/sqrt(fan_in) of the weight."""
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)
    bound = 1.0 / math.sqrt(fan_in)
    sd = ours.state_dict()
    for name in names:
        t = dict(theirs.named_parameters())[name].detach().numpy()
        assert sd[name].shape == t.shape, name
        for x in (t, sd[name]):
            check_uniform_sample(x, float(np.float32(bound)))


def test_linear_default_is_torchs():
    ours, theirs = nn.Linear(50, 4000, seed=0), torch.nn.Linear(50, 4000)
    uniform_params(ours, theirs, ["weight", "bias"])


@pytest.mark.parametrize("cin, cout, k, groups", [(8, 2000, (3, 2), 4), (6, 1500, 3, 1), (4, 2000, (1, 5), 2),
                                                  (3, 1200, 1, 3)])
def test_conv2d_default_is_torchs_with_groups(cin, cout, k, groups):
    ours = nn.Conv2d(cin, cout, k, groups=groups, seed=0)
    theirs = torch.nn.Conv2d(cin, cout, k, groups=groups)
    uniform_params(ours, theirs, ["weight", "bias"])


def test_embedding_and_norm_defaults_are_torchs():
    torch.manual_seed(0)
    emb = nn.Embedding(500, 200, seed=0).state_dict()["weight"]
    temb = torch.nn.Embedding(500, 200).weight.detach().numpy()
    for x in (emb, temb):
        check_normal_sample(x, 0.0, 1.0)
        check_cdf(x, Phi, [-2, -1, -0.3, 0, 0.5, 1.5])
    for ours, theirs in [(nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))),
                         (nn.LayerNorm(5, bias=False), torch.nn.LayerNorm(5, bias=False)),
                         (nn.RMSNorm(6), torch.nn.RMSNorm(6)),
                         (nn.BatchNorm1d(7), torch.nn.BatchNorm1d(7)),
                         (nn.BatchNorm1d(7, affine=False, momentum=None), torch.nn.BatchNorm1d(7, affine=False,
                                                                                             momentum=None))]:
        sd, tsd = ours.state_dict(), theirs.state_dict()
        assert sorted(sd) == sorted(tsd)
        for name in tsd:
            np.testing.assert_array_equal(sd[name], tsd[name].numpy(), err_msg=name)


@pytest.mark.parametrize("bias", [False, True])
def test_attention_projections_are_linears_default(bias):
    c = 256
    sd = nn.CausalSelfAttention(c, 4, bias=bias, seed=0).state_dict()
    names = [f"{w}.{p}" for w in ("wq", "wk", "wv", "wo") for p in (("weight", "bias") if bias else ("weight",))]
    assert sorted(sd) == sorted(names)
    for w in ("wq", "wk", "wv", "wo"):
        check_uniform_sample(sd[f"{w}.weight"], float(np.float32(1 / math.sqrt(c))))
    if bias:  # c values each: the spread, not the extremes, is what 256 draws pin down
        b = np.concatenate([sd[f"{w}.bias"] for w in ("wq", "wk", "wv", "wo")])
        assert np.abs(b).max() <= 1 / math.sqrt(c) and np.abs(b).max() > 0.95 / math.sqrt(c)


def test_gpt_is_microgpts_documented_init():
    model = GPT(vocab_size=300, block_size=64, n_layer=2, n_embd=64, n_head=4, norm="layernorm", bias=True, seed=0)
    for name, x in model.state_dict().items():
        if name.endswith(".weight") and x.ndim == 2:
            check_normal_sample(x, 0.0, 0.08)
        elif name.endswith(".bias"):
            assert np.all(x == 0), name
        else:
            assert np.all(x == 1), name  # layer norm gains


def test_micrograd_layers_use_linears_bound():
    neuron = nn.Neuron(25, seed=0).state_dict()
    assert np.abs(neuron["weight"]).max() <= 0.2 and neuron["bias"].shape == ()
    sd = nn.MLP(16, [3000, 2], seed=0).state_dict()
    check_uniform_sample(sd["layers.0.weight"], float(np.float32(0.25)))
    check_uniform_sample(sd["layers.0.bias"], float(np.float32(0.25)))


BUILDERS = {
    "Linear": lambda b, d: nn.Linear(5, 3, backend=b, dtype=d, seed=3),
    "Conv2d": lambda b, d: nn.Conv2d(4, 6, (3, 2), groups=2, backend=b, dtype=d, seed=3),
    "Embedding": lambda b, d: nn.Embedding(7, 4, backend=b, dtype=d, seed=3),
    "LayerNorm": lambda b, d: nn.LayerNorm(4, backend=b, dtype=d),
    "BatchNorm1d": lambda b, d: nn.BatchNorm1d(4, backend=b, dtype=d),
    "CausalSelfAttention": lambda b, d: nn.CausalSelfAttention(8, 2, bias=True, backend=b, dtype=d, seed=3),
    "Neuron": lambda b, d: nn.Neuron(4, backend=b, dtype=d, seed=3),
    "MLP": lambda b, d: nn.MLP(3, [4, 2], backend=b, dtype=d, seed=3),
    "GPT": lambda b, d: GPT(vocab_size=11, block_size=4, n_layer=1, n_embd=8, n_head=2, backend=b, dtype=d, seed=3),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_seed_same_numbers_on_both_backends_and_dtypes(name):
    ref = BUILDERS[name]("scalar", None).state_dict()
    for dtype in (np.float32, np.float64):
        sd = BUILDERS[name]("tensor", dtype).state_dict()
        assert sorted(sd) == sorted(ref)
        for k in ref:
            # the draws are rounded to float32 first: float32 holds them exactly
            np.testing.assert_array_equal(np.asarray(sd[k], np.float64), np.asarray(ref[k], np.float64),
                                          err_msg=f"{name}.{k} {dtype}")


# ---------------------------------------------------------------------------------------------- regressions
def test_xavier_normal_with_a_negative_gain_raises_as_torch():
    """xavier_normal_ took abs(gain * std) and silently drew N(0, std^2) for gain=-1, where torch raises
    (its normal_ rejects a negative std) and xavier_uniform_ raised an error about reversed bounds."""
    with pytest.raises(RuntimeError, match="std >= 0"):
        torch.nn.init.xavier_normal_(torch.empty(3, 4), gain=-1.0)
    for kind in ("xavier_normal_", "xavier_uniform_"):
        with pytest.raises(ValueError, match="gain must be >= 0"):
            getattr(init, kind)(param("tensor", (3, 4)), gain=-1.0)
    p = param("tensor", (3, 4))
    init.xavier_normal_(p, gain=0.0, seed=0)  # gain 0 is allowed, as torch: all zeros
    assert np.all(p.data == 0)


@pytest.mark.parametrize("name", ["eye_", "trunc_normal_", "orthogonal_"])
def test_torchs_eye_trunc_normal_and_orthogonal_exist(name):
    """nn.init had no eye_, trunc_normal_ or orthogonal_ (code written for torch.nn.init failed with
    AttributeError); they are torch's now, with a generator/seed like the other draws."""
    assert callable(getattr(init, name)) and name in init.__all__


def test_orthogonal_and_eye_of_zero_elements_are_left_as_torch():
    p = np.zeros((0, 4))
    assert init.orthogonal_(p) is p and init.eye_(p) is p
    assert torch.nn.init.orthogonal_(torch.empty(0, 4)).shape == (0, 4)
