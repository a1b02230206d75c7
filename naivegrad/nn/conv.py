"""Image layers for both engines: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` and ``Flatten``, as in ``torch.nn``.

>>> model = nn.Sequential(nn.Conv2d(1, 8, 3, seed=0), nn.ReLU(), nn.MaxPool2d(2),
...                       nn.Flatten(), nn.Linear(8 * 13 * 13, 10, seed=1))
>>> model(np.zeros((4, 1, 28, 28))).shape      # tensor backend: an NCHW batch in, (4, 10) logits out
(4, 10)

On the tensor backend a batch is an NCHW ``Tensor``; on the scalar backend it is a list of (C, H, W) arrays of
Values, one per sample, and each output pixel is one fused node (slow: tiny images only). ``Flatten`` turns
every sample into a flat row, which ``Linear`` then reads. Parameter names, shapes and the default
initialisation are PyTorch's, so a state dict loads by position into the equivalent ``torch.nn`` model.
"""

import numpy as np

from ..conv_args import pair as _pair
from .layers import _positive_int, init_uniform
from .module import Module

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _padding_arg(padding):
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        return padding
    return _pair(padding, "padding", 0)


class Conv2d(Module):
    """2-D convolution with ``weight`` (out_channels, in_channels / groups, kh, kw) and ``bias`` (out_channels,).

    As ``torch.nn.Conv2d``: ``kernel_size``, ``stride``, ``padding`` (or "valid"/"same") and ``dilation`` are ints
    or (h, w) pairs; weight and bias start uniform in ±1/sqrt(fan_in), fan_in = in_channels / groups * kh * kw
    (PyTorch's default), drawn with numpy from ``seed`` and rounded to float32 like ``Linear``'s.

    >>> conv = nn.Conv2d(3, 16, 3, padding=1, seed=0)
    >>> conv(np.zeros((2, 3, 32, 32))).shape
    (2, 16, 32, 32)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 backend="tensor", dtype=None, seed=None):
        super().__init__(backend, dtype)
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _positive_int(groups, "groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible "
                             f"by groups ({groups})")
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _padding_arg(padding)
        self.dilation = _pair(dilation, "dilation", 1)
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride!r}")
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        rng = np.random.default_rng(seed)  # a Generator passes through unchanged: a model shares one stream
        self.register_parameter(
            "weight", init_uniform(rng, (self.out_channels, self.in_channels // self.groups, kh, kw), fan_in))
        self.bias = None
        if bias:
            self.register_parameter("bias", init_uniform(rng, (self.out_channels,), fan_in))

    def forward(self, x):
        return self._backend.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class _Pool(Module):
    _follows_input_dtype = True

    def __init__(self, kernel_size, stride=None, padding=0, backend="tensor"):
        super().__init__(backend)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(f"padding {padding!r} must be at most half of kernel_size {kernel_size!r}")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """The maximum of each ``kernel_size`` window, moved by ``stride`` (default: the window size), as
    ``torch.nn.MaxPool2d``; ``padding`` (at most half the window) is never chosen. The gradient goes to each
    window's first maximal element.

    >>> nn.MaxPool2d(2)(np.zeros((1, 8, 26, 26))).shape
    (1, 8, 13, 13)
    """

    def forward(self, x):
        return self._backend.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool):
    """The mean of each window, as ``torch.nn.AvgPool2d``: padding counts as zeros, and the divisor is the window's
    full size (``count_include_pad=True``, the default) or its number of real pixels."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True, backend="tensor"):
        super().__init__(kernel_size, stride, padding, backend)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        return self._backend.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class Flatten(Module):
    """Axes ``start_dim``..``end_dim`` merged into one, as ``torch.nn.Flatten`` (default: each sample becomes a
    flat row, the batch axis is kept). The dims count the batch axis, as in PyTorch.

    >>> nn.Flatten()(np.zeros((4, 16, 5, 5))).shape
    (4, 400)
    """

    _follows_input_dtype = True

    def __init__(self, start_dim=1, end_dim=-1, backend="tensor"):
        super().__init__(backend)
        for name, d in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
                raise TypeError(f"Flatten: {name} must be an int, got {type(d).__name__}: {d!r}")
        if start_dim == 0:
            raise ValueError("Flatten: start_dim=0 would merge the batch axis; layers keep it (use start_dim=1)")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return self._backend.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
