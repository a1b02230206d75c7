"""Small models written once for naivegrad Tensors and once for torch, for the tensor engine's second order
(tests/func/test_func_second_order_torch.py) and bench/bench_func.py: each ``MODELS[name]`` gives the
parameters (a dict of float64 arrays: a pytree), the data, and the loss on either library.

- mlp: a tanh MLP's mean squared error;
- cross_entropy: a linear classifier's log-softmax cross-entropy (indexing by the labels with ``gather``), and
  ``cross_entropy_fn``: the same through ``cross_entropy(logits, labels)``;
- logsumexp: the squared logsumexp of each row of a linear map;
- conv: conv2d, tanh, average pooling, a linear read-out;
- attention: one head of causal self-attention, softmax(Q K^T / sqrt d) V, masked with ``masked_fill``
  (``attention_where``: with ``where``).
"""

import math

import numpy as np


class Model:
    def __init__(self, name, params, data, loss):
        self.name, self.params, self.data, self._loss = name, params, data, loss

    def naivegrad_loss(self):
        from naivegrad import tensor as ng

        data = {k: ng.Tensor(v, requires_grad=False) if v.dtype.kind == "f" else v for k, v in self.data.items()}
        return lambda p: self._loss(_NG, p, data)

    def torch_loss(self):
        import torch

        data = {k: torch.tensor(v) for k, v in self.data.items()}
        return lambda p: self._loss(_TORCH, p, data)

    def torch_params(self):
        import torch

        return {k: torch.tensor(v) for k, v in self.params.items()}


class _Ops:
    """What differs between the two libraries."""

    def __init__(self, lib):
        self.lib = lib

    def conv2d(self, x, w, b):
        if self.lib == "torch":
            import torch.nn.functional as F

            return F.conv2d(x, w, b)
        return x.conv2d(w, b)

    def avg_pool2d(self, x, k):
        if self.lib == "torch":
            import torch.nn.functional as F

            return F.avg_pool2d(x, k)
        return x.avg_pool2d(k)

    def cross_entropy(self, logits, labels):
        if self.lib == "torch":
            import torch.nn.functional as F

            return F.cross_entropy(logits, labels)
        from naivegrad.tensor import cross_entropy

        return cross_entropy(logits, labels)

    def gather_rows(self, logp, labels):
        if self.lib == "torch":
            return logp.gather(1, labels.reshape(-1, 1))
        return logp.gather(1, labels.reshape(-1, 1))

    def where(self, mask, a, value):
        if self.lib == "torch":
            import torch

            return torch.where(mask, a, torch.tensor(value, dtype=a.dtype))
        from naivegrad.tensor import where

        return where(mask, a, value)


_NG, _TORCH = _Ops("naivegrad"), _Ops("torch")


def _mlp(ops, p, d):
    h = (d["x"] @ p["W1"] + p["b1"]).tanh()
    return ((h @ p["W2"] + p["b2"] - d["y"]) ** 2).mean()


def _cross_entropy(ops, p, d):
    logp = (d["x"] @ p["W"] + p["b"]).log_softmax(dim=1)
    return -ops.gather_rows(logp, d["labels"]).mean()


def _cross_entropy_fn(ops, p, d):
    return ops.cross_entropy(d["x"] @ p["W"] + p["b"], d["labels"])


def _logsumexp(ops, p, d):
    return ((d["x"] @ p["W"]).logsumexp(dim=1) ** 2).sum()


def _conv(ops, p, d):
    h = ops.conv2d(d["x"], p["w"], p["b"]).tanh()        # (2, 2, 4, 4)
    h = ops.avg_pool2d(h, 2).reshape(2, -1)                # (2, 8)
    return ((h @ p["V"]).tanh() ** 2).sum()


def _attention(ops, p, d, where=False):
    x = d["x"]
    q, k, v = x @ p["Wq"], x @ p["Wk"], x @ p["Wv"]
    s = (q @ k.T) / math.sqrt(q.shape[-1])
    s = ops.where(~d["causal"], s, -math.inf) if where else s.masked_fill(d["causal"], -math.inf)
    return ((s.softmax(dim=-1) @ v).tanh() ** 2).sum()


def _models():
    rng = np.random.default_rng(2024)
    r = lambda *s: rng.standard_normal(s)  # noqa: E731
    labels = np.array([0, 2, 1, 1, 0, 2])
    ce = ({"W": r(4, 3) * 0.7, "b": r(3) * 0.3}, {"x": r(6, 4), "labels": labels})
    T = 4
    causal = np.triu(np.ones((T, T), dtype=bool), 1)
    att = ({"Wq": r(3, 3) * 0.6, "Wk": r(3, 3) * 0.6, "Wv": r(3, 3) * 0.6}, {"x": r(T, 3), "causal": causal})
    return {m.name: m for m in [
        Model("mlp", {"W1": r(3, 4) * 0.6, "b1": r(4) * 0.2, "W2": r(4, 2) * 0.6, "b2": r(2) * 0.2},
              {"x": r(5, 3), "y": r(5, 2)}, _mlp),
        Model("cross_entropy", *ce, _cross_entropy),
        Model("cross_entropy_fn", *ce, _cross_entropy_fn),
        Model("logsumexp", {"W": r(4, 3) * 0.8}, {"x": r(5, 4)}, _logsumexp),
        Model("conv", {"w": r(2, 1, 3, 3) * 0.5, "b": r(2) * 0.2, "V": r(8, 1) * 0.5}, {"x": r(2, 1, 6, 6)}, _conv),
        Model("attention", *att, _attention),
        Model("attention_where", *att, lambda ops, p, d: _attention(ops, p, d, where=True)),
    ]}


MODELS = _models()
