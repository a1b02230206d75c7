"""The original project's optimizers, under its module name: ``SGD``, ``Adam`` and ``RMSProp`` with its
signatures, defaults and attribute names, built on ``naivegrad.optim`` (the same update rules, the same code).

>>> import naivegrad.optimizer as optim
>>> opt = optim.SGD([model.l1, model.l2], lr=0.001)
>>> for x, y in batches:                      # the original's loop, as its README wrote it
...     loss = model.forward(x).mul(y).mean()
...     loss.backward()
...     opt.step()

The one difference from ``naivegrad.optim``: **a step here consumes the gradients it used.** After
``step()``, every Tensor parameter's ``grad`` is None, as if ``zero_grad()`` had been called. The original's
``backward()`` replaced each gradient instead of adding to it, so its loops never zeroed gradients; naivegrad
accumulates them, as PyTorch does (two backward passes add up), and without this rule those loops would step
with the sum of every past gradient and diverge. So the loop above takes exactly the steps that
``naivegrad.optim`` takes with ``opt.zero_grad()`` before each ``loss.backward()``. What stays as in PyTorch:
gradients still add up between two steps (two ``backward()`` calls, then one ``step()``, step with their sum),
and scalar ``Value`` parameters keep their gradients (the original's scalar engine already accumulated,
micrograd's rule, and its loops zero them by hand). New code should use ``naivegrad.optim``.

Signatures and defaults are the original's:

- ``SGD(params, lr=0.001)``;
- ``Adam(params, lr=0.001, b1=0.9, b2=0.999, eps=1e-8)``: ``betas=(b1, b2)`` in ``naivegrad.optim``;
- ``RMSProp(params, lr=0.001, decay=0.9, eps=1e-8)``: ``alpha=decay`` in ``naivegrad.optim``, whose defaults
  are PyTorch's (``lr=0.01, alpha=0.99``).

Each also takes the new API's other options by keyword (``weight_decay=``, ``momentum=``...), and exposes the
original's attributes: ``params``, ``lr``, ``eps``, ``b1``, ``b2`` and ``t`` (Adam), ``decay`` (RMSProp).
``Optimizer`` is the base class; a subclass written as the original's were (``super().__init__(params)``,
then a ``step()`` that reads ``self.params``) consumes gradients in the same way.
"""

import functools

from . import optim as _optim
from .engines import is_value

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSProp", "RMSprop"]


def _consuming(step):
    """``step`` followed by resetting the gradient of every Tensor parameter it could have used."""

    @functools.wraps(step)
    def consuming_step(self, *args, **kwargs):
        result = step(self, *args, **kwargs)
        self._consume_grads()
        return result

    consuming_step._consumes_grads = True
    return consuming_step


class Optimizer(_optim.Optimizer):
    """The base of the original's optimizers: ``Optimizer(params)`` keeps the parameters (``self.params``).

    Every ``step()`` of a subclass, including one written by a user, is followed by resetting the ``grad`` of
    each Tensor parameter to None (see the module docstring). Built on ``naivegrad.optim.Optimizer``, so
    ``zero_grad``, ``state_dict`` and ``load_state_dict`` work as there.
    """

    def __init__(self, params, defaults=None):
        super().__init__(params, {} if defaults is None else defaults)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_consumes_grads", False):
            cls.step = _consuming(step)

    @property
    def params(self):
        """The parameters, in order (every group's, one after the other). Assigning a new list starts over:
        one group of those parameters with the current hyper-parameters, and no state."""
        return [p for group in self.param_groups for p in group["params"]]

    @params.setter
    def params(self, params):
        _optim.Optimizer.__init__(self, params, getattr(self, "defaults", {}))

    @_consuming
    def step(self, closure=None):
        """One update of every parameter from its gradient, then each Tensor parameter's grad is None."""
        return super().step(closure)

    def _consume_grads(self):
        for group in self.param_groups:
            for p in group["params"]:
                if not is_value(p):
                    p.grad = None

    def _hyper(self, name):
        return self.param_groups[0][name]

    def _set_hyper(self, name, value):
        """Set a hyper-parameter in every group (and the defaults), after checking it everywhere first."""
        checked = []
        for target in (*self.param_groups, self.defaults):
            candidate = dict(target, **{name: value})
            self._check_group(candidate)
            checked.append(candidate[name])
        for target, v in zip((*self.param_groups, self.defaults), checked):
            target[name] = v


def _hyper_property(name, doc):
    return property(lambda self: self._hyper(name), lambda self, v: self._set_hyper(name, v), doc=doc)


def _beta_property(i, doc):
    def get(self):
        return self._hyper("betas")[i]

    def set_(self, value):
        betas = list(self._hyper("betas"))
        betas[i] = value
        self._set_hyper("betas", tuple(betas))

    return property(get, set_, doc=doc)


class SGD(Optimizer, _optim.SGD):
    """``p -= lr * grad`` (the original's SGD); ``momentum=``, ``weight_decay=``... as ``naivegrad.optim.SGD``."""

    def __init__(self, params, lr=0.001, **options):
        _optim.SGD.__init__(self, params, lr=lr, **options)

    lr = _hyper_property("lr", "The learning rate (of every parameter group).")


class Adam(Optimizer, _optim.Adam):
    """Adam with the original's names: ``b1``, ``b2`` are ``naivegrad.optim.Adam``'s ``betas``.

    The rule is the original's (``m``, ``v`` moving averages of the gradient and its square, bias-corrected,
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)``), computed by ``naivegrad.optim.Adam``.
    """

    def __init__(self, params, lr=0.001, b1=0.9, b2=0.999, eps=1e-8, **options):
        if "betas" in options:
            betas = options.pop("betas")
            if (b1, b2) != (0.9, 0.999):
                raise TypeError(f"Adam got b1={b1!r}, b2={b2!r} and betas={betas!r}: give one of them")
        else:
            betas = (b1, b2)
        _optim.Adam.__init__(self, params, lr=lr, betas=betas, eps=eps, **options)

    lr = _hyper_property("lr", "The learning rate (of every parameter group).")
    eps = _hyper_property("eps", "Added to the root of the second moment.")
    b1 = _beta_property(0, "The decay of the first moment's average (``betas[0]``).")
    b2 = _beta_property(1, "The decay of the second moment's average (``betas[1]``).")

    @property
    def t(self):
        """How many steps have been taken (the most any parameter has taken)."""
        counts = [int(v.max()) for k, v in self.state_dict().items() if k.endswith(".step") and v.size]
        return max(counts, default=0)


class AdamW(Adam, _optim.AdamW):
    """``naivegrad.optim.AdamW`` (decoupled weight decay, default 1e-2) with Adam's names here; it consumes
    gradients as the others. The original had no AdamW."""

    def __init__(self, params, lr=0.001, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, **options):
        Adam.__init__(self, params, lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, **options)


class RMSProp(Optimizer, _optim.RMSProp):
    """RMSProp with the original's defaults, ``lr=0.001`` and ``decay=0.9`` (``alpha`` in ``naivegrad.optim``):
    ``v = decay * v + (1 - decay) * grad**2``, ``p -= lr * grad / (sqrt(v) + eps)``."""

    def __init__(self, params, lr=0.001, decay=None, eps=1e-8, **options):
        if "alpha" in options:
            if decay is not None:
                raise TypeError(f"RMSProp got decay={decay!r} and its other name alpha={options['alpha']!r}: "
                                "give one")
            decay = options.pop("alpha")
        _optim.RMSProp.__init__(self, params, lr=lr, alpha=0.9 if decay is None else decay, eps=eps, **options)

    lr = _hyper_property("lr", "The learning rate (of every parameter group).")
    eps = _hyper_property("eps", "Added to the root of the running mean square.")
    decay = _hyper_property("alpha", "The decay of the running mean square (``alpha`` in naivegrad.optim).")


RMSprop = RMSProp
