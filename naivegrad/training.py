"""Training as ``naivegrad train`` does it: settings, data, model, loss, optimizer, steps and checkpoints.

>>> from naivegrad import training
>>> config = training.resolve({"dataset": "moons"})     # every other setting takes its default
>>> data = training.load_data(config)
>>> run = training.Run(config, data, "scalar")
>>> result = training.fit([run], config.steps)          # micrograd's demo: ~99% in 100 steps

The recipe is micrograd's: a two-class set is learned with the max-margin (hinge) loss on one output with
labels -1/1, a set of more classes (and MNIST) with cross-entropy on one output per class; an L2 penalty
``l2 * sum(p**2)`` joins the loss; the learning rate decays linearly from ``lr`` to ``lr / 10`` over the
planned steps. Everything random comes from ``seed``: the data, the initial weights and the batch order.

A checkpoint (.npz, written atomically) holds the weights, the optimizer's state, the step, the batch
loader's state, the loss history and the settings (JSON text), so a resumed run continues exactly where
the saved one stopped.
"""

import importlib.util
import json
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import __version__, nn, optim
from .data import DataLoader, blobs, circles, mnist_t10k_split, moons, spirals
from .grad_mode import no_grad
from .nn.serialization import atomic_savez
from .nn.serialization import load as load_npz
from .scalar import sum as vsum

__all__ = [
    "DATASETS", "POINT_DATASETS", "Config", "ConfigError", "CheckpointError", "Interrupted", "Data",
    "resolve", "load_data", "build_model", "Run", "fit", "save_checkpoint", "read_checkpoint",
    "RESUME_FIXED",
]

POINT_DATASETS = ("moons", "circles", "spirals", "blobs")
DATASETS = POINT_DATASETS + ("mnist",)
MODELS = ("mlp", "convnet")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
ENGINES = ("scalar", "tensor", "both")

#: Settings that define what is trained: a resumed run takes them from its checkpoint and refuses others.
RESUME_FIXED = ("dataset", "samples", "noise", "classes", "test_fraction", "seed", "model", "hidden",
                "optimizer", "batch_size", "l2")

CHECKPOINT_FORMAT = 1
MNIST_HELD_OUT = 2000  # the last 2,000 of the 10,000 test digits: the split the README's accuracies use


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the command-line option."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the run; the message names the file."""


class Interrupted(Exception):
    """Training stopped by Ctrl-C. ``step`` is the last finished step; ``saved`` the checkpoint written, if any;
    ``reason`` says why none was written when one was asked for."""

    def __init__(self, step, steps, saved=None, reason=None):
        super().__init__(f"interrupted at step {step} of {steps}")
        self.step, self.steps, self.saved, self.reason = step, steps, saved, reason


# ---------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Config:
    """Every setting of a training run, resolved (no defaults left open). Build one with ``resolve``."""

    dataset: str
    samples: int       # points in a 2-D set, before the held-out split (mnist: 10,000 digits, 2,000 held out)
    noise: float       # 2-D sets: noise std (blobs: each cluster's std)
    classes: int
    test_fraction: float
    seed: int
    model: str
    hidden: tuple
    optimizer: str
    lr: float
    steps: int
    batch_size: int
    l2: float
    backend: str
    data_dir: str = None  # where MNIST is looked for first

    @property
    def binary(self):
        """Two classes are learned micrograd's way: one score, hinge loss, labels -1/1."""
        return self.classes == 2

    @property
    def loss_name(self):
        return "hinge" if self.binary else "cross-entropy"

    def to_json(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return json.dumps(d, sort_keys=True)

    def describe(self):
        """One line: what is trained on what, with which loss and optimizer."""
        if self.dataset == "mnist":
            what = f"mnist ({self.samples - MNIST_HELD_OUT} train / {MNIST_HELD_OUT} test digits)"
        else:
            n_test = _n_test(self.samples, self.test_fraction)
            what = f"{self.dataset} ({self.samples - n_test} train" + (f" / {n_test} test" if n_test else "") + \
                   f" points, {self.classes} classes)"
        model = (f"MLP({_n_inputs(self)}, {list(self.hidden) + [_n_outputs(self)]})" if self.model == "mlp" else
                 "ConvNet(conv3x3 1->8, relu, maxpool2, conv3x3 8->16, relu, maxpool2, linear 400->10)")
        l2 = f" + {self.l2:g} L2" if self.l2 else ""
        n_train = self.samples - _n_test(self.samples, self.test_fraction)
        batch = "full batch" if self.batch_size >= n_train else f"batch {self.batch_size}"
        return (f"{model} on {what}: {self.loss_name} loss{l2}, {self.optimizer} lr {self.lr:g} -> {self.lr / 10:g}, "
                f"{batch}, seed {self.seed}")


_DEFAULT_LR = {  # (2-D sets, mnist)
    "sgd": (1.0, 0.1),
    "adam": (0.05, 1e-3),
    "rmsprop": (0.01, 1e-3),
}


def resolve(settings):
    """A ``Config`` from a dict of the settings given (command-line names with ``_``); the rest are defaults.

    The defaults depend on the dataset: a 2-D set trains ``MLP(2, [16, 16, out])`` on 100 points, full batch,
    SGD from lr 1.0, for 100 steps on the scalar engine; MNIST trains ``MLP(784, [128, 10])`` on 8,000 digits in
    batches of 128 with Adam from lr 1e-3 for 2,000 steps on the tensor engine. Raises ``ConfigError`` naming
    the option for any setting that cannot be used.
    """
    s = {k: v for k, v in settings.items() if v is not None}
    unknown = sorted(set(s) - {f.name for f in fields(Config)})
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    dataset = s.get("dataset", "moons")
    if dataset not in DATASETS:
        raise ConfigError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    points = dataset != "mnist"
    model = s.get("model", "mlp")
    if model not in MODELS:
        raise ConfigError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if model == "convnet" and points:
        raise ConfigError(f"--model convnet needs images (--dataset mnist); {dataset} is a 2-D dataset: use --model mlp")
    if model == "convnet" and importlib.util.find_spec("naivegrad.nn.conv") is None:
        raise ConfigError(_NO_CONV)
    backend = s.get("backend", "scalar" if points else "tensor")
    if backend not in ENGINES:
        raise ConfigError(f"--backend must be one of {', '.join(ENGINES)}, got {backend!r}")
    optimizer = s.get("optimizer", "sgd" if points else "adam")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")

    if points:
        samples = _int_at_least("--samples", s.get("samples", 100), 2)
        noise = _real_at_least("--noise", s.get("noise", 0.25 if dataset == "blobs" else 0.1), 0.0)
        default_classes = {"blobs": 3}.get(dataset, 2)
        classes = _int_at_least("--classes", s.get("classes", default_classes), 2)
        if dataset in ("moons", "circles") and classes != 2:
            raise ConfigError(f"--classes: {dataset} has 2 classes, got {classes}")
        if classes > samples:
            raise ConfigError(f"--classes {classes} needs at least as many --samples, got {samples}")
        test_fraction = _real_at_least("--test-fraction", s.get("test_fraction", 0.0), 0.0)
        n_test = _n_test(samples, test_fraction)
        if test_fraction >= 1.0 or (test_fraction > 0 and not 1 <= n_test <= samples - 1):
            raise ConfigError(f"--test-fraction {test_fraction:g} of {samples} samples leaves "
                              f"{samples - n_test} to train and {n_test} to test: use a fraction in (0, 1) "
                              f"that keeps at least one of each")
    else:
        for key in ("samples", "noise", "classes", "test_fraction"):
            if key in s and s[key] != _MNIST_FIXED[key]:
                raise ConfigError(f"--{key.replace('_', '-')} applies to the 2-D datasets; mnist trains on the "
                                  f"first 8,000 test digits and holds out the last {MNIST_HELD_OUT}")
        samples, noise, classes, test_fraction = (_MNIST_FIXED[k] for k in ("samples", "noise", "classes",
                                                                           "test_fraction"))
        n_test = MNIST_HELD_OUT

    hidden = s.get("hidden", () if model == "convnet" else (16, 16) if points else (128,))
    if isinstance(hidden, str):
        hidden = parse_hidden(hidden)
    hidden = tuple(_int_at_least("--hidden", h, 1) for h in hidden)
    if model == "convnet" and hidden:
        raise ConfigError("--hidden applies to --model mlp; the convnet's layers are fixed")

    lr = _real_at_least("--lr", s.get("lr", _DEFAULT_LR[optimizer][0 if points else 1]), 0.0)
    steps = _int_at_least("--steps", s.get("steps", 100 if points else 2000), 1)
    n_train = samples - n_test
    batch_size = _int_at_least("--batch-size", s.get("batch_size", n_train if points else 128), 1)
    batch_size = min(batch_size, n_train)  # a batch larger than the data is the full batch
    l2 = _real_at_least("--l2", s.get("l2", 1e-4 if points else 0.0), 0.0)
    seed = _int_at_least("--seed", s.get("seed", 0), 0)
    data_dir = s.get("data_dir")
    return Config(dataset=dataset, samples=samples, noise=noise, classes=classes, test_fraction=test_fraction,
                  seed=seed, model=model, hidden=hidden, optimizer=optimizer, lr=lr, steps=steps,
                  batch_size=batch_size, l2=l2, backend=backend, data_dir=data_dir)


_NO_CONV = ("--model convnet needs naivegrad.nn.conv (Conv2d, MaxPool2d, Flatten), which this installation "
            "does not have; use --model mlp")
_MNIST_FIXED = {"samples": 10000, "noise": 0.0, "classes": 10, "test_fraction": MNIST_HELD_OUT / 10000}


def parse_hidden(text):
    """``"16,16"`` -> ``(16, 16)``; an empty string is no hidden layer (a linear model)."""
    parts = [p.strip() for p in str(text).split(",")]
    if parts == [""]:
        return ()
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--hidden must be layer sizes separated by commas, like 16,16; got {text!r}") from None
    for n in sizes:
        if n < 1:
            raise ConfigError(f"--hidden layer sizes must be >= 1, got {text!r}")
    return sizes


def _int_at_least(option, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{option} must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(f"{option} must be >= {low}, got {value}")
    return int(value)


def _real_at_least(option, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{option} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < low:
        raise ConfigError(f"{option} must be a finite number >= {low:g}, got {value!r}")
    return value


def _n_test(samples, fraction):
    return int(round(samples * fraction))


def _n_inputs(config):
    return 784 if config.dataset == "mnist" else 2


def _n_outputs(config):
    return 1 if config.binary else config.classes


# -------------------------------------------------------------------------------------------------- data
@dataclass
class Data:
    """Training and held-out samples (``X_test`` has 0 rows when nothing is held out).

    2-D sets: X float64 (n, 2). MNIST: X float64 (n, 1, 28, 28) in [0, 1]; ``images`` keeps the raw digits.
    Labels are int64 classes 0..k-1.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int


def load_data(config):
    """The samples ``config`` describes: a generated 2-D set (split by ``test_fraction``) or MNIST.

    MNIST is the project's split of the 10,000 test digits (``naivegrad.data.mnist_t10k_split``): the first
    8,000 train, the last 2,000 are held out. Its errors (``FileNotFoundError``, ``CorruptDataError``)
    propagate.
    """
    if config.dataset == "mnist":
        (xa, ya), (xb, yb) = mnist_t10k_split(config.data_dir, n_train=config.samples - MNIST_HELD_OUT)
        scale = lambda x: (x.astype(np.float64) / 255.0)[:, None, :, :]  # noqa: E731
        return Data(scale(xa), ya, scale(xb), yb, 10)
    make = {"moons": lambda: moons(config.samples, noise=config.noise, seed=config.seed),
            "circles": lambda: circles(config.samples, noise=config.noise, seed=config.seed),
            "spirals": lambda: spirals(config.samples, noise=config.noise, classes=config.classes,
                                       seed=config.seed),
            "blobs": lambda: blobs(config.samples, centers=config.classes, std=config.noise, seed=config.seed)}
    X, y = make[config.dataset]()
    # The generators shuffle, so the last points are as good a held-out sample as any.
    n_test = _n_test(config.samples, config.test_fraction)
    cut = len(X) - n_test
    return Data(X[:cut], y[:cut], X[cut:], y[cut:], config.classes)


# ------------------------------------------------------------------------------------------------- models
def build_model(config, engine, dtype=None):
    """A fresh model for ``config`` on ``engine`` ("scalar" or "tensor"), initialised from ``config.seed``."""
    if config.model == "convnet":
        return _convnet(config, engine, dtype)
    return nn.MLP(_n_inputs(config), list(config.hidden) + [_n_outputs(config)], backend=engine,
                  seed=config.seed, dtype=dtype)


def _convnet(config, engine, dtype):
    try:
        from .nn import conv
    except ImportError:
        raise ConfigError(_NO_CONV) from None
    # conv3x3(1->8) relu pool2 conv3x3(8->16) relu pool2 flatten linear(400->10): 28 -> 26 -> 13 -> 11 -> 5.
    rng = np.random.default_rng(config.seed)
    return nn.Sequential(
        conv.Conv2d(1, 8, 3, backend=engine, dtype=dtype, seed=rng), nn.ReLU(engine), conv.MaxPool2d(2),
        conv.Conv2d(8, 16, 3, backend=engine, dtype=dtype, seed=rng), nn.ReLU(engine), conv.MaxPool2d(2),
        conv.Flatten(), nn.Linear(400, 10, backend=engine, dtype=dtype, seed=rng),
        backend=engine,
    )


def _model_input(config, x):
    """What the model reads: 2-D points as they are, digits flattened for the MLP, NCHW for the convnet."""
    if config.dataset == "mnist" and config.model == "mlp":
        return x.reshape(len(x), -1)
    return x


def _optimizer(config, params):
    cls = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSProp}[config.optimizer]
    return cls(params, lr=config.lr)


def _engine_dtype(config, engine, both):
    """float64 everywhere except MNIST on the tensor engine alone (float32 there, for speed)."""
    if engine == "scalar":
        return None
    return np.float64 if (both or config.dataset != "mnist") else np.float32


def _as_array(out):
    """Model output (a Tensor, or the scalar engine's Values and lists of Values) as a float64 array (n, k)."""
    data = getattr(out, "data", None)
    if isinstance(data, np.ndarray):
        arr = data.astype(np.float64)
    else:
        rows = out if isinstance(out, list) else [out]
        arr = np.array([[v.data for v in r] if isinstance(r, list) else [r.data] for r in rows], dtype=np.float64)
    return arr.reshape(len(arr), -1)


def _predictions(scores):
    return (scores[:, 0] > 0).astype(np.int64) if scores.shape[1] == 1 else scores.argmax(axis=1)


# ---------------------------------------------------------------------------------------------------- run
class Run:
    """One model on one engine, with its optimizer, batch loader, step count and history.

    ``train_step()`` takes one optimizer step on the next batch; ``state_dict()`` / ``load_state_dict()``
    are what a checkpoint holds. Parameters, optimizer state and the step change together only inside
    ``train_step``'s final update, so interrupting anywhere else leaves a consistent state to save.
    """

    def __init__(self, config, data, engine, both=False):
        if engine not in ("scalar", "tensor"):
            raise ValueError(f"engine must be 'scalar' or 'tensor', got {engine!r}")
        self.config, self.data, self.engine = config, data, engine
        self.dtype = _engine_dtype(config, engine, both)
        self.model = build_model(config, engine, self.dtype)
        self.params = self.model.parameters()
        self.optimizer = _optimizer(config, self.params)
        n = len(data.X_train)
        self.loader = DataLoader(data.X_train, data.y_train, batch_size=config.batch_size,
                                 shuffle=config.batch_size < n, seed=config.seed)
        self.step = 0
        self.history = {"loss": [], "accuracy": []}
        self._committed_loader = self.loader.state_dict()
        self._batches = None
        self._updating = False  # True while parameters and optimizer state are half-written

    @property
    def consistent(self):
        """False only if an exception struck in the middle of a parameter update."""
        return not self._updating

    def loss(self, xb, yb):
        """(total loss, scores as an array) for one batch: data loss plus the L2 penalty."""
        out = self.model(_model_input(self.config, xb))
        if self.config.binary:
            data_loss = nn.hinge_loss(out, yb * 2.0 - 1.0)
        else:
            data_loss = nn.cross_entropy(out, yb)
        loss = data_loss
        if self.config.l2:
            if self.engine == "scalar":
                penalty = vsum([p * p for p in self.params])
            else:
                penalty = sum((p * p).sum() for p in self.params)
            loss = data_loss + self.config.l2 * penalty
        return loss, _as_array(out)

    def learning_rate(self, step, total):
        """micrograd's schedule: linear from ``lr`` at step 0 towards ``lr / 10`` at step ``total``."""
        return self.config.lr * (1.0 - 0.9 * step / total)

    def _next_batch(self):
        # One iterator per epoch (it draws the epoch's permutation once); the loader's own state moves on with
        # every batch handed out, so a new iterator after load_state_dict starts at the right batch.
        if self._batches is None:
            self._batches = iter(self.loader)
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = iter(self.loader)
            return next(self._batches)

    def train_step(self, total):
        """One step on the next batch; returns (loss, batch accuracy) measured before the update."""
        xb, yb = self._next_batch()
        loss, scores = self.loss(xb, yb)
        self.optimizer.zero_grad()
        loss.backward()
        lr = self.learning_rate(self.step, total)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_value = float(loss.data)
        acc = float(np.mean(_predictions(scores) == yb))
        self._updating = True
        self.optimizer.step()
        self.step += 1
        self.history["loss"].append(loss_value)
        self.history["accuracy"].append(acc)
        self._committed_loader = self.loader.state_dict()
        self._updating = False
        return loss_value, acc

    def scores(self, X, chunk=1000):
        """Model outputs for ``X`` as a float64 array (n, outputs), without recording a graph.

        Digits on the scalar engine are scored by a float64 tensor-engine copy of the model (the same numbers
        to ~1e-15): thousands of images through Values would take many minutes.
        """
        model = self.model
        if self.engine == "scalar" and self.config.dataset == "mnist":
            model = build_model(self.config, "tensor", np.float64)
            model.load_state_dict(self.model.state_dict())
        out = []
        with no_grad():
            for i in range(0, len(X), chunk):
                out.append(_as_array(model(_model_input(self.config, X[i:i + chunk]))))
        return np.concatenate(out) if out else np.zeros((0, _n_outputs(self.config)))

    def predict(self, X):
        """Predicted classes for ``X``."""
        return _predictions(self.scores(X))

    def accuracy(self, X, y):
        """Fraction of ``X`` classified as ``y`` (None when there are no samples)."""
        return float(np.mean(self.predict(X) == y)) if len(X) else None

    def weights(self):
        """The model's state dict (name -> float64 array)."""
        return {k: np.asarray(v, dtype=np.float64) for k, v in self.model.state_dict().items()}

    # -- checkpoints
    def state_dict(self):
        """Flat name -> array dict of everything needed to continue this run exactly."""
        if self._updating:
            raise RuntimeError("the run was interrupted in the middle of a parameter update; its state is torn")
        out = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        out.update({f"optimizer.{k}": v for k, v in self.optimizer.state_dict().items()})
        out.update({f"loader.{k}": v for k, v in self._committed_loader.items()})
        out["step"] = np.int64(self.step)
        out["history.loss"] = np.array(self.history["loss"], dtype=np.float64)
        out["history.accuracy"] = np.array(self.history["accuracy"], dtype=np.float64)
        return out

    def load_state_dict(self, arrays, source="checkpoint"):
        """Continue from ``state_dict()`` output; raises ``CheckpointError`` naming ``source`` if it does not fit."""
        def part(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        try:
            step = int(np.asarray(arrays["step"]))
            history = {k: np.asarray(arrays[f"history.{k}"], dtype=np.float64).tolist() for k in self.history}
            if step < 0 or any(len(h) != step for h in history.values()):
                raise ValueError(f"step {step} does not match a history of {len(history['loss'])} steps")
            self.model.load_state_dict(part("model."))
            self.optimizer.load_state_dict(_for_layout(part("optimizer."), self.optimizer))
            self.loader.load_state_dict(part("loader."))
        except (KeyError, ValueError, TypeError) as e:
            detail = e.args[0] if isinstance(e, KeyError) and e.args else e
            raise CheckpointError(f"{source} does not fit this run: {detail}") from None
        self.step = step
        self.history = history
        self._committed_loader = self.loader.state_dict()
        self._batches = None


def _for_layout(state, optimizer):
    """An optimizer state dict saved on the other engine, laid out for ``optimizer``'s parameters.

    Both engines pack the state of a model's weights in the same (state-dict) order; only the bookkeeping
    differs: one entry per Value on the scalar engine, one per weight array on the tensor engine. When every
    weight took the same number of steps (as in any ``Run``), the packed state carries over unchanged.
    """
    state = dict(state)
    for gi, group in enumerate(optimizer.param_groups):
        sizes_key, step_key = f"param_groups.{gi}.sizes", f"state.{gi}.step"
        if sizes_key not in state or step_key not in state:
            continue
        own = np.array([getattr(getattr(p, "data", None), "size", 1) for p in group["params"]], np.int64)
        saved, steps = np.asarray(state[sizes_key]), np.asarray(state[step_key])
        if (saved.shape == own.shape and (saved == own).all()) or saved.sum() != own.sum() or steps.size == 0:
            continue
        if (steps != steps.flat[0]).any():
            continue  # weights that took different numbers of steps: let load_state_dict report it
        state[sizes_key] = own
        state[step_key] = np.full(len(own), steps.flat[0], np.int64)
    return state


# -------------------------------------------------------------------------------------------- the loop
@contextmanager
def _sigint_at_step_boundary():
    """Make the first Ctrl-C a request to stop after the current step (so parameters are never saved
    half-updated); a second one interrupts at once. Yields a function that tells whether a stop was asked."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum, frame):
        if flag:
            raise KeyboardInterrupt
        flag.append(True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(flag)
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class FitResult:
    """What ``fit`` did: steps taken in this call, the wall-clock seconds, and each run's own training seconds
    (``run_seconds``, in the order of the runs: side by side, each engine is timed separately)."""

    steps_run: int
    seconds: float
    run_seconds: tuple = ()

    def steps_per_second(self, i=None):
        """Steps per second overall, or of run ``i``'s own training time."""
        t = self.seconds if i is None else self.run_seconds[i]
        return self.steps_run / t if t > 0 else float("inf")


def fit(runs, steps, *, progress=False, callback=None, save=None, save_every=0, config=None):
    """Train ``runs`` (one, or two engines side by side) in lockstep until step ``steps``.

    ``progress`` shows a tqdm bar on stderr with the loss and accuracy. ``callback(step, losses, accs)``
    runs after every step. ``save`` is a checkpoint path written every ``save_every`` steps, at the end, and
    on Ctrl-C (from ``runs[0]``). Ctrl-C (or a KeyboardInterrupt raised by the callback) raises
    ``Interrupted`` after saving.
    """
    if config is None:
        config = runs[0].config
    start = runs[0].step
    if any(r.step != start for r in runs):
        raise ValueError("runs trained side by side must be at the same step")
    bar = None
    if progress:
        from tqdm import tqdm

        names = "+".join(r.engine for r in runs)
        bar = tqdm(total=steps, initial=start, desc=f"train {names}", unit="step", leave=True, dynamic_ncols=True)
    t0 = time.perf_counter()
    run_seconds = [0.0] * len(runs)
    step = start
    try:
        with _sigint_at_step_boundary() as stop_requested:
            while step < steps:
                results = []
                for i, r in enumerate(runs):
                    t = time.perf_counter()
                    results.append(r.train_step(steps))
                    run_seconds[i] += time.perf_counter() - t
                step += 1
                if bar is not None:
                    losses = "/".join(f"{l:.4f}" for l, _ in results)
                    accs = "/".join(f"{a:.1%}" for _, a in results)
                    bar.set_postfix_str(f"loss={losses}, acc={accs}", refresh=False)
                    bar.update(1)
                if save and save_every and step % save_every == 0 and step < steps:
                    save_checkpoint(save, config, runs[0])
                if callback is not None:
                    callback(step, [l for l, _ in results], [a for _, a in results])
                if stop_requested():
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        done = runs[0].step
        if not save:
            raise Interrupted(done, steps) from None
        if not all(r.consistent for r in runs):
            raise Interrupted(done, steps, reason="interrupted in the middle of a parameter update") from None
        save_checkpoint(save, config, runs[0])
        raise Interrupted(done, steps, saved=save) from None
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    if save:
        save_checkpoint(save, config, runs[0])
    return FitResult(step - start, seconds, tuple(run_seconds))


# ------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, config, run):
    """Write ``run``'s full state and ``config`` to ``path`` (.npz) atomically."""
    arrays = run.state_dict()
    arrays["naivegrad_checkpoint"] = np.int64(CHECKPOINT_FORMAT)
    arrays["naivegrad_version"] = np.array(__version__)
    arrays["args"] = np.array(config.to_json())  # JSON text in a 0-d unicode array: loads without pickle
    atomic_savez(path, arrays)


def read_checkpoint(path):
    """(settings dict, arrays) from a checkpoint; ``CheckpointError`` naming ``path`` for anything wrong."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise CheckpointError(f"cannot resume: no checkpoint at {str(path)!r}") from None
    except OSError as e:
        raise CheckpointError(f"cannot resume: cannot read {str(path)!r}: {e.strerror or e}") from None
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        raise CheckpointError(f"cannot resume from {str(path)!r}: not an .npz checkpoint (damaged, or some other file)")
    try:
        arrays = load_npz(path)
    except FileNotFoundError:
        raise CheckpointError(f"cannot resume: no checkpoint at {str(path)!r}") from None
    except (ValueError, OSError) as e:
        raise CheckpointError(f"cannot resume from {str(path)!r}: {e}") from None
    fmt = arrays.get("naivegrad_checkpoint")
    if fmt is None or "args" not in arrays:
        raise CheckpointError(f"{str(path)!r} is not a training checkpoint written by naivegrad train "
                              f"(no 'naivegrad_checkpoint' and 'args' entries)")
    if int(np.asarray(fmt)) != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} has checkpoint format {int(np.asarray(fmt))}; this naivegrad reads "
                              f"format {CHECKPOINT_FORMAT}")
    try:
        settings = json.loads(str(np.asarray(arrays["args"])[()]))
        if not isinstance(settings, dict):
            raise ValueError("not a JSON object")
    except (ValueError, TypeError, IndexError) as e:
        raise CheckpointError(f"{str(path)!r} has damaged settings ('args' entry): {e}") from None
    if "hidden" in settings and isinstance(settings["hidden"], list):
        settings["hidden"] = tuple(settings["hidden"])
    return settings, arrays
