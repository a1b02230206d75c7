"""Layers and models, each written once for both engines: micrograd's Neuron -> Layer -> MLP, and PyTorch's
Linear, activations and Sequential.

Initialisation is PyTorch's default for ``torch.nn.Linear``: weight and bias uniform in
±1/sqrt(fan_in); micrograd's Neuron, Layer and MLP use it too (micrograd itself drew U(-1, 1)). Values are drawn once with numpy from ``seed`` and rounded to float32, so that every backend
and dtype starts from bit-identical numbers.
"""

import numpy as np

from ..engines import TENSOR
from .backend import get_backend
from .module import Module

__all__ = ["Linear", "Neuron", "Layer", "MLP", "ReLU", "Tanh", "Sigmoid", "Sequential"]

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def init_uniform(rng, shape, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of ``shape``, rounded to float32 precision, as float64."""
    bound = 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(np.float32).astype(np.float64)


def _positive_int(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _activation_name(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


class Linear(Module):
    """y = x W^T + b, with ``weight`` of shape (nout, nin) and ``bias`` (nout,) as ``torch.nn.Linear``.

    >>> layer = nn.Linear(3, 2, backend="tensor", seed=0)
    >>> layer(np.ones((5, 3))).shape
    (5, 2)

    dtype: the layer computes in its ``dtype`` (float32 by default on the tensor backend, float64 on the
    scalar one) and converts every input to it, arrays and Tensors alike: ``Linear(3, 2)`` returns float32
    for float64 data, ``Linear(3, 2, dtype=np.float64)`` float64 for float32 data (see ``Module``). Complex
    input raises TypeError. ``weight`` and ``bias`` are ``nn.Parameter``s on the tensor backend; assigning
    another layer's (``b.weight = a.weight``) ties them.
    """

    def __init__(self, nin, nout, bias=True, backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        self.nin = _positive_int(nin, "nin")
        self.nout = _positive_int(nout, "nout")
        rng = np.random.default_rng(seed)  # a Generator passes through unchanged: a model shares one stream
        self.register_parameter("weight", init_uniform(rng, (self.nout, self.nin), self.nin))
        self.bias = None
        if bias:
            self.register_parameter("bias", init_uniform(rng, (self.nout,), self.nin))

    def forward(self, x):
        return self._backend.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.nin}, {self.nout}, bias={self.bias is not None}"


class Layer(Linear):
    """micrograd's Layer: ``nout`` neurons reading the same ``nin`` inputs, then an activation if ``nonlin``.

    The neurons' weights are the rows of one (nout, nin) matrix, so the state dict matches a ``Linear``.
    """

    def __init__(self, nin, nout, nonlin=True, activation="relu", backend="tensor", dtype=None, seed=None):
        super().__init__(nin, nout, bias=True, backend=backend, dtype=dtype, seed=seed)
        self.nonlin = bool(nonlin)
        self.activation = _activation_name(activation)

    def forward(self, x):
        # micrograd's layer takes rows of features: on the scalar engine, samples of higher rank are an error.
        out = self._backend.linear(x, self.weight, self.bias, any_rank=False)
        return self._backend.activation(out, self.activation) if self.nonlin else out

    def extra_repr(self):
        return f"{self.nin}, {self.nout}, {self.activation if self.nonlin else 'linear'}"


class Neuron(Module):
    """micrograd's Neuron: act(w . x + b) with ``weight`` (nin,) and a scalar ``bias``; one output per sample.

    On the scalar engine the pre-activation is one fused ``dot`` node.
    """

    def __init__(self, nin, nonlin=True, activation="relu", backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        self.nin = _positive_int(nin, "nin")
        self.nonlin = bool(nonlin)
        self.activation = _activation_name(activation)
        rng = np.random.default_rng(seed)
        self.register_parameter("weight", init_uniform(rng, (self.nin,), self.nin))
        self.register_parameter("bias", init_uniform(rng, (), self.nin))

    def forward(self, x):
        out = self._backend.neuron(x, self.weight, self.bias)
        return self._backend.activation(out, self.activation) if self.nonlin else out

    def extra_repr(self):
        return f"{self.nin}, {self.activation if self.nonlin else 'linear'}"


class MLP(Module):
    """micrograd's multi-layer perceptron: every layer but the last is followed by ``activation``.

    >>> model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)   # or backend="tensor"
    >>> model([0.5, -1.0])                                            # one sample -> one Value
    Value(data=..., grad=0.0)

    The state dict holds ``layers.{i}.weight`` (nout, nin) and ``layers.{i}.bias`` (nout,), as the
    equivalent stack of ``torch.nn.Linear`` layers; the same ``seed`` gives identical weights on both backends.
    """

    def __init__(self, nin, nouts, backend="tensor", seed=None, dtype=None, activation="relu"):
        super().__init__(backend, dtype)
        if isinstance(nouts, (int, np.integer)) or not len(nouts):
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [_positive_int(nin, "nin")] + [_positive_int(n, "layer size") for n in nouts]
        rng = np.random.default_rng(seed)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, activation=activation,
                  backend=backend, dtype=dtype, seed=rng)
            for i in range(len(nouts))
        ]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def extra_repr(self):
        return f"{self.layers[0].nin}, {[l.nout for l in self.layers]}"


class _Activation(Module):
    fn = None
    _follows_input_dtype = True

    def __init__(self, backend="tensor"):
        super().__init__(backend)

    def forward(self, x):
        return self._backend.activation(x, self.fn)


class ReLU(_Activation):
    """max(0, x) elementwise, with relu'(0) = 0 as in PyTorch."""

    fn = "relu"


class Tanh(_Activation):
    """tanh(x) elementwise."""

    fn = "tanh"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)) elementwise, computed without overflow."""

    fn = "sigmoid"


class Sequential(Module):
    """Modules applied in order; state-dict names are ``{index}.{name}`` as in ``torch.nn.Sequential``.

    All modules run on one backend: the one of the first module with parameters unless ``backend`` is given;
    parameter-free modules (activations) follow it.
    """

    def __init__(self, *modules, backend=None):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules; item {i} is {type(m).__name__}")
        if backend is None:
            with_params = [m for m in modules if any(True for _ in m.named_parameters())]
            backend = with_params[0].backend if with_params else TENSOR
        super().__init__(backend, None)
        for i, m in enumerate(modules):
            for sub in m.modules():
                if sub._parameters and sub.backend != backend:
                    raise ValueError(f"Sequential on the {backend} backend got item {i} ({type(m).__name__}) "
                                     f"on the {sub.backend} backend; build it with backend={backend!r}")
                sub._backend = get_backend(backend)
        dtypes = {m.dtype for m in modules if m._parameters or list(m.named_parameters())}
        if not dtypes:
            self.dtype = None  # no parameters: it keeps the input's dtype, as its modules do
        elif len(dtypes) == 1:
            self.dtype = dtypes.pop()
        self.items = list(modules)

    def _child_items(self):
        for i, m in enumerate(self.items):
            yield str(i), m

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)

    def forward(self, x):
        for m in self.items:
            x = m.forward(x)
        return x
