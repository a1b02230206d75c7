"""Normalization layers, as PyTorch's: ``LayerNorm`` and ``RMSNorm`` over the last axes of a sample,
``BatchNorm1d`` over the batch, with running statistics for evaluation.

>>> norm = nn.RMSNorm(16, elementwise_affine=False, backend="scalar")    # microgpt's rmsnorm
>>> bn = nn.BatchNorm1d(64); bn.eval()                                   # normalizes by its running estimates

On the scalar engine each vector's mean (or mean square) is one fused ``sum`` (or ``dot``) node.
"""

import numpy as np

from .layers import _positive_int
from .module import Module

__all__ = ["LayerNorm", "RMSNorm", "BatchNorm1d"]


def _normalized_shape(shape):
    """``normalized_shape`` as a tuple of positive ints (an int is a 1-tuple), as PyTorch takes it."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else tuple(shape)
    if not dims:
        raise ValueError("normalized_shape must name at least one axis, got ()")
    return tuple(_positive_int(d, "normalized_shape") for d in dims)


def _check_trailing(module, x, shape):
    got = module._backend.shape(x)
    if len(got) < len(shape) or tuple(got[-len(shape):]) != shape:
        raise ValueError(f"{type(module).__name__} over normalized_shape {shape} takes input of shape "
                         f"(..., {', '.join(map(str, shape))}), got shape {tuple(got)}")


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) * weight + bias, the statistics over the last ``len(normalized_shape)``
    axes of each sample (the biased variance), as ``torch.nn.LayerNorm``.

    ``weight`` (ones) and ``bias`` (zeros) have shape ``normalized_shape``; ``elementwise_affine=False``
    drops both, ``bias=False`` the bias.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, backend="tensor",
                 dtype=None):
        super().__init__(backend, dtype)
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = self.bias = None
        if self.elementwise_affine:
            self.register_parameter("weight", np.ones(self.normalized_shape))
            if bias:
                self.register_parameter("bias", np.zeros(self.normalized_shape))

    def forward(self, x):
        _check_trailing(self, x, self.normalized_shape)
        return self._backend.layer_norm(x, len(self.normalized_shape), self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last ``len(normalized_shape)`` axes, as
    ``torch.nn.RMSNorm``: ``eps=None`` is the machine epsilon of the dtype (float64 on the scalar backend);
    ``elementwise_affine=False`` has no ``weight`` (microgpt's rmsnorm: ``RMSNorm(C, 1e-5, False)``).
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, backend="tensor", dtype=None):
        super().__init__(backend, dtype)
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = None
        if self.elementwise_affine:
            self.register_parameter("weight", np.ones(self.normalized_shape))

    def forward(self, x):
        _check_trailing(self, x, self.normalized_shape)
        return self._backend.rms_norm(x, len(self.normalized_shape), self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Each channel normalized over the batch, for input (N, C) or (N, C, L), as ``torch.nn.BatchNorm1d``.

    In training (``model.train()``, the default) a batch is normalized by its own mean and biased variance,
    and the running estimates follow it: ``running = (1 - momentum) * running + momentum * batch``, with the
    *unbiased* variance for ``running_var`` (``momentum=None``: the cumulative average, 1 / batches seen). In
    evaluation (``model.eval()``) the running estimates normalize. ``track_running_stats=False`` keeps none
    and always uses the batch's statistics. ``weight`` (ones) and ``bias`` (zeros) are (C,) when ``affine``.

    The running estimates are buffers (numpy arrays, in the state dict as ``running_mean``, ``running_var``
    and ``num_batches_tracked``, as PyTorch's), never trained.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 backend="tensor", dtype=None):
        super().__init__(backend, dtype)
        self.num_features = _positive_int(num_features, "num_features")
        self.eps = float(eps)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.weight = self.bias = None
        if self.affine:
            self.register_parameter("weight", np.ones(self.num_features))
            self.register_parameter("bias", np.zeros(self.num_features))
        c, dt = self.num_features, self.dtype
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dt))
            self.register_buffer("running_var", np.ones(c, dtype=dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x):
        shape = tuple(self._backend.shape(x))
        c = self.num_features
        if len(shape) not in (2, 3) or shape[1] != c:
            raise ValueError(f"BatchNorm1d({c}) takes input of shape (N, {c}) or (N, {c}, L), got shape {shape}")
        if not (self.training or not self.track_running_stats):
            y, _, _ = self._backend.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
                                               self.eps)
            return y
        n = shape[0] * (shape[2] if len(shape) == 3 else 1)
        if n <= 1:  # the batch's own statistics (training, or no running ones): one value normalizes to 0
            hint = "model.eval()" if self.track_running_stats else "track_running_stats=True and model.eval()"
            raise ValueError(f"BatchNorm1d {'in training' if self.training else 'without running statistics'} "
                             f"needs more than 1 value per channel, got input of shape {shape}; use a larger "
                             f"batch, or {hint}")
        y, mean, var = self._backend.batch_norm(x, self.weight, self.bias, None, None, self.eps)
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            unbiased = var * (n / (n - 1))
            self.running_mean[...] = (1.0 - f) * self.running_mean + f * mean
            self.running_var[...] = (1.0 - f) * self.running_var + f * unbiased
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
