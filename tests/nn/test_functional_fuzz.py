"""Differential fuzz of ``naivegrad.nn.functional`` and the nn modules against torch: values AND gradients (of
inputs and parameters), float64 and float32, at the edges (ignored targets, every reduction, label smoothing,
class weights, (N, C, d1, d2) layouts, +-1e4 / +-inf / nan logits, -inf rows of softmax, constant rows of
layer_norm, BatchNorm1d's running statistics over steps, padding_idx, negative pads, pooling with ties and nan,
grouped and dilated convolutions), plus the scalar engine against the tensor engine on the same modules.

Deterministic under the default hypothesis profile (derandomize=True); ``pytest --deep`` searches further.
The regression tests at the end pin the discrepancies this fuzz found (fixed in naivegrad/nn):

- ``nn.binary_cross_entropy`` on the tensor engine: a probability of exactly 0 or 1 gave a nan gradient (the
  clamped log was differentiated: 0 * inf), where the scalar engine gives a finite one;
- ``nn.binary_cross_entropy`` with a probability outside [0, 1] or nan: torch raises; the tensor engine gave
  nan and the scalar engine a finite, wrong loss (a nan log compared False against -100 and was clamped);
- ``BatchNorm1d(track_running_stats=False)`` in eval on one value per channel: torch raises; naivegrad
  normalized by that one value's statistics and returned zeros.

Deliberate differences (documented in the docstrings) are not fuzzed as failures: cross_entropy with weight=
and label_smoothing= together raises NotImplementedError; max_pool2d's dilation / ceil_mode /
return_indices and avg_pool2d's ceil_mode / divisor_override raise NotImplementedError; mse_loss never
broadcasts; softmax needs dim=.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naivegrad import Value, nn
from naivegrad.nn import functional as F
from naivegrad.nn.attention import CausalSelfAttention
from naivegrad.nn.conv import AvgPool2d, MaxPool2d
from naivegrad.nn.normalization import BatchNorm1d, LayerNorm, RMSNorm
from naivegrad.scalar import dot
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = {np.float64: torch.float64, np.float32: torch.float32}
TOL = {np.float64: 1e-9, np.float32: 2e-4}
EXTREMES = [1e4, -1e4, np.inf, -np.inf, np.nan]


def few(n):
    """A fraction of the profile's examples (at least n), for the slower properties: --deep scales them too."""
    return settings(max_examples=max(n, settings.default.max_examples // 3))


def pair(a, dtype, grad=True):
    a = np.array(a, dtype=dtype)
    return Tensor(a.copy(), requires_grad=grad), torch.tensor(a.copy(), requires_grad=grad)


def assert_close(ours, theirs, dtype, what, slack=0.0):
    """Same values, same nan positions, same infinities; the tolerance relative to the array's finite scale
    (``slack`` widens it: see ``norm_slack``)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    finite = theirs[np.isfinite(theirs)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    tol = TOL[dtype] + slack
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, equal_nan=True, err_msg=what)


def norm_slack(a, axes, eps, dtype):
    """The float32 rounding a normalization amplifies: the mean is off by ~eps32 |x|, and that error is divided
    by sqrt(var + eps); a weight's gradient sums it over every normalized group. torch (Welford's algorithm)
    and naivegrad (two passes) round differently, so a nearly constant group of large numbers in float32
    differs by that much, neither being wrong. Zero in float64."""
    if dtype == np.float64 or a.size == 0:
        return 0.0
    var = np.var(a, axis=axes).min()
    groups = a.size // np.prod([a.shape[d] for d in axes])
    return 32 * float(np.finfo(np.float32).eps) * float(np.abs(a).max()) / float(np.sqrt(var + eps)) * (1 + groups)


def cotangent(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(out, ref, ours_in, torch_in, dtype, what="", slack=0.0):
    """Values, then the gradients of every input for one random cotangent."""
    assert out.data.dtype == dtype, (what, out.data.dtype)
    assert_close(out.data, ref.detach().numpy(), dtype, f"{what}: value", slack)
    cot = cotangent(out.shape, dtype)
    out.backward(cot)
    ref.backward(torch.tensor(cot))
    for i, (a, b) in enumerate(zip(ours_in, torch_in)):
        ga = np.zeros(a.shape) if a.grad is None else a.grad
        gb = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        assert_close(ga, gb, dtype, f"{what}: gradient of input {i}", slack)


dtypes = st.sampled_from([np.float64, np.float32])


# ------------------------------------------------------------------------------------ cross_entropy, nll_loss
@st.composite
def classification(draw):
    dtype = draw(dtypes)
    c = draw(st.integers(1, 5))
    layout = draw(st.sampled_from(["C", "NC", "NCd", "NCdd"]))
    n = draw(st.integers(0 if layout == "NC" else 1, 4))
    extra = {"C": (), "NC": (), "NCd": (draw(st.integers(1, 3)),),
             "NCdd": (draw(st.integers(1, 3)), draw(st.integers(1, 2)))}[layout]
    shape = (c,) if layout == "C" else (n, c) + extra
    tshape = () if layout == "C" else (n,) + extra
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * draw(st.sampled_from([1.0, 30.0]))
    if logits.size and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            logits.flat[draw(st.integers(0, logits.size - 1))] = draw(st.sampled_from(EXTREMES))
    ignore_index = draw(st.sampled_from([-100, -1, 0, c - 1]))
    target = rng.integers(0, c, size=tshape)
    p_ignore = draw(st.sampled_from([0.0, 0.3, 1.0]))  # 1.0: every target ignored (torch: nan for the mean)
    target = np.where(rng.random(tshape) < p_ignore, ignore_index, target)
    weight = rng.uniform(0.1, 3.0, size=c) if draw(st.booleans()) else None
    if weight is not None and draw(st.booleans()):
        weight[draw(st.integers(0, c - 1))] = 0.0
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    smoothing = 0.0 if weight is not None else draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    return dtype, logits, target, weight, ignore_index, reduction, smoothing


@given(classification())
def test_cross_entropy_matches_torch(case):
    dtype, logits, target, weight, ignore_index, reduction, smoothing = case
    x, xt = pair(logits, dtype)
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(x, target, weight=weight, **kw)
    ref = TF.cross_entropy(xt, torch.tensor(target), weight=None if weight is None else torch.tensor(weight,
                           dtype=DTYPES[dtype]), **kw)
    check(out, ref, [x], [xt], dtype, "cross_entropy")


@given(classification())
def test_nll_loss_matches_torch(case):
    dtype, logits, target, weight, ignore_index, reduction, _ = case
    x, xt = pair(logits, dtype)
    kw = dict(ignore_index=ignore_index, reduction=reduction)
    out = F.nll_loss(x, target, weight=weight, **kw)
    ref = TF.nll_loss(xt, torch.tensor(target), weight=None if weight is None else torch.tensor(weight,
                      dtype=DTYPES[dtype]), **kw)
    check(out, ref, [x], [xt], dtype, "nll_loss")


# ------------------------------------------------------------------------------------ softmax, log_softmax
@given(dtype=dtypes, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data(),
       fn=st.sampled_from(["softmax", "log_softmax"]))
def test_softmax_family_with_infinities_matches_torch(dtype, shape, data, fn):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = rng.standard_normal(shape) * 5
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    if data.draw(st.booleans()):  # a whole slice along dim at -inf: torch gives nan there
        idx = [slice(None)] * len(shape)
        for d in range(len(shape)):
            if d != dim % len(shape):
                idx[d] = data.draw(st.integers(0, shape[d] - 1))
        a[tuple(idx)] = -np.inf
    for _ in range(data.draw(st.integers(0, 3))):
        a.flat[data.draw(st.integers(0, a.size - 1))] = data.draw(st.sampled_from([-np.inf, -1e4, 1e4]))
    x, xt = pair(a, dtype)
    check(getattr(F, fn)(x, dim=dim), getattr(TF, fn)(xt, dim=dim), [x], [xt], dtype, fn)


# ------------------------------------------------------------------------------------ layer_norm
@given(dtype=dtypes, shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(),
       affine=st.sampled_from(["none", "weight", "both"]), eps=st.sampled_from([1e-5, 1e-3, 0.5]))
def test_layer_norm_matches_torch(dtype, shape, data, affine, eps):
    k = data.draw(st.integers(1, len(shape)))
    ns = tuple(shape[len(shape) - k:])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = rng.standard_normal(shape) * data.draw(st.sampled_from([1.0, 100.0])) + data.draw(st.sampled_from([0.0, 3.0]))
    if data.draw(st.booleans()):
        a[...] = 2.5  # constant: the variance is 0, eps alone normalizes
    ins = [pair(a, dtype)]
    if affine != "none":
        ins.append(pair(rng.standard_normal(ns), dtype))
    if affine == "both":
        ins.append(pair(rng.standard_normal(ns), dtype))
    ours, theirs = [o for o, _ in ins], [t for _, t in ins]
    norm_arg = ns[0] if len(ns) == 1 and data.draw(st.booleans()) else ns  # an int, as torch also takes
    out = F.layer_norm(ours[0], norm_arg, *ours[1:], eps=eps)
    ref = TF.layer_norm(theirs[0], ns, *theirs[1:], eps=eps)
    slack = norm_slack(a, tuple(range(len(shape) - k, len(shape))), eps, dtype)
    check(out, ref, ours, theirs, dtype, f"layer_norm {ns}", slack)


# ------------------------------------------------------------------------------------ BatchNorm1d
@few(15)
@given(dtype=dtypes, data=st.data(), momentum=st.sampled_from([0.1, 0.0, 1.0, None, 0.37]),
       affine=st.booleans(), track=st.booleans(), eps=st.sampled_from([1e-5, 0.1]))
def test_batchnorm1d_steps_then_eval_match_torch(dtype, data, momentum, affine, track, eps):
    c = data.draw(st.integers(1, 3))
    shape = (data.draw(st.integers(2, 5)), c) + ((data.draw(st.integers(1, 3)),) if data.draw(st.booleans()) else ())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    ours = BatchNorm1d(c, dtype=dtype, **kw)
    ref = torch.nn.BatchNorm1d(c, dtype=DTYPES[dtype], **kw)
    if affine:
        state = {"weight": rng.normal(size=c), "bias": rng.normal(size=c)}
        ours.load_state_dict(state, strict=False)
        ref.load_state_dict({k: torch.tensor(v, dtype=DTYPES[dtype]) for k, v in state.items()}, strict=False)
    steps = data.draw(st.integers(1, 4))
    for step in range(steps + 1):
        if step == steps:
            ours.eval()
            ref.eval()
        a = rng.normal(size=shape) * (step + 1) + step
        if data.draw(st.booleans()):
            a[:, 0] = 1.5  # a constant channel: variance 0
        x, xt = pair(a, dtype)
        ref.zero_grad()
        ours.zero_grad()
        slack = norm_slack(a, (0,) + tuple(range(2, a.ndim)), eps, dtype) if ours.training or not track else 0.0
        check(ours(x), ref(xt), [x], [xt], dtype, f"BatchNorm1d step {step}", slack)
        if affine:
            for name in ("weight", "bias"):
                assert_close(ours.grad_dict()[name], getattr(ref, name).grad.numpy(), dtype, name, slack)
        if track:
            for name in ("running_mean", "running_var"):
                assert_close(getattr(ours, name), getattr(ref, name).numpy(), dtype, name)
            assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked)


# ------------------------------------------------------------------------------------ embedding, one_hot
@given(dtype=dtypes, data=st.data())
def test_embedding_with_repeats_and_padding_idx_matches_torch(dtype, data):
    n, d = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    ids = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)))
    ids = ids.reshape(data.draw(st.sampled_from([(-1,), (1, -1), (-1, 1)])))
    padding_idx = data.draw(st.sampled_from([None, 0, n - 1, -1]))
    w, wt = pair(np.random.default_rng(n * 7 + d).standard_normal((n, d)), dtype)
    check(F.embedding(ids, w, padding_idx=padding_idx), TF.embedding(torch.tensor(ids), wt, padding_idx=padding_idx),
          [w], [wt], dtype, f"embedding padding_idx={padding_idx}")


@given(ids=st.lists(st.integers(0, 5), min_size=1, max_size=6), extra=st.sampled_from([-1, 0, 2]),
       shape=st.sampled_from([(-1,), (1, -1)]))
def test_one_hot_matches_torch(ids, extra, shape):
    ids = np.array(ids).reshape(shape)
    num_classes = -1 if extra == -1 else int(ids.max()) + 1 + extra
    ours = F.one_hot(ids, num_classes)
    theirs = TF.one_hot(torch.tensor(ids), num_classes).numpy()
    assert ours.dtype == np.int64 and np.array_equal(ours.data, theirs)


# ------------------------------------------------------------------------------------ dropout p=0, p=1
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [0.0, 1.0])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_extremes_match_torch_functional_and_module_on_both_backends(dtype, p, training):
    a = np.random.default_rng(0).standard_normal((3, 4))
    x, xt = pair(a, dtype)
    check(F.dropout(x, p, training=training), TF.dropout(xt, p, training=training), [x], [xt], dtype, "dropout")
    expected = a if (p == 0.0 or not training) else np.zeros_like(a)
    for backend in ("scalar", "tensor"):
        drop = nn.Dropout(p, backend=backend, seed=0)
        drop.train(training)
        out = drop(leaf_input(a, backend))
        np.testing.assert_array_equal(values(out), expected)


# ------------------------------------------------------------------------------------ pad, mse_loss, linear
@given(dtype=dtypes, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_pad_with_negative_amounts_matches_torch(dtype, shape, data):
    dims = data.draw(st.integers(1, len(shape)))
    pads = []
    for i in range(dims):
        size = shape[-1 - i]
        lo = data.draw(st.integers(-size, 3))
        hi = data.draw(st.integers(-(size + lo) if lo < 0 else -size, 3))
        pads += [lo, hi]
    value = data.draw(st.sampled_from([None, 0.0, -2.5, -np.inf]))
    x, xt = pair(np.random.default_rng(len(pads)).standard_normal(shape), dtype)
    check(F.pad(x, pads, value=value), TF.pad(xt, pads, value=0.0 if value is None else value), [x], [xt], dtype,
          f"pad {pads}")


@given(dtype=dtypes, shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 2**16),
       target_grad=st.booleans())
def test_mse_loss_matches_torch(dtype, shape, reduction, seed, target_grad):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    (x, xt), (y, yt) = pair(a, dtype), pair(b, dtype, grad=target_grad)
    check(F.mse_loss(x, y, reduction=reduction), TF.mse_loss(xt, yt, reduction=reduction), [x, y], [xt, yt], dtype,
          "mse_loss")


@given(dtype=dtypes, lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), nin=st.integers(1, 4),
       nout=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_linear_with_and_without_bias_matches_torch(dtype, lead, nin, nout, bias, seed):
    rng = np.random.default_rng(seed)
    ins = [pair(rng.standard_normal(tuple(lead) + (nin,)), dtype), pair(rng.standard_normal((nout, nin)), dtype)]
    if bias:
        ins.append(pair(rng.standard_normal(nout), dtype))
    ours, theirs = [o for o, _ in ins], [t for _, t in ins]
    check(F.linear(*ours), TF.linear(*theirs), ours, theirs, dtype, "linear")


# ------------------------------------------------------------------------------------ pools, conv2d
@few(20)
@given(dtype=dtypes, data=st.data(), kind=st.sampled_from(["max", "avg", "avg_exclude_pad"]))
def test_pools_with_ties_nan_and_padding_match_torch(dtype, data, kind):
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    stride = data.draw(st.sampled_from([None, 1, 2, (1, 2), (3, 1)]))
    padding = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    shape = (data.draw(st.integers(1, 2)), 2, data.draw(st.integers(k[0], 6)), data.draw(st.integers(k[1], 6)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = rng.standard_normal(shape)
    if data.draw(st.booleans()):
        a = np.round(a)  # ties: the gradient goes to the first maximal element, as torch's
    for _ in range(data.draw(st.integers(0, 2))):
        a.flat[data.draw(st.integers(0, a.size - 1))] = data.draw(st.sampled_from([np.nan, -np.inf, np.inf]))
    if data.draw(st.booleans()):
        a = a[0]  # unbatched (C, H, W)
    x, xt = pair(a, dtype)
    if kind == "max":
        out, ref = F.max_pool2d(x, k, stride, padding), TF.max_pool2d(xt, k, stride, padding)
    else:
        cip = kind == "avg"
        out = F.avg_pool2d(x, k, stride, padding, count_include_pad=cip)
        ref = TF.avg_pool2d(xt, k, stride, padding, count_include_pad=cip)
    check(out, ref, [x], [xt], dtype, f"{kind}_pool2d k={k} stride={stride} padding={padding}")


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's note on its own copy
@few(20)
@given(dtype=dtypes, data=st.data())
def test_conv2d_with_groups_dilation_and_padding_modes_matches_torch(dtype, data):
    g = data.draw(st.integers(1, 3))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dil = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    padding = data.draw(st.sampled_from([0, 1, (2, 0), "valid", "same"]))
    stride = 1 if padding == "same" else data.draw(st.sampled_from([1, 2, (1, 2)]))
    h = data.draw(st.integers(dil[0] * (k[0] - 1) + 1, 7))
    w = data.draw(st.integers(dil[1] * (k[1] - 1) + 1, 7))
    shape = (data.draw(st.integers(1, 2)), cin, h, w) if data.draw(st.booleans()) else (cin, h, w)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ins = [pair(rng.standard_normal(shape), dtype), pair(rng.standard_normal((cout, cin // g) + k), dtype)]
    if data.draw(st.booleans()):
        ins.append(pair(rng.standard_normal(cout), dtype))
    ours, theirs = [o for o, _ in ins], [t for _, t in ins]
    kw = dict(stride=stride, padding=padding, dilation=dil, groups=g)
    with np.errstate(all="ignore"):
        check(F.conv2d(*ours, **kw), TF.conv2d(*theirs, **kw), ours, theirs, dtype, f"conv2d {kw}")


# ------------------------------------------------------------------------------------ modules against torch
@few(15)
@given(dtype=dtypes, data=st.data())
def test_norm_modules_match_torch(dtype, data):
    kind = data.draw(st.sampled_from(["layer", "layer_nobias", "layer_noaffine", "rms", "rms_noaffine"]))
    ns = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    shape = (data.draw(st.integers(1, 3)),) + ns
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    if kind.startswith("layer"):
        kw = dict(eps=data.draw(st.sampled_from([1e-5, 0.3])), elementwise_affine=kind != "layer_noaffine",
                  bias=kind != "layer_nobias")
        ours, ref = LayerNorm(ns, dtype=dtype, **kw), torch.nn.LayerNorm(ns, dtype=DTYPES[dtype], **kw)
    else:
        kw = dict(eps=data.draw(st.sampled_from([None, 1e-3])), elementwise_affine=kind == "rms")
        ours, ref = RMSNorm(ns, dtype=dtype, **kw), torch.nn.RMSNorm(ns, dtype=DTYPES[dtype], **kw)
    state = {k: rng.standard_normal(v.shape) for k, v in ref.state_dict().items()}
    ours.load_state_dict(state)
    ref.load_state_dict({k: torch.tensor(v, dtype=DTYPES[dtype]) for k, v in state.items()})
    a = rng.standard_normal(shape) * 4
    if data.draw(st.booleans()):
        a[0] = 0.0 if kind.startswith("rms") else 1.25  # a zero (rms) / constant (layer) sample
    x, xt = pair(a, dtype)
    axes = tuple(range(1, a.ndim))
    slack = 0.0 if kind.startswith("rms") else norm_slack(a, axes, kw["eps"], dtype)  # no cancellation in rms
    check(ours(x), ref(xt), [x], [xt], dtype, kind, slack)
    for name, p in ref.named_parameters():
        assert_close(ours.grad_dict()[name], p.grad.numpy(), dtype, f"{kind}.{name}", slack)


# ------------------------------------------------------------------------------------ scalar engine vs tensor
def leaf_input(x, backend):
    if backend == "tensor":
        return Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    flat = np.empty(x.size, dtype=object)
    flat[:] = [Value(float(v)) for v in np.ravel(x)]
    return flat.reshape(np.shape(x))


def values(out):
    if isinstance(out, Tensor):
        return out.data
    return np.vectorize(lambda v: v.data if isinstance(v, Value) else v, otypes=[float])(np.array(out, dtype=object))


def grads(x):
    return x.grad if isinstance(x, Tensor) else np.vectorize(lambda v: v.grad, otypes=[float])(x)


def run_on(backend, make, a, seed=1):
    """Output values, input gradient and parameter gradients of ``make(backend)`` on ``a``, for a weighted sum."""
    module = make(backend)
    x = leaf_input(a, backend)
    out = module(x)
    w = np.random.default_rng(seed).standard_normal(np.shape(values(out)))
    if isinstance(out, Tensor):
        (out * Tensor(w)).sum().backward()
    else:
        dot(np.array(out, dtype=object).ravel().tolist(), w.ravel().tolist()).backward()
    return values(out), grads(x), module.grad_dict()


MODULES = {
    "layer_norm": (lambda b: LayerNorm((2, 3), eps=1e-3, backend=b, dtype=np.float64), (3, 2, 3), 1.5),
    "rms_norm": (lambda b: RMSNorm(3, backend=b, dtype=np.float64), (2, 2, 3), 0.0),
    "batch_norm": (lambda b: BatchNorm1d(2, momentum=None, backend=b, dtype=np.float64), (3, 2, 2), 0.5),
    "gelu": (lambda b: nn.GELU(backend=b), (2, 5), 0.0),
    "gelu_tanh": (lambda b: nn.GELU("tanh", backend=b), (2, 5), 0.0),
    "attention": (lambda b: CausalSelfAttention(4, 2, bias=True, backend=b, dtype=np.float64, seed=3), (2, 3, 4), 1e3),
    "linear_no_bias": (lambda b: nn.Linear(3, 2, bias=False, backend=b, dtype=np.float64, seed=4), (2, 2, 3), 0.0),
    "conv": (lambda b: nn.Conv2d(2, 4, (2, 3), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, backend=b,
                                 dtype=np.float64, seed=5), (2, 2, 4, 5), 1.0),
    "max_pool": (lambda b: MaxPool2d(2, 1, 1, backend=b), (1, 1, 3, 4), 1.0),
    "avg_pool": (lambda b: AvgPool2d(3, 2, 1, count_include_pad=False, backend=b), (1, 2, 4, 3), 1.0),
}


@few(10)
@given(name=st.sampled_from(sorted(MODULES)), seed=st.integers(0, 2**16), edge=st.booleans(),
       scale=st.sampled_from([1.0, 30.0]))
def test_scalar_engine_agrees_with_tensor_engine(name, seed, edge, scale):
    make, shape, fill = MODULES[name]
    a = np.random.default_rng(seed).standard_normal(shape) * scale
    if name.endswith("pool"):
        a = np.round(a)  # ties
    if edge:
        a.reshape(shape[0], -1)[0] = fill  # constant / zero sample, large logits, a tie-filled window
    (vs, gs, ps), (vt, gt, pt) = run_on("scalar", make, a), run_on("tensor", make, a)
    np.testing.assert_allclose(vt, vs, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(gt, gs, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert list(ps) == list(pt)
    for k in ps:
        np.testing.assert_allclose(pt[k], ps[k], rtol=1e-9, atol=1e-9, err_msg=k)


@given(probs=st.lists(st.sampled_from([0.0, 1.0, 1e-300, 1e-50, 1e-12, 0.3, 0.5, 1 - 1e-16]), min_size=1,
                      max_size=5), data=st.data())
def test_binary_cross_entropy_engines_agree_and_torch_where_its_gradient_is_exact(probs, data):
    p = np.array(probs)
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.25]), min_size=len(p), max_size=len(p))))
    x = Tensor(p.copy(), requires_grad=True)
    out = nn.binary_cross_entropy(x, y)
    out.backward()
    vs = [Value(float(v)) for v in p]
    sout = nn.binary_cross_entropy(vs, y)
    sout.backward()
    assert np.isfinite(out.data) and np.all(np.isfinite(x.grad))
    assert out.item() == pytest.approx(sout.data, rel=1e-12)
    np.testing.assert_allclose(x.grad, [v.grad for v in vs], rtol=1e-12)
    xt = torch.tensor(p.copy(), requires_grad=True)
    ref = TF.binary_cross_entropy(xt, torch.tensor(y))
    ref.backward()
    assert out.item() == pytest.approx(ref.item(), rel=1e-12)
    # torch's backward is (p - y) / max(p (1 - p), 1e-12): the derivative where p (1 - p) >= 1e-12 only
    exact = p * (1 - p) >= 1e-12
    np.testing.assert_allclose(x.grad[exact], xt.grad.numpy()[exact], rtol=1e-9)


@few(20)
@given(loss=st.sampled_from(["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy"]),
       backend=st.sampled_from(["scalar", "tensor"]), data=st.data())
def test_library_losses_match_torch_on_both_engines(loss, backend, data):
    """naivegrad.nn's own losses (the mean over samples; (B, T, C) logits with the classes LAST, naivegrad's
    documented convention) against torch, on either engine, with +-1e4 / -inf logits."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    c = data.draw(st.integers(1, 4))
    lead = (data.draw(st.integers(1, 3)),) + ((data.draw(st.integers(1, 2)),) if data.draw(st.booleans()) else ())
    a = rng.standard_normal(lead + (c,)) * 3
    for _ in range(data.draw(st.integers(0, 2))):
        a.flat[data.draw(st.integers(0, a.size - 1))] = data.draw(st.sampled_from([1e4, -1e4, -np.inf]))
    labels = rng.integers(0, c, size=lead)
    at = torch.tensor(a, requires_grad=True)
    if loss == "binary_cross_entropy":
        a = 1.0 / (1.0 + np.exp(-np.clip(a, -700, 700)))  # probabilities, 0 and 1 exactly at +-1e4
        at = torch.tensor(a, requires_grad=True)
        target = rng.uniform(0, 1, size=a.shape)
        ref = TF.binary_cross_entropy(at, torch.tensor(target))
    elif loss == "mse_loss":
        a[~np.isfinite(a)] = 0.0
        at = torch.tensor(a, requires_grad=True)
        target = rng.standard_normal(a.shape)
        ref = TF.mse_loss(at, torch.tensor(target))
    else:
        target = labels
        fn = TF.cross_entropy if loss == "cross_entropy" else TF.nll_loss
        ref = fn(at.movedim(-1, 1) if at.ndim == 3 else at, torch.tensor(labels))
    ref.backward()
    x = leaf_input(a, backend)
    out = getattr(nn, loss)(x if backend == "tensor" else x.tolist(), target)
    out.backward()
    value = out.item() if isinstance(out, Tensor) else out.data
    assert_close(value, ref.item(), np.float64, f"{loss} value")
    g, gt = grads(x), at.grad.numpy()
    if loss == "binary_cross_entropy":  # torch's (p - y) / max(p (1 - p), 1e-12) is the derivative only there
        exact = a * (1 - a) >= 1e-12
        g, gt = g[exact], gt[exact]
    assert_close(g, gt, np.float64, f"{loss} gradient")


# ------------------------------------------------------------------------------------ regressions
@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def test_regression_bce_gradient_at_probability_0_and_1_is_finite_on_the_tensor_engine(backend):
    # Was: tensor engine x.grad == [nan, nan, ...] (log(0) = -inf differentiated through maximum(-100): 0 * inf).
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    x = leaf_input(p, backend)
    out = nn.binary_cross_entropy(x if backend == "tensor" else x.tolist(), y)
    out.backward()
    # d/dp of -(1 - y) log(1 - p) / 4 at p = 0 is 1/4; clamped terms pass nothing
    np.testing.assert_array_equal(grads(x), [0.25, -0.25, 0.0, 0.0])


@pytest.mark.parametrize("backend", ["scalar", "tensor"])
@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_regression_bce_refuses_probabilities_outside_0_1_as_torch(backend, bad):
    # Was: scalar engine 50.35 (a nan/negative log clamped to -100), tensor engine nan; torch raises.
    p = np.array([bad, 0.5])
    with pytest.raises(RuntimeError):
        TF.binary_cross_entropy(torch.tensor(p), torch.tensor([1.0, 1.0]))
    x = leaf_input(p, backend)
    with pytest.raises(ValueError, match=r"probabilities must be in \[0, 1\]"):
        nn.binary_cross_entropy(x if backend == "tensor" else x.tolist(), [1.0, 1.0])


@pytest.mark.parametrize("backend", ["scalar", "tensor"])
@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_regression_batchnorm_without_running_stats_refuses_one_value_per_channel_in_eval(backend, shape):
    # Was: zeros (one value normalized by its own mean); torch raises, as it does in training.
    ref = torch.nn.BatchNorm1d(3, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ref(torch.zeros(shape))
    bn = BatchNorm1d(3, track_running_stats=False, backend=backend).eval()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.ones(shape))
    BatchNorm1d(3, backend=backend).eval()(np.ones(shape))  # running statistics: one sample is fine


ACTIVATIONS = [("relu", {}), ("tanh", {}), ("sigmoid", {}), ("silu", {}), ("gelu", {}),
               ("gelu", {"approximate": "tanh"}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}),
               ("softplus", {"beta": 2.0, "threshold": 3.0})]


@pytest.mark.parametrize("name, kw", ACTIVATIONS)
@pytest.mark.parametrize("form", ["flat", "rows", "object_array", "number_row"])
def test_regression_activations_on_values_mixed_with_numbers_map_every_element(name, kw, form):
    # Was: F.relu([Value(-1.0), 2.0]) == [Value(0.0), None]: a plain number beside Values came back as None.
    nums = [[-1.5, 2.0], [0.25, -3.0]]
    x = {"flat": [Value(nums[0][0]), nums[0][1], nums[1][0], np.float32(nums[1][1])],
         "rows": [[Value(nums[0][0]), nums[0][1]], [nums[1][0], Value(nums[1][1])]],
         "object_array": np.array([[Value(nums[0][0]), nums[0][1]], [nums[1][0], nums[1][1]]], dtype=object),
         "number_row": [[nums[0][0], nums[0][1]], [Value(nums[1][0]), nums[1][1]]]}[form]
    expected = getattr(TF, name)(torch.tensor(nums, dtype=torch.float64), **kw).numpy()
    out = values(getattr(F, name)(x, **kw))
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="str"):
        getattr(F, name)([Value(1.0), "2"], **kw)


@pytest.mark.parametrize("bad", [-1, -4, 4])
def test_embedding_refuses_ids_out_of_range_negative_ones_too_as_torch(bad):
    w = np.arange(12.0).reshape(4, 3)
    with pytest.raises(IndexError, match=str(bad)):
        F.embedding(np.array([0, bad]), Tensor(w))
    with pytest.raises(IndexError):  # the oracle refuses the same ids
        torch.nn.functional.embedding(torch.tensor([0, bad]), torch.tensor(w))
