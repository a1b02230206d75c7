"""Gathers and shapes in PyTorch's spelling (gather, index_select, masked_fill, split, chunk, repeat, tile, flip,
roll, tril, triu, view, einsum, ``dim=``): argument validation and its messages, PyTorch parity of the parts the
op table does not differentiate (piece sizes, chunk counts, shifts, diagonals, einsum's equation forms), attention
masks filled with -inf, and ``index_add_rows``, the scatter-add behind every integer-array backward, against
``np.add.at``.

Values, gradients and tangents of each op are the op table's (tests/harness/ops_movement.py, run by tests/parity).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import naivegrad.tensor as nt
from naivegrad.tensor import Tensor, einsum
from naivegrad.tensor.ops.movement import index_add_rows

torch = pytest.importorskip("torch")


def held(arr):
    """A Tensor holding ``arr`` as it is: integers or bools (PyTorch's LongTensor, BoolTensor)."""
    t = Tensor(np.zeros(0), requires_grad=False)
    t.data = np.asarray(arr)
    return t


def x34():
    return Tensor(np.arange(12.0).reshape(3, 4), dtype=np.float64)


# ---------------------------------------------------------------------------------------------- index arguments
@pytest.mark.parametrize("call", [
    lambda x, i: x.gather(1, i), lambda x, i: x.index_select(0, i),
], ids=["gather", "index_select"])
def test_float_indices_are_refused_as_pytorch_does(call):
    """PyTorch refuses float indices even when they hold whole numbers: so do these, naming the dtype and the
    conversion (the dtype is checked first, whatever the index's shape)."""
    x = x34()
    for bad, hint in [(Tensor([1.0, 0.0]), r"\.long\(\)"), (np.array([1.0, 0.0]), r"\.astype\(int\)")]:
        with pytest.raises(TypeError, match=r"float(32|64).*" + hint):
            call(x, bad)
    with pytest.raises(TypeError, match="bool"):
        call(x, held(np.array([True, False])))


def test_gather_and_index_select_accept_lists_arrays_and_integer_tensors():
    x = x34()
    want = x.data[:, [2, 0, 2]]
    for index in ([2, 0, 2], np.array([2, 0, 2]), np.array([2, 0, 2], np.int32), held(np.array([2, 0, 2]))):
        np.testing.assert_array_equal(x.index_select(1, index).data, want)
    rows = [[1, 3], [0, 0], [2, 1]]
    for index in (rows, np.array(rows), np.array(rows, np.uint8), held(np.array(rows))):
        np.testing.assert_array_equal(x.gather(1, index).data, np.take_along_axis(x.data, np.array(rows), 1))


@pytest.mark.parametrize("call, message", [
    (lambda x: x.gather(1, [[4], [0], [0]]), r"gather: index 4 is out of range for dim 1 of size 4"),
    (lambda x: x.gather(1, [[-1], [0], [0]]), r"gather: index -1 is out of range for dim 1 of size 4"),
    (lambda x: x.gather(-2, [[3, 0]]), r"gather: index 3 is out of range for dim 0 of size 3"),
    (lambda x: x.index_select(0, [0, 3]), r"index_select: index 3 is out of range for dim 0 of size 3"),
    (lambda x: x.index_select(1, [-1]), r"index_select: index -1 is out of range for dim 1 of size 4"),
])
def test_out_of_range_indices_name_the_index_and_the_size(call, message):
    with pytest.raises(IndexError, match=message):
        call(x34())


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.gather(1, [0, 1]), ValueError, "as many dimensions"),
    (lambda x: x.gather(1, [[0]] * 4), ValueError, "larger than the tensor's shape"),
    (lambda x: x.gather(2, [[0]]), ValueError, "out of range"),
    (lambda x: x.gather(1, "0"), TypeError, "index must be"),
    (lambda x: x.index_select(0, [[0]]), ValueError, "1-D"),
    (lambda x: x.masked_fill(np.ones((3, 4)), 0.0), TypeError, "bools"),
    (lambda x: x.masked_fill(Tensor(np.ones((3, 4))), 0.0), TypeError, "got dtype float64"),
    (lambda x: x.masked_fill(np.ones(3, bool), 0.0), ValueError, r"\(3,\) does not broadcast .* \(3, 4\)"),
    (lambda x: x.masked_fill(np.ones(4, bool), "inf"), TypeError, "value"),
    (lambda x: x.masked_fill(np.ones(4, bool), Tensor([1.0, 2.0])), ValueError, "0-d"),
    (lambda x: x.split([1, 1], 0), ValueError, r"add up to 3"),
    (lambda x: x.split(0, 1), ValueError, "size 0"),
    (lambda x: x.split(-1), ValueError, "non-negative"),
    (lambda x: x.split(1.5), TypeError, "int"),
    (lambda x: x.sum().split(1), ValueError, "0-d"),
    (lambda x: x.chunk(0), ValueError, "at least 1"),
    (lambda x: x.repeat(2), ValueError, "at least one per dimension"),
    (lambda x: x.repeat(2, -1), ValueError, "non-negative"),
    (lambda x: x.tile(2.0), TypeError, "ints"),
    (lambda x: x.flip(0, -2), ValueError, "repeated"),
    (lambda x: x.flip(2), ValueError, "out of range"),
    (lambda x: x.roll((1, 2), 0), ValueError, "same length"),
    (lambda x: x.roll((1, 2)), ValueError, "single int"),
    (lambda x: x.roll(1.5), TypeError, "ints"),
    (lambda x: x.sum(axis=0).tril(), ValueError, "at least 2 dimensions"),
    (lambda x: x.triu(0.5), TypeError, "int"),
    (lambda x: nt.cat([x, x], 0, dim=1), TypeError, "not both"),
    (lambda x: nt.stack([x, x], axis=0, dim=0), TypeError, "not both"),
    (lambda x: x.unsqueeze(), TypeError, "axis= or dim="),
    (lambda x: x.squeeze(0, dim=0), TypeError, "not both"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(x34())


# ---------------------------------------------------------------------------------------------- PyTorch parity
def _both(shape):
    data = np.random.default_rng(0).standard_normal(shape)
    return Tensor(data), torch.tensor(data)


@pytest.mark.parametrize("n", range(8))
def test_split_sizes_match_pytorch(n):
    x, tx = _both((2, n))
    for size in range(0 if n == 0 else 1, n + 2):
        ours, theirs = x.split(size, 1), tx.split(size, 1)
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs], (n, size)
        for p, q in zip(ours, theirs):
            np.testing.assert_array_equal(p.data, q.numpy())
    for sections in ([n], [0, n], [n // 2, n - n // 2], [0, n, 0]):
        assert [p.shape for p in x.split(sections, 1)] == [tuple(p.shape) for p in tx.split(sections, 1)]


@pytest.mark.parametrize("n", range(10))
def test_chunk_counts_match_pytorch_when_not_divisible(n):
    x, tx = _both((n, 2))
    for chunks in range(1, 7):
        ours, theirs = x.chunk(chunks), tx.chunk(chunks)
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs], (n, chunks)


@pytest.mark.parametrize("shifts, dims", [
    (1, None), (-1, None), (-13, None), (14, None), (-1, 0), (-5, 1), (3, -1), ((1, -2), (0, 1)), ((-7, 2), (1, 0)),
    ((-1, -1), (-1, -2)), (0, None),
])
def test_roll_matches_pytorch_with_negative_and_large_shifts(shifts, dims):
    x, tx = _both((3, 4))
    np.testing.assert_array_equal(x.roll(shifts, dims).data, tx.roll(shifts, dims).numpy())


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 3, 4), (0, 3), (3, 0), (1, 1), (2, 1, 2, 3)])
def test_tril_and_triu_match_pytorch_for_every_diagonal(shape):
    x, tx = _both(shape)
    for k in range(-6, 7):
        np.testing.assert_array_equal(x.tril(k).data, tx.tril(k).numpy())
        np.testing.assert_array_equal(x.triu(k).data, tx.triu(k).numpy())
        np.testing.assert_array_equal(x.tril(diagonal=k).data, tx.tril(diagonal=k).numpy())


@pytest.mark.parametrize("shape, sizes", [
    ((3,), (2,)), ((3,), (2, 2)), ((2, 3), (1, 2)), ((2, 3), (2, 1, 3)), ((), (3,)), ((), (2, 2)), ((2, 0), (2, 3)),
    ((2, 3), (0, 1)),
])
def test_repeat_and_tile_shapes_and_values_match_pytorch(shape, sizes):
    x, tx = _both(shape)
    np.testing.assert_array_equal(x.repeat(*sizes).data, tx.repeat(*sizes).numpy())
    np.testing.assert_array_equal(x.tile(sizes).data, tx.tile(sizes).numpy())
    np.testing.assert_array_equal(x.tile(sizes[-1:]).data, tx.tile(sizes[-1:]).numpy())


def test_repeat_is_pytorchs_not_numpys():
    x = Tensor([1.0, 2.0])
    assert x.repeat(2).data.tolist() == [1.0, 2.0, 1.0, 2.0]  # numpy's repeat would give [1, 1, 2, 2]


def test_flip_view_flatten_and_dim_spellings_match_pytorch():
    x, tx = _both((2, 3, 4))
    for dims in [(0,), (1, 2), (-1, 0), ()]:
        np.testing.assert_array_equal(x.flip(dims).data, tx.flip(dims).numpy())
    np.testing.assert_array_equal(x.flip(0, 2).data, tx.flip(0, 2).numpy())
    assert x.view(-1, 4).shape == tuple(tx.view(-1, 4).shape) and x.view(4, 6).shape == (4, 6)
    for a, b in [(0, -1), (1, 2), (0, 1), (-2, -1), (2, 2)]:
        assert x.flatten(a, b).shape == tuple(tx.flatten(a, b).shape)
    np.testing.assert_array_equal(nt.cat([x, x], dim=1).data, torch.cat([tx, tx], dim=1).numpy())
    np.testing.assert_array_equal(nt.stack([x, x], dim=-1).data, torch.stack([tx, tx], dim=-1).numpy())
    np.testing.assert_array_equal(nt.concatenate((x, x), dim=2).data, torch.cat([tx, tx], 2).numpy())
    y, ty = _both((2, 1, 3))
    assert y.squeeze(dim=1).shape == tuple(ty.squeeze(dim=1).shape)
    assert y.unsqueeze(dim=-1).shape == tuple(ty.unsqueeze(dim=-1).shape)
    assert y.unsqueeze(0).shape == (1, 2, 1, 3)


def test_0d_gather_and_index_select_match_pytorch():
    x, tx = Tensor(np.float64(5.0)), torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    for index in ([0, 0], 0):
        out = x.gather(0, index)
        theirs = tx.gather(0, torch.tensor(index))
        assert out.shape == tuple(theirs.shape)
    assert x.index_select(0, [0]).shape == tuple(tx.index_select(0, torch.tensor([0])).shape)
    with pytest.raises(ValueError, match="single index"):
        x.index_select(0, [0, 0])


def _grads_match(ours_fn, theirs_fn, shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [Tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = ours_fn(*xs), theirs_fn(*ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(out.shape)
    out.backward(u)
    tout.backward(torch.tensor(u))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("iji->ij", [(2, 3, 2)]), ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]), ("ba", [(2, 3)]), ("aB,Ba->", [(2, 3), (3, 2)]), ("bA", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("...ij,...jk", [(5, 2, 3), (3, 2)]),
    ("...ij->ij", [(2, 3, 4)]),  # PyTorch sums over an ellipsis the output leaves out (numpy refuses)
    ("i...->...", [(2, 3, 4)]), ("...,...->...", [(2, 1), (3,)]), ("...ii->...i", [(2, 3, 3)]),
    ("ij,jk", [(2, 1), (3, 4)]),  # a size-1 axis broadcasts against its letter elsewhere
    ("i,i->i", [(1,), (3,)]), ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]), ("i,i,i->i", [(3,), (3,), (3,)]),
    (",i->i", [(), (3,)]), ("", [()]), ("i->", [(0,)]), ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), (" ij , jk -> ik ", [(2, 3), (3, 4)]),
    ("i...j,j->i...", [(2, 3, 4), (4,)]),
])
def test_einsum_matches_pytorch_values_and_gradients(equation, shapes):
    _grads_match(lambda *xs: einsum(equation, *xs), lambda *ts: torch.einsum(equation, *ts), shapes)


def test_einsum_large_operands_take_the_planned_path_and_still_match():
    _grads_match(lambda a, b, c: einsum("ij,jk,kl->il", a, b, c),
                 lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c), [(30, 40), (40, 50), (50, 20)])
    _grads_match(lambda a, b: einsum("bij,bjk->bik", a, b), lambda a, b: torch.einsum("bij,bjk->bik", a, b),
                 [(4, 30, 40), (4, 40, 20)])


def test_einsum_of_one_tensor_twice_adds_both_gradients():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    einsum("i,i->", x, x).backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_einsum_forward_mode_is_the_product_rule():
    rng = np.random.default_rng(1)
    a, b = Tensor(rng.standard_normal((3, 3))), Tensor(rng.standard_normal((3, 2)), requires_grad=False)
    a.tangent = rng.standard_normal((3, 3))
    out = einsum("ii,ij->j", a, b)
    np.testing.assert_allclose(out.tangent, np.einsum("ii,ij->j", a.tangent, b.data), rtol=1e-12)


@pytest.mark.parametrize("equation, shapes, error, message", [
    ("ij,jk->ik", [(2, 3)], ValueError, "names 2 operand"),
    ("ij", [(2, 3), (3,)], ValueError, "names 1 operand"),
    ("ij->ii", [(2, 2)], ValueError, "'i' appears more than once"),
    ("ij->k", [(2, 3)], ValueError, "'k' appears in no operand"),
    ("i1", [(2, 3)], ValueError, "invalid subscript '1'"),
    ("ij", [(2, 3, 4)], ValueError, r"operand 0 has 3 dimension\(s\)"),
    ("...ijk", [(2, 3)], ValueError, "fewer than the 3"),
    ("ii", [(2, 3)], ValueError, "repeated in operand 0 .* different sizes"),
    ("i,i", [(2,), (3,)], ValueError, "'i' has size 2 in one operand and 3"),
    ("i->->i", [(2,)], ValueError, "'->' may appear once"),
    ("i-j", [(2, 2)], ValueError, "'->' may appear once"),
    ("i.j", [(2, 2)], ValueError, "'.' outside an ellipsis"),
    (["ij"], [(2, 2)], TypeError, "string"),
])
def test_einsum_bad_equations_say_what_is_wrong(equation, shapes, error, message):
    with pytest.raises(error, match=message):
        einsum(equation, *[Tensor(np.ones(s)) for s in shapes])


# ---------------------------------------------------------------------------------------------- masked_fill, -inf
def _causal_scores(rng):
    scores = rng.standard_normal((2, 4, 4))
    future = np.triu(np.ones((4, 4), bool), 1)
    return scores, future


def test_attention_mask_filled_with_minus_inf_matches_pytorch():
    rng = np.random.default_rng(2)
    scores, future = _causal_scores(rng)
    for mask in (future, held(future)):
        x = Tensor(scores)
        tx = torch.tensor(scores, requires_grad=True)
        p = x.masked_fill(mask, -math.inf).softmax(-1)
        tp = tx.masked_fill(torch.from_numpy(future), float("-inf")).softmax(-1)
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-15)
        u = rng.standard_normal(p.shape)
        p.backward(u)
        tp.backward(torch.tensor(u))
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
        assert np.all(x.grad[:, future] == 0)


def test_filled_positions_get_exactly_zero_even_from_inf_and_nan_gradients():
    rng = np.random.default_rng(3)
    scores, future = _causal_scores(rng)
    x = Tensor(scores)
    y = x.masked_fill(future, -math.inf)
    assert np.all(y.data[:, future] == -np.inf) and np.all(y.data[:, ~future] == scores[:, ~future])
    g = rng.standard_normal(y.shape)
    g[:, future] = np.where(rng.random(g[:, future].shape) < 0.5, np.inf, np.nan)
    y.backward(g)
    assert np.all(x.grad[:, future] == 0) and np.array_equal(x.grad[:, ~future], g[:, ~future])
    # the same through tril, whose zeroed triangle is a fill too
    x2 = Tensor(scores)
    x2.tril().backward(g)
    assert np.all(x2.grad[:, future] == 0)


def test_masked_fill_value_tensor_gets_the_gradient_of_the_filled_elements():
    rng = np.random.default_rng(4)
    data, mask = rng.standard_normal((3, 4)), rng.random(4) < 0.5
    x, v = Tensor(data), Tensor(np.float64(2.5))
    tx, tv = torch.tensor(data, requires_grad=True), torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    out, tout = x.masked_fill(mask, v), tx.masked_fill(torch.from_numpy(mask), tv)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    u = rng.standard_normal((3, 4))
    out.backward(u)
    tout.backward(torch.tensor(u))
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_masked_fill_broadcasts_a_larger_mask_as_pytorch_does():
    x, tx = _both((2, 3))
    mask = np.array([[[True, False, True]], [[False, False, True]]])
    out, tout = x.masked_fill(mask, 0.5), tx.masked_fill(torch.from_numpy(mask), 0.5)
    assert out.shape == tuple(tout.shape) == (2, 2, 3)
    np.testing.assert_array_equal(out.data, tout.numpy())


def test_masked_fill_keeps_float32_and_rounds_the_value_to_it():
    x = Tensor(np.ones(3, np.float32))
    out = x.masked_fill(np.array([True, False, True]), 0.1)
    assert out.dtype == np.float32 and out.data[0] == np.float32(0.1)
    assert x.masked_fill(np.array([True, False, True]), np.float64(1e300)).data[0] == np.inf


# ---------------------------------------------------------------------------------------------- index_add_rows
@st.composite
def _scatter_cases(draw):
    n = draw(st.integers(1, 12))
    rest = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    k = draw(st.integers(0, 30))
    dtype = draw(st.sampled_from([np.int64, np.int32, np.intp]))
    pool = draw(st.integers(1, n))  # few distinct ids: many repeats
    ids = np.array(draw(st.lists(st.integers(-pool, pool - 1), min_size=k, max_size=k)), dtype=dtype)
    ids = np.where(ids < 0, ids - (n - pool), ids)  # negatives count from the end of the table
    fdtype = draw(st.sampled_from([np.float32, np.float64]))
    values = draw(hnp.arrays(fdtype, (k,) + rest, elements=st.floats(-1e3, 1e3, width=32)))
    return ids, values, n


@given(_scatter_cases())
def test_index_add_rows_matches_np_add_at(case):
    ids, values, n = case
    want = np.zeros((n,) + values.shape[1:], values.dtype)
    np.add.at(want, ids, values)
    got = index_add_rows(ids, values, n)
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = np.zeros_like(want, dtype=np.float64)
    np.add.at(scale, ids, np.abs(values).astype(np.float64))
    tol = 4 * max(ids.size, 1) * np.finfo(values.dtype).eps * scale
    assert np.all(np.abs(got.astype(np.float64) - want) <= tol)
    if values.ndim > 1 and ids.size and np.bincount(ids % n).max() <= 8:
        np.testing.assert_array_equal(got, want)  # rows added in rounds: np.add.at's order and rounding


def test_index_add_rows_heavy_repeats_and_errors():
    rng = np.random.default_rng(5)
    ids = np.where(rng.random(2000) < 0.7, 3, rng.integers(-50, 50, 2000))
    values = rng.standard_normal((2000, 4))
    want = np.zeros((50, 4))
    np.add.at(want, ids, values)
    np.testing.assert_allclose(index_add_rows(ids, values, 50), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(index_add_rows(ids, values[:, 0], 50), want[:, 0], rtol=1e-12, atol=1e-12)
    with pytest.raises(IndexError, match="index 50 is out of range for size 50"):
        index_add_rows(np.array([50]), np.ones((1, 2)), 50)
    with pytest.raises(IndexError, match="-51"):
        index_add_rows(np.array([-51]), np.ones(1), 50)
    with pytest.raises(TypeError, match="integers"):
        index_add_rows(np.array([1.0]), np.ones((1, 2)), 50)
    with pytest.raises(ValueError, match="one row per id"):
        index_add_rows(np.array([1, 2]), np.ones((1, 2)), 50)


@pytest.mark.parametrize("index", [
    lambda rng: rng.integers(-5, 5, 9),                                    # t[ids]
    lambda rng: rng.integers(0, 5, (3, 4)),                                # N-D ids
    lambda rng: (slice(None), rng.integers(-4, 4, 7)),                     # t[:, ids]
    lambda rng: (Ellipsis, rng.integers(0, 3, 6)),                         # t[..., ids]
    lambda rng: (rng.integers(0, 5, 6), rng.integers(0, 4, 6)),            # t[rows, cols]
    lambda rng: (slice(None), rng.integers(0, 4, (2, 3)), rng.integers(0, 3, (1, 3))),
    lambda rng: rng.integers(0, 5, 9).tolist(),                            # a list
    lambda rng: (rng.integers(0, 5, 4), slice(None), rng.integers(0, 3, 4)),  # arrays apart: numpy's order
    lambda rng: (1, rng.integers(0, 4, 5)),                                # an int beside an array
    lambda rng: (slice(1, None), rng.integers(0, 4, 5)),                   # a partial slice
    lambda rng: rng.random(5) < 0.5,                                       # a bool mask
    lambda rng: np.array([], dtype=np.int64),                              # nothing
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_integer_array_indexing_backward_equals_np_add_at(index, dtype):
    rng = np.random.default_rng(6)
    idx = index(rng)
    x = Tensor(rng.standard_normal((5, 4, 3)).astype(dtype))
    out = x[idx]
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    want = np.zeros(x.shape, dtype)
    np.add.at(want, tuple(np.asarray(p) if isinstance(p, list) else p for p in idx) if isinstance(idx, tuple)
              else np.asarray(idx), g)
    np.testing.assert_allclose(x.grad, want, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_embedding_lookup_backward_on_a_large_table():
    rng = np.random.default_rng(7)
    table = Tensor(rng.standard_normal((5000, 16)).astype(np.float32))
    ids = rng.integers(0, 5000, (64, 32))
    out = table.index_select(0, ids.reshape(-1)).reshape(64, 32, 16)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    want = np.zeros(table.shape, np.float32)
    np.add.at(want, ids.reshape(-1), g.reshape(-1, 16))
    np.testing.assert_array_equal(table.grad, want)


def test_three_operand_einsum_with_infinities_sums_whole_products_as_the_scalar_engine():
    # Pairwise contraction would give inf * (1*1 + 0*0) = inf; the whole products include inf * 0 * 0 = nan.
    from naivegrad import Value

    a = np.array([[np.inf], [1.0]])
    b = np.array([[1.0, 0.0]])
    c = np.array([[1.0], [0.0]])
    ours = einsum("ab,bc,cd->ad", Tensor(a), Tensor(b), Tensor(c)).data
    ref = np.einsum("ab,bc,cd->ad", *[np.vectorize(Value, otypes=[object])(x) for x in (a, b, c)])
    ref = np.vectorize(lambda v: v.data, otypes=[float])(ref)
    np.testing.assert_array_equal(ours, ref)
    assert np.isnan(ours[0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["small_vocab", "zipf", "one_id", "heavy_and_rounds", "three_paths"])
def test_index_add_rows_heavy_repeats_match_np_add_at(case, dtype):
    """The three means of index_add_rows (rounds, reduceat, one reduce per heavy id): a (27, 64) table with 512
    ids (every id repeated ~19 times: reduceat), a Zipf-like draw on a large table (ids repeated thousands of
    times: per-id reduce, with reduceat for the middle ones), one id only, and mixes of the three."""
    rng = np.random.default_rng({"small_vocab": 1, "zipf": 2, "one_id": 3, "heavy_and_rounds": 4,
                                 "three_paths": 5}[case])
    if case == "small_vocab":
        n, ids = 27, rng.integers(0, 27, 512)
    elif case == "zipf":
        n, ids = 5000, np.minimum(rng.zipf(1.3, 4096), 5000) - 1
    elif case == "one_id":
        n, ids = 10, np.full(1000, 7)
    elif case == "heavy_and_rounds":  # one id 500 times, the others at most twice: no reduceat
        n, ids = 3000, np.concatenate([np.full(500, 4), rng.permutation(2000)[:1500] + 10, np.arange(10, 200)])
        rng.shuffle(ids)
    else:  # heavy (> 128), middle (9..128) and few (2..8) copies, with negatives
        n = 400
        ids = np.concatenate([np.full(300, -1), np.repeat(np.arange(20, 40), 30), np.repeat(np.arange(50, 90), 3),
                              np.arange(100, 300)])
        rng.shuffle(ids)
    values = rng.standard_normal((ids.size, 64)).astype(dtype)
    want = np.zeros((n, 64), dtype)
    np.add.at(want, ids, values)
    got = index_add_rows(ids, values, n)
    assert got.dtype == dtype
    eps = np.finfo(dtype).eps
    scale = np.zeros((n, 64))
    np.add.at(scale, ids, np.abs(values).astype(np.float64))
    assert np.all(np.abs(got.astype(np.float64) - want) <= 4 * ids.size * eps * scale)


def test_index_add_rows_heavy_ids_keep_infinities_and_nan_to_their_own_row():
    ids = np.concatenate([np.full(300, 2), np.full(20, 5), [7, 7, 9]])
    values = np.ones((ids.size, 3))
    values[10, 0] = np.inf       # a heavy id
    values[305, 1] = np.nan      # a middle one
    values[-2, 2] = -np.inf      # in the rounds
    want = np.zeros((12, 3))
    np.add.at(want, ids, values)
    np.testing.assert_array_equal(index_add_rows(ids, values, 12), want)
