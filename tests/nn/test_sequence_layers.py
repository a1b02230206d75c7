"""The sequence layers (Embedding, LayerNorm, RMSNorm, Dropout, CausalSelfAttention, GELU) and batches of any
rank (B, T, C) on both backends, against PyTorch: values, gradients (of the input and the parameters) and
train/eval behaviour. float64 throughout; the scalar cases are small."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from naivegrad.nn.activation import GELU
from naivegrad.nn.attention import CausalSelfAttention
from naivegrad.nn.dropout import Dropout
from naivegrad.nn.embedding import Embedding
from naivegrad.nn.layers import MLP, Linear, ReLU, Tanh
from naivegrad.nn.losses import cross_entropy, nll_loss
from naivegrad.nn.normalization import LayerNorm, RMSNorm
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

BACKENDS = ["scalar", "tensor"]
TOL = dict(rtol=0, atol=1e-10)


def data_of(out):
    """A module's output as a float array: a Tensor's data, or the numbers of nested lists of Values."""
    if isinstance(out, Tensor):
        return out.data
    return np.vectorize(lambda v: v.data if isinstance(v, Value) else v, otypes=[float])(np.array(out, dtype=object))


def leaf_input(x, backend):
    """``x`` as an input whose gradient can be read back: a Tensor, or an object array of Values."""
    if backend == "tensor":
        return Tensor(x, requires_grad=True)
    flat = np.empty(x.size, dtype=object)
    flat[:] = [Value(float(v)) for v in x.ravel()]
    return flat.reshape(x.shape)


def grad_of(x):
    if isinstance(x, Tensor):
        return x.grad
    return np.vectorize(lambda v: v.grad, otypes=[float])(x)


def weighted_sum(out, w):
    """sum(out * w) on either engine: a scalar to call backward on, with a different weight per element."""
    if isinstance(out, Tensor):
        return (out * Tensor(w, requires_grad=False)).sum()
    from naivegrad.scalar import dot
    vals = np.array(out, dtype=object).ravel().tolist()
    return dot(vals, w.ravel().tolist())


def torch_params(module):
    return {k: torch.tensor(v, requires_grad=True) for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------------- batches of any rank
@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_maps_the_last_axis_of_a_b_t_c_batch_as_torch(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4))
    lin = Linear(4, 5, backend=backend, dtype=np.float64, seed=1)
    xin = leaf_input(x, backend)
    out = lin(xin)
    w = rng.normal(size=(2, 3, 5))
    weighted_sum(out, w).backward()
    p = torch_params(lin)
    X = torch.tensor(x, requires_grad=True)
    ref = TF.linear(X, p["weight"], p["bias"])
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(data_of(out), ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(grad_of(xin), X.grad.numpy(), **TOL)
    for k, g in lin.grad_dict().items():
        np.testing.assert_allclose(g, p[k].grad.numpy(), **TOL)


def test_a_scalar_linear_layer_on_sequences_is_one_dot_node_per_output():
    lin = Linear(4, 3, backend="scalar", seed=0)
    out = lin(np.ones((2, 5, 4)))
    flat = np.array(out, dtype=object).ravel().tolist()
    assert len(flat) == 2 * 5 * 3
    assert all(v._op.startswith("dot") for v in flat)


def test_micrograds_mlp_still_takes_rows_of_features_only_on_the_scalar_backend():
    model = MLP(2, [3, 1], backend="scalar", seed=0)
    with pytest.raises(ValueError, match="flatten the samples first"):
        model(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_activations_take_batches_of_any_rank(backend):
    x = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    np.testing.assert_allclose(data_of(ReLU(backend=backend)(x)), np.maximum(x, 0), **TOL)
    np.testing.assert_allclose(data_of(Tanh(backend=backend)(x)), np.tanh(x), atol=1e-7)


def test_nested_lists_of_values_of_rank_three_are_a_batch_on_the_scalar_backend():
    x = [[[Value(1.0), Value(2.0)], [Value(3.0), 4.0]]]          # (1, 2, 2), numbers mixed in
    out = LayerNorm(2, backend="scalar")(x)
    np.testing.assert_allclose(data_of(out), [[[-1.0, 1.0], [-1.0, 1.0]]], atol=1e-4)
    with pytest.raises(TypeError, match="real numbers or Values"):
        LayerNorm(2, backend="scalar")([[["a", "b"]]])


# ---------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("backend", BACKENDS)
def test_embedding_matches_torch_and_accumulates_repeated_ids(backend):
    emb = Embedding(5, 3, backend=backend, dtype=np.float64, seed=0)
    ids = np.array([[1, 2, 1], [4, 0, 1]])
    out = emb(ids)
    assert data_of(out).shape == (2, 3, 3)
    w = np.random.default_rng(1).normal(size=(2, 3, 3))
    weighted_sum(out, w).backward()
    ref = torch.nn.Embedding(5, 3, dtype=torch.float64)
    ref.weight.data = torch.tensor(emb.state_dict()["weight"])
    r = ref(torch.tensor(ids))
    (r * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(data_of(out), r.detach().numpy(), **TOL)
    np.testing.assert_allclose(emb.grad_dict()["weight"], ref.weight.grad.numpy(), **TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_embedding_takes_ids_of_any_shape_and_names_an_id_out_of_range(backend):
    emb = Embedding(5, 3, backend=backend, seed=0)
    assert np.shape(data_of(emb([0, 1, 2, 3]))) == (4, 3)
    assert np.shape(data_of(emb(3))) == (3,)
    with pytest.raises(IndexError, match=r"token id 5 is out of range for 5 embeddings"):
        emb([[0, 5]])
    with pytest.raises(IndexError, match=r"token id -1 "):
        emb([-1])
    with pytest.raises(TypeError, match="integers"):
        emb([0.5])


def test_embedding_weight_is_torch_layout_and_same_on_both_backends():
    s, t = (Embedding(7, 4, backend=b, seed=3) for b in BACKENDS)
    assert s.state_dict()["weight"].shape == (7, 4)
    np.testing.assert_array_equal(s.state_dict()["weight"], t.state_dict()["weight"])


# ---------------------------------------------------------------------------- LayerNorm and RMSNorm
def torch_reference(kind, x, params, **kw):
    if kind == "layernorm":
        return TF.layer_norm(x, kw["shape"], params.get("weight"), params.get("bias"), kw["eps"])
    return TF.rms_norm(x, kw["shape"], params.get("weight"), kw["eps"])


NORMS = [
    ("layernorm", dict(normalized_shape=4)),
    ("layernorm", dict(normalized_shape=(3, 4), eps=1e-3)),
    ("layernorm", dict(normalized_shape=4, bias=False)),
    ("layernorm", dict(normalized_shape=4, elementwise_affine=False)),
    ("rmsnorm", dict(normalized_shape=4)),                                       # eps None: machine epsilon
    ("rmsnorm", dict(normalized_shape=4, eps=1e-5, elementwise_affine=False)),   # microgpt's
    ("rmsnorm", dict(normalized_shape=(3, 4), eps=1e-2)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, kw", NORMS)
def test_norms_match_torch_values_and_gradients(backend, kind, kw):
    cls = LayerNorm if kind == "layernorm" else RMSNorm
    m = cls(backend=backend, dtype=np.float64, **kw)
    rng = np.random.default_rng(2)
    if m.state_dict():  # gains and biases away from 1 and 0, so that their gradients are tested
        m.load_state_dict({k: rng.normal(size=v.shape) for k, v in m.state_dict().items()})
    x = rng.normal(size=(2, 3, 4)) * 3 + 1
    xin = leaf_input(x, backend)
    out = m(xin)
    w = rng.normal(size=x.shape)
    weighted_sum(out, w).backward()
    p = torch_params(m)
    X = torch.tensor(x, requires_grad=True)
    shape = kw["normalized_shape"]
    shape = (shape,) if isinstance(shape, int) else shape
    eps = kw.get("eps", 1e-5 if kind == "layernorm" else None)
    ref = torch_reference(kind, X, p, shape=shape, eps=eps)
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(data_of(out), ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(grad_of(xin), X.grad.numpy(), **TOL)
    for k, g in m.grad_dict().items():
        np.testing.assert_allclose(g, p[k].grad.numpy(), **TOL)


def test_norm_parameters_are_named_as_torch():
    assert list(LayerNorm(4).state_dict()) == list(torch.nn.LayerNorm(4).state_dict())
    assert list(LayerNorm(4, bias=False).state_dict()) == list(torch.nn.LayerNorm(4, bias=False).state_dict())
    assert list(RMSNorm(4).state_dict()) == list(torch.nn.RMSNorm(4).state_dict())
    assert list(RMSNorm(4, elementwise_affine=False).state_dict()) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_norms_name_the_shape_they_take(backend):
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) takes input of shape \(\.\.\., 4\), got "
                                         r"shape \(2, 3\)"):
        LayerNorm(4, backend=backend)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="RMSNorm"):
        RMSNorm((2, 4), backend=backend)(np.zeros((2, 3, 4)))


def test_rmsnorm_float32_uses_float32_epsilon_like_torch():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32) * 1e-3
    out = RMSNorm(4)(x)
    ref = torch.nn.RMSNorm(4)(torch.tensor(x))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5)
    assert out.data.dtype == np.float32


# ---------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_zeroes_and_scales_in_training_and_is_the_identity_in_eval(backend):
    x = np.ones((4, 50))
    d = Dropout(0.25, backend=backend, seed=0)
    y = data_of(d(x))
    kept = y != 0
    assert 0.6 < kept.mean() < 0.9
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    d.eval()
    np.testing.assert_array_equal(data_of(d(x)), x)
    assert not d.training
    assert np.all(data_of(Dropout(1.0, backend=backend)(x)) == 0)
    np.testing.assert_array_equal(data_of(Dropout(0.0, backend=backend)(x)), x)


def test_dropout_drops_the_same_elements_on_both_backends_and_its_gradient_follows_the_mask():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    outs, grads = [], []
    for backend in BACKENDS:
        xin = leaf_input(x, backend)
        out = Dropout(0.5, backend=backend, seed=7)(xin)
        weighted_sum(out, np.ones_like(x)).backward()
        outs.append(data_of(out))
        grads.append(grad_of(xin))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], np.where(outs[0] != 0, 2.0, 0.0))


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True])
def test_dropout_probability_must_be_in_0_1(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(p)


# ---------------------------------------------------------------------------- attention
def torch_attention(x, p, n_head, causal=True):
    B, T, C = x.shape
    q, k, v = (TF.linear(x, p[f"{n}.weight"], p.get(f"{n}.bias")) for n in ("wq", "wk", "wv"))

    def heads(t):
        return t.view(B, T, n_head, C // n_head).transpose(1, 2)

    att = (heads(q) @ heads(k).transpose(-2, -1)) / np.sqrt(C // n_head)
    if causal:
        att = att.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    y = (att.softmax(-1) @ heads(v)).transpose(1, 2).reshape(B, T, C)
    return TF.linear(y, p["wo.weight"], p.get("wo.bias"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_head, bias, causal", [(2, False, True), (1, True, True), (4, False, False)])
def test_attention_matches_torch_values_and_gradients(backend, n_head, bias, causal):
    m = CausalSelfAttention(8, n_head, bias=bias, causal=causal, backend=backend, dtype=np.float64, seed=0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 8))
    xin = leaf_input(x, backend)
    out = m(xin)
    w = rng.normal(size=x.shape)
    weighted_sum(out, w).backward()
    p = torch_params(m)
    X = torch.tensor(x, requires_grad=True)
    ref = torch_attention(X, p, n_head, causal)
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(data_of(out), ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(grad_of(xin), X.grad.numpy(), **TOL)
    for k, g in m.grad_dict().items():
        np.testing.assert_allclose(g, p[k].grad.numpy(), **TOL)


def test_attention_is_causal_a_position_never_sees_a_later_one():
    m = CausalSelfAttention(4, 2, backend="tensor", dtype=np.float64, seed=0)
    x = np.random.default_rng(0).normal(size=(1, 5, 4))
    y = m(x).data
    x2 = x.copy()
    x2[0, 3:] += 10.0
    np.testing.assert_allclose(m(x2).data[0, :3], y[0, :3], **TOL)


def test_attention_names_its_weights_and_checks_its_heads():
    m = CausalSelfAttention(8, 2)
    assert {k: v.shape for k, v in m.state_dict().items()} == {f"w{n}.weight": (8, 8) for n in "qkvo"}
    with pytest.raises(ValueError, match=r"n_head=3 must divide n_embd=8"):
        CausalSelfAttention(8, 3)
    with pytest.raises(ValueError, match=r"takes input of shape \(B, T, 8\), got shape \(2, 8\)"):
        m(np.zeros((2, 8)))


# ---------------------------------------------------------------------------- GELU
def _has_gelu():
    return hasattr(Value, "gelu") and hasattr(Tensor, "gelu")


@pytest.mark.skipif(not _has_gelu(), reason="Value.gelu / Tensor.gelu not in the engines yet")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(backend, approximate):
    x = np.linspace(-3, 3, 12).reshape(2, 2, 3)
    xin = leaf_input(x, backend)
    out = GELU(approximate, backend=backend)(xin)
    weighted_sum(out, np.ones_like(x)).backward()
    X = torch.tensor(x, requires_grad=True)
    ref = TF.gelu(X, approximate=approximate)
    ref.sum().backward()
    np.testing.assert_allclose(data_of(out), ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(grad_of(xin), X.grad.numpy(), **TOL)


def test_gelu_checks_its_option():
    with pytest.raises(ValueError, match="approximate"):
        GELU("erf")


# ---------------------------------------------------------------------------- cross_entropy on (B, T, V)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", [cross_entropy, nll_loss])
def test_losses_take_b_t_v_logits_with_b_t_targets(backend, loss):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 3, 5))
    y = rng.integers(0, 5, size=(2, 3))
    zin = leaf_input(z, backend)
    logits = zin if backend == "tensor" else zin.tolist()
    out = loss(logits, y)
    out.backward()
    Z = torch.tensor(z, requires_grad=True)
    fn = TF.cross_entropy if loss is cross_entropy else TF.nll_loss
    ref = fn(Z.reshape(6, 5), torch.tensor(y).reshape(6))
    ref.backward()
    np.testing.assert_allclose(float(out.data), ref.item(), **TOL)
    np.testing.assert_allclose(grad_of(zin), Z.grad.numpy(), **TOL)
    with pytest.raises(ValueError, match=r"logits of shape \(2, 3, 5\) \(classes on the last axis\) need class "
                                         r"indices of shape \(2, 3\), got labels of shape \(6,\)"):
        loss(logits, y.reshape(6))
    with pytest.raises(ValueError, match="class label 5 out of range for 5 classes"):
        loss(logits, np.full((2, 3), 5))
