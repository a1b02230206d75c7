"""GPT training steps (issue #15): ``naivegrad.models.GPT`` against a micrograd-style scalar GPT and PyTorch.

- ``gpt-scalar-step``: one training step of microgpt's default GPT (vocabulary 27, block_size 16, 1 layer,
  n_embd 16, 4 heads: forward, cross-entropy, backward, Adam with microgpt's lr 0.01 and betas (0.85, 0.99))
  on one name (``christopher``: BOS, 11 letters, BOS, so 12 positions to predict) on the scalar backend,
  against the same model written microgpt's way below: its own tiny micrograd ``Value`` class (a
  ``_backward`` closure per node, a topological sort, no fused nodes), microgpt's ``linear`` / ``softmax`` /
  ``rmsnorm`` / attention loops and its per-parameter Adam loop. Both start from the same weights (the
  naivegrad model's state dict); ``bench_gpt_scalar_same_computation`` checks that they compute the same
  losses and updated weights. Target: naivegrad at least 5x faster. Code in micrograd's style makes
  reference cycles (each node's closure holds the node), so Python's cyclic collector runs full collections
  over the growing graph while it is built; a second baseline runs the same code with the collector off
  (``gc.disable()``): its engine's cost alone, a stricter comparison.
- ``gpt-tensor-step``: one training step of a makemore-size GPT on the tensor engine (B=32, T=16, n_embd 64,
  4 layers, 4 heads, vocabulary 27, float32, AdamW), against its PyTorch twin written below (the same
  architecture and weights; attention through ``scaled_dot_product_attention``, as nanoGPT does). Both
  libraries get the same number of threads: numpy's BLAS (set through threadpoolctl)
  and ``torch.set_num_threads``, at 1 and at the count numpy's OpenBLAS starts with (the cores: 2 on this
  project's machine). On a shared machine the 2-thread runs swing wildly: both libraries' worker threads spin
  while they wait for a core. Target: at most 1.5x PyTorch's time. Skipped without torch.

Each group's ratio column is the speed ratio (both run in one process). The numbers for the README, with
peak memory, come from running this file as a script (medians of interleaved repeats; memory measured in
fresh subprocesses; ``python bench/bench_gpt.py 9`` for 9 repeats)::

    pytest bench/bench_gpt.py -p no:cacheprovider        # the benchmark groups
    python bench/bench_gpt.py                             # medians of repeated ratios, and peak memory
"""

import gc
import math
import os
import statistics
import sys
import time
from contextlib import contextmanager

import numpy as np
import pytest

from naivegrad import nn, optim
from naivegrad.models import GPT

# ---------------------------------------------------------------------------------------------- settings
SCALAR_CONFIG = dict(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4)  # microgpt's
TENSOR_CONFIG = dict(vocab_size=27, block_size=16, n_layer=4, n_embd=64, n_head=4)  # makemore's size
BATCH = 32
NAME = "christopher"  # 11 letters: with the BOS token before and after it, 12 positions to predict
ADAM = dict(lr=0.01, betas=(0.85, 0.99), eps=1e-8)  # microgpt's
ADAMW = dict(lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)


def name_tokens(name=NAME):
    """microgpt's tokens: BOS (0, as makemore's '.'), the letters 1..26, BOS."""
    return [0] + [ord(c) - ord("a") + 1 for c in name] + [0]


# ---------------------------------------------------------------------------------------------- baseline
class MicroValue:
    """micrograd's Value: one node per op, its backward a closure; ``backward`` sorts the graph first."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data, children=()):
        self.data = data
        self.grad = 0.0
        self._backward = _noop
        self._prev = children

    def __add__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        out = MicroValue(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        out = MicroValue(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = MicroValue(self.data ** k, (self,))

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = MicroValue(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = MicroValue(math.log(self.data), (self,))

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def relu(self):
        out = MicroValue(self.data if self.data > 0 else 0.0, (self,))

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        # micrograd's topological sort, iterative (the graph is a few hundred nodes deep)
        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif id(v) not in visited:
                visited.add(id(v))
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev if id(c) not in visited)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


def _noop():
    pass


class MicroGPT:
    """microgpt's model and training step, on ``MicroValue``, from a naivegrad GPT's state dict."""

    def __init__(self, state, n_layer, n_head):
        def matrix(name):
            return [[MicroValue(float(x)) for x in row] for row in state[name].tolist()]
        self.n_layer, self.n_head = n_layer, n_head
        self.sd = {"wte": matrix("wte.weight"), "wpe": matrix("wpe.weight"), "lm_head": matrix("lm_head.weight")}
        for i in range(n_layer):
            for w in ("wq", "wk", "wv", "wo"):
                self.sd[f"layer{i}.attn_{w}"] = matrix(f"layers.{i}.attn.{w}.weight")
            self.sd[f"layer{i}.mlp_fc1"] = matrix(f"layers.{i}.mlp.fc1.weight")
            self.sd[f"layer{i}.mlp_fc2"] = matrix(f"layers.{i}.mlp.fc2.weight")
        self.params = [p for mat in self.sd.values() for row in mat for p in row]
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.t = 0

    def gpt(self, token_id, pos_id, keys, values):
        sd, n_head = self.sd, self.n_head
        x = [t + p for t, p in zip(sd["wte"][token_id], sd["wpe"][pos_id])]
        x = rmsnorm(x)
        for li in range(self.n_layer):
            x_residual = x
            x = rmsnorm(x)
            q = linear(x, sd[f"layer{li}.attn_wq"])
            k = linear(x, sd[f"layer{li}.attn_wk"])
            v = linear(x, sd[f"layer{li}.attn_wv"])
            keys[li].append(k)
            values[li].append(v)
            head_dim = len(x) // n_head
            x_attn = []
            for h in range(n_head):
                hs = h * head_dim
                q_h = q[hs:hs + head_dim]
                k_h = [ki[hs:hs + head_dim] for ki in keys[li]]
                v_h = [vi[hs:hs + head_dim] for vi in values[li]]
                attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim ** 0.5
                               for t in range(len(k_h))]
                attn_weights = softmax(attn_logits)
                x_attn.extend(sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim))
            x = linear(x_attn, sd[f"layer{li}.attn_wo"])
            x = [a + b for a, b in zip(x, x_residual)]
            x_residual = x
            x = rmsnorm(x)
            x = [xi.relu() for xi in linear(x, sd[f"layer{li}.mlp_fc1"])]
            x = linear(x, sd[f"layer{li}.mlp_fc2"])
            x = [a + b for a, b in zip(x, x_residual)]
        return linear(x, sd["lm_head"])

    def step(self, tokens, lr, betas, eps):
        """microgpt's training step on one document's tokens; returns the loss's value."""
        n = min(len(self.sd["wpe"]), len(tokens) - 1)
        keys, values = [[] for _ in range(self.n_layer)], [[] for _ in range(self.n_layer)]
        losses = []
        for pos_id in range(n):
            logits = self.gpt(tokens[pos_id], pos_id, keys, values)
            probs = softmax(logits)
            losses.append(-probs[tokens[pos_id + 1]].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        beta1, beta2 = betas
        self.t += 1
        m, v, t = self.m, self.v, self.t
        for i, p in enumerate(self.params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
            m_hat = m[i] / (1 - beta1 ** t)
            v_hat = v[i] / (1 - beta2 ** t)
            p.data -= lr * m_hat / (v_hat ** 0.5 + eps)
            p.grad = 0.0
        return loss.data


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


# ---------------------------------------------------------------------------------------------- naivegrad
def scalar_model():
    model = GPT(backend="scalar", seed=0, **SCALAR_CONFIG)
    return model, optim.Adam(model.parameters(), **ADAM)


def scalar_step(model, opt, tokens):
    """One training step of the scalar GPT on one document; returns the loss's value."""
    n = min(model.block_size, len(tokens) - 1)
    loss = nn.cross_entropy(model([tokens[:n]]), [tokens[1:n + 1]])
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.data


def tensor_batch(seed=0):
    """B windows of T + 1 tokens from the names corpus (names joined by BOS): inputs and targets (B, T)."""
    from naivegrad.data import names

    T = TENSOR_CONFIG["block_size"]
    stream = np.array([t for w in names()[:2000] for t in name_tokens(w)[1:]], dtype=np.int64)
    starts = np.random.default_rng(seed).integers(0, len(stream) - T - 1, size=BATCH)
    windows = np.stack([stream[s:s + T + 1] for s in starts])
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:])


def tensor_model():
    model = GPT(backend="tensor", seed=0, dtype=np.float32, **TENSOR_CONFIG)
    return model, optim.AdamW(model.parameters(), **ADAMW)


def tensor_step(model, opt, x, y):
    loss = nn.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.data)


# ---------------------------------------------------------------------------------------------- torch
def numpy_blas_threads():
    """The number of threads numpy's BLAS uses now (os.cpu_count() if threadpoolctl finds none)."""
    from threadpoolctl import threadpool_info

    counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
    return counts[0] if counts else os.cpu_count() or 1


DEFAULT_THREADS = numpy_blas_threads()  # at import, before any change


@contextmanager
def threads(n):
    """numpy's BLAS and torch both on ``n`` threads inside the block; restored after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def torch_twin(model):
    """The PyTorch GPT with ``model``'s architecture (microgpt's options) and weights, float32, and its AdamW."""
    import torch
    import torch.nn.functional as F

    C, H = model.n_embd, model.n_head

    def rmsnorm(x):
        return F.rms_norm(x, (C,), eps=1e-5)

    class Attention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wq, self.wk, self.wv, self.wo = (torch.nn.Linear(C, C, bias=False) for _ in range(4))

        def forward(self, x):
            B, T, _ = x.shape

            def heads(t):
                return t.view(B, T, H, C // H).transpose(1, 2)

            y = F.scaled_dot_product_attention(heads(self.wq(x)), heads(self.wk(x)), heads(self.wv(x)),
                                               is_causal=True)
            return self.wo(y.transpose(1, 2).reshape(B, T, C))

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = torch.nn.Linear(C, 4 * C, bias=False), torch.nn.Linear(4 * C, C, bias=False)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn, self.mlp = Attention(), MLP()

        def forward(self, x):
            x = x + self.attn(rmsnorm(x))
            return x + self.mlp(rmsnorm(x))

    class TorchGPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = torch.nn.Embedding(model.vocab_size, C)
            self.wpe = torch.nn.Embedding(model.block_size, C)
            self.layers = torch.nn.ModuleList(Block() for _ in range(model.n_layer))
            self.lm_head = torch.nn.Linear(C, model.vocab_size, bias=False)

        def forward(self, idx):
            x = rmsnorm(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
            for block in self.layers:
                x = block(x)
            return self.lm_head(x)

    twin = TorchGPT()
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in model.state_dict().items()})
    return twin, torch.optim.AdamW(twin.parameters(), **ADAMW)


def torch_step(twin, opt, x, y):
    import torch
    import torch.nn.functional as F

    logits = twin(x)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


# ---------------------------------------------------------------------------------------------- runners
RUNNERS = ("scalar-micro", "scalar-micro-gc-off", "scalar-naivegrad", "tensor-naivegrad", "tensor-torch")


def runner(which):
    """A fresh model and optimizer for one of ``RUNNERS``, as a callable that takes one training step."""
    if which.startswith("scalar-micro"):
        tokens = name_tokens()
        micro = MicroGPT(scalar_model()[0].state_dict(), SCALAR_CONFIG["n_layer"], SCALAR_CONFIG["n_head"])
        if which == "scalar-micro":
            return lambda: micro.step(tokens, **ADAM)

        def step_without_collector():
            was = gc.isenabled()
            gc.disable()
            try:
                return micro.step(tokens, **ADAM)
            finally:
                if was:
                    gc.enable()
        return step_without_collector
    if which == "scalar-naivegrad":
        tokens = name_tokens()
        model, opt = scalar_model()
        return lambda: scalar_step(model, opt, tokens)
    x, y = tensor_batch()
    if which == "tensor-naivegrad":
        model, opt = tensor_model()
        return lambda: tensor_step(model, opt, x, y)
    if which == "tensor-torch":
        import torch

        twin, opt = torch_twin(tensor_model()[0])
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        return lambda: torch_step(twin, opt, xt, yt)
    raise ValueError(f"runner must be one of {RUNNERS}, got {which!r}")


# ---------------------------------------------------------------------------------------------- benchmarks
def _bench(benchmark, step, rounds):
    def setup():
        gc.collect()  # the previous round's garbage is not billed to this one
        return (), {}

    return benchmark.pedantic(step, setup=setup, rounds=rounds, warmup_rounds=1)


SCALAR_GROUP = "gpt-scalar-step: microgpt's GPT on one name, forward + cross-entropy + backward + Adam"


@pytest.mark.parametrize("which", ["scalar-micro", "scalar-micro-gc-off", "scalar-naivegrad"])
def bench_gpt_scalar_step(benchmark, which):
    benchmark.group = SCALAR_GROUP
    loss = _bench(benchmark, runner(which), rounds=5)
    assert math.isfinite(loss)


THREADS = sorted({1, DEFAULT_THREADS})


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("which", ["tensor-torch", "tensor-naivegrad"])
def bench_gpt_tensor_step(benchmark, which, n_threads):
    pytest.importorskip("torch")
    benchmark.group = (f"gpt-tensor-step: B={BATCH} T=16 C=64 4 layers 4 heads, float32, AdamW; numpy and torch "
                       f"on {n_threads} thread(s)")
    benchmark.extra_info["threads"] = n_threads
    step = runner(which)
    with threads(n_threads):
        loss = _bench(benchmark, step, rounds=30)
    assert math.isfinite(loss)


# ---------------------------------------------------------------------------------------------- fairness
def bench_gpt_scalar_same_computation():
    """Both scalar steps compute the same loss and leave the same weights after Adam (not timed)."""
    tokens = name_tokens()
    model, opt = scalar_model()
    micro = MicroGPT(model.state_dict(), SCALAR_CONFIG["n_layer"], SCALAR_CONFIG["n_head"])
    for _ in range(2):
        ours, ref = scalar_step(model, opt, tokens), micro.step(tokens, **ADAM)
        assert math.isclose(ours, ref, rel_tol=1e-12)
    names = {"wte.weight": "wte", "wpe.weight": "wpe", "lm_head.weight": "lm_head"}
    for i in range(SCALAR_CONFIG["n_layer"]):
        names.update({f"layers.{i}.attn.{w}.weight": f"layer{i}.attn_{w}" for w in ("wq", "wk", "wv", "wo")})
        names.update({f"layers.{i}.mlp.{w}.weight": f"layer{i}.mlp_{w}" for w in ("fc1", "fc2")})
    state = model.state_dict()
    assert set(state) == set(names)
    for ours, theirs in names.items():
        ref = np.array([[p.data for p in row] for row in micro.sd[theirs]])
        np.testing.assert_allclose(state[ours], ref, rtol=0, atol=1e-12, err_msg=ours)


def bench_gpt_tensor_same_computation():
    """The PyTorch twin computes the same loss and takes the same steps (not timed)."""
    torch = pytest.importorskip("torch")
    x, y = tensor_batch()
    model, opt = tensor_model()
    twin, topt = torch_twin(model)
    for _ in range(3):
        ours, ref = tensor_step(model, opt, x, y), torch_step(twin, topt, torch.from_numpy(x), torch.from_numpy(y))
        assert math.isclose(ours, ref, rel_tol=1e-4)
    state = model.state_dict()
    for k, v in twin.state_dict().items():
        np.testing.assert_allclose(state[k], v.numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


# ---------------------------------------------------------------------------------------------- the script
def _time(step, n):
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def _interleaved(steps, n, repeats):
    """Median seconds per step of each of ``steps`` (dict name -> callable), and the per-repeat times: the
    steps take turns, ``n`` steps per turn, so that the machine's load hits all of them alike."""
    for step in steps.values():
        step()
    times = {k: [] for k in steps}
    for _ in range(repeats):
        for k, step in steps.items():
            times[k].append(_time(step, n))
    return times


def _ratio_line(what, times, num, den):
    rs = [a / b for a, b in zip(times[num], times[den])]
    return (f"  {what}: {statistics.median(rs):.2f}x (median of {len(rs)} repeats; "
            f"range {min(rs):.2f}-{max(rs):.2f}); median step {statistics.median(times[num]) * 1e3:.1f} ms vs "
            f"{statistics.median(times[den]) * 1e3:.1f} ms")


def memory(which):
    """Peak memory of a training step, KiB, measured in this (fresh) process: (tracemalloc's peak during the
    second step above what was live before it: Python objects and numpy's buffers, not torch's; the growth of
    the process's peak RSS, ``ru_maxrss``, over the first two steps (the first makes the optimizer's state);
    the same from /proc/self/status's VmHWM, or None)."""
    import resource
    import tracemalloc

    def hwm():
        try:
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return None

    step = runner(which)
    gc.collect()
    rss0, hwm0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hwm()
    step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss, hwm1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0, hwm()
    return peak / 1024, rss, None if hwm0 is None else hwm1 - hwm0


def main():
    import subprocess

    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        print(*memory(sys.argv[2]))
        return
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    # Memory first, while this process is small: a child starts with its parent's peak RSS as its own.
    lines = []
    for which in RUNNERS:
        if which == "scalar-micro-gc-off":
            continue
        res = subprocess.run([sys.executable, __file__, "--memory", which], capture_output=True, text=True)
        if res.returncode:
            lines.append(f"  {which}: failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        peak, rss, hwm = res.stdout.split()
        traced = "n/a (torch's allocator is not traced)" if which == "tensor-torch" else f"{float(peak):,.0f} KiB"
        lines.append(f"  {which}: tracemalloc peak {traced}; ru_maxrss growth {int(rss):,} KiB "
                     f"(VmHWM growth {hwm} KiB)")
    print(f"load averages {os.getloadavg()}; numpy's OpenBLAS starts with {DEFAULT_THREADS} threads")
    print(f"scalar step, one name ({NAME!r}), microgpt's GPT:")
    t = _interleaved({k: runner(k) for k in ("scalar-micro", "scalar-micro-gc-off", "scalar-naivegrad")}, 1,
                     repeats)
    print(_ratio_line("naivegrad faster than micrograd-style", t, "scalar-micro", "scalar-naivegrad"))
    print(_ratio_line("naivegrad faster than micrograd-style, its collector off", t, "scalar-micro-gc-off",
                      "scalar-naivegrad"))
    try:
        import torch  # noqa: F401
    except ImportError:
        print("tensor step: torch is not installed")
    else:
        print(f"tensor step, B={BATCH}, {TENSOR_CONFIG}, float32, AdamW:")
        steps = {k: runner(k) for k in ("tensor-torch", "tensor-naivegrad")}
        for n in THREADS:
            with threads(n):
                for step in steps.values():
                    step(), step()
                t = _interleaved(steps, 10, repeats)
            print(_ratio_line(f"naivegrad / torch time, {n} thread(s) each", t, "tensor-naivegrad", "tensor-torch"))
    print("peak memory of one step (memory of the model and data excluded):")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
