"""makemore's models, Bigram and MLPLM, on both engines and against PyTorch (float64): logits, gradients,
Adam steps and batch norm's running statistics; their inputs, errors and ``generate``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from naivegrad import optim
from naivegrad.models import MLPLM, Bigram
from naivegrad.nn.losses import cross_entropy

TOL = dict(rtol=0, atol=1e-10)


def logits_of(out):
    if isinstance(out, list):
        return np.vectorize(lambda v: v.data, otypes=[float])(np.array(out, dtype=object))
    return out.data


def both(cls, **kw):
    return cls(backend="scalar", seed=0, **kw), cls(backend="tensor", seed=0, dtype=np.float64, **kw)


class TorchMLPLM(torch.nn.Module):
    def __init__(self, vocab_size, block_size, n_embd, n_hidden, batch_norm):
        super().__init__()
        f64 = dict(dtype=torch.float64)
        self.wte = torch.nn.Embedding(vocab_size, n_embd, **f64)
        self.fc1 = torch.nn.Linear(block_size * n_embd, n_hidden, bias=not batch_norm, **f64)
        self.bn = torch.nn.BatchNorm1d(n_hidden, **f64) if batch_norm else None
        self.fc2 = torch.nn.Linear(n_hidden, vocab_size, **f64)

    def forward(self, idx):
        h = self.fc1(self.wte(idx).flatten(1))
        if self.bn is not None:
            h = self.bn(h)
        return self.fc2(torch.tanh(h))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlplm_trains_identically_on_both_engines_and_in_pytorch(batch_norm):
    kw = dict(vocab_size=6, block_size=3, n_embd=2, n_hidden=5, batch_norm=batch_norm)
    s, t = both(MLPLM, **kw)
    twin = TorchMLPLM(**kw)
    twin.load_state_dict({k: torch.tensor(v) for k, v in t.state_dict().items()}, strict=True)
    opts = [optim.Adam(m.parameters(), lr=0.05) for m in (s, t)] + [torch.optim.Adam(twin.parameters(), lr=0.05)]
    rng = np.random.default_rng(0)
    for step in range(4):
        x, y = rng.integers(0, 6, size=(4, 3)), rng.integers(0, 6, size=4)
        if step == 3:  # evaluation: batch norm reads its running statistics
            for m in (s, t, twin):
                m.eval()
        outs = []
        for m, opt in zip((s, t), opts):
            opt.zero_grad()
            logits = m(x)
            loss = cross_entropy(logits, y)
            loss.backward()
            opt.step()
            outs.append((logits_of(logits), float(loss.data)))
        opts[2].zero_grad()
        ref = twin(torch.tensor(x))
        ref_loss = TF.cross_entropy(ref, torch.tensor(y))
        ref_loss.backward()
        opts[2].step()
        for logits, loss in outs:
            np.testing.assert_allclose(logits, ref.detach().numpy(), **TOL)
            np.testing.assert_allclose(loss, ref_loss.item(), **TOL)
    theirs = twin.state_dict()
    for m in (s, t):
        state = m.state_dict()
        assert list(state) == list(theirs)
        for k, v in state.items():
            np.testing.assert_allclose(v, theirs[k].numpy(), rtol=0, atol=1e-9, err_msg=k)


def test_mlplm_takes_exactly_its_context_and_generate_pads_a_short_prompt():
    s, t = both(MLPLM, vocab_size=5, block_size=3, n_embd=2, n_hidden=4)
    assert logits_of(t([[0, 1, 2], [2, 3, 4]])).shape == (2, 5)
    assert logits_of(s([0, 1, 2])).shape == (5,)
    with pytest.raises(ValueError, match=r"exactly block_size=3 tokens, got T=2"):
        t([[0, 1]])
    with pytest.raises(ValueError, match=r"token id 5 is out of range for 5 tokens"):
        s([[0, 1, 5]])
    out_s, out_t = s.generate([[1]], 5, seed=0), t.generate([[1]], 5, seed=0)
    np.testing.assert_array_equal(out_s, out_t)
    assert out_s.shape == (1, 6) and out_s[0, 0] == 1
    with pytest.raises(ValueError, match="pad_id"):
        MLPLM(5, pad_id=5)


def test_bigram_is_a_table_of_logits_on_both_engines_and_as_pytorch():
    s, t = both(Bigram, vocab_size=5)
    x = np.array([[0, 1, 2, 1], [4, 4, 3, 0]])
    y = np.array([[1, 2, 1, 0], [4, 3, 0, 0]])
    W = torch.tensor(t.state_dict()["wte.weight"], requires_grad=True)
    ref = W[torch.tensor(x)]
    TF.cross_entropy(ref.reshape(-1, 5), torch.tensor(y).reshape(-1)).backward()
    for m in (s, t):
        logits = m(x)
        np.testing.assert_allclose(logits_of(logits), ref.detach().numpy(), **TOL)
        cross_entropy(logits, y).backward()
        np.testing.assert_allclose(m.grad_dict()["wte.weight"], W.grad.numpy(), **TOL)
    assert list(s.state_dict()) == ["wte.weight"]
    np.testing.assert_array_equal(s.generate([0], 8, seed=1), t.generate([0], 8, seed=1))
    assert logits_of(t(np.zeros((1, 50), dtype=int))).shape == (1, 50, 5)  # any length


def test_generate_checks_its_arguments():
    model = Bigram(4)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate([0], -1)
    with pytest.raises(ValueError, match="at least one position"):
        model.generate(np.zeros((1, 0), dtype=int), 3)
    np.testing.assert_array_equal(model.generate([[2]], 0), [[2]])


def test_a_batch_norm_model_saves_and_loads_its_running_statistics(tmp_path):
    model = MLPLM(5, n_embd=2, n_hidden=4, batch_norm=True)
    model(np.array([[0, 1, 2], [2, 3, 4], [1, 1, 0]]))
    path = tmp_path / "mlplm.npz"
    model.save(path)
    other = MLPLM(5, n_embd=2, n_hidden=4, batch_norm=True, seed=1).load(path)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v, err_msg=k)
    assert int(other.bn.num_batches_tracked) == 1
