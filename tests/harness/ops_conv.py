"""Convolution and pooling on tiny NCHW images: the tensor ops, the scalar engine's ``naivegrad.scalar.conv``
functions (its own per-pixel nodes), and an independent reference from fused dots and window selections
(``scalar_ref.conv2d`` and friends). Shapes, strides, paddings ("same" and "valid" too), dilations and groups
are drawn over the whole legal range (pooling paddings up to half the kernel, with strides of 2 and 3, so
windows start in the padding at several places; sizes that leave rows and columns unread); a 3-D input is
one unbatched image.
"""

import numpy as np

from naivegrad.scalar import conv as sconv
from naivegrad.tensor.ops import conv as tconv

from . import scalar_ref as ref
from .spec import Domain, Op

__all__ = ["OPS"]

REAL = Domain(-2.0, 2.0)
TIES = Domain(-3.0, 3.0, margin=0.01, step=1.0)  # parity: 7 grid values, ties galore


def _side(draw, span, pad_total, stride):
    """An input side from the smallest legal one (the kernel's span, less the padding) to a few strides more:
    several output positions, and now and then rows or columns that no window reaches (odd sizes)."""
    return max(1, span - pad_total) + draw.integers(0, stride + 2)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _conv_case(draw, mode):
    """Shapes and options together (the input size depends on kernel, dilation, padding and stride): kernels
    1 to 4, strides 1 to 3, dilations 1 to 3, paddings 0 to 3 (pairs too, "same" and "valid"), groups."""
    groups = draw.sampled_from([1, 1, 2])
    cg, per_group = draw.integers(1, 2), draw.integers(1, 2)
    kernel = (draw.integers(1, 4), draw.integers(1, 4))
    stride = draw.sampled_from([1, 1, 1, 1, 1, 2, 3, (1, 2), (2, 1), (3, 2)])
    dilation = draw.sampled_from([1, 1, 2, 3, (2, 1), (1, 3)])
    options = [0, 0, 0, 1, 2, 3, (1, 0), (0, 2), (2, 3), "valid"] + (["same", "same"] if stride == 1 else [])
    padding = draw.sampled_from(options)
    d, st = _pair(dilation), _pair(stride)
    if padding == "same":
        pads = (d[0] * (kernel[0] - 1), d[1] * (kernel[1] - 1))
    elif padding == "valid":
        pads = (0, 0)
    else:
        p = _pair(padding)
        pads = (2 * p[0], 2 * p[1])
    h = _side(draw, d[0] * (kernel[0] - 1) + 1, pads[0], st[0])
    w = _side(draw, d[1] * (kernel[1] - 1) + 1, pads[1], st[1])
    x = (cg * groups, h, w)
    if draw.booleans(0.8):
        x = (draw.sampled_from((1, 2, 1, 0)),) + x  # an empty batch now and then
    shapes = (x, (per_group * groups, cg) + kernel)
    if draw.booleans(0.7):
        shapes += ((per_group * groups,),)
    return shapes, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _pool_case(draw, mode):
    """Pooling geometry over the whole legal range: kernels 1 to 5, paddings 0 to half the kernel (PyTorch's
    limit), strides 1 to 3 or the kernel (None), so that windows start in the padding at several positions;
    the input from the smallest legal size to a few strides more."""
    kernel = (draw.integers(1, 5), draw.integers(1, 5))
    padding = (draw.integers(0, kernel[0] // 2), draw.integers(0, kernel[1] // 2))
    stride = draw.sampled_from([None, 1, 2, 2, 3, (1, 2), (2, 3), (3, 1)])
    st = kernel if stride is None else _pair(stride)
    h, w = (_side(draw, k, 2 * p, s) for k, p, s in zip(kernel, padding, st))
    n = (draw.sampled_from((1, 2, 1, 0)),) if draw.booleans(0.8) else ()
    shapes = (n + (draw.integers(1, 2), h, w),)
    square = kernel[0] == kernel[1] and padding[0] == padding[1]
    return shapes, {"kernel_size": kernel[0] if square and draw.booleans() else kernel,
                    "stride": stride, "padding": padding[0] if square and draw.booleans() else padding}


def _avg_case(draw, mode):
    shapes, p = _pool_case(draw, mode)
    p["count_include_pad"] = draw.booleans(0.7)
    return shapes, p


def _avg_method(x, kernel_size, stride, padding, count_include_pad):
    if count_include_pad:
        return x.avg_pool2d(kernel_size, stride, padding)
    return tconv.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False)


def _torch_conv(x, w, b=None, **p):
    import warnings

    import torch.nn.functional as F

    with warnings.catch_warnings():  # padding="same" with an even kernel: torch warns that it copies the input
        warnings.simplefilter("ignore", UserWarning)
        return F.conv2d(x, w, b, **p)


def _torch_pool(name):
    def f(x, kernel_size, stride, padding, **kw):
        import torch.nn.functional as F

        return getattr(F, name)(x, kernel_size, stride, padding, **kw)
    return f


def _amax_shapes(draw):
    return ((draw.integers(1, 6),),)


def _first_max(xs):
    return ref.objects(ref.max_pool2d(np.asarray(xs, dtype=object).reshape(1, 1, 1, -1), (1, len(xs)))[0, 0, 0, 0])


def _image(x):
    return x.reshape(1, 1, 1, x.shape[0])


OPS = [
    Op(name="conv2d", arity=3, case=_conv_case, reference=ref.conv2d, constants=True,
       domain=REAL,
       value_forms={"scalar.conv.conv2d": lambda x, w, b=None, **p: sconv.conv2d(x, w, b, **p)},
       tensor_forms={"conv2d": lambda x, w, b=None, **p: x.conv2d(w, b, **p),
                     "tensor.ops.conv.conv2d": lambda x, w, b=None, **p: tconv.conv2d(x, w, b, **p)},
       functions=("conv2d",), torch=_torch_conv, nonfinite=0.75, seeded=3),
    Op(name="max_pool2d", arity=1, case=_pool_case, reference=ref.max_pool2d,
       ties=True, domain=TIES, note="the first maximum of each window (row-major) takes the whole gradient",
       value_forms={"scalar.conv.max_pool2d": lambda x, **p: sconv.max_pool2d(x, **p)},
       tensor_forms={"max_pool2d": lambda x, **p: x.max_pool2d(**p),
                     "tensor.ops.conv.max_pool2d": lambda x, **p: tconv.max_pool2d(x, **p)},
       functions=("maxpool2d",), torch=_torch_pool("max_pool2d")),
    Op(name="maxpool2x2", arity=1,
       shapes=lambda d: ((d.integers(1, 2), d.integers(1, 2), d.integers(2, 5), d.integers(2, 5)),),
       reference=lambda x: ref.max_pool2d(x, 2), ties=True, domain=TIES,
       tensor_forms={"maxpool2x2": lambda x: x.maxpool2x2()}, functions=("maxpool2d",),
       torch=lambda x: _torch_pool("max_pool2d")(x, 2, None, 0)),
    Op(name="avg_pool2d", arity=1, case=_avg_case, reference=ref.avg_pool2d,
       value_forms={"scalar.conv.avg_pool2d": lambda x, **p: sconv.avg_pool2d(x, **p)},
       tensor_forms={"avg_pool2d": _avg_method,
                     "tensor.ops.conv.avg_pool2d": lambda x, **p: tconv.avg_pool2d(x, **p)},
       functions=("avgpool2d",), torch=_torch_pool("avg_pool2d")),
    Op(name="amax", arity=1, shapes=_amax_shapes, reference=_first_max, ties=True, domain=TIES,
       value_forms={"scalar.conv.amax": lambda xs: ref.objects(sconv.amax(list(xs)))},
       tensor_forms={"max_pool2d#amax": lambda xs: _image(xs).max_pool2d((1, xs.shape[0])).reshape(())},
       functions=("maxpool2d", "reshape"),
       torch=lambda xs: _torch_pool("max_pool2d")(xs.reshape(1, 1, 1, -1), (1, xs.shape[0]), None, 0).reshape(()),
       note="the scalar engine's max node: the first maximum takes the whole gradient (a 1 x n max pool)"),
]
