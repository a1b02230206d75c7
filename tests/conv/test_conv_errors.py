"""Bad arguments to the convolution and pooling ops, on both engines, and to the layers: clear exceptions that
name the offending shape or value."""

import numpy as np
import pytest

from naivegrad import nn
from naivegrad.scalar import conv as scalar_conv
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops import conv as tensor_conv

ENGINES = {
    "tensor": (tensor_conv, lambda a: Tensor(np.asarray(a, dtype=np.float64))),
    "scalar": (scalar_conv, lambda a: np.asarray(a, dtype=np.float64)),
}

X = np.zeros((2, 4, 6, 5))
W = np.zeros((6, 2, 3, 3))

CONV_ERRORS = [
    # (input shape, weight shape, options, exception, words the message must contain)
    ((6, 5), W.shape, {}, ValueError, ["(6, 5)", "4-D"]),
    (X.shape, (6, 2, 3), {}, ValueError, ["(6, 2, 3)", "weight"]),
    (X.shape, (0, 4, 3, 3), {}, ValueError, ["(0, 4, 3, 3)", "empty axis"]),
    (X.shape, (6, 3, 3, 3), {}, ValueError, ["4 channels", "(6, 3, 3, 3)", "groups=1"]),
    (X.shape, (5, 2, 3, 3), dict(groups=2), ValueError, ["5 output channels", "groups=2"]),
    (X.shape, W.shape, dict(groups=0), ValueError, ["groups", "0"]),
    (X.shape, W.shape, dict(groups=2, stride=0), ValueError, ["stride", ">= 1"]),
    (X.shape, W.shape, dict(groups=2, stride=1.5), TypeError, ["stride", "1.5"]),
    (X.shape, W.shape, dict(groups=2, padding=-1), ValueError, ["padding", "-1"]),
    (X.shape, W.shape, dict(groups=2, padding=(1, 2, 3)), ValueError, ["padding", "(1, 2, 3)"]),
    (X.shape, W.shape, dict(groups=2, padding="full"), ValueError, ["'full'", "same"]),
    (X.shape, W.shape, dict(groups=2, padding="same", stride=2), ValueError, ["same", "stride"]),
    (X.shape, W.shape, dict(groups=2, dilation=3), ValueError, ["spans 7", "only 6"]),
    ((2, 4, 2, 5), W.shape, dict(groups=2), ValueError, ["spans 3", "only 2"]),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("x_shape, w_shape, options, error, words", CONV_ERRORS)
def test_conv2d_rejects_bad_arguments(engine, x_shape, w_shape, options, error, words):
    ops, make = ENGINES[engine]
    with pytest.raises(error) as info:
        ops.conv2d(make(np.zeros(x_shape)), make(np.zeros(w_shape)), **options)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_conv2d_rejects_a_bias_of_the_wrong_shape(engine):
    ops, make = ENGINES[engine]
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\).*\(5,\)"):
        ops.conv2d(make(X), make(W), make(np.zeros(5)), groups=2)


POOL_ERRORS = [
    ((2, 4, 6, 5), dict(kernel_size=0), ValueError, ["kernel_size", ">= 1"]),
    ((2, 4, 6, 5), dict(kernel_size=2, padding=2), ValueError, ["padding 2", "half"]),
    ((2, 4, 6, 5), dict(kernel_size=7), ValueError, ["spans 7", "only 6"]),
    ((2, 4, 6, 5), dict(kernel_size=2, stride=(1, 0)), ValueError, ["stride", "(1, 0)"]),
    ((1, 2, 4, 6, 5), dict(kernel_size=2), ValueError, ["(1, 2, 4, 6, 5)", "4-D"]),
    ((2, 4, 6, 5), dict(kernel_size="2"), TypeError, ["kernel_size", "'2'"]),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("x_shape, options, error, words", POOL_ERRORS)
def test_pooling_rejects_bad_arguments(engine, pool, x_shape, options, error, words):
    ops, make = ENGINES[engine]
    with pytest.raises(error) as info:
        getattr(ops, pool)(make(np.zeros(x_shape)), **options)
    for word in words:
        assert word in str(info.value)


def test_the_scalar_reference_rejects_non_numbers():
    with pytest.raises(TypeError, match="str"):
        scalar_conv.conv2d(np.full((1, 1, 2, 2), "a", dtype=object), np.zeros((1, 1, 1, 1)))
    with pytest.raises(TypeError, match="amax needs Values or real numbers"):
        scalar_conv.amax([1.0, "b"])
    with pytest.raises(ValueError, match="at least one"):
        scalar_conv.amax([])


@pytest.mark.parametrize("make, words", [
    (lambda: nn.Conv2d(3, 4, 0), ["kernel_size", ">= 1"]),
    (lambda: nn.Conv2d(0, 4, 3), ["in_channels", "0"]),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ["divisible by groups (2)"]),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), ["'full'"]),
    (lambda: nn.Conv2d(3, 3, 3, stride=2, padding="same"), ["same", "stride"]),
    (lambda: nn.Conv2d(3, 4, 3, backend="gpu"), ["backend", "'gpu'"]),
    (lambda: nn.MaxPool2d(2, padding=2), ["padding 2", "half"]),
    (lambda: nn.AvgPool2d((2, 2, 2)), ["kernel_size", "(2, 2, 2)"]),
    (lambda: nn.Flatten(0), ["start_dim=0", "batch"]),
    (lambda: nn.Flatten(1.0), ["start_dim", "float"]),
])
def test_layers_reject_bad_configurations(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("backend", nn.BACKENDS)
def test_layers_reject_inputs_of_the_wrong_rank(backend):
    conv = nn.Conv2d(1, 2, 3, backend=backend, seed=0)
    with pytest.raises(ValueError, match=r"\(5, 5\)"):
        conv(np.zeros((2, 5, 5)) if backend == "scalar" else np.zeros((5, 5)))
    flat = nn.Flatten(2, 1, backend=backend)
    with pytest.raises(ValueError, match="start_dim=2, end_dim=1"):
        flat(np.zeros((2, 3, 4, 4)))
