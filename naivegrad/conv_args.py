"""The argument and shape rules of ``conv2d`` and pooling, shared by both engines and ``nn.Conv2d``.

They follow PyTorch: an int or a pair for sizes, ``"valid"`` / ``"same"`` padding, 3-D (C, H, W) input as a
batch of one, and errors that name the offending value.
"""

import numbers

import numpy as np

__all__ = ["pair", "conv_padding", "out_size", "as_batch"]


def pair(value, what, low):
    """An int or a pair of ints, each >= ``low``, as a pair of Python ints."""
    both = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(both) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    for v in both:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{what} must be an int or a pair of ints, got {type(v).__name__}: {value!r}")
        if v < low:
            raise ValueError(f"{what} must be >= {low}, got {value!r}")
    return int(both[0]), int(both[1])


def conv_padding(padding, kernel, dilation, stride):
    """``padding`` as (top, bottom, left, right): an int, a pair, ``"valid"`` or ``"same"`` (as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"conv2d: padding='same' needs stride 1, got stride={stride}")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]  # the odd pixel goes after, as in PyTorch
            return tuple(pads)
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = pair(padding, "conv2d: padding", 0)
    return ph, ph, pw, pw


def out_size(what, size, pad, kernel, dilation, stride, axis):
    """The output length along one axis; a ValueError when the kernel does not fit the padded input."""
    span = dilation * (kernel - 1) + 1
    if size + pad < span:
        raise ValueError(
            f"{what}: the kernel spans {span} pixels along {axis} (size {kernel}, dilation {dilation}) but the "
            f"input has only {size} (+{pad} padding)"
        )
    return (size + pad - span) // stride + 1


def as_batch(x, what):
    """``x`` as a 4-D batch, and whether it was one 3-D (C, H, W) image (to undo on the way out)."""
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"{what}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}")
    return x, False
