"""Neural networks written once for both engines: pick one with ``backend="scalar"`` or ``"tensor"``.

>>> from naivegrad import nn
>>> model = nn.MLP(2, [16, 16, 1], backend="scalar", seed=0)
>>> loss = nn.hinge_loss(model([[0.5, 1.0], [1.0, -0.5]]), [1, -1]); loss.backward()

Containers ``ModuleList``, ``ModuleDict`` and ``Identity``; ``nn.init`` (``kaiming_normal_``, ``xavier_uniform_``...)
and ``nn.utils`` (``clip_grad_norm_``, ``clip_grad_value_``) as in PyTorch, for both backends; ``nn.functional``
(import as ``F``) holds PyTorch's functional forms under their names.
"""

from .backend import BACKENDS
from . import functional, init, utils
from .containers import Identity, ModuleDict, ModuleList
from .activation import GELU
from .attention import CausalSelfAttention
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .layers import MLP, Layer, Linear, Neuron, ReLU, Sequential, Sigmoid, Tanh
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, mse_loss, nll_loss
from .module import Module
from .normalization import BatchNorm1d, LayerNorm, RMSNorm
from .parameter import Parameter
from .serialization import load, save

__all__ = [
    "BACKENDS", "Module", "Parameter", "Linear", "Neuron", "Layer", "MLP", "ReLU", "Tanh", "Sigmoid", "Sequential",
    "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "ModuleList", "ModuleDict", "Identity",
    "Embedding", "LayerNorm", "RMSNorm", "BatchNorm1d", "Dropout", "CausalSelfAttention", "GELU",
    "init", "utils", "functional",
    "mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy", "nll_loss", "save", "load",
]
