"""The settings of a training run: ``Config``, the per-dataset defaults (``resolve``) and the resume policy.

>>> config = resolve({"dataset": "moons", "steps": 300})     # every other setting takes its default
>>> config.batch_size, config.optimizer, config.lr, config.backend
(100, 'sgd', 1.0, 'scalar')

Settings are keyed by their command-line names with ``_`` (``batch_size`` for ``--batch-size``); every
error is a ``ConfigError`` whose message names the option. ``resume`` applies the resume policy: a resumed
run takes what is trained from its checkpoint (``RESUME_FIXED``) and may change only the rest.
"""

import json
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..engines import ENGINES, SCALAR, TENSOR
from .models import mlp_parameter_count

__all__ = [
    "Config", "ConfigError", "resolve", "resume", "parse_hidden", "SETTINGS", "RESUME_FIXED",
    "DATASETS", "POINT_DATASETS", "TEXT_DATASETS", "MODELS", "LM_MODELS", "OPTIMIZERS", "BACKENDS", "BOTH",
    "MNIST_HELD_OUT", "NAME_SEQUENCE",
]

POINT_DATASETS = ("moons", "circles", "spirals", "blobs")
TEXT_DATASETS = ("names",)  # character-level language modelling (naivegrad.app.lm)
DATASETS = POINT_DATASETS + ("mnist",) + TEXT_DATASETS
MODELS = ("mlp", "convnet", "gpt", "bigram")
LM_MODELS = ("gpt", "mlp", "bigram")  # the models of --dataset names (mlp: makemore's MLP language model)
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
#: A name as the GPT reads it: the start token '.' and up to 15 characters (the corpus's longest name).
NAME_SEQUENCE = 16
BOTH = "both"  # the two engines side by side, compared
BACKENDS = ENGINES + (BOTH,)

#: Settings that define what is trained: a resumed run takes them from its checkpoint and refuses others.
RESUME_FIXED = ("dataset", "samples", "noise", "classes", "test_fraction", "seed", "model", "hidden",
                "optimizer", "batch_size", "l2", "block_size", "n_embd", "n_layer", "n_head", "weight_decay")

#: Bounds far beyond any sensible run of this command, so that a typo or a crafted checkpoint cannot ask for
#: terabytes: points of a generated 2-D set, and weights of the MLP. The noise of a 2-D set is bounded for the
#: same reason: the points span a few units, and noise of 1e308 makes them inf (a "diverged" run blaming --lr).
MAX_SAMPLES = 10_000_000
MAX_WEIGHTS = 100_000_000
MAX_NOISE = 1e6

MNIST_HELD_OUT = 2000  # the last 2,000 of the 10,000 test digits: the split the README's accuracies use
_MNIST_FIXED = {"samples": 10000, "noise": 0.0, "classes": 10, "test_fraction": MNIST_HELD_OUT / 10000}
_DEFAULT_LR = {  # (2-D sets, mnist)
    "sgd": (1.0, 0.1),
    "adam": (0.05, 1e-3),
    "adamw": (0.05, 1e-3),
    "rmsprop": (0.01, 1e-3),
}
#: The options of the language models, which the other datasets refuse (and their "not given" values there).
_LM_ONLY = {"block_size": 0, "n_embd": 0, "n_layer": 0, "n_head": 0}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the command-line option."""


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
    # --dataset names only (0 elsewhere): the language model's context, width, depth and heads (defaults:
    # LM_DEFAULTS, per model and engine). weight_decay: Adam's / AdamW's (default 0.01 for adamw, else 0).
    block_size: int = 0
    n_embd: int = 0
    n_layer: int = 0
    n_head: int = 0
    weight_decay: float = 0.0

    @property
    def language_model(self):
        """True for the character-level language models (``--dataset names``)."""
        return self.dataset in TEXT_DATASETS

    @property
    def binary(self):
        """Two classes are learned micrograd's way: one score, hinge loss, labels -1/1."""
        return self.classes == 2

    @property
    def loss_name(self):
        return "hinge" if self.binary else "cross-entropy"

    @property
    def n_test(self):
        """Samples held out (the last ones)."""
        return _n_test(self.samples, self.test_fraction)

    @property
    def n_inputs(self):
        return 784 if self.dataset == "mnist" else 2

    @property
    def n_outputs(self):
        return 1 if self.binary else self.classes

    def to_json(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return json.dumps(d, sort_keys=True)

    def describe(self):
        """One line: what is trained on what, with which loss and optimizer."""
        if self.language_model:
            from .lm import describe
            return describe(self)
        n_test = self.n_test
        if self.dataset == "mnist":
            what = f"mnist ({self.samples - MNIST_HELD_OUT} train / {MNIST_HELD_OUT} test digits)"
        else:
            what = f"{self.dataset} ({self.samples - n_test} train" + (f" / {n_test} test" if n_test else "") + \
                   f" points, {self.classes} classes)"
        model = (f"MLP({self.n_inputs}, {list(self.hidden) + [self.n_outputs]})" if self.model == "mlp" else
                 "ConvNet(conv3x3 1->8, relu, maxpool2, conv3x3 8->16, relu, maxpool2, linear 400->10)")
        l2 = f" + {self.l2:g} L2" if self.l2 else ""
        if self.weight_decay:
            l2 += f", weight decay {self.weight_decay:g}"
        batch = "full batch" if self.batch_size >= self.samples - n_test else f"batch {self.batch_size}"
        return (f"{model} on {what}: {self.loss_name} loss{l2}, {self.optimizer} lr {self.lr:g} -> {self.lr / 10:g}, "
                f"{batch}, seed {self.seed}")


#: The names of the settings, as ``resolve`` takes them (the command-line options, with ``_``).
SETTINGS = tuple(f.name for f in fields(Config))


def resolve(settings):
    """A ``Config`` from a dict of the settings given (command-line names with ``_``); the rest are defaults.

    The defaults depend on the dataset: a 2-D set trains ``MLP(2, [16, 16, out])`` on 100 points, full batch,
    SGD from lr 1.0, for 100 steps on the scalar engine; MNIST trains ``MLP(784, [128, 10])`` on 8,000 digits in
    batches of 128 with Adam from lr 1e-3 for 2,000 steps on the tensor engine. Raises ``ConfigError`` naming
    the option for any setting that cannot be used.
    """
    s = {k: v for k, v in settings.items() if v is not None}
    unknown = sorted(set(s) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    dataset = s.get("dataset", "moons")
    if dataset not in DATASETS:
        raise ConfigError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    if dataset in TEXT_DATASETS:
        return _resolve_names(s)
    for key, unset in _LM_ONLY.items():
        if s.get(key, unset) != unset:
            raise ConfigError(f"{_option(key)} applies to the language models (--dataset names), not to {dataset}")
    points = dataset != "mnist"
    model = s.get("model", "mlp")
    if model not in MODELS:
        raise ConfigError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if model in LM_MODELS and model != "mlp":
        raise ConfigError(f"--model {model} is a language model: it trains on --dataset names, not {dataset} "
                          f"(which takes --model mlp{'' if points else ' or convnet'})")
    if model == "convnet" and points:
        raise ConfigError(f"--model convnet needs images (--dataset mnist); {dataset} is a 2-D dataset: use --model mlp")
    backend = s.get("backend", SCALAR if points else TENSOR)
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    optimizer = s.get("optimizer", "sgd" if points else "adam")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")

    if points:
        samples = _int_at_least("--samples", s.get("samples", 100), 2)
        if samples > MAX_SAMPLES:
            raise ConfigError(f"--samples must be at most {MAX_SAMPLES:,}, got {samples:,}")
        noise = _real_at_least("--noise", s.get("noise", 0.25 if dataset == "blobs" else 0.1), 0.0)
        if noise > MAX_NOISE:
            raise ConfigError(f"--noise must be at most {MAX_NOISE:g}, got {noise:g}")
        default_classes = {"blobs": 3}.get(dataset, 2)
        classes = _int_at_least("--classes", s.get("classes", default_classes), 2)
        if dataset in ("moons", "circles") and classes != 2:
            raise ConfigError(f"--classes: {dataset} has 2 classes, got {classes}")
        if classes > samples:
            raise ConfigError(f"--classes {classes} needs at least as many --samples, got {samples}")
        test_fraction = _real_at_least("--test-fraction", s.get("test_fraction", 0.0), 0.0)
        n_test = _n_test(samples, min(test_fraction, 1.0))  # 1e308 * samples would be inf: no integer count
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
    if not isinstance(hidden, (tuple, list)):
        raise ConfigError(f"--hidden must be layer sizes separated by commas, like 16,16; got {hidden!r}")
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
    weight_decay = _weight_decay(s, optimizer, 0.01)
    outputs = 1 if classes == 2 else classes
    weights = mlp_parameter_count(2 if points else 784, hidden, outputs) if model == "mlp" else 0
    if weights > MAX_WEIGHTS:
        raise ConfigError(f"--hidden {_shown('hidden', hidden)} makes a model of {weights:,} weights; "
                          f"at most {MAX_WEIGHTS:,} are allowed")
    data_dir = s.get("data_dir")
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise ConfigError(f"--data-dir must be a folder name, got {data_dir!r}")
        data_dir = os.fspath(data_dir)
        if not isinstance(data_dir, str) or "\0" in data_dir:
            raise ConfigError(f"--data-dir must be a folder name, got {data_dir!r}")
    return Config(dataset=dataset, samples=samples, noise=noise, classes=classes, test_fraction=test_fraction,
                  seed=seed, model=model, hidden=hidden, optimizer=optimizer, lr=lr, steps=steps,
                  batch_size=batch_size, l2=l2, backend=backend, data_dir=data_dir, weight_decay=weight_decay)


def _weight_decay(s, optimizer, adamw_default):
    """--weight-decay: Adam's L2-style or AdamW's decoupled decay (default ``adamw_default`` for adamw, else 0)."""
    default = adamw_default if optimizer == "adamw" else 0.0
    wd = _real_at_least("--weight-decay", s.get("weight_decay", default), 0.0)
    if wd and optimizer not in ("adam", "adamw"):
        raise ConfigError(f"--weight-decay applies to --optimizer adamw (or adam), not {optimizer}")
    return wd


#: The defaults of the language models, per model, on the tensor engine alone (float32) and where the scalar
#: engine trains (--backend scalar or both: a model and a run small enough for Values). Measured in the README.
LM_DEFAULTS = {
    "gpt": {
        "tensor": dict(block_size=NAME_SEQUENCE, n_embd=64, n_layer=4, n_head=4, hidden=(), optimizer="adamw",
                       lr=2e-3, weight_decay=0.01, batch_size=32, steps=10000),
        "scalar": dict(block_size=NAME_SEQUENCE, n_embd=16, n_layer=1, n_head=4, hidden=(), optimizer="adamw",
                       lr=1e-2, weight_decay=0.0, batch_size=4, steps=100),
    },
    "mlp": {
        "tensor": dict(block_size=3, n_embd=10, n_layer=0, n_head=0, hidden=(200,), optimizer="adamw",
                       lr=3e-3, weight_decay=0.01, batch_size=64, steps=30000),
        "scalar": dict(block_size=3, n_embd=10, n_layer=0, n_head=0, hidden=(64,), optimizer="adamw",
                       lr=1e-2, weight_decay=0.0, batch_size=32, steps=100),
    },
    "bigram": {
        "tensor": dict(block_size=1, n_embd=0, n_layer=0, n_head=0, hidden=(), optimizer="adamw",
                       lr=0.1, weight_decay=0.0, batch_size=512, steps=2000),
        "scalar": dict(block_size=1, n_embd=0, n_layer=0, n_head=0, hidden=(), optimizer="adamw",
                       lr=0.1, weight_decay=0.0, batch_size=32, steps=100),
    },
}
#: What --dataset names fixes: the corpus (32,033 names) and its makemore split, 80/10/10, with seed 42.
_NAMES_FIXED = {"samples": 32033, "noise": 0.0, "classes": 27, "test_fraction": 0.1}


def lm_parameter_count(model, block_size, n_embd, n_layer, hidden, vocab=27):
    """Weights of the language model ``model`` ("gpt", "mlp" or "bigram") as ``naivegrad.app.lm`` builds it."""
    if model == "bigram":
        return vocab * vocab
    if model == "mlp":
        h = hidden[0] if hidden else 0
        return vocab * n_embd + (block_size * n_embd + 1) * h + (h + 1) * vocab
    c = n_embd
    return vocab * c + block_size * c + n_layer * 12 * c * c + c * vocab


def _resolve_names(s):
    """``resolve`` for --dataset names: the language models and their defaults (``LM_DEFAULTS``)."""
    model = s.get("model", "gpt")
    if model not in LM_MODELS:
        raise ConfigError(f"--model {model} does not model text: --dataset names takes --model "
                          f"{', '.join(LM_MODELS[:-1])} or {LM_MODELS[-1]}")
    for key in ("samples", "noise", "classes", "test_fraction"):
        if key in s and s[key] != _NAMES_FIXED[key]:
            raise ConfigError(f"--{key.replace('_', '-')} does not apply to --dataset names: it trains on makemore's "
                              f"split of the 32,033 names (80% train, 10% validation, 10% held out)")
    if s.get("l2", 0.0) != 0.0:
        raise ConfigError("--l2 does not apply to --dataset names: use --weight-decay (AdamW's decoupled decay)")
    if s.get("data_dir") is not None:
        raise ConfigError("--data-dir does not apply to --dataset names: the corpus ships with naivegrad")
    backend = s.get("backend", TENSOR)
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    d = LM_DEFAULTS[model][TENSOR if backend == TENSOR else SCALAR]
    optimizer = s.get("optimizer", d["optimizer"])
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")

    def only(key, models, what):
        if model not in models and key in s and s[key] != d[key]:
            raise ConfigError(f"{_option(key)} does not apply to --model {model}: {what}")

    only("n_embd", ("gpt", "mlp"), "the bigram's table is vocabulary x vocabulary")
    only("n_layer", ("gpt",), "only the transformer has layers of blocks")
    only("n_head", ("gpt",), "only the transformer has attention heads")
    only("hidden", ("mlp",), "give the MLP's hidden width with --model mlp")
    only("block_size", ("gpt", "mlp"), "the bigram reads one character")
    block_size = _int_at_least("--block-size", s.get("block_size", d["block_size"]), 1)
    if model == "mlp" and block_size > NAME_SEQUENCE:  # more reads only padding, in an (examples, B) array
        raise ConfigError(f"--block-size {block_size} is longer than a name can be: the MLP's context holds at most "
                          f"the start token and 15 characters, so --block-size must be <= {NAME_SEQUENCE}")
    if model == "gpt" and block_size < NAME_SEQUENCE:
        raise ConfigError(f"--block-size {block_size} is too short for the transformer: it reads a whole name, the "
                          f"start token and up to 15 characters, so --block-size must be >= {NAME_SEQUENCE}")
    n_embd = _int_at_least("--n-embd", s.get("n_embd", d["n_embd"]), 1) if model != "bigram" else 0
    n_layer = _int_at_least("--n-layer", s.get("n_layer", d["n_layer"]), 1) if model == "gpt" else 0
    n_head = _int_at_least("--n-head", s.get("n_head", d["n_head"]), 1) if model == "gpt" else 0
    if model == "gpt" and n_embd % n_head:
        raise ConfigError(f"--n-head {n_head} must divide --n-embd {n_embd}")
    hidden = s.get("hidden", d["hidden"])
    if isinstance(hidden, str):
        hidden = parse_hidden(hidden)
    if not isinstance(hidden, (tuple, list)):
        raise ConfigError(f"--hidden must be layer sizes separated by commas, like 200; got {hidden!r}")
    hidden = tuple(_int_at_least("--hidden", h, 1) for h in hidden)
    if model == "mlp" and len(hidden) != 1:
        raise ConfigError(f"--hidden: the MLP language model has one hidden layer; give one width, like 200 "
                          f"(got {_shown('hidden', hidden)})")
    lr = _real_at_least("--lr", s.get("lr", d["lr"]), 0.0)
    steps = _int_at_least("--steps", s.get("steps", d["steps"]), 1)
    batch_size = _int_at_least("--batch-size", s.get("batch_size", d["batch_size"]), 1)
    weight_decay = _weight_decay(s, optimizer, d["weight_decay"])
    seed = _int_at_least("--seed", s.get("seed", 0), 0)
    weights = lm_parameter_count(model, block_size, n_embd, n_layer, hidden)
    if weights > MAX_WEIGHTS:
        raise ConfigError(f"those sizes make a model of {weights:,} weights; at most {MAX_WEIGHTS:,} are allowed")
    return Config(dataset="names", seed=seed, model=model, hidden=hidden, optimizer=optimizer, lr=lr, steps=steps,
                  batch_size=batch_size, l2=0.0, backend=backend, data_dir=None, block_size=block_size,
                  n_embd=n_embd, n_layer=n_layer, n_head=n_head, weight_decay=weight_decay, **_NAMES_FIXED)


def resume(saved, given, source):
    """The ``Config`` of a resumed run: the checkpoint's settings ``saved`` with the ``given`` ones on top.

    What was not given comes from the checkpoint. Giving a setting of ``RESUME_FIXED`` that differs from the
    checkpoint's is a ``ConfigError`` naming ``source`` (the checkpoint); ``lr``, ``steps``, ``backend`` and
    ``data_dir`` may change.
    """
    before = resolve(saved)
    for key in ("dataset", "model"):  # first: another model's defaults would make the other settings wrong
        if key in given and given[key] != getattr(before, key):
            raise ConfigError(
                f"checkpoint {source} was trained with {_option(key)} {getattr(before, key)}, not {given[key]}: "
                f"drop {_option(key)} to continue it, or start a new run without --resume")
    config = resolve({**saved, **given})
    for key in RESUME_FIXED:
        if getattr(config, key) != getattr(before, key):
            raise ConfigError(
                f"checkpoint {source} was trained with {_option(key)} {_shown(key, getattr(before, key))}, "
                f"not {_shown(key, getattr(config, key))}: drop {_option(key)} to continue it, or start a new run "
                f"without --resume")
    return config


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


def _option(key):
    return "--" + key.replace("_", "-")


def _shown(key, value):
    if key == "hidden":
        return ",".join(str(h) for h in value) or '""'
    return f"{value:g}" if isinstance(value, float) else str(value)
