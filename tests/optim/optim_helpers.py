"""Shared pieces of the optimizer tests: a Tensor stand-in, test problems, and trajectory runners.

A trajectory is the parameters after each step, as a float64 array of shape (steps, n) with the
parameters flattened and concatenated in order.
"""

import numpy as np

from naivegrad import optim
from naivegrad.scalar import Value


class StandIn:
    """The smallest Tensor-like parameter: ``.data`` (ndarray), ``.grad`` (ndarray or None), ``.requires_grad``."""

    def __init__(self, data, dtype=np.float64):
        self.data = np.array(data, dtype=dtype)
        self.grad = None
        self.requires_grad = True


# Hyper-parameter sets per optimizer: plain, momentum, nesterov, weight decay, and the less common corners
# (betas <= 0.5 take torch.lerp's other formula; dampening; centered RMSProp with momentum).
CONFIGS = {
    "SGD": [
        dict(lr=2e-4),
        dict(lr=2e-4, momentum=0.9),
        dict(lr=2e-4, momentum=0.9, nesterov=True),
        dict(lr=1e-4, momentum=0.5, dampening=0.3, weight_decay=0.1),
        dict(lr=2e-4, momentum=0.8, nesterov=True, weight_decay=0.5),
    ],
    "Adam": [
        dict(lr=1e-2),
        dict(lr=0.05, betas=(0.8, 0.99)),
        dict(lr=1e-2, weight_decay=0.1),
        dict(lr=0.02, betas=(0.3, 0.9), eps=1e-3),
        dict(lr=0.01, betas=(0.0, 0.5), weight_decay=0.01),
    ],
    "AdamW": [
        dict(lr=1e-2),
        dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.5),
        dict(lr=0.02, weight_decay=0.0, eps=1e-4),
    ],
    "RMSProp": [
        dict(lr=1e-3),
        dict(lr=1e-3, alpha=0.9, eps=1e-4),
        dict(lr=1e-3, momentum=0.9),
        dict(lr=1e-3, centered=True),
        dict(lr=5e-4, centered=True, momentum=0.5, weight_decay=0.1),
    ],
}
ALL_CONFIGS = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def config_id(name, cfg):
    return name + "(" + ",".join(f"{k}={v}" for k, v in cfg.items()) + ")"


def make(name, params, cfg):
    return getattr(optim, name)(params, **cfg)


# ---------------------------------------------------------------- problems
ROSENBROCK_START = (-1.2, 1.0)


def rosenbrock(x, y):
    """Rosenbrock's banana: the same expression works on Values and torch tensors."""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def regression_data(seed=0, n=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.normal(size=(n, 3))


def regression_start(seed=1):
    """Starting weights (3, 4), bias (3,) and an extra vector (2,) that joins the loss only later."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 4)) * 0.5, rng.normal(size=3) * 0.1, np.array([0.7, -1.3])]


def regression_grads(W, b, c, X, Y, with_c):
    """Hand-written gradient of mean((tanh(X W^T + b) - Y)^2) (+ sum(c^2 * (1 + c)) when ``with_c``)."""
    H = np.tanh(X @ W.T + b)
    dZ = 2 * (H - Y) / Y.size * (1 - H * H)
    gc = (2 * c + 3 * c * c) if with_c else None
    return dZ.T @ X, dZ.sum(0), gc


def regression_torch_loss(W, b, c, X, Y, with_c):
    loss = ((X @ W.T + b).tanh() - Y).pow(2).mean()
    return loss + (c * c * (1 + c)).sum() if with_c else loss


# ---------------------------------------------------------------- runners
def run_values(name, cfg, steps, start=ROSENBROCK_START, loss=rosenbrock):
    """Train Values on ``loss`` with naivegrad's own backward; the trajectory of the Values' data."""
    ps = [Value(v) for v in start]
    opt = make(name, ps, cfg)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss(*ps).backward()
        opt.step()
        out.append([p.data for p in ps])
    return np.array(out)


def run_standins(name, cfg, steps, c_from=5, dtype=np.float64, seed=1):
    """Train three stand-in tensors on the regression problem; the third has grad None before step ``c_from``."""
    X, Y = (a.astype(dtype) for a in regression_data())
    ps = [StandIn(a, dtype) for a in regression_start(seed)]
    opt = make(name, ps, cfg)
    out = []
    for t in range(steps):
        opt.zero_grad()
        for p, g in zip(ps, regression_grads(*(p.data for p in ps), X, Y, with_c=t >= c_from)):
            p.grad = g
        opt.step()
        out.append(np.concatenate([p.data.ravel() for p in ps]).astype(np.float64))
    return np.array(out)


def flat(params):
    return np.concatenate([np.ravel(p.data) for p in params]).astype(np.float64)
