"""The original project's neural-network pieces on the scalar engine: ``Neuron``, ``Layer``, ``MLP``.

They keep the original's constructors, attributes and results: a ``Neuron(nin, nonlin=True)`` holds ``w``, a
list of ``nin`` Scalars drawn from ``random.uniform(-1, 1)`` (Python's global generator, so ``random.seed``
makes a model reproducible), and ``b``, a Scalar starting at 0; it computes ``relu(b + w[0]*x[0] + ...)``
with one Scalar op at a time in that order, so values and gradients are the original's bit for bit.
``Layer(nin, nout, **neuron_options)`` holds ``neurons``; ``MLP(nin, nouts)`` holds ``layers``, every one
followed by relu but the last. A call returns one Scalar when the layer has one output, else a list.

>>> random.seed(0)
>>> model = MLP(2, [16, 16, 1])
>>> loss = (1 - model([0.5, -1.0])).relu()
>>> model.zero_grad(); loss.backward()
>>> for p in model.parameters(): p.data -= 0.1 * p.grad

Gradients accumulate across ``backward()`` calls (micrograd's rule, and the original's on this engine): zero
them with ``model.zero_grad()``. For new code, ``naivegrad.nn`` has Neuron, Layer and MLP that run on either
engine and save their weights.
"""

import numbers
import random

from .scalar import Value as Scalar

__all__ = ["Module", "Neuron", "Layer", "MLP"]


def _size(n, what):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an int, got {type(n).__name__}: {n!r}")
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n!r}")
    return int(n)


class Module:
    """What every piece has: ``parameters()`` (a list of Scalars) and ``zero_grad()`` (each grad back to 0)."""

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self):
        return []


class Neuron(Module):
    """relu(w . x + b), or w . x + b with ``nonlin=False``."""

    def __init__(self, nin, nonlin=True):
        self.w = [Scalar(random.uniform(-1, 1)) for _ in range(_size(nin, "nin"))]
        self.b = Scalar(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'} Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; extra keyword arguments (``nonlin=``) go to each Neuron."""

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(_size(nout, "nout"))]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts`` after ``nin`` inputs; relu after each but the last, which is linear."""

    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
