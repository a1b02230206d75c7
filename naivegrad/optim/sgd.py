"""``SGD``: stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""

import numpy as np

from .optimizer import Optimizer, check_bool, check_real

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent, PyTorch's rule exactly: with ``g = grad + weight_decay * p``,

    ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``;
    the step is ``g + momentum * buf`` with ``nesterov=True``, else ``buf`` (``g`` when momentum is 0);
    ``p -= lr * step``.

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    _state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_real("lr", group["lr"])
        check_real("momentum", group["momentum"])
        check_real("dampening", group["dampening"], -float("inf"))
        check_real("weight_decay", group["weight_decay"])
        check_bool("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']!r} and dampening={group['dampening']!r}")

    def _step_values(self, params, state, group):
        if group["momentum"] != 0 or group["weight_decay"] != 0:
            return super()._step_values(params, state, group)
        # Plain descent keeps no state: micrograd's own loop beats a trip through numpy, with the same
        # arithmetic (one multiply, one subtract). float() reads a grad that is a Value (create_graph=True).
        lr = group["lr"]
        for v in params:
            v.data -= lr * float(v.grad)
        state["step"] += 1

    def _update(self, p, g, state, group):
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # PyTorch starts the buffer at the first gradient itself, undamped.
                buf = state["momentum_buffer"] = np.array(g, p.dtype)
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += g if dampening == 0 else (1 - dampening) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g
