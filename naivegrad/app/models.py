"""The models and optimizers a ``Config`` names, and how samples go in and scores come out.

``build_model`` makes the MLP (2-D sets, or digits flattened to 784 inputs) or the MNIST ConvNet on either
engine, seeded from ``config.seed``; ``model_input`` shapes a batch for it; ``as_scores`` turns its output
(a Tensor, or the scalar engine's Values) into a float64 array and ``predictions`` into classes.
"""

import numpy as np

from .. import nn, optim
from ..engines import SCALAR, is_tensor

__all__ = ["build_model", "build_optimizer", "engine_dtype", "model_input", "as_scores", "predictions",
           "parameter_count"]

_OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSProp}


def build_model(config, engine, dtype=None):
    """A fresh model for ``config`` on ``engine`` ("scalar" or "tensor"), initialised from ``config.seed``."""
    if config.model == "convnet":
        return _convnet(config, engine, dtype)
    return nn.MLP(config.n_inputs, list(config.hidden) + [config.n_outputs], backend=engine,
                  seed=config.seed, dtype=dtype)


def _convnet(config, engine, dtype):
    # conv3x3(1->8) relu pool2 conv3x3(8->16) relu pool2 flatten linear(400->10): 28 -> 26 -> 13 -> 11 -> 5.
    rng = np.random.default_rng(config.seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, backend=engine, dtype=dtype, seed=rng), nn.ReLU(engine), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, backend=engine, dtype=dtype, seed=rng), nn.ReLU(engine), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10, backend=engine, dtype=dtype, seed=rng),
        backend=engine,
    )


def parameter_count(config):
    """How many weights (numbers) ``build_model(config, ...)`` has, without building an MLP."""
    if config.language_model:
        from .config import lm_parameter_count
        return lm_parameter_count(config.model, config.block_size, config.n_embd, config.n_layer, config.hidden)
    if config.model == "convnet":
        return sum(np.asarray(w).size for w in _convnet(config, "tensor", np.float64).state_dict().values())
    return mlp_parameter_count(config.n_inputs, config.hidden, config.n_outputs)


def mlp_parameter_count(n_inputs, hidden, n_outputs):
    """Weights and biases of ``nn.MLP(n_inputs, list(hidden) + [n_outputs])``."""
    sizes = [n_inputs, *hidden, n_outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def build_optimizer(config, params):
    """The optimizer ``config`` names, over ``params``, at the initial learning rate."""
    kw = {"weight_decay": config.weight_decay} if config.optimizer in ("adam", "adamw") else {}
    return _OPTIMIZERS[config.optimizer](params, lr=config.lr, **kw)


def engine_dtype(config, engine, both):
    """float64 everywhere except MNIST and the language models on the tensor engine alone (float32 there, for
    speed); None (the engine's own float64) on the scalar engine."""
    if engine == SCALAR:
        return None
    return np.float64 if (both or config.dataset not in ("mnist", "names")) else np.float32


def model_input(config, x):
    """What the model reads: 2-D points as they are, digits flattened for the MLP, NCHW for the convnet."""
    if config.dataset == "mnist" and config.model == "mlp":
        return x.reshape(len(x), -1)
    return x


def as_scores(out):
    """Model output (a Tensor, or the scalar engine's Values and lists of Values) as a float64 array (n, k)."""
    if is_tensor(out):
        arr = out.data.astype(np.float64)
    else:
        rows = out if isinstance(out, list) else [out]
        arr = np.array([[v.data for v in r] if isinstance(r, list) else [r.data] for r in rows], dtype=np.float64)
    return arr.reshape(len(arr), -1)


def predictions(scores):
    """Classes from scores: the sign of a single score (two classes), else the largest score."""
    return (scores[:, 0] > 0).astype(np.int64) if scores.shape[1] == 1 else scores.argmax(axis=1)
