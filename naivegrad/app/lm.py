"""Character-level language models in the command: ``naivegrad train --dataset names --model gpt|mlp|bigram``
and ``naivegrad sample``.

The data is makemore's: the 32,033 names of ``naivegrad.data.names()``, split 80/10/10 with seed 42 (the
lectures' split, whatever ``--seed`` is: ``--seed`` seeds the weights and the batch order), '.' (token 0) the
boundary, a..z tokens 1..26. Each model sees it in its own layout:

- ``bigram``: (previous character -> next character) pairs, ``build_dataset(words, 1)``;
- ``mlp``: (last ``block_size`` characters -> next character), ``build_dataset(words, block_size)``;
- ``gpt``: one name per row, makemore's layout: inputs ``.emma`` padded with '.', targets ``emma.`` padded
  with -1 (ignored), ``NAME_SEQUENCE`` (16) positions; a batch is cut after its longest name (causal attention:
  the positions cut cannot change the ones kept).

So every layout predicts the same ``len(name) + 1`` characters of each name (each character, then the end),
and every loss here is the mean of -log p (natural log) over those predictions: the "held-out loss" is that
mean over the 3,204 names of the test split, the "val loss" over the 3,203 names of the validation split.

``LMRun`` is ``runs.Run`` for these models: AdamW (by default) with a linear warm-up and a cosine decay built
from ``optim.lr_scheduler``, the validation loss measured ``EVALUATIONS`` times a run (its history is part of
the checkpoint, so that a resumed run is the uninterrupted one exactly).
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import nn, optim
from ..data import DataLoader, build_dataset, names, train_val_test_split
from ..data.names import CharTokenizer
from ..engines import TENSOR, is_tensor
from ..grad_mode import no_grad
from ..models import GPT, MLPLM, Bigram
from ..nn import functional as F
from .config import NAME_SEQUENCE, lm_parameter_count
from .models import build_optimizer
from .runs import Diverged, Run

__all__ = ["TextData", "load_text", "LMRun", "build_lm", "describe", "nll", "sample_names", "SPLIT_SEED",
           "EVALUATIONS", "MAX_NAME", "warmup_steps", "unigram_loss"]

SPLIT_SEED = 42  # makemore's split, the one the published losses are measured on
VOCAB = 27
MAX_NAME = NAME_SEQUENCE - 1  # the longest name of the corpus: 15 characters
EVALUATIONS = 20  # validation losses measured per run, at most (and at the last step)
EVAL_SPACING = 50  # steps between two, at least (one costs about as much as 40 steps of the gpt)
IGNORE = -1  # target of a padded position
HELD_OUT_LOGITS = 32  # names whose logits --backend both compares, computed on each engine


@dataclass
class TextData:
    """The three splits of the names, and each in the layout of ``model`` (inputs X, targets Y: see the
    module docstring)."""

    words: dict  # {"train": [...], "val": [...], "test": [...]}
    arrays: dict  # {"train": (X, Y), ...}
    model: str
    tokenizer: CharTokenizer

    @property
    def X_train(self):  # what the batch loader cuts (Run's interface)
        return self.arrays["train"][0]

    @property
    def y_train(self):
        return self.arrays["train"][1]


def name_rows(words, tokenizer):
    """makemore's transformer layout: X (N, 16) '.', then the name, '.'-padded; Y (N, 16) the name, '.', then
    -1 (ignored)."""
    X = np.zeros((len(words), NAME_SEQUENCE), np.int64)
    Y = np.full((len(words), NAME_SEQUENCE), IGNORE, np.int64)
    for i, w in enumerate(words):
        ids = tokenizer.encode(w)
        if len(ids) > MAX_NAME:
            raise ValueError(f"name {w!r} has {len(ids)} characters; the transformer reads at most {MAX_NAME}")
        X[i, 1:len(ids) + 1] = ids
        Y[i, :len(ids)] = ids
        Y[i, len(ids)] = 0
    return X, Y


def load_text(config):
    """The names split 80/10/10 (seed 42) and laid out for ``config.model``."""
    tok = CharTokenizer()
    train, val, test = train_val_test_split(names(), seed=SPLIT_SEED)
    words = {"train": train, "val": val, "test": test}
    if config.model == "gpt":
        arrays = {k: name_rows(w, tok) for k, w in words.items()}
    else:
        arrays = {k: build_dataset(w, config.block_size, tok) for k, w in words.items()}
    return TextData(words, arrays, config.model, tok)


def build_lm(config, engine, dtype=None):
    """The language model ``config`` describes, on ``engine``, initialised from ``config.seed``."""
    if config.model == "bigram":
        return Bigram(VOCAB, backend=engine, seed=config.seed, dtype=dtype)
    if config.model == "mlp":
        return MLPLM(VOCAB, block_size=config.block_size, n_embd=config.n_embd, n_hidden=config.hidden[0],
                     backend=engine, seed=config.seed, dtype=dtype)
    return GPT(VOCAB, block_size=config.block_size, n_layer=config.n_layer, n_embd=config.n_embd,
               n_head=config.n_head, backend=engine, seed=config.seed, dtype=dtype)


def warmup_steps(total):
    """Steps of linear warm-up before the cosine decay: a tenth of the run, at most 500."""
    return max(1, min(500, total // 10))


def eval_every(total):
    """Steps between two measurements of the validation loss, in a run of ``total`` steps."""
    return max(EVAL_SPACING, total // EVALUATIONS)


def describe(config):
    """One line: the model, the data, the recipe."""
    c = config
    if c.model == "gpt":
        model = f"GPT(n_layer {c.n_layer}, n_embd {c.n_embd}, n_head {c.n_head}, block_size {c.block_size})"
    elif c.model == "mlp":
        model = f"MLP LM(context {c.block_size}, n_embd {c.n_embd}, hidden {c.hidden[0]})"
    else:
        model = "Bigram(27 x 27)"
    weights = lm_parameter_count(c.model, c.block_size, c.n_embd, c.n_layer, c.hidden)
    batch = f"batch {c.batch_size} names" if c.model == "gpt" else f"batch {c.batch_size}"
    wd = f", weight decay {c.weight_decay:g}" if c.weight_decay else ""
    return (f"{model}, {weights:,} weights, on names (25,626 train / 3,203 val / 3,204 test): cross-entropy, "
            f"{c.optimizer} lr {c.lr:g}, warm-up {warmup_steps(c.steps)} then cosine to {c.lr / 10:g}{wd}, "
            f"{batch}, {c.steps} steps, seed {c.seed}")


def _crop(X, Y):
    """A batch of name rows cut after its longest name's last target (no change to any loss)."""
    t = int((Y != IGNORE).sum(axis=1).max())
    return X[:, :t], Y[:, :t]


def loss_of(logits, Y, engine):
    """Mean -log p of the targets ``Y`` (-1: ignored) under ``logits``: a Tensor or a scalar-engine Value."""
    if engine == TENSOR:
        lg = logits if logits.ndim == 2 else logits.reshape(-1, VOCAB)
        return F.cross_entropy(lg, Y.reshape(-1), ignore_index=IGNORE)
    if Y.ndim == 1:  # one target per row: the mlp's (B, V), or the bigram's (B, 1, V)
        rows = [r[-1] for r in logits] if isinstance(logits[0][0], list) else logits
        return nn.cross_entropy(rows, Y)
    # Scalar logits are (B, T, V) nested lists: keep the rows of the targets that count.
    rows = [logits[b][t] for b, t in zip(*np.nonzero(Y != IGNORE))]
    return nn.cross_entropy(rows, Y[Y != IGNORE])


def nll(model, X, Y, chunk=512):
    """(sum of -log p over the targets that count, their number) for a float model on the tensor engine."""
    total, count = 0.0, 0
    with no_grad():
        for i in range(0, len(X), chunk):
            xb, yb = X[i:i + chunk], Y[i:i + chunk]
            if yb.ndim == 2:
                xb, yb = _crop(xb, yb)
            logits = model(xb)
            lg = logits.reshape(-1, VOCAB) if logits.ndim == 3 else logits
            logp = lg.log_softmax(axis=1).data.astype(np.float64)
            y = yb.reshape(-1)
            keep = y != IGNORE
            total -= float(logp[np.flatnonzero(keep), y[keep]].sum())
            count += int(keep.sum())
    return total, count


def unigram_loss(data):
    """The held-out loss of the best model that ignores the context: the training split's character
    frequencies (each name's characters and its end)."""
    counts = np.bincount(data.arrays["train"][1].ravel()[data.arrays["train"][1].ravel() != IGNORE],
                         minlength=VOCAB).astype(np.float64)
    logp = np.log(counts / counts.sum())
    y = data.arrays["test"][1].ravel()
    y = y[y != IGNORE]
    return float(-logp[y].mean())


class LMRun(Run):
    """A language model on one engine (see ``runs.Run``): history ``loss`` (the batch's mean -log p) and
    ``accuracy`` (the batch's next-character accuracy) per step, and the validation loss ``val_loss`` at the
    steps ``val_step``."""

    def __init__(self, config, data, engine, both=False):
        super().__init__(config, data, engine, both)
        self.history["val_step"], self.history["val_loss"] = [], []
        self._schedule = None  # (total, scheduler): made at the first step of a call of fit

    def _build(self):
        model = build_lm(self.config, self.engine, self.dtype)
        params = model.parameters()
        c = self.config
        optimizer = build_optimizer(c, params)
        loader = DataLoader(self.data.X_train, self.data.y_train,
                            batch_size=min(c.batch_size, len(self.data.y_train)), shuffle=True, seed=c.seed)
        return model, params, optimizer, loader

    def _scheduler(self, total):
        """Warm-up then cosine decay over ``total`` steps, brought to this run's step: made afresh from the
        initial rate and stepped ``self.step`` times, so a resumed run has exactly the uninterrupted run's rates."""
        if self._schedule is not None and self._schedule[0] == total:
            return self._schedule[1]
        opt = self.optimizer
        for group in opt.param_groups:
            group["lr"] = self.config.lr
            group.pop("initial_lr", None)
        warm = warmup_steps(total)
        sched = optim.lr_scheduler.SequentialLR(opt, [
            optim.lr_scheduler.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=warm),
            optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total - warm), eta_min=self.config.lr / 10),
        ], milestones=[warm])
        for _ in range(self.step):
            sched.step()
        self._schedule = (total, sched)
        return sched

    def learning_rate(self, step, total):
        return self._scheduler(total).get_last_lr()[0]

    def train_step(self, total):
        sched = self._scheduler(total)
        xb, yb = self._next_batch()
        if yb.ndim == 2:
            xb, yb = _crop(xb, yb)
        logits = self.model(xb)
        loss = loss_of(logits, yb, self.engine)
        loss_value = float(loss.data)
        if not math.isfinite(loss_value):
            raise Diverged(self.step + 1, str(loss_value), self.engine, self.config.lr, steps=total)
        self.optimizer.zero_grad()
        loss.backward()
        keep = yb != IGNORE
        acc = float(np.mean(_numbers(logits).argmax(axis=-1)[keep] == yb[keep]))
        self._updating = True
        self.optimizer.step()
        sched.step()
        self.step += 1
        self.history["loss"].append(loss_value)
        self.history["accuracy"].append(acc)
        self._committed_loader = self.loader.state_dict()
        self._updating = False
        if self.step % eval_every(total) == 0 or self.step == total:
            self.history["val_step"].append(self.step)
            self.history["val_loss"].append(self.loss_on("val"))
        return loss_value, acc

    def float_model(self):
        """The model to measure losses with: itself on the tensor engine; a float64 tensor-engine copy of the
        scalar engine's (the same numbers to ~1e-15; thousands of names through Values would take minutes)."""
        if self.engine == TENSOR:
            return self.model
        twin = build_lm(self.config, TENSOR, np.float64)
        twin.load_state_dict(self.model.state_dict())
        return twin

    def loss_on(self, split):
        """Mean -log p (natural log) per predicted character of the names of ``split`` ("val" or "test")."""
        X, Y = self.data.arrays[split]
        total, count = nll(self.float_model(), X, Y)
        return total / count

    def own_logits(self, names=None):
        """This engine's own logits (a float array) for the first ``names`` held-out names (their every
        prediction), computed by the run's model itself: Values on the scalar engine."""
        names = HELD_OUT_LOGITS if names is None else names
        X, Y = self.data.arrays["test"]
        if Y.ndim == 2:
            X, _ = _crop(X[:names], Y[:names])
        else:  # the rows of the first names: each name has len + 1 examples, ending with the boundary
            X = X[:int(np.flatnonzero(Y == 0)[names - 1]) + 1]
        with no_grad():
            return _numbers(self.model(X))

    def val_text(self):
        """The last validation loss, for the progress bar."""
        val = self.history["val_loss"]
        return f"{val[-1]:.4f}" if val else "..."

    def accuracy(self, X, y):
        return None

    # -- checkpoints: the validation history joins the state
    def state_dict(self):
        out = super().state_dict()
        out["history.val_step"] = np.array(self.history["val_step"], dtype=np.int64)
        out["history.val_loss"] = np.array(self.history["val_loss"], dtype=np.float64)
        return out

    def load_state_dict(self, arrays, source="checkpoint"):
        from .checkpoint import CheckpointError
        steps = np.asarray(arrays.get("history.val_step", np.zeros(0, np.int64)))
        losses = np.asarray(arrays.get("history.val_loss", np.zeros(0)))
        if steps.ndim != 1 or losses.shape != steps.shape or steps.dtype.kind not in "iu" \
                or losses.dtype.kind != "f":
            raise CheckpointError(f"{source} does not fit this run: its validation history is damaged")
        super().load_state_dict(arrays, source)
        self.history["val_step"] = steps.astype(np.int64).tolist()
        self.history["val_loss"] = losses.astype(np.float64).tolist()
        self._schedule = None


_DATA = np.frompyfunc(lambda v: v.data, 1, 1)


def _numbers(logits):
    """Logits as a float array: a Tensor's data, or the numbers of the scalar engine's nested Values."""
    if is_tensor(logits):
        return logits.data
    return _DATA(np.array(logits, dtype=object)).astype(np.float64)


def sample_names(model, num, seed, temperature=1.0, prompt="", max_rounds=100):
    """``num`` names drawn from ``model`` (a language model), each starting with ``prompt``: deterministic for
    ``seed``. A name ends at the boundary token or after ``MAX_NAME`` characters; empty names are drawn again."""
    tok = CharTokenizer()
    start = [0] + tok.encode(prompt)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(max_rounds):
        want = num - len(out)
        if want <= 0:
            break
        ids = model.generate(np.array([start] * want, np.int64), MAX_NAME - len(prompt), temperature=temperature,
                             seed=rng)
        for row in ids[:, 1:]:
            row = row.tolist()
            cut = row.index(0) if 0 in row else len(row)
            if cut:
                out.append(tok.decode(row[:cut]))
    return out


def lm_summary(run, result, start, i=None):
    """One line per engine: steps, time, speed, the train / val losses and, last, the held-out loss."""
    steps = f"{result.steps_run} steps" if start == 0 else f"steps {start}-{run.step} ({result.steps_run})"
    seconds = result.seconds if i is None else result.run_seconds[i]
    parts = [f"{steps} in {seconds:.2f} s ({result.steps_per_second(i):.1f} steps/s)"]
    losses = run.history["loss"]
    if losses:
        last = losses[-100:]
        parts.append(f"train loss {np.mean(last):.4f} (mean of the last {len(last)} steps)")
    if run.history["val_loss"]:
        parts.append(f"val loss {run.history['val_loss'][-1]:.4f}")
    parts.append(f"held-out loss {run.loss_on('test'):.4f}")
    return f"{run.engine} engine: " + ", ".join(parts)


def report_lm_agreement(scalar_run, tensor_run, tolerance=1e-9):
    """Print how far the two engines' runs (float64 on both, one seed, the same batches) ended apart: their
    final weights, every step's training loss (each engine's own forward pass) and the held-out loss; returns
    the exit status (1 if any differs by more than ``tolerance`` relative to its scale)."""
    a, b = scalar_run.weights(), tensor_run.weights()
    dw = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    scale_w = max(1.0, max(float(np.abs(a[k]).max()) for k in a))
    la, lb = np.array(scalar_run.history["loss"]), np.array(tensor_run.history["loss"])
    dl = float(np.abs(la - lb).max()) if len(la) else 0.0
    scale_l = max(1.0, float(np.abs(la).max()) if len(la) else 1.0)
    ga, gb = scalar_run.own_logits(), tensor_run.own_logits()
    dg = float(np.abs(ga - gb).max())
    scale_g = max(1.0, float(np.abs(ga).max()))
    agree = dw <= tolerance * scale_w and dl <= tolerance * scale_l and dg <= tolerance * scale_g
    n = sum(v.size for v in a.values())
    verdict = "engines agree" if agree else "engines DISAGREE"
    print(f"{verdict}: max |scalar - tensor| over {n:,} final weights = {dw:.3g}, over {len(la)} training losses "
          f"= {dl:.3g}, over the logits of {HELD_OUT_LOGITS} held-out names = {dg:.3g} (each engine's own "
          f"arithmetic; tolerance {tolerance:g} relative; float64 on both)")
    return 0 if agree else 1
