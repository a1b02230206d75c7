"""The Tensor API around the ops: creation helpers, method spellings, and clear errors for bad input."""

import numpy as np
import pytest

import naivegrad.tensor as nt
from naivegrad.tensor import Tensor


# ---------------------------------------------------------------------------------------------- creation
@pytest.mark.parametrize("make, expected", [
    (lambda: nt.zeros(2, 3), np.zeros((2, 3))), (lambda: nt.zeros((2, 3)), np.zeros((2, 3))),
    (lambda: nt.ones(4), np.ones(4)), (lambda: nt.eye(3), np.eye(3)), (lambda: nt.eye(2, 3), np.eye(2, 3)),
    (lambda: nt.arange(5), np.arange(5)), (lambda: nt.arange(1, 2, 0.25), np.arange(1, 2, 0.25)),
    (lambda: Tensor.zeros(1, 2), np.zeros((1, 2))),
])
def test_creation_helpers(make, expected):
    t = make()
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf
    np.testing.assert_array_equal(t.data, expected)


def test_creation_dtype_and_requires_grad():
    t = nt.ones(2, dtype=np.float64, requires_grad=False)
    assert t.dtype == np.float64 and not t.requires_grad
    with pytest.raises(TypeError, match="int32"):
        nt.zeros(2, dtype=np.int32)
    with pytest.raises(ValueError, match="non-negative"):
        nt.zeros(2, -1)
    with pytest.raises(TypeError, match="float"):
        nt.ones(2.5)
    with pytest.raises(ValueError, match="step"):
        nt.arange(0, 3, 0)


def test_random_helpers_are_seedable():
    a = nt.randn(3, 4, generator=np.random.default_rng(7))
    b = nt.randn(3, 4, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(nt.randn(5, generator=3).data, nt.randn(5, generator=3).data)
    u = nt.uniform(1000, low=2.0, high=3.0, generator=1)
    assert u.dtype == np.float32 and u.data.min() >= 2.0 and u.data.max() < 3.0
    np.random.seed(5)
    c = nt.randn(4)
    np.random.seed(5)
    np.testing.assert_array_equal(c.data, nt.randn(4).data)
    assert not np.array_equal(nt.randn(8, generator=1).data, nt.randn(8, generator=2).data)
    with pytest.raises(TypeError, match="generator"):
        nt.randn(2, generator="seed")


# ---------------------------------------------------------------------------------------------- spellings
def test_method_spellings_agree():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 4)))
    assert x.transpose(0, 2).shape == (4, 3, 2)                 # two axes: swapped (PyTorch)
    m2 = Tensor(np.arange(6.0).reshape(2, 3))
    for a, b in [(0, 1), (1, 0), (-1, 0)]:
        np.testing.assert_array_equal(m2.transpose(a, b).data, m2.data.T)  # as torch, for a matrix too
    np.testing.assert_array_equal(m2.transpose(1, 1).data, m2.data)
    assert x.transpose(1, 2, 0).shape == (3, 4, 2)              # a permutation (numpy)
    assert x.transpose().shape == x.T.shape == (4, 3, 2)        # reversed (numpy)
    assert x.permute(2, 0, 1).shape == x.permute((2, 0, 1)).shape == (4, 2, 3)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert x.reshape(4, -1).shape == x.reshape((4, -1)).shape == (4, 6)
    assert x.unsqueeze(0).squeeze(0).shape == x.shape and x[:, :1].squeeze().shape == (2, 4)
    assert x[0:1].expand(5, -1, -1).shape == x[0:1].broadcast_to((5, 3, 4)).shape == (5, 3, 4)
    assert nt.cat([x, x], axis=1).shape == nt.concatenate([x, x], 1).shape == (2, 6, 4)
    assert nt.stack([x, x], axis=-1).shape == (2, 3, 4, 2)
    np.testing.assert_array_equal(x.log_softmax(1).data, x.logsoftmax(axis=1).data)
    np.testing.assert_array_equal(x.clamp(-0.5, 0.5).data, np.clip(x.data, -0.5, 0.5))
    np.testing.assert_array_equal(x.where(x.data > 0, 0.0).data, np.where(x.data > 0, x.data, 0.0))
    m = Tensor(rng.standard_normal((3, 4)))
    np.testing.assert_allclose((m @ m.T).data, m.dot(m.T).data)
    np.testing.assert_allclose((m.data @ m.T).data, m.data @ m.data.T)  # numpy on the left defers to Tensor
    assert Tensor(np.arange(3.0))[Tensor([2.0, 0.0])].data.tolist() == [2.0, 0.0]  # a Tensor as an index
    assert len(m) == 3 and m.numel() == 12


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, exc, words", [
    (lambda x: x.sum(axis=3), ValueError, r"axis 3 .*\(2, 3\)"),
    (lambda x: x.mean(axis=(0, -3)), ValueError, r"axis -3 .*\(2, 3\)"),
    (lambda x: x.max(axis=(1, 1)), ValueError, "repeated axis"),
    (lambda x: x.sum(axis=1.5), TypeError, "axis must be an int"),
    (lambda x: x.softmax(axis=2), ValueError, r"axis 2 .*\(2, 3\)"),
    (lambda x: x @ x, ValueError, r"\(2, 3\) and \(2, 3\)"),
    (lambda x: x @ Tensor(5.0), ValueError, r"\(2, 3\) and \(\)"),
    (lambda x: x.reshape(4, 2), ValueError, r"\(2, 3\).*\(4, 2\)"),
    (lambda x: x.squeeze(0), ValueError, r"axis 0 has size 2"),
    (lambda x: x.expand(4, 2), ValueError, r"\(2, 3\) to \(4, 2\)"),
    (lambda x: x.permute(0, 0), ValueError, "not a permutation"),
    (lambda x: nt.cat([x, x.T]), ValueError, r"\(2, 3\), \(3, 2\)"),
    (lambda x: nt.stack([x, x[0]]), ValueError, "do not match"),
    (lambda x: nt.cat(x), TypeError, "sequence"),
    (lambda x: x.pad(-1), ValueError, "negative"),
    (lambda x: x.pad(((1, 1), (1, 1), (1, 1))), ValueError, "pad_width"),
    (lambda x: x[5], IndexError, r"\(2, 3\)"),
    (lambda x: x[Tensor([0.5])], IndexError, "whole numbers"),
    (lambda x: x[:, :0].max(axis=1), ValueError, r"\(2, 0\)"),
    (lambda x: x.clip(), ValueError, "min, max"),
    (lambda x: x + "a", TypeError, "str"),
    (lambda x: x * [1, [2]], ValueError, "ragged"),
    (lambda x: x.item(), ValueError, r"\(2, 3\)"),
    (lambda x: nt.nll_loss(x, [0, 3]), ValueError, r"target 3 .*\[0, 3\)"),
    (lambda x: nt.nll_loss(x, [0]), ValueError, r"\(1,\).*\(2, 3\)"),
    (lambda x: nt.nll_loss(x, [0.5, 1]), TypeError, "integer class"),
    (lambda x: nt.nll_loss(x[0], [0]), ValueError, r"\(N, C\).*\(3,\)"),
    (lambda x: nt.cross_entropy(x, [0, 1], reduction="avg"), ValueError, "reduction"),
    (lambda x: nt.linear(x, x.T), ValueError, r"input of shape \(2, 3\) .* weight of shape \(3, 2\)"),
    (lambda x: nt.linear(x, x, x[0]), ValueError, r"bias of shape \(3,\) for weight of shape \(2, 3\)"),
])
def test_bad_input_gets_a_clear_error(call, exc, words):
    x = Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(exc, match=words):
        call(x)
