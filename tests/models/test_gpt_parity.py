"""One GPT definition, two engines and PyTorch: from one seed, in float64, the scalar and tensor models give the
same logits, the same gradient for every parameter and the same parameters after Adam steps (to 1e-10); the
tensor model's state dict, loaded into a PyTorch GPT written here, gives the same logits and gradients.

The scalar cases are tiny (vocabulary 7, T <= 4) so that they run in seconds."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from naivegrad import optim
from naivegrad.models import GPT
from naivegrad.nn.losses import cross_entropy
from naivegrad.scalar import Value

TOL = dict(rtol=0, atol=1e-10)
SMALL = dict(vocab_size=7, block_size=4, n_layer=2, n_embd=8, n_head=2)


def logits_of(out):
    if isinstance(out, list):
        return np.vectorize(lambda v: v.data, otypes=[float])(np.array(out, dtype=object))
    return out.data


def pair(**kw):
    return (GPT(backend="scalar", seed=0, **kw), GPT(backend="tensor", seed=0, dtype=np.float64, **kw))


def batch(vocab, b, t, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, size=(b, t)), rng.integers(0, vocab, size=(b, t))


# ---------------------------------------------------------------------------- PyTorch's GPT, written out
class TorchAttention(torch.nn.Module):
    def __init__(self, c, n_head):
        super().__init__()
        self.n_head = n_head
        self.wq, self.wk, self.wv, self.wo = (torch.nn.Linear(c, c, bias=False, dtype=torch.float64)
                                              for _ in range(4))

    def forward(self, x):
        B, T, C = x.shape

        def heads(t):
            return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

        y = TF.scaled_dot_product_attention(heads(self.wq(x)), heads(self.wk(x)), heads(self.wv(x)),
                                            is_causal=True)
        return self.wo(y.transpose(1, 2).reshape(B, T, C))


class TorchMLP(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = torch.nn.Linear(c, 4 * c, bias=False, dtype=torch.float64)
        self.fc2 = torch.nn.Linear(4 * c, c, bias=False, dtype=torch.float64)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class TorchBlock(torch.nn.Module):
    def __init__(self, c, n_head):
        super().__init__()
        self.attn, self.mlp = TorchAttention(c, n_head), TorchMLP(c)
        self.norm = torch.nn.RMSNorm(c, eps=1e-5, elementwise_affine=False)

    def forward(self, x):
        x = x + self.attn(self.norm(x))
        return x + self.mlp(self.norm(x))


class TorchGPT(torch.nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_embd, n_head):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab_size, n_embd, dtype=torch.float64)
        self.wpe = torch.nn.Embedding(block_size, n_embd, dtype=torch.float64)
        self.norm = torch.nn.RMSNorm(n_embd, eps=1e-5, elementwise_affine=False)
        self.layers = torch.nn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)])
        self.lm_head = torch.nn.Linear(n_embd, vocab_size, bias=False, dtype=torch.float64)

    def forward(self, idx):
        x = self.norm(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
        for block in self.layers:
            x = block(x)
        return self.lm_head(x)


def torch_twin(model, **kw):
    twin = TorchGPT(**kw)
    twin.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()}, strict=True)
    return twin


# ---------------------------------------------------------------------------- the two engines
@pytest.mark.parametrize("kw, b, t", [(SMALL, 2, 4), (dict(vocab_size=5), 1, 4), (SMALL, 3, 1)])
def test_logits_and_every_gradient_agree_between_the_engines(kw, b, t):
    s, tm = pair(**kw)
    for k, v in s.state_dict().items():
        np.testing.assert_array_equal(v, tm.state_dict()[k])
    x, y = batch(kw["vocab_size"], b, t)
    ls, lt = s(x), tm(x)
    np.testing.assert_allclose(logits_of(ls), logits_of(lt), **TOL)
    assert logits_of(lt).shape == (b, t, kw["vocab_size"])
    loss_s, loss_t = cross_entropy(ls, y), cross_entropy(lt, y)
    np.testing.assert_allclose(loss_s.data, float(loss_t.data), **TOL)
    loss_s.backward()
    loss_t.backward()
    gs, gt = s.grad_dict(), tm.grad_dict()
    assert list(gs) == list(gt)
    for k in gs:
        np.testing.assert_allclose(gs[k], gt[k], **TOL, err_msg=k)
        if t > 1:  # (with one position attention's softmax is 1 whatever q and k: wq, wk get no gradient)
            assert np.any(gs[k] != 0), k  # every parameter is reached


def test_five_adam_steps_give_the_same_parameters_on_both_engines():
    s, tm = pair(**SMALL)
    opts = [optim.Adam(m.parameters(), lr=1e-2) for m in (s, tm)]
    x, y = batch(SMALL["vocab_size"], 2, 4, seed=1)
    for _ in range(5):
        losses = []
        for m, opt in zip((s, tm), opts):
            opt.zero_grad()
            loss = cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.data))
        np.testing.assert_allclose(losses[0], losses[1], **TOL)
    assert losses[0] < np.log(SMALL["vocab_size"])
    st, tt = s.state_dict(), tm.state_dict()
    for k in st:
        np.testing.assert_allclose(st[k], tt[k], **TOL, err_msg=k)


# ---------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize("kw, b, t", [(SMALL, 3, 4), (dict(vocab_size=27), 2, 16)])
def test_the_state_dict_in_a_pytorch_gpt_gives_the_same_logits_and_gradients(kw, b, t):
    model = GPT(backend="tensor", seed=0, dtype=np.float64, **kw)
    full = {**dict(block_size=16, n_layer=1, n_embd=16, n_head=4), **kw}
    twin = torch_twin(model, **full)
    x, y = batch(kw["vocab_size"], b, t)
    logits = model(x)
    ref = twin(torch.tensor(x))
    np.testing.assert_allclose(logits.data, ref.detach().numpy(), **TOL)
    cross_entropy(logits, y).backward()
    TF.cross_entropy(ref.reshape(-1, kw["vocab_size"]), torch.tensor(y).reshape(-1)).backward()
    theirs = dict(twin.named_parameters())
    for k, g in model.grad_dict().items():
        np.testing.assert_allclose(g, theirs[k].grad.numpy(), **TOL, err_msg=k)


def test_the_default_model_is_microgpts():
    model = GPT(27)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert shapes == {
        "wte.weight": (27, 16), "wpe.weight": (16, 16),
        "layers.0.attn.wq.weight": (16, 16), "layers.0.attn.wk.weight": (16, 16),
        "layers.0.attn.wv.weight": (16, 16), "layers.0.attn.wo.weight": (16, 16),
        "layers.0.mlp.fc1.weight": (64, 16), "layers.0.mlp.fc2.weight": (16, 64),
        "lm_head.weight": (27, 16),
    }
    assert sum(v.size for v in model.state_dict().values()) == 4192  # microgpt's parameter count
    assert model(np.zeros((2, 3), dtype=int)).data.dtype == np.float32
    w = model.state_dict()["layers.0.attn.wq.weight"]
    assert 0.06 < w.std() < 0.10 and abs(w.mean()) < 0.02


def test_a_float32_model_agrees_with_float64():
    a = GPT(7, block_size=4, n_embd=8, n_head=2)
    b = GPT(7, block_size=4, n_embd=8, n_head=2, dtype=np.float64)
    x = [[1, 2, 3, 4]]
    np.testing.assert_allclose(a(x).data, b(x).data, atol=1e-5)


# ---------------------------------------------------------------------------- inputs and errors
@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def test_one_sequence_in_gives_one_sequence_of_logits_out(backend):
    model = GPT(backend=backend, **SMALL)
    one = logits_of(model([1, 2, 3]))
    assert one.shape == (3, 7)
    np.testing.assert_allclose(one, logits_of(model([[1, 2, 3]]))[0], atol=1e-6)


@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def test_bad_token_ids_and_long_sequences_raise_value_errors_naming_the_value(backend):
    model = GPT(backend=backend, **SMALL)
    with pytest.raises(ValueError, match=r"token id 7 is out of range for 7 tokens"):
        model([[0, 7]])
    with pytest.raises(ValueError, match=r"token id -2 "):
        model([[-2]])
    with pytest.raises(ValueError, match=r"sequence length T=5 exceeds block_size=4"):
        model([[0, 1, 2, 3, 4]])
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        model(np.zeros((1, 1, 2), dtype=int))
    with pytest.raises(TypeError, match="integers"):
        model([[0.5, 1.0]])
    with pytest.raises(ValueError, match="n_head=3 must divide n_embd=8"):
        GPT(7, n_embd=8, n_head=3)


# ---------------------------------------------------------------------------- generate
def test_generate_samples_the_same_tokens_on_both_engines_and_crops_the_context():
    s, tm = pair(**SMALL)
    out_s = s.generate([[1, 2]], 6, seed=3)
    out_t = tm.generate([[1, 2]], 6, seed=3)
    assert out_s.shape == (1, 8)
    np.testing.assert_array_equal(out_s, out_t)
    np.testing.assert_array_equal(out_s[:, :2], [[1, 2]])
    assert out_s.max() < 7 and out_s.min() >= 0
    greedy = tm.generate([3], 5, temperature=0)
    assert greedy.shape == (6,)
    np.testing.assert_array_equal(greedy, tm.generate([3], 5, temperature=0))
    assert not any(isinstance(p.grad, np.ndarray) for p in tm.parameters())  # no graph, no gradients
    with pytest.raises(ValueError, match="temperature"):
        tm.generate([1], 2, temperature=-1.0)


# ---------------------------------------------------------------------------- options
@pytest.mark.parametrize("options", [
    dict(norm="layernorm", bias=True),
    dict(tie_weights=True),
    dict(dropout=0.2),
    dict(activation="gelu", n_layer=1),
])
def test_options_keep_the_engines_in_agreement(options):
    s, tm = pair(**{**SMALL, **options})
    assert list(s.state_dict()) == list(tm.state_dict())
    x, y = batch(SMALL["vocab_size"], 2, 3)
    ls, lt = s(x), tm(x)
    np.testing.assert_allclose(logits_of(ls), logits_of(lt), **TOL)
    cross_entropy(ls, y).backward()
    cross_entropy(lt, y).backward()
    for k, g in s.grad_dict().items():
        np.testing.assert_allclose(g, tm.grad_dict()[k], **TOL, err_msg=k)


def test_tied_weights_are_one_parameter():
    model = GPT(7, block_size=4, n_embd=8, n_head=2, tie_weights=True)
    assert model.lm_head.weight is model.wte.weight
    assert "lm_head.weight" in model.state_dict()
    assert len(model.parameters()) == len(GPT(7, block_size=4, n_embd=8, n_head=2).parameters()) - 1


def test_layernorm_option_names_its_parameters_as_nanogpt_does():
    names = list(GPT(7, block_size=4, n_embd=8, n_head=2, norm="layernorm", bias=True).state_dict())
    assert {"ln_emb.weight", "ln_emb.bias", "layers.0.ln_1.weight", "layers.0.ln_2.bias",
            "layers.0.attn.wq.bias", "layers.0.mlp.fc1.bias"} <= set(names)
    assert "lm_head.bias" not in names


def test_scalar_logits_are_nested_lists_of_values():
    out = GPT(backend="scalar", **SMALL)([[1, 2]])
    assert isinstance(out, list) and isinstance(out[0], list) and isinstance(out[0][0], list)
    assert isinstance(out[0][0][0], Value)


def test_a_model_moves_between_engines_with_its_weights():
    model = GPT(dtype=np.float64, **SMALL)
    x = [[1, 2, 3]]
    before = logits_of(model(x))
    np.testing.assert_allclose(logits_of(model.to("scalar")(x)), before, **TOL)
    np.testing.assert_allclose(logits_of(model.to("tensor", dtype=np.float64)(x)), before, **TOL)
