"""Differential fuzzing of the Tensor engine's indexing and dtype promotion against PyTorch: values, dtypes and
gradients of ``t[index]`` for every index form numpy and PyTorch share, followed by other ops, and of
``gather``, ``index_select``, ``masked_fill``, ``where`` and the binary operators between float32, float64,
int64 and bool tensors and Python / numpy scalars.

The op table (tests/harness/ops_movement.py) checks ``getitem`` against numpy's semantics run in PyTorch; this
file asks PyTorch itself, which differs where an int stands apart from the index arrays (``t[0, :, ids]``:
numpy puts the arrays' axes first, PyTorch selects with the int first). The regression tests at the end pin
each discrepancy these searches found.

Documented differences left as they are (not tested here as PyTorch's): floating indices holding whole numbers
are accepted (``t[Tensor([0, 2])]``, the float32 default); matmul promotes mixed dtypes (PyTorch refuses);
two floating tensors follow numpy (float32 + a 0-d float64 tensor is float64; PyTorch keeps float32); numpy
bool scalars count as Python bools (PyTorch treats ``np.bool_`` as a float); integer ** negative integer raises
(numpy's rule); negative slice steps work (PyTorch refuses them).
"""

import operator
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naivegrad.tensor as nt
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")

_NP = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64, torch.bool: np.bool_}


def _held(arr):
    """A constant Tensor holding ``arr`` with its own dtype (an int64 index, a bool mask)."""
    return Tensor(arr, dtype=arr.dtype, requires_grad=False)


def _run(f):
    try:
        return f()
    except (IndexError, ValueError, TypeError, RuntimeError, NotImplementedError) as e:
        return e


def _same_outcome(got, want):
    """Both raised, or both gave the same dtype, shape and values (nan where nan)."""
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert isinstance(want, Exception) and isinstance(got, Exception), (got, want)
        return False
    g = got.data if isinstance(got, Tensor) else np.asarray(got)
    w = want.detach().numpy()
    assert g.dtype == _NP[want.dtype], (g.dtype, want.dtype)
    assert g.shape == w.shape, (g.shape, w.shape)
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-6, atol=1e-6)
    return True


# ---------------------------------------------------------------------------------------------- t[index]
@st.composite
def _indexed(draw):
    """(shape, parts): a tensor's shape and an index tuple in a neutral form (tags for the arrays, so that each
    engine can be given its own kind of array)."""
    nd = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=nd, max_size=nd)))
    if draw(st.integers(0, 9)) == 0 and all(shape):  # a full-shape bool mask
        mask = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
        return shape, [("mask", mask.reshape(shape))]
    parts, axis, ellipsis = [], 0, False
    while axis < nd and draw(st.integers(0, 4)):
        n = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "ellipsis", "ids", "ids", "mask", "zero_d"]))
        if kind == "int" and n:
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "zero_d" and n:
            parts.append(("ids", np.array(draw(st.integers(-n, n - 1)))))
        elif kind == "slice":
            bound = st.none() | st.integers(-6, 6)
            parts.append(slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3))))
        elif kind == "none":
            parts.append(None)
            continue  # consumes no axis
        elif kind == "ellipsis" and not ellipsis:
            ellipsis = True
            parts.append(Ellipsis)
            axis = max(axis, nd - draw(st.integers(0, nd - axis)))
            continue
        elif kind == "ids" and n:
            ishape = draw(st.sampled_from([(), (1,), (3,), (2, 2), (0,)]))
            count = int(np.prod(ishape))
            ids = draw(st.lists(st.integers(-n, n - 1), min_size=count, max_size=count))  # repeats accumulate
            parts.append(("ids", np.array(ids, np.int64).reshape(ishape)))
        elif kind == "mask":
            parts.append(("mask", np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)))
        else:
            parts.append(slice(None))
        axis += 1
    return shape, parts


def _as_naive(parts, form):
    out = []
    for p in parts:
        if type(p) is tuple:
            arr = p[1]
            if form == "tensor" or arr.dtype == bool:
                out.append(_held(arr))
            elif form == "list" and arr.ndim and arr.size:
                out.append(arr.tolist())
            else:
                out.append(arr)
        else:
            out.append(p)
    return out


def _as_torch(parts):
    return [torch.from_numpy(p[1]) if type(p) is tuple else p for p in parts]


def _one(parts):
    """A lone part without its tuple (``t[ids]``), else the tuple."""
    return parts[0] if len(parts) == 1 else tuple(parts)


@given(case=_indexed(), form=st.sampled_from(["array", "tensor", "list"]), dtype=st.sampled_from(["f4", "f8"]),
       after=st.sampled_from(["mul", "exp", "index", "sum0"]))
def test_getitem_values_and_gradients_match_pytorch(case, form, dtype, after):
    shape, parts = case
    data = np.random.default_rng(len(parts) + sum(shape)).standard_normal(shape).astype(dtype)
    x = Tensor(data.copy())
    tx = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _run(lambda: x[_one(_as_naive(parts, form))])
        want = _run(lambda: tx[_one(_as_torch(parts))])
    if not _same_outcome(got, want):
        return
    w = np.linspace(-1.0, 1.0, max(got.data.size, 1))[: got.data.size].reshape(got.shape).astype(dtype)
    if after == "mul":
        y, ty = got * Tensor(w, requires_grad=False), want * torch.from_numpy(w)
    elif after == "exp":
        y, ty = got.exp(), want.exp()
    elif after == "index" and got.ndim:  # indexing an indexed tensor: repeats in both
        y, ty = got[[0, 0, -1]] if got.shape[0] else got, want[[0, 0, -1]] if want.shape[0] else want
    elif after == "sum0" and got.ndim:
        y, ty = got.sum(0), want.sum(0)
    else:
        y, ty = got * 2.0, want * 2.0
    _same_outcome(y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert x.grad is not None and x.grad.dtype == data.dtype and x.grad.shape == shape
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------- gathers
@given(data=st.data())
def test_gather_index_select_masked_fill_and_where_match_pytorch(data):
    draw = data.draw
    nd = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    d = draw(st.integers(-nd, nd - 1))
    x0 = np.random.default_rng(nd + sum(shape)).standard_normal(shape)
    x, tx = Tensor(x0.copy()), torch.tensor(x0, requires_grad=True)
    n = shape[d]
    op = draw(st.sampled_from(["gather", "index_select", "masked_fill", "where"]))
    if op == "gather":
        ishape = tuple(draw(st.integers(0 if i == d % nd else 1, 4 if i == d % nd else m)) for i, m in enumerate(shape))
        ids = np.array(draw(st.lists(st.integers(0, n - 1), min_size=int(np.prod(ishape)),
                                     max_size=int(np.prod(ishape)))), np.int64).reshape(ishape)
        y, ty = x.gather(d, _held(ids)), tx.gather(d, torch.from_numpy(ids))
    elif op == "index_select":
        ids = np.array(draw(st.lists(st.integers(0, n - 1), max_size=6)), np.int64)
        y, ty = x.index_select(d, _held(ids)), tx.index_select(d, torch.from_numpy(ids))
    else:  # a mask of a broadcastable shape: some axes 1, maybe fewer axes
        mshape = tuple(m if draw(st.booleans()) else 1 for m in shape)[draw(st.integers(0, nd)):]
        mask = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(mshape)),
                                      max_size=int(np.prod(mshape)))), bool).reshape(mshape)
        if op == "masked_fill":
            v = draw(st.sampled_from([0.0, -np.inf, 2.5, 3]))
            y, ty = x.masked_fill(_held(mask), v), tx.masked_fill(torch.from_numpy(mask), v)
        else:
            other = draw(st.sampled_from(["scalar", "int", "row"]))
            o, to = {"scalar": (1.5, 1.5), "int": (_held(np.arange(shape[-1])), torch.arange(shape[-1])),
                     "row": (Tensor(np.ones(shape[-1])), torch.ones(shape[-1], dtype=torch.float64))}[other]
            y, ty = nt.where(_held(mask), x, o), torch.where(torch.from_numpy(mask), tx, to)
    _same_outcome(y, ty)
    w = np.cos(np.arange(y.data.size)).reshape(y.shape)
    (y * Tensor(w, requires_grad=False)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- promotion
_DTYPES = ["float32", "float64", "int64", "bool"]
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
        "<": operator.lt, "==": operator.eq, ">=": operator.ge, "!=": operator.ne, "@": operator.matmul}
_SCALARS = [2, -3, 0, 0.5, -1.25, True, False, np.float64(1.5), np.float32(2.5), np.int64(3)]


def _values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype == "int64":
        return np.asarray(rng.integers(0, 4, shape))  # no negative exponents (numpy refuses them for integers)
    return np.asarray(rng.standard_normal(shape) + 2.0, dtype)  # positive: real powers


_SHAPES = st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 1)), ((2, 1, 3), (4, 1)), ((0, 3), (3,)),
                           ((), (2, 2)), ((2, 2), ())])


@given(a=st.sampled_from(_DTYPES), b=st.sampled_from(_DTYPES + ["scalar"]), op=st.sampled_from(sorted(_OPS)),
       shapes=_SHAPES, scalar=st.sampled_from(_SCALARS), reflected=st.booleans())
def test_binary_ops_promote_and_compute_as_pytorch(a, b, op, shapes, scalar, reflected):
    f = _OPS[op]
    sa, sb = shapes
    if op == "@":
        if b == "scalar" or a != b:
            return  # matmul of mixed dtypes: a documented difference (naivegrad promotes, PyTorch refuses)
        if a == "bool":
            return  # PyTorch has no bool matmul; numpy's is a logical one
        sa, sb = {0: ((3,), (3, 2)), 1: ((2, 3), (3,)), 2: ((2, 1, 2, 3), (4, 3, 2)), 3: ((0, 3), (3, 0)),
                  4: ((3,), (5, 3, 2))}[len(sa) + len(sb) if len(sa) + len(sb) < 5 else 4]
    if op == "**" and b == "scalar" and a in ("int64", "bool") and scalar < 0 and not isinstance(scalar, float):
        return  # an integer to a negative integer power: numpy's rule (PyTorch raises even for an empty base)
    xa = _values(a, sa, 1)
    ta = torch.from_numpy(xa)
    na = Tensor(xa, dtype=xa.dtype, requires_grad=False)
    if b == "scalar":
        nb = tb = scalar  # numpy floats too: a Python float's rule (np.float64 does not upcast float32)
    else:
        xb = _values(b, sb, 2)
        nb, tb = Tensor(xb, dtype=xb.dtype, requires_grad=False), torch.from_numpy(xb)
        if a != b and "bool" not in (a, b) and (xa.ndim == 0) != (xb.ndim == 0) and "int64" not in (a, b):
            return  # a 0-d float64 tensor beside float32: numpy's float64 here (documented), PyTorch's float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _run(lambda: f(nb, na) if reflected else f(na, nb))
        want = _run(lambda: f(tb, ta) if reflected else f(ta, tb))
    _same_outcome(got, want)


@given(a=st.sampled_from(["float32", "float64"]), b=st.sampled_from(_DTYPES), op=st.sampled_from("+-*/"),
       shapes=_SHAPES, reflected=st.booleans())
def test_mixed_dtype_gradients_match_pytorch(a, b, op, shapes, reflected):
    """The floating operand's gradient (in its own dtype) when the other is a tensor of another dtype."""
    if b == "bool" and op == "-":
        return
    sa, sb = shapes
    xa, xb = _values(a, sa, 3), _values(b, sb, 4)
    if a != b and b.startswith("float") and (xa.ndim == 0) != (xb.ndim == 0):
        return  # the documented 0-d float64 difference
    f = _OPS[op]
    na, ta = Tensor(xa.copy()), torch.tensor(xa, requires_grad=True)
    nb = Tensor(xb, dtype=xb.dtype, requires_grad=False)
    tb = torch.from_numpy(xb)
    y = f(nb, na) if reflected else f(na, nb)
    ty = f(tb, ta) if reflected else f(ta, tb)
    _same_outcome(y, ty)
    y.sum().backward()
    ty.sum().backward()
    assert na.grad.dtype == xa.dtype
    np.testing.assert_allclose(na.grad, ta.grad.numpy(), rtol=1e-5)


# ---------------------------------------------------------------------------------------------- regressions
@pytest.mark.parametrize("index", [
    (0, slice(None), "ids"), (1, Ellipsis, "ids"), (0, slice(None), 1, "ids"), (slice(None), "ids", slice(None), 1),
    (1, slice(None), "ids2d"), (0, None, "ids"), ("zero_d", slice(None), "ids"), (np.int64(1), slice(None), "ids"),
    (1, slice(None), "mask"),
], ids=repr)
def test_an_int_apart_from_the_index_arrays_keeps_pytorchs_axis_order(index):
    """numpy counts an int among the advanced indices: x[0, :, ids] on a (2, 3, 4, 5) tensor has numpy's shape
    (3, 3, 5), the ids' axis first, and PyTorch's (3, 3, 5) with the slice first, the same shape with the values
    transposed (a silent wrong answer before the fix). Gradients flow back through the two steps."""
    parts = {"ids": np.array([1, 0, 1]), "ids2d": np.array([[0, 1], [2, 2]]), "zero_d": np.array(1),
             "mask": np.array([True, False, True, True])}
    index = tuple(parts[p] if isinstance(p, str) else p for p in index)
    x0 = np.arange(120.0).reshape(2, 3, 4, 5)
    x, tx = Tensor(x0.copy()), torch.tensor(x0, requires_grad=True)
    y = x[tuple(_held(p) if isinstance(p, np.ndarray) else p for p in index)]
    ty = tx[tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in index)]
    _same_outcome(y, ty)
    w = np.sin(np.arange(y.data.size)).reshape(y.shape)
    (y * Tensor(w)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    # the plain numpy array index, and one given as a list, agree too
    np.testing.assert_array_equal(x[index].data, y.data)


def test_an_empty_list_index_selects_nothing_as_in_pytorch():
    """``t[[]]`` was numpy's float64 empty array, an IndexError; PyTorch gives an empty result."""
    x = Tensor(np.ones((3, 4)))
    assert x[[]].shape == (0, 4)
    assert x[:, []].shape == (3, 0)
    x[[]].sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))


def test_bool_to_a_bool_power_is_a_bool_tensor_or_refused_as_in_pytorch():
    """numpy's bool ** bool is int8 (a dtype PyTorch never gives here): a bool tensor ** True / False is a bool
    tensor as PyTorch's, and bool ** a bool tensor is refused, as PyTorch refuses it."""
    m = np.array([True, False, True])
    for e in (True, False):
        got, want = Tensor(m, dtype=bool) ** e, torch.from_numpy(m) ** e
        _same_outcome(got, want)
    for f in (lambda t: t ** t, lambda t: True ** t):
        with pytest.raises(TypeError, match="bool"):
            f(Tensor(m, dtype=bool))
    assert (Tensor([2, 3], dtype="int8") ** Tensor([2, 2], dtype="int8")).tolist() == [4, 9]


def test_a_uint8_tensor_index_is_refused_not_read_as_numpy_reads_it():
    """PyTorch reads a uint8 index tensor as a bool mask (deprecated), numpy as integers: x[Tensor([1, 0, 1],
    dtype=uint8)] silently took rows 1, 0, 1 where PyTorch takes rows 0 and 2. Now an IndexError says which to
    use; uint8 numpy arrays stay numpy's integer indices."""
    x = Tensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError, match="uint8"):
        x[Tensor(np.array([1, 0, 1], np.uint8), dtype="uint8")]
    assert x[np.array([1, 0, 1], np.uint8)].shape == (3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.arange(12.0).reshape(3, 4)[torch.tensor([1, 0, 1], dtype=torch.uint8)]
    np.testing.assert_array_equal(x[Tensor([1, 0, 1], dtype="uint8").bool()].data, want.numpy())
