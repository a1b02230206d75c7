"""Comparisons and masks on the tensor engine: ``< <= > >= == !=`` elementwise with broadcasting against
Tensors, numbers, arrays and lists; bool mask Tensors out of the graph, for indexing (the gradient flows to
the indexed tensor), ``where``, ``masked_fill``, ``& | ^ ~``, ``any``/``all`` and ``sum`` (a count); Tensors
hashed by identity (dict keys, sets) while ``==`` compares values.

Oracles: numpy on the same arrays, and PyTorch where it is installed.

The comparison and logic operators build no node (api.NOT_OPS sends the completeness check here): ``__eq__``,
``__ne__``, ``__lt__``, ``__le__``, ``__gt__``, ``__ge__``, ``__and__``, ``__rand__``, ``__or__``, ``__ror__``,
``__xor__``, ``__rxor__`` and ``__invert__`` are each run below, and each result is checked to be a leaf.
"""

import operator

import numpy as np
import pytest

from naivegrad import no_grad
from naivegrad.tensor import Tensor, where

try:
    import torch
except ImportError:  # pragma: no cover - the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

# dunder name -> (operator, numpy ufunc)
COMPARISONS = {
    "__eq__": (operator.eq, np.equal), "__ne__": (operator.ne, np.not_equal),
    "__lt__": (operator.lt, np.less), "__le__": (operator.le, np.less_equal),
    "__gt__": (operator.gt, np.greater), "__ge__": (operator.ge, np.greater_equal),
}
LOGIC = {"__and__": (operator.and_, np.logical_and), "__or__": (operator.or_, np.logical_or),
         "__xor__": (operator.xor, np.logical_xor)}
REFLECTED = {"__rand__": "__and__", "__ror__": "__or__", "__rxor__": "__xor__"}

SPECIAL = np.array([-np.inf, -1.5, -0.0, 0.0, 0.5, 1.5, np.inf, np.nan], np.float32)


def _is_mask(m, shape):
    assert isinstance(m, Tensor) and m.dtype == np.bool_ and m.shape == shape
    assert not m.requires_grad and m.is_leaf and m._ctx is None and m.tangent is None
    assert type(m.data) is np.ndarray


# ---------------------------------------------------------------------------------------------- comparisons
@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_are_elementwise_and_broadcast_like_numpy(name):
    op, ufunc = COMPARISONS[name]
    rng = np.random.default_rng(0)
    a = rng.integers(-2, 3, (3, 1)).astype(np.float32)
    b = rng.integers(-2, 3, (4,)).astype(np.float32)
    ta, tb = Tensor(a), Tensor(b, requires_grad=False)
    for out, want in [(op(ta, tb), ufunc(a, b)), (getattr(ta, name)(tb), ufunc(a, b)),
                      (op(ta, 1.0), ufunc(a, 1.0)), (op(ta, 1), ufunc(a, 1)), (op(ta, True), ufunc(a, True)),
                      (op(ta, b), ufunc(a, b)), (op(ta, b.tolist()), ufunc(a, b)),
                      (op(1.0, ta), ufunc(1.0, a)), (op(b, ta), ufunc(b, a)), (op(b.tolist(), ta), ufunc(b, a))]:
        _is_mask(out, want.shape)
        np.testing.assert_array_equal(out.data, want)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_nan_inf_and_signed_zeros_compare_as_ieee(name):
    op, ufunc = COMPARISONS[name]
    a, b = SPECIAL[:, None], SPECIAL[None, :]
    out = op(Tensor(a), Tensor(b))
    np.testing.assert_array_equal(out.data, ufunc(a, b))
    nan = Tensor([np.nan])
    assert bool(op(nan, nan)) == (name == "__ne__")  # nan != nan, and no other comparison holds
    assert bool(op(Tensor([-0.0]), 0.0)) == (name in ("__eq__", "__le__", "__ge__"))


@needs_torch
@pytest.mark.parametrize("name", sorted(COMPARISONS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_comparisons_match_torch(name, dtype):
    op, _ = COMPARISONS[name]
    a = SPECIAL[:, None] if dtype.startswith("float") else np.array([[-2], [0], [1], [3]])
    b = np.array([0.1, 0.5, -1.0, 1.0, np.nan, np.inf], np.float32)
    a = a.astype(dtype)
    t, tt = Tensor(a, dtype=dtype, requires_grad=False), torch.tensor(a)
    for other, tother in [(Tensor(b), torch.tensor(b)), (0.1, 0.1), (1, 1), (np.float64(0.1), 0.1),
                          (b.astype(np.float64), torch.tensor(b.astype(np.float64)))]:
        np.testing.assert_array_equal(op(t, other).data, op(tt, tother).numpy(), err_msg=repr(other))


def test_numpy_scalars_compare_as_python_numbers():
    """float32 data against 0.1: 0.1 is rounded to float32 (as PyTorch does, and numpy with a Python float),
    not the data widened to float64 by an np.float64."""
    t = Tensor([0.1], dtype=np.float32)
    assert bool(t == 0.1) and bool(t == np.float64(0.1)) and not bool(t != np.float64(0.1))
    assert bool(Tensor([3.0]) == np.int64(3)) and bool(Tensor([1.0]) == np.bool_(True))


def test_empty_and_0d_shapes():
    for sa, sb in [((0,), (0,)), ((2, 0), (1,)), ((0, 3), (3,)), ((), ()), ((), (2, 3)), ((2, 0), ())]:
        a, b = np.zeros(sa, np.float32), np.ones(sb, np.float32)
        out = Tensor(a) < Tensor(b)
        _is_mask(out, np.broadcast_shapes(sa, sb))
        np.testing.assert_array_equal(out.data, a < b)
    m = Tensor(2.0) > 1.0
    _is_mask(m, ())
    assert bool(m) and m.item() is True


def test_masks_never_join_the_graph_whatever_the_operands():
    x = Tensor([1.0, -2.0, 3.0])
    y = x * 2.0
    x.tangent = np.ones(3, np.float32)
    for m in (x > 0, y == y, x != y, 0.0 < y, x >= [0.0, 1.0, 2.0], ~(x > 0), (x > 0) & (y > 0)):
        _is_mask(m, (3,))
    with no_grad():
        _is_mask(x <= y, (3,))


def test_none_strings_and_objects_are_not_equal_and_not_ordered():
    t = Tensor([1.0, 2.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711 - the operator itself is under test
    assert (t == "a") is False and (t == object()) is False
    with pytest.raises(TypeError):
        t < None  # noqa: B015
    with pytest.raises(TypeError):
        t > "a"  # noqa: B015


def test_shapes_that_do_not_broadcast_are_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(2,\) with shape \(3,\).*broadcast"):
        Tensor([1.0, 2.0]) == Tensor([1.0, 2.0, 3.0])  # noqa: B015


def test_truth_value_of_a_mask():
    assert bool(Tensor([1.0]) == 1.0) and not bool(Tensor([[1.0]]) > 1.0)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]) == 1.0)
    assert (Tensor([1.0, 2.0]) == Tensor([1.0, 2.0])).all()


# ---------------------------------------------------------------------------------------------- masks in use
def test_mask_indexing_passes_the_gradient_to_the_indexed_tensor():
    x = Tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, np.nan]])
    y = x[x > 0]
    assert y.shape == (3,) and y.requires_grad and not y.is_leaf
    np.testing.assert_array_equal(y.data, [1.0, 3.0, 5.0])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0, 6.0], [0.0, 10.0, 0.0]])
    assert x.grad.dtype == np.float32


@needs_torch
def test_mask_indexing_where_and_relu_by_mask_match_torch():
    a = np.array([[0.5, -1.0, 2.0], [-0.25, 0.0, 3.0]], np.float32)
    x, tx = Tensor(a), torch.tensor(a, requires_grad=True)
    out = x[x > 0].sum() * 2.0 + where(x < 1.0, x * 3.0, x * x).sum() + (x * (x >= 0)).sum()
    tout = tx[tx > 0].sum() * 2.0 + torch.where(tx < 1.0, tx * 3.0, tx * tx).sum() + (tx * (tx >= 0)).sum()
    out.backward()
    tout.backward()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-6)
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_where_takes_a_mask_tensor_and_promotes_its_operands():
    x = Tensor([1.0, -2.0, 3.0])
    out = where(x > 0, x, 0.0)
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])
    idx = Tensor([7, 8, 9], dtype=np.int64)
    assert where(x > 0, idx, x).dtype == np.float32  # int64 beside float32: float32, as PyTorch
    assert where(x > 0, idx, 0).dtype == np.int64
    assert x.where(x < 0, 1.0).dtype == np.float32


@pytest.mark.skipif(not hasattr(Tensor, "masked_fill"), reason="masked_fill is not in this tree yet")
def test_masked_fill_accepts_a_mask_tensor():
    x = Tensor([1.0, -2.0, 3.0])
    out = x.masked_fill(x < 0, 0.0)
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])


def test_sum_of_a_mask_counts_and_float_of_it_averages():
    x = Tensor(np.array([[1.0, -2.0], [3.0, np.nan]]))
    n = (x > 0).sum()
    assert n.item() == 2 and isinstance(n.item(), int) and n.dtype.kind == "i" and not n.requires_grad
    np.testing.assert_array_equal((x > 0).sum(axis=0).data, [2, 0])
    assert (x != x).sum().item() == 1  # the nan
    assert (x > 0).float().mean().item() == 0.5


# ---------------------------------------------------------------------------------------------- logic
@pytest.mark.parametrize("name", sorted(LOGIC))
def test_logic_between_masks_is_numpys_logic(name):
    op, ufunc = LOGIC[name]
    a = np.array([True, True, False, False])[:, None]
    b = np.array([True, False])
    ta, tb = Tensor(a, dtype=bool), Tensor(b, dtype=bool)
    for out, want in [(op(ta, tb), ufunc(a, b)), (getattr(ta, name)(tb), ufunc(a, b)),
                      (op(ta, True), ufunc(a, True)), (op(ta, b), ufunc(a, b)), (op(ta, b.tolist()), ufunc(a, b)),
                      (op(True, ta), ufunc(True, a)), (op(b, ta), ufunc(b, a)), (op(b.tolist(), ta), ufunc(b, a))]:
        _is_mask(out, want.shape)
        np.testing.assert_array_equal(out.data, want)


@pytest.mark.parametrize("name", sorted(REFLECTED))
def test_reflected_logic_commutes(name):
    m = Tensor([True, False, True], dtype=bool)
    out = getattr(m, name)(np.array([True, True, False]))
    want = getattr(m, REFLECTED[name])(np.array([True, True, False]))
    np.testing.assert_array_equal(out.data, want.data)
    _is_mask(out, (3,))


def test_invert_and_combinations_of_comparisons():
    x = Tensor([-1.0, 0.5, 2.0, np.nan])
    inside = (x > 0) & (x < 1)
    np.testing.assert_array_equal(inside.data, [False, True, False, False])
    np.testing.assert_array_equal((~inside).data, [True, False, True, True])
    np.testing.assert_array_equal(((x < 0) | (x > 1)).data, [True, False, True, False])
    np.testing.assert_array_equal(((x > 0) ^ (x > 1)).data, [False, True, False, False])
    _is_mask((x > 0).__invert__(), (4,))


@needs_torch
def test_integer_tensors_are_bitwise_as_in_torch():
    a, b = np.array([5, 6, -3]), np.array([3, 3, 1])
    t, tt = Tensor(a, dtype=np.int64), torch.tensor(a)
    for op in (operator.and_, operator.or_, operator.xor):
        out = op(t, Tensor(b, dtype=np.int64))
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.data, op(tt, torch.tensor(b)).numpy())
    np.testing.assert_array_equal((~t).data, (~tt).numpy())


def test_logic_on_floating_tensors_is_refused_as_in_torch():
    x = Tensor([1.0, 0.0])
    for f in (lambda: x & (x > 0), lambda: (x > 0) | x, lambda: ~x, lambda: (x > 0) ^ np.array([0.5, 1.0])):
        with pytest.raises(TypeError, match="bool masks"):
            f()
    with pytest.raises(TypeError):
        (x > 0) & 1.5  # noqa: B018 - a float operand is not a mask


# ---------------------------------------------------------------------------------------------- any, all
@pytest.mark.parametrize("reduce", ["any", "all"])
def test_any_all_match_numpy_with_dims(reduce):
    rng = np.random.default_rng(1)
    a = rng.random((2, 3, 4)) > 0.4
    t = Tensor(a, dtype=bool)
    ref = getattr(np, reduce)
    for kwargs, want in [({}, ref(a)), ({"dim": 1}, ref(a, axis=1)),
                         ({"dim": -1, "keepdim": True}, ref(a, axis=-1, keepdims=True)),
                         ({"dim": (0, 2)}, ref(a, axis=(0, 2))),
                         ({"axis": 0, "keepdims": True}, ref(a, axis=0, keepdims=True))]:
        out = getattr(t, reduce)(**kwargs)
        _is_mask(out, np.shape(want))
        np.testing.assert_array_equal(out.data, want)
    assert getattr(t, reduce)(1).shape == (2, 4)
    with pytest.raises(TypeError, match="not both"):
        getattr(t, reduce)(dim=0, axis=0)


@needs_torch
@pytest.mark.parametrize("reduce", ["any", "all"])
def test_any_all_match_torch_on_floats_nan_and_empty(reduce):
    for a in [np.array([[0.0, np.nan], [0.0, 0.0]]), np.array([[0.0, -0.0]]), np.zeros((0,)), np.zeros((2, 0)),
              np.array([[1.0, 2.0], [3.0, 0.0]])]:
        t, tt = Tensor(a), torch.tensor(a)
        np.testing.assert_array_equal(getattr(t, reduce)().data, getattr(tt, reduce)().numpy())
        for dim in range(-a.ndim, a.ndim):
            for keep in (False, True):
                np.testing.assert_array_equal(getattr(t, reduce)(dim, keep).data,
                                              getattr(tt, reduce)(dim, keep).numpy(), err_msg=f"{a} {dim}")


# ---------------------------------------------------------------------------------------------- identity
def test_tensors_hash_by_identity_while_equal_values_stay_distinct():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert hash(a) == object.__hash__(a) and hash(a) != hash(b)
    assert len({a, b}) == 2 and a in {a} and b not in {a}
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    c = a.detach()  # shares the data: still another tensor
    assert len({a, c}) == 2 and c not in d
    one, same = Tensor([1.0]), Tensor([1.0])
    assert len({one, same}) == 2 and bool(one == same)  # equal values, distinct keys


def test_optimizer_state_keeps_equal_parameters_apart():
    from naivegrad.optim import SGD

    p, q = Tensor([1.0, 1.0]), Tensor([1.0, 1.0])
    opt = SGD([p, q], lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        (p * 1.0 + q * 3.0).sum().backward()
        opt.step()
    assert not np.array_equal(p.data, q.data)  # each kept its own momentum
    np.testing.assert_allclose(p.data, 1.0 - 0.1 * (1.0 + 1.9), rtol=1e-6)
    np.testing.assert_allclose(q.data, 1.0 - 0.1 * (3.0 + 5.7), rtol=1e-6)


def test_finding_a_tensor_in_a_list_needs_is():
    """``in`` and ``list.index`` compare with ``==`` after identity: elementwise now, as in PyTorch."""
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    assert a in [a, b]  # identity is checked first
    with pytest.raises(ValueError, match="ambiguous"):
        b in [a, b]  # noqa: B015 - a == b first: a mask of two elements
    assert any(t is b for t in [a, b]) and next(i for i, t in enumerate([a, b]) if t is b) == 1
