"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay."""

import numpy as np

from .optimizer import Optimizer, check_real, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's rule exactly. At step t, with ``g = grad + weight_decay * p``:

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g * g``,
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    The first step moves each parameter by about ``lr`` against its gradient's sign.

    >>> opt = Adam(model.parameters(), lr=1e-3)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    _state_names = ("exp_avg", "exp_avg_sq")
    _required_state = _state_names
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        check_real("lr", group["lr"])
        betas = group["betas"]
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        check_real("betas[0]", betas[0], 0.0, 1.0, high_open=True)
        check_real("betas[1]", betas[1], 0.0, 1.0, high_open=True)
        group["betas"] = (float(betas[0]), float(betas[1]))
        check_real("eps", group["eps"])
        check_real("weight_decay", group["weight_decay"])

    def _update(self, p, g, state, group):
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        if weight_decay != 0:
            if self._decoupled:
                p *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p
        lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        step_size = lr / (1 - beta1 ** t)
        denom = np.sqrt(v)
        denom /= (1 - beta2 ** t) ** 0.5
        denom += group["eps"]
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rule exactly: each step first
    shrinks ``p *= 1 - lr * weight_decay``, then takes Adam's step on the plain gradient.

    >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
