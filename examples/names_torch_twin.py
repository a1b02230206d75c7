#!/usr/bin/env python
"""The PyTorch twin of ``naivegrad train --dataset names --model gpt|mlp|bigram``: the same recipe in PyTorch.

For one of the command's language models this builds the same architecture in PyTorch, loads naivegrad's
*initial* weights for the seed (naivegrad's state dicts are laid out as torch's), and trains it with the
command's recipe, taken from naivegrad itself rather than restated:

- the settings: ``naivegrad.app.config.resolve`` (the command's defaults, or ``--steps`` / ``--seed``);
- the data and the batches: the names split and laid out by ``naivegrad.app.lm.load_text`` and cut by the
  batch loader of a ``naivegrad.app.lm.LMRun`` (the very object the command trains with), so the same
  batches come in the same order; a gpt batch is cut after its longest name, as the command does;
- the optimizer: ``torch.optim.AdamW`` with the command's lr and weight decay (decoupled, on every weight:
  naivegrad's AdamW has one parameter group too), betas (0.9, 0.999), eps 1e-8;
- the schedule: ``torch.optim.lr_scheduler``'s LinearLR warm-up (from 1% of lr, ``lm.warmup_steps``) then
  CosineAnnealingLR to lr / 10, joined by SequentialLR, stepped after each optimizer step;
- the loss: mean cross-entropy per predicted character (padded gpt positions, target -1, ignored), float32.

The held-out loss is computed as the command's: the mean -log p (natural log, summed in float64) per
predicted character of the 3,204 names of the test split.

    python examples/names_torch_twin.py --model mlp              # the command's default recipe, in PyTorch
    python examples/names_torch_twin.py --model gpt --compare    # and naivegrad's run beside it, step by step

``--compare`` also trains naivegrad's own run (``LMRun``) in lockstep from the same weights and batches and
prints the largest difference of the per-step training losses, the learning rates, the final weights and the
held-out losses; ``--float64`` trains both in float64 instead of the command's float32, to tell rounding from
a difference of recipe. Both libraries use one thread (``torch.set_num_threads(1)``, one BLAS thread for numpy).
Needs ``pip install torch``.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS: one thread, as the command uses

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from naivegrad.app import config as ng_config  # noqa: E402
from naivegrad.app.lm import IGNORE, VOCAB, LMRun, eval_every, load_text, warmup_steps  # noqa: E402

__all__ = ["recipe", "TorchBigram", "TorchMLPLM", "TorchGPT", "torch_model", "TwinRun", "held_out_loss",
           "main"]


# ---------------------------------------------------------------------------------------------- the models
class TorchBigram(nn.Module):
    """naivegrad's ``Bigram``: logits (B, T, V) = ``wte.weight[ids]``."""

    def __init__(self, vocab_size):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx):
        return self.wte(idx)


class TorchMLPLM(nn.Module):
    """naivegrad's ``MLPLM`` (makemore's MLP): embed the context, flatten, ``fc1``, tanh, ``fc2``."""

    def __init__(self, vocab_size, block_size, n_embd, n_hidden):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.fc1 = nn.Linear(block_size * n_embd, n_hidden)
        self.fc2 = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx):
        return self.fc2(torch.tanh(self.fc1(self.wte(idx).flatten(1))))


class CausalSelfAttention(nn.Module):
    """naivegrad's ``nn.CausalSelfAttention``: bias-free ``wq``, ``wk``, ``wv``, ``wo``, softmax(q k^T /
    sqrt(head size)) v over the positions up to each one's own."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        for name in ("wq", "wk", "wv", "wo"):
            setattr(self, name, nn.Linear(n_embd, n_embd, bias=False))

    def forward(self, x):
        B, T, C = x.shape
        D = C // self.n_head

        def heads(t):  # (B, T, C) -> (B, n_head, T, D)
            return t.view(B, T, self.n_head, D).transpose(1, 2)

        q, k, v = heads(self.wq(x)), heads(self.wk(x)), heads(self.wv(x))
        att = (q @ k.transpose(2, 3)) * (1.0 / math.sqrt(D))
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        return self.wo((att @ v).transpose(1, 2).reshape(B, T, C))


class FeedForward(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.fc1 = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.fc2 = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    """x + attn(rmsnorm(x)), then x + mlp(rmsnorm(x)); the RMSNorms have no gain (eps 1e-5)."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = nn.RMSNorm(n_embd, eps=1e-5, elementwise_affine=False)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.RMSNorm(n_embd, eps=1e-5, elementwise_affine=False)
        self.mlp = FeedForward(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(nn.Module):
    """naivegrad's ``GPT`` with its defaults (microgpt's): token + position embeddings, an RMSNorm, pre-norm
    blocks, a bias-free untied ``lm_head``, no final norm."""

    def __init__(self, vocab_size, block_size, n_layer, n_embd, n_head):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.ln_emb = nn.RMSNorm(n_embd, eps=1e-5, elementwise_affine=False)
        self.layers = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.ln_emb(self.wte(idx) + self.wpe(pos))
        for block in self.layers:
            x = block(x)
        return self.lm_head(x)


def torch_model(cfg):
    """The PyTorch twin of the model ``naivegrad.app.lm.build_lm(cfg, ...)`` builds (float32, untrained)."""
    if cfg.model == "bigram":
        return TorchBigram(VOCAB)
    if cfg.model == "mlp":
        return TorchMLPLM(VOCAB, cfg.block_size, cfg.n_embd, cfg.hidden[0])
    return TorchGPT(VOCAB, cfg.block_size, cfg.n_layer, cfg.n_embd, cfg.n_head)


# ---------------------------------------------------------------------------------------------- the recipe
def recipe(model, steps=None, seed=0):
    """The command's settings for ``naivegrad train --dataset names --model MODEL [--steps N] [--seed S]``
    (tensor engine)."""
    given = {"dataset": "names", "model": model, "seed": seed}
    if steps is not None:
        given["steps"] = steps
    return ng_config.resolve(given)


def _crop(xb, yb):
    """As the command does: a batch of name rows (gpt) cut after its longest name's last target."""
    if yb.ndim == 2:
        t = int((yb != IGNORE).sum(axis=1).max())
        return xb[:, :t], yb[:, :t]
    return xb, yb


def held_out_loss(model, X, Y, chunk=512):
    """Mean -log p (natural log) per predicted character of (X, Y), as ``naivegrad.app.lm.nll``: the model's
    log-softmax, summed in float64, in chunks of 512 rows."""
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(X), chunk):
            xb, yb = _crop(X[i:i + chunk], Y[i:i + chunk])
            logp = model(torch.from_numpy(xb)).reshape(-1, VOCAB).log_softmax(dim=1).double().numpy()
            y = yb.reshape(-1)
            keep = y != IGNORE
            total -= float(logp[np.flatnonzero(keep), y[keep]].sum())
            count += int(keep.sum())
    return total / count


class TwinRun:
    """The PyTorch twin of the command's run for ``cfg`` on ``data`` (a ``lm.TextData``).

    ``source`` is the naivegrad ``LMRun`` the twin takes its initial weights and batch loader from (made afresh
    from ``cfg`` when not given: the same seed gives the same weights and batches as the command's run).
    ``float64`` computes in float64 instead of the command's float32 (naivegrad's run then in float64 too, as
    ``--backend both`` does). ``step()`` trains on the next batch and returns the batch loss.
    """

    def __init__(self, cfg, data, source=None, float64=False):
        self.cfg, self.data = cfg, data
        source = LMRun(cfg, data, "tensor", both=float64) if source is None else source
        dtype = np.float64 if float64 else np.float32
        self.model = torch_model(cfg).to(torch.float64 if float64 else torch.float32)
        initial = {k: torch.from_numpy(np.asarray(v, dtype=dtype)) for k, v in source.model.state_dict().items()}
        self.model.load_state_dict(initial, strict=True)
        self.loader = source.loader
        self._batches = self._forever()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=cfg.weight_decay)
        total, warm = cfg.steps, warmup_steps(cfg.steps)
        sched = torch.optim.lr_scheduler
        self.scheduler = sched.SequentialLR(self.optimizer, [
            sched.LinearLR(self.optimizer, start_factor=0.01, end_factor=1.0, total_iters=warm),
            sched.CosineAnnealingLR(self.optimizer, T_max=max(1, total - warm), eta_min=cfg.lr / 10),
        ], milestones=[warm])
        self.steps_done = 0
        self.history = {"loss": [], "lr": [], "val_step": [], "val_loss": []}

    def _forever(self):
        # naivegrad's loader goes on from epoch to epoch: each pass over it is the next epoch's permutation.
        while True:
            yield from self.loader

    def step(self):
        xb, yb = _crop(*next(self._batches))
        self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
        logits = self.model(torch.from_numpy(xb))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), torch.from_numpy(yb).reshape(-1), ignore_index=IGNORE)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.steps_done += 1
        value = loss.item()
        self.history["loss"].append(value)
        total = self.cfg.steps
        if self.steps_done % eval_every(total) == 0 or self.steps_done == total:  # as often as the command
            self.history["val_step"].append(self.steps_done)
            self.history["val_loss"].append(self.loss_on("val"))
        return value

    def loss_on(self, split):
        X, Y = self.data.arrays[split]
        return held_out_loss(self.model, X, Y)

    def weights(self):
        return {k: v.detach().double().numpy() for k, v in self.model.state_dict().items()}


# ---------------------------------------------------------------------------------------------- the command
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("gpt", "mlp", "bigram"), default="gpt")
    p.add_argument("--steps", type=int, default=None, help="default: the command's for the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compare", action="store_true",
                   help="also train naivegrad's run in lockstep and print how far the two are apart")
    p.add_argument("--float64", action="store_true",
                   help="compute in float64 in both libraries (the command trains in float32)")
    p.add_argument("--log-every", type=int, default=None, help="steps between progress lines (default: a tenth)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    cfg = recipe(args.model, args.steps, args.seed)
    precision = " (float64 in both libraries)" if args.float64 else ""
    print(f"torch {torch.__version__} twin of: {cfg.describe()}{precision}", flush=True)
    data = load_text(cfg)
    twin = TwinRun(cfg, data, float64=args.float64)
    ng_run = LMRun(cfg, data, "tensor", both=args.float64) if args.compare else None
    if ng_run is not None:
        from naivegrad.app.blas import one_blas_thread
        start = {k: np.asarray(v, np.float64) for k, v in ng_run.model.state_dict().items()}
        same = all(np.array_equal(start[k], twin.weights()[k]) for k in start)
        print(f"initial weights identical: {same}", flush=True)

    total = cfg.steps
    log_every = args.log_every or max(1, total // 10)
    t_twin = t_ng = 0.0
    ng_lrs = []
    for s in range(total):
        t = time.perf_counter()
        loss = twin.step()
        t_twin += time.perf_counter() - t
        line = f"step {s + 1:>6}/{total}: torch loss {loss:.4f}"
        if ng_run is not None:
            t = time.perf_counter()
            ng_lrs.append(ng_run.learning_rate(ng_run.step, total))  # the rate this step trains with
            with one_blas_thread():
                ng_loss, _ = ng_run.train_step(total)
            t_ng += time.perf_counter() - t
            line += f", naivegrad loss {ng_loss:.4f}"
        if (s + 1) % log_every == 0 or s + 1 == total:
            val = twin.history["val_loss"]
            print(line + (f", torch val loss {val[-1]:.4f}" if val else ""), flush=True)

    last = twin.history["loss"][-100:]
    held = twin.loss_on("test")
    print(f"torch: {total} steps in {t_twin:.2f} s ({total / t_twin:.1f} steps/s), train loss {np.mean(last):.4f} "
          f"(mean of the last {len(last)} steps), val loss {twin.history['val_loss'][-1]:.4f}, "
          f"held-out loss {held:.4f}", flush=True)
    if ng_run is not None:
        with one_blas_thread():
            ng_held = ng_run.loss_on("test")
        gaps = np.abs(np.array(twin.history["loss"]) - np.array(ng_run.history["loss"]))
        dl = float(gaps.max())
        apart = np.flatnonzero(gaps > 1e-4)
        first = f"first > 1e-4 at step {apart[0] + 1}" if len(apart) else "never > 1e-4"
        dlr = max(abs(x - y) / cfg.lr for x, y in zip(twin.history["lr"], ng_lrs))
        a, b = twin.weights(), ng_run.weights()
        dw = max(float(np.abs(a[k] - b[k]).max()) for k in a)
        print(f"naivegrad: {total} steps in {t_ng:.2f} s, held-out loss {ng_held:.4f}", flush=True)
        print(f"held-out loss: torch {held:.6f}, naivegrad {ng_held:.6f}", flush=True)
        print(f"|torch - naivegrad|: held-out loss {abs(held - ng_held):.2e}, training losses (max over {total} "
              f"steps) {dl:.2e} ({first}), learning rates (max, relative to lr) {dlr:.2e}, final weights (max) "
              f"{dw:.2e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
