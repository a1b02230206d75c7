"""``RMSProp`` (also spelled ``RMSprop``, PyTorch's way): steps scaled by a running RMS of the gradient."""

import numpy as np

from .optimizer import Optimizer, check_bool, check_real, lerp_

__all__ = ["RMSProp", "RMSprop"]


class RMSProp(Optimizer):
    """RMSProp (Hinton), PyTorch's rule exactly. With ``g = grad + weight_decay * p``:

    ``v = alpha * v + (1 - alpha) * g * g``; ``avg = sqrt(v) + eps`` (eps outside the root), or with
    ``centered=True`` ``avg = sqrt(v - mean_g**2) + eps`` where ``mean_g = lerp(mean_g, g, 1 - alpha)``;
    then ``p -= lr * g / avg``, or with momentum ``buf = momentum * buf + g / avg`` (buf starts at 0) and
    ``p -= lr * buf``.

    ``decay=`` is accepted as another name for ``alpha`` (naivegrad's original spelling); ``alpha`` defaults
    to 0.99.

    >>> opt = RMSProp(model.parameters(), lr=2e-4)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    _state_names = ("square_avg", "momentum_buffer", "grad_avg")
    _required_state = ("square_avg",)

    def __init__(self, params, lr=1e-2, alpha=None, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 *, decay=None):
        if decay is not None:
            if alpha is not None:
                raise TypeError(f"RMSProp got both alpha={alpha!r} and its alias decay={decay!r}: give one")
            alpha = decay
        if alpha is None:
            alpha = 0.99
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_real("lr", group["lr"])
        check_real("alpha", group["alpha"], 0.0, 1.0)
        check_real("eps", group["eps"])
        check_real("weight_decay", group["weight_decay"])
        check_real("momentum", group["momentum"])
        check_bool("centered", group["centered"])

    def _update(self, p, g, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            mean_g = state.setdefault("grad_avg", np.zeros_like(p))
            lerp_(mean_g, g, 1 - alpha)
            # torch's addcmul works in double for float32: there v - mean_g**2 stays inf (not inf - inf = nan)
            # when square_avg has overflowed, and rounds once; for float64 this is plain v - mean_g * mean_g.
            wide = np.promote_types(p.dtype, np.float64)
            avg = np.sqrt((v.astype(wide) - np.square(mean_g, dtype=wide)).astype(p.dtype, copy=False))
        else:
            avg = np.sqrt(v)
        avg += group["eps"]
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p))
            buf *= momentum
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / avg)


RMSprop = RMSProp
