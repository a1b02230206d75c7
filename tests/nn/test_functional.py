"""naivegrad.nn.functional against torch.nn.functional: values and gradients in float64, and the errors."""

import numpy as np
import pytest

from naivegrad import scalar
from naivegrad.nn import functional as F
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(*arrays, grad=True):
    """The same float64 data as naivegrad Tensors and torch tensors."""
    ours = [Tensor(np.array(a, dtype=np.float64), requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad) for a in arrays]
    return ours, theirs


def _check(ours_out, torch_out, ours_in, torch_in, seed=0, tol=1e-10):
    """Same value; same gradients for a random cotangent (with inf/nan-free data)."""
    np.testing.assert_allclose(ours_out.data, torch_out.detach().numpy(), rtol=tol, atol=tol)
    cot = np.random.default_rng(seed).standard_normal(ours_out.shape)
    ours_out.backward(cot)
    torch_out.backward(torch.tensor(cot))
    for a, b in zip(ours_in, torch_in):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad)
            continue
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=tol, atol=tol)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5)) * 3


@pytest.mark.parametrize("name, kwargs", [
    ("relu", {}), ("tanh", {}), ("sigmoid", {}), ("silu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}), ("softplus", {"beta": 2.0, "threshold": 3.0}),
])
def test_activations_match_torch(name, kwargs):
    (x,), (xt,) = _pair(X)
    _check(getattr(F, name)(x, **kwargs), getattr(TF, name)(xt, **kwargs), [x], [xt])


def test_activations_take_values_one_or_nested():
    v = scalar.Value(0.5)
    assert F.gelu(v).data == pytest.approx(TF.gelu(torch.tensor(0.5, dtype=torch.float64)).item(), abs=1e-15)
    nested = [[scalar.Value(-1.0), scalar.Value(2.0)], [scalar.Value(0.0), scalar.Value(3.0)]]
    out = F.relu(nested)
    assert [[o.data for o in row] for row in out] == [[0.0, 2.0], [0.0, 3.0]]
    arr = np.array([scalar.Value(-2.0), scalar.Value(1.0)], dtype=object)
    assert [o.data for o in F.tanh(arr)] == pytest.approx(np.tanh([-2.0, 1.0]).tolist())


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(fn, dim):
    (x,), (xt,) = _pair(X)
    _check(getattr(F, fn)(x, dim=dim), getattr(TF, fn)(xt, dim=dim), [x], [xt])


def test_softmax_needs_dim():
    with pytest.raises(TypeError, match="dim"):
        F.softmax(Tensor(X))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["NC", "C", "NCd"])
def test_cross_entropy_and_nll_layouts(reduction, layout):
    rng = np.random.default_rng(1)
    shape, tshape = {"NC": ((4, 5), (4,)), "C": ((5,), ()), "NCd": ((2, 5, 3, 2), (2, 3, 2))}[layout]
    logits = rng.standard_normal(shape)
    target = rng.integers(0, 5, size=tshape)
    (x,), (xt,) = _pair(logits)
    _check(F.cross_entropy(x, target, reduction=reduction),
           TF.cross_entropy(xt, torch.tensor(target), reduction=reduction), [x], [xt])
    (x,), (xt,) = _pair(logits)
    _check(F.nll_loss(x, target, reduction=reduction), TF.nll_loss(xt, torch.tensor(target), reduction=reduction),
           [x], [xt])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_options(reduction):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 4))
    target = np.array([0, 3, -100, 1, 3, -100])
    weight = np.array([0.5, 2.0, 1.0, 3.0])
    (x,), (xt,) = _pair(logits)
    _check(F.cross_entropy(x, target, weight=weight, reduction=reduction),
           TF.cross_entropy(xt, torch.tensor(target), weight=torch.tensor(weight), reduction=reduction), [x], [xt])
    (x,), (xt,) = _pair(logits)
    _check(F.cross_entropy(x, target, label_smoothing=0.1, reduction=reduction),
           TF.cross_entropy(xt, torch.tensor(target), label_smoothing=0.1, reduction=reduction), [x], [xt])
    t3 = np.where(target < 0, 0, target)  # -100 is an out-of-range class once ignore_index is 3
    (x,), (xt,) = _pair(logits)
    _check(F.cross_entropy(x, t3, ignore_index=3, reduction=reduction),
           TF.cross_entropy(xt, torch.tensor(t3), ignore_index=3, reduction=reduction), [x], [xt])


def test_ignored_sample_with_infinite_logit_gets_exactly_zero_gradient():
    logits = np.array([[0.0, 1.0], [-np.inf, 2.0]])
    x = Tensor(logits)
    F.cross_entropy(x, [1, 0], ignore_index=0).backward()
    assert np.all(x.grad[1] == 0.0) and np.all(np.isfinite(x.grad))


def test_cross_entropy_errors_name_the_shapes_and_values():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 5\)"):
        F.cross_entropy(Tensor(np.zeros((4, 5))), [0, 1, 2])
    with pytest.raises(IndexError, match="target 7"):
        F.cross_entropy(Tensor(np.zeros((2, 5))), [0, 7])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(Tensor(np.zeros((2, 5))), [0, 1], reduction="avg")
    with pytest.raises(TypeError, match="integer class"):
        F.nll_loss(Tensor(np.zeros((2, 5))), [0.5, 1.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    (a, b), (at, bt) = _pair(X, X[::-1] * 0.5)
    _check(F.mse_loss(a, b, reduction=reduction), TF.mse_loss(at, bt, reduction=reduction), [a, b], [at, bt])
    with pytest.raises(ValueError, match=r"\(5,\).*\(3, 5\)"):
        F.mse_loss(a, Tensor(np.zeros(5)))


def test_linear_and_conv_and_pools():
    rng = np.random.default_rng(3)
    (x, w, b), (xt, wt, bt) = _pair(rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2))
    _check(F.linear(x, w, b), TF.linear(xt, wt, bt), [x, w, b], [xt, wt, bt])
    (x, w), (xt, wt) = _pair(rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)))
    _check(F.conv2d(x, w, stride=2, padding=1), TF.conv2d(xt, wt, stride=2, padding=1), [x, w], [xt, wt])
    (x,), (xt,) = _pair(rng.standard_normal((2, 3, 7, 6)))
    _check(F.max_pool2d(x, 3, stride=2, padding=1), TF.max_pool2d(xt, 3, stride=2, padding=1), [x], [xt])
    (x,), (xt,) = _pair(rng.standard_normal((2, 3, 7, 6)))
    _check(F.avg_pool2d(x, 2, count_include_pad=False, padding=1),
           TF.avg_pool2d(xt, 2, count_include_pad=False, padding=1), [x], [xt])
    with pytest.raises(NotImplementedError, match="ceil_mode=True"):
        F.max_pool2d(x, 2, ceil_mode=True)


def test_embedding_accumulates_repeats_and_skips_padding_idx():
    rng = np.random.default_rng(4)
    ids = np.array([[1, 3, 1], [0, 1, 4]])
    (w,), (wt,) = _pair(rng.standard_normal((5, 3)))
    _check(F.embedding(ids, w), TF.embedding(torch.tensor(ids), wt), [w], [wt])
    (w,), (wt,) = _pair(rng.standard_normal((5, 3)))
    _check(F.embedding(ids, w, padding_idx=1), TF.embedding(torch.tensor(ids), wt, padding_idx=1), [w], [wt])
    with pytest.raises(IndexError, match="id 5"):
        F.embedding([5], w)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm(affine):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3, 4))] + ([rng.standard_normal(4), rng.standard_normal(4)] if affine else [])
    ours, theirs = _pair(*arrays)
    _check(F.layer_norm(ours[0], (4,), *ours[1:], eps=1e-5), TF.layer_norm(theirs[0], (4,), *theirs[1:], eps=1e-5),
           ours, theirs, tol=1e-9)
    (x,), (xt,) = _pair(arrays[0])
    _check(F.layer_norm(x, (3, 4)), TF.layer_norm(xt, (3, 4)), [x], [xt], tol=1e-9)
    with pytest.raises(ValueError, match=r"\(5,\).*\(2, 3, 4\)"):
        F.layer_norm(x, 5)


def test_dropout_scales_kept_elements_and_is_reproducible():
    x = Tensor(np.ones((200, 50)))
    y = F.dropout(x, 0.3, generator=7)
    kept = y.data != 0
    assert np.allclose(y.data[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    assert np.array_equal(F.dropout(x, 0.3, generator=7).data, y.data)
    y.sum().backward()
    assert np.allclose(x.grad, np.where(kept, 1 / 0.7, 0.0))
    assert F.dropout(x, 0.3, training=False) is x
    with pytest.raises(ValueError, match="1.5"):
        F.dropout(x, 1.5)


def test_one_hot():
    ids = np.array([[0, 2], [1, 2]])
    out = F.one_hot(ids)
    assert out.dtype == np.int64 and not out.requires_grad
    assert np.array_equal(out.data, TF.one_hot(torch.tensor(ids)).numpy())
    assert F.one_hot(ids, num_classes=5).shape == (2, 2, 5)
    with pytest.raises(ValueError, match="class index 2"):
        F.one_hot(ids, num_classes=2)


@pytest.mark.parametrize("pads", [(1, 1), (1, 2, 0, 3), (2, 0, 1, 1, 1, 0), (-1, 2), (1, -2, -1, 0)])
def test_pad_like_torch_including_crops(pads):
    (x,), (xt,) = _pair(np.random.default_rng(6).standard_normal((2, 3, 4)))
    _check(F.pad(x, pads, value=0.5), TF.pad(xt, pads, value=0.5), [x], [xt])
    with pytest.raises(NotImplementedError, match="reflect"):
        F.pad(x, (1, 1), mode="reflect")
