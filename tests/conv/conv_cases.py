"""Generated convolution and pooling problems, and the scalar-engine side of each, shared by tests/conv.

A case is a dict: the arrays (``x``, ``w``, ``b``; float64) and the options exactly as the ops take them
(``stride``, ``padding``, ``dilation``, ``groups``; ``kernel_size``... for pooling). Geometries cover
strides larger than the kernel, dilation, asymmetric pairs, "same"/"valid" padding, groups, 1x1 kernels
and images no larger than the kernel's span.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from naivegrad.scalar import Value, dot

FLOATS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, elements=FLOATS):
    return hnp.arrays(np.float64, shape, elements=elements)


def distinct(shape, gap=1.0 / 64):
    """Values pairwise at least ``gap`` apart (exact in binary): no ties, so max pooling is smooth there."""
    n = int(np.prod(shape))
    return st.lists(st.integers(-400, 400), min_size=n, max_size=n, unique=True).map(
        lambda ks: (np.array(ks, dtype=np.float64) * gap).reshape(shape))


def _padding_total(padding, kernel, dilation):
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return 2 * ph, 2 * pw


def _seeded_normal(draw, *shapes):
    """Standard normal arrays from a drawn seed: hypothesis explores the geometry, numpy fills in the values
    (drawing every element through hypothesis would cost more than the ops under test)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [rng.standard_normal(shape) for shape in shapes]


@st.composite
def conv_cases(draw, max_batch=2, max_groups=3, max_extra=4):
    """A valid conv2d problem: input (N, groups * Cg, H, W), weight (groups * Og, Cg, kh, kw), maybe a bias."""
    groups = draw(st.integers(1, max_groups))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([1, 2, 3]) | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.sampled_from([1, 2]) | st.tuples(st.integers(1, 2), st.integers(1, 2)))
    pad_forms = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)), st.just("valid")]
    if stride in (1, (1, 1)):
        pad_forms.append(st.just("same"))
    padding = draw(st.one_of(pad_forms))
    dil = (dilation, dilation) if isinstance(dilation, int) else dilation
    totals = _padding_total(padding, kernel, dil)
    # The image is at least as large as the kernel's span (with padding), at most max_extra pixels more.
    size = [max(1, d * (k - 1) + 1 - t) for k, d, t in zip(kernel, dil, totals)]
    h = draw(st.integers(size[0], size[0] + max_extra))
    w = draw(st.integers(size[1], size[1] + max_extra))
    n = draw(st.integers(1, max_batch))
    x, weight, bias = _seeded_normal(draw, (n, groups * cg, h, w), (groups * og, cg) + kernel, (groups * og,))
    return dict(x=x, w=weight, b=bias if draw(st.booleans()) else None,
                stride=stride, padding=padding, dilation=dilation, groups=groups)


@st.composite
def pool_geometry(draw, max_extra=4):
    """(kernel_size, stride, padding, (H, W)) for a valid pooling window: kernels up to 5, padding up to half the
    kernel (PyTorch's limit: 2 with a kernel of 4 or 5, where windows start in the padding at several places)."""
    kernel = draw(st.sampled_from([1, 2, 3, 4, 5]) | st.tuples(st.integers(1, 5), st.integers(1, 5)))
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    stride = draw(st.none() | st.sampled_from([1, 2, 3]) | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(st.integers(0, min(k) // 2) | st.tuples(st.integers(0, k[0] // 2), st.integers(0, k[1] // 2)))
    p = (padding, padding) if isinstance(padding, int) else padding
    size = tuple(draw(st.integers(max(1, kk - 2 * pp), max(1, kk - 2 * pp) + max_extra)) for kk, pp in zip(k, p))
    return kernel, stride, padding, size


@st.composite
def pool_cases(draw, elements=None, max_extra=4):
    """A valid pooling problem: x (N, C, H, W) and the options."""
    kernel, stride, padding, (h, w) = draw(pool_geometry(max_extra))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    x = draw(distinct(shape) if elements == "distinct" else arrays(shape, FLOATS if elements is None else elements))
    return dict(x=x, kernel_size=kernel, stride=stride, padding=padding)


# ---------------------------------------------------------------------- the scalar side
def leaves(a, tangents=None):
    """An object array of fresh Value leaves holding ``a`` (and forward-mode ``tangents``)."""
    out = np.empty(a.shape, dtype=object)
    for i in np.ndindex(a.shape):
        out[i] = Value(float(a[i]), tangent=None if tangents is None else float(tangents[i]))
    return out


def data(values):
    return np.vectorize(lambda v: v.data, otypes=[float])(values)


def grads(values):
    return np.vectorize(lambda v: v.grad, otypes=[float])(values)


def tangents(values):
    """Forward-mode tangents; a node that depends on no input with a tangent (all padding) has tangent 0."""
    return np.vectorize(lambda v: 0.0 if v.tangent is None else v.tangent, otypes=[float])(values)


def backward_with(out, g):
    """Backpropagate the output gradient ``g`` through a scalar object array: sum(g * out) is one dot node."""
    dot(g.ravel().tolist(), out.ravel().tolist()).backward()
