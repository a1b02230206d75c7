"""conv2d, max_pool2d and avg_pool2d against ``torch.nn.functional`` in float64, over generated geometries."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conv_cases import FLOATS, arrays, backward_with, conv_cases, data, grads, leaves, pool_cases, tangents
from naivegrad.func import jvp
from naivegrad.scalar.conv import conv2d as scalar_conv2d
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops.conv import avg_pool2d, conv2d, max_pool2d

torch = pytest.importorskip("torch")
F = torch.nn.functional

# torch's own notices (forward mode loads deprecated jit decompositions; 'same' padding with even kernels copies).
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")]

CLOSE = dict(rtol=1e-10, atol=1e-12)


def _torch(a):
    return None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _conv_options(case):
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


@settings(max_examples=max(20, settings.default.max_examples))
@given(conv_cases(max_batch=3, max_groups=3, max_extra=6))
def test_conv2d_and_its_gradients_match_torch(case):
    opts = _conv_options(case)
    tx, tw = Tensor(case["x"]), Tensor(case["w"])
    tb = None if case["b"] is None else Tensor(case["b"])
    y = conv2d(tx, tw, tb, **opts)
    px, pw, pb = _torch(case["x"]), _torch(case["w"]), _torch(case["b"])
    py = F.conv2d(px, pw, pb, **opts)
    assert y.shape == tuple(py.shape)
    np.testing.assert_allclose(y.data, py.detach().numpy(), **CLOSE)

    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    py.backward(torch.tensor(g))
    np.testing.assert_allclose(tx.grad, px.grad.numpy(), **CLOSE)
    np.testing.assert_allclose(tw.grad, pw.grad.numpy(), **CLOSE)
    if tb is not None:
        np.testing.assert_allclose(tb.grad, pb.grad.numpy(), **CLOSE)


@settings(max_examples=max(10, settings.default.max_examples // 6))
@given(conv_cases(max_groups=2))
def test_conv2d_tangent_matches_torch_forward_mode(case):
    opts = _conv_options(case)
    import torch.func

    primals = [case["x"], case["w"]] + ([case["b"]] if case["b"] is not None else [])
    rng = np.random.default_rng(1)
    dirs = [rng.standard_normal(p.shape) for p in primals]
    _, jv = jvp(lambda *ts: conv2d(*ts, **opts), tuple(primals), tuple(dirs))
    _, expected = torch.func.jvp(lambda *ts: F.conv2d(*ts, **opts), tuple(map(torch.tensor, primals)),
                                 tuple(map(torch.tensor, dirs)))
    np.testing.assert_allclose(jv, expected.numpy(), **CLOSE)


TIES = st.integers(-2, 2).map(float)
SPECIALS = st.sampled_from([0.0, 1.0, -1.0, np.inf, -np.inf, np.nan])


def _pool_options(case):
    return dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"])


@given(pool_cases(elements=st.one_of(TIES, FLOATS)))
def test_max_pool2d_picks_the_element_torch_picks(case):
    opts = _pool_options(case)
    tx, px = Tensor(case["x"]), _torch(case["x"])
    y = max_pool2d(tx, **opts)
    py = F.max_pool2d(px, **opts)
    np.testing.assert_array_equal(y.data, py.detach().numpy())
    # Integer gradients sum exactly in any order, so the routing must agree bit for bit.
    g = np.random.default_rng(2).integers(-8, 9, y.shape).astype(float)
    y.backward(g)
    py.backward(torch.tensor(g))
    np.testing.assert_array_equal(tx.grad, px.grad.numpy())


@settings(max_examples=max(20, settings.default.max_examples // 2))
@given(pool_cases(elements=SPECIALS), st.booleans())
def test_max_pool2d_with_nan_and_infinities_matches_torch(case, nonfinite_gradient):
    opts = _pool_options(case)
    tx, px = Tensor(case["x"]), _torch(case["x"])
    y = max_pool2d(tx, **opts)
    py = F.max_pool2d(px, **opts)
    np.testing.assert_array_equal(y.data, py.detach().numpy())
    rng = np.random.default_rng(3)
    g = rng.integers(-8, 9, y.shape).astype(float)
    if nonfinite_gradient:  # an element not chosen gets exactly 0, never 0 * inf
        g[rng.random(y.shape) < 0.3] = rng.choice([np.inf, -np.inf, np.nan])
    y.backward(g)
    py.backward(torch.tensor(g))
    np.testing.assert_array_equal(tx.grad, px.grad.numpy())


def _nonfinite(a, rng, share=0.15):
    """``a`` with about ``share`` of its elements (at least one) set to inf, -inf or nan."""
    a = a.copy()
    flat = a.reshape(-1)
    hit = rng.random(flat.size) < share
    hit[rng.integers(flat.size)] = True
    flat[hit] = rng.choice([np.inf, -np.inf, np.nan], size=int(hit.sum()))
    return a


@settings(max_examples=max(20, settings.default.max_examples // 2))
@given(conv_cases(max_groups=2, max_extra=3), st.sampled_from(["x", "w", "b", "g"]), st.integers(0, 2**32 - 1))
def test_conv2d_with_nan_and_infinities_matches_torch_on_both_engines(case, where, seed):
    # A non-finite pixel, weight, bias or output gradient: values, every gradient and (forward mode) the
    # tangent must have PyTorch's nans and infinities. Padding multiplies its weight (0 * inf = nan), and the
    # stride-1 input gradient must not add 0 * inf from the columns past the image's edge.
    import torch.func

    rng = np.random.default_rng(seed)
    opts = _conv_options(case)
    x, w, b = case["x"], case["w"], case["b"]
    if where == "x":
        x = _nonfinite(x, rng)
    elif where == "w":
        w = _nonfinite(w, rng)
    elif where == "b" and b is not None:
        b = _nonfinite(b, rng)
    tx, tw = Tensor(x), Tensor(w)
    tb = None if b is None else Tensor(b)
    y = conv2d(tx, tw, tb, **opts)
    px, pw, pb = _torch(x), _torch(w), _torch(b)
    py = F.conv2d(px, pw, pb, **opts)
    g = rng.standard_normal(y.shape)
    if where == "g" and g.size:
        g = _nonfinite(g, rng)
    y.backward(g)
    py.backward(torch.tensor(g))
    X, W = leaves(x), leaves(w)
    B = None if b is None else leaves(b)
    out = scalar_conv2d(X, W, B, **opts)
    backward_with(out, g)
    expected = py.detach().numpy()
    for got in (y.data, data(out)):
        np.testing.assert_allclose(got, expected, **CLOSE)
    for mine, scalar_side, theirs in ((tx, X, px), (tw, W, pw), (tb, B, pb)):
        if theirs is not None:
            np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), **CLOSE)
            np.testing.assert_allclose(grads(scalar_side), theirs.grad.numpy(), **CLOSE)
    primals = [x, w] + ([b] if b is not None else [])
    dirs = [rng.standard_normal(p.shape) for p in primals]
    _, jv = jvp(lambda *ts: conv2d(*ts, **opts), tuple(primals), tuple(dirs))
    _, expected_jv = torch.func.jvp(lambda *ts: F.conv2d(*ts, **opts), tuple(map(torch.tensor, primals)),
                                    tuple(map(torch.tensor, dirs)))
    np.testing.assert_allclose(jv, expected_jv.numpy(), **CLOSE)
    on_values = scalar_conv2d(*[leaves(p, t) for p, t in zip(primals, dirs)], **opts)
    np.testing.assert_allclose(tangents(on_values), expected_jv.numpy(), **CLOSE)


@given(pool_cases(), st.booleans())
def test_avg_pool2d_matches_torch(case, count_include_pad):
    opts = dict(_pool_options(case), count_include_pad=count_include_pad)
    tx, px = Tensor(case["x"]), _torch(case["x"])
    y = avg_pool2d(tx, **opts)
    py = F.avg_pool2d(px, **opts)
    np.testing.assert_allclose(y.data, py.detach().numpy(), **CLOSE)
    g = np.random.default_rng(4).standard_normal(y.shape)
    y.backward(g)
    py.backward(torch.tensor(g))
    np.testing.assert_allclose(tx.grad, px.grad.numpy(), **CLOSE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_float32_agrees_with_torch(dtype):
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((4, 3, 12, 10), (6, 3, 3, 3), (6,)))
    tx, tw, tb = Tensor(x), Tensor(w), Tensor(b)
    y = max_pool2d(conv2d(tx, tw, tb, padding=1).relu(), 2)
    z = avg_pool2d(y, 2, stride=1)
    z.sum().backward()
    assert y.dtype == z.dtype == tx.grad.dtype == tw.grad.dtype == tb.grad.dtype == dtype
    px, pw, pb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    pz = F.avg_pool2d(F.max_pool2d(F.relu(F.conv2d(px, pw, pb, padding=1)), 2), 2, stride=1)
    pz.sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else CLOSE
    np.testing.assert_allclose(z.data, pz.detach().numpy(), **tol)
    for mine, theirs in ((tx, px), (tw, pw), (tb, pb)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), **tol)


@given(arrays((2, 3, 5, 4)), st.sampled_from([(1, 3), (2, 2), (3, 2), (4, 1)]))
def test_unbatched_images_match_torch(x, kernel):
    w = np.random.default_rng(6).standard_normal((2, 3) + kernel)
    for i in range(2):  # each image alone is (C, H, W), as torch accepts it
        np.testing.assert_allclose(conv2d(Tensor(x[i]), Tensor(w), padding="same").data,
                                   F.conv2d(torch.tensor(x[i]), torch.tensor(w), padding="same").numpy(), **CLOSE)
    np.testing.assert_array_equal(max_pool2d(Tensor(x[0]), kernel).data,
                                  F.max_pool2d(torch.tensor(x[0]), kernel).numpy())


def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients():
    x, w, b = Tensor(np.zeros((0, 2, 5, 5))), Tensor(np.ones((3, 2, 3, 3))), Tensor(np.ones(3))
    y = max_pool2d(conv2d(x, w, b, padding=1), 2)
    expected = F.max_pool2d(F.conv2d(torch.zeros(0, 2, 5, 5), torch.ones(3, 2, 3, 3), torch.ones(3), padding=1), 2)
    assert y.shape == tuple(expected.shape) == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5) and not w.grad.any() and not b.grad.any()
