"""Differential fuzzing of the Tensor engine's creation functions, conversions, and the dtypes and values of its
reductions and casts, against PyTorch: ``zeros``, ``ones``, ``eye``, ``arange``, ``randn`` and ``Tensor()`` from
Python numbers, nested lists and numpy arrays of every dtype (shape, dtype, values, ``requires_grad``, the
``dtype=`` and ``requires_grad=`` arguments, and the errors of bad arguments); ``item``, ``tolist``, ``float``,
``int``, ``bool``, ``len``, iteration, ``numpy()``, ``to`` and the cast methods (nan, inf and out-of-range floats
to integers and bools included); ``sum``, ``prod``, ``cumsum``, ``mean``, ``var``, ``std``, ``norm``,
``logsumexp``, ``max``, ``min``, ``argmax``, ``argmin``, ``any`` and ``all`` of every dtype, empty tensors
included. The regression tests at the end pin each discrepancy these searches found.

Documented differences left as they are (tested here as naivegrad's own rule, not as PyTorch's):

- Python numbers, nested lists, and integer or bool numpy arrays become float32 unless ``dtype=`` says
  otherwise (PyTorch keeps int64, bool, int32...), and a list of numpy float64 scalars too; floating arrays
  and numpy floating scalars keep their dtype, as in PyTorch.
- ``arange`` is float32 for integer arguments too (PyTorch: int64), and the creation functions (``zeros``,
  ``ones``, ``eye``, ``arange``, ``randn``) take floating dtypes only: integer and bool tensors are made with
  ``Tensor(..., dtype=)`` or ``.long()`` / ``.bool()``.
- The creation functions and ``Tensor()`` of floating data default to ``requires_grad=True`` (PyTorch: False):
  every tensor a user makes remembers its gradient.
- ``zeros()`` and ``ones()`` without a size give a 0-d tensor (numpy's ``zeros(())``; PyTorch wants a size).
- ``any`` and ``all`` of a uint8 tensor give bool (PyTorch's legacy uint8 result); bool and integer reductions
  otherwise have PyTorch's dtypes (int64 sums, products and running sums; max/min keep the dtype).
- ``arange``'s values are computed in float64 and rounded once; PyTorch multiplies the step in the tensor's
  precision, so float16 and float32 values may differ from PyTorch's by an ulp or two (the length is the same).
- The errors are Python's (TypeError for a wrong type or dtype, ValueError for a wrong value) where PyTorch
  raises RuntimeError or IndexError: only *that* both raise is compared.
- Casts (``.to()``, ``.long()``...) of nan, inf and out-of-range floats to integers are undefined in C; numpy
  and PyTorch give the same answers on this platform (x86: INT_MIN for int32 and int64, 0 for narrower types),
  which is what is compared.
- ``Tensor(data, dtype=<an integer dtype>)`` refuses values outside the dtype's range (ValueError) for numpy
  arrays and negative Python ints to uint8 too, where PyTorch wraps those around (it refuses other Python data).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naivegrad.tensor as nt
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")

_TORCH = {np.dtype(k): v for k, v in [
    ("float16", torch.float16), ("float32", torch.float32), ("float64", torch.float64), ("int64", torch.int64),
    ("int32", torch.int32), ("int16", torch.int16), ("int8", torch.int8), ("uint8", torch.uint8),
    ("bool", torch.bool)]}
_NP = {v: k for k, v in _TORCH.items()}
_FLOATS = ["float16", "float32", "float64"]
_ALL = _FLOATS + ["int64", "int32", "int16", "int8", "uint8", "bool"]
_ERRORS = (TypeError, ValueError, RuntimeError, IndexError, OverflowError)


def _run(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f()
        except _ERRORS as e:
            return e


def _same(got, want, rtol=1e-6, atol=1e-6, dtype=None):
    """Both raised, or both gave a tensor of the same shape, dtype (``dtype``: naivegrad's documented one instead
    of PyTorch's) and values (nan where nan). True when both gave tensors."""
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert isinstance(want, Exception) and isinstance(got, Exception), (got, want)
        return False
    assert isinstance(got, Tensor), type(got)
    g, w = got.data, want.detach().numpy()
    assert g.dtype == (_NP[want.dtype] if dtype is None else np.dtype(dtype)), (g.dtype, want.dtype)
    assert g.shape == w.shape, (g.shape, w.shape)
    if g.dtype.kind == "f" or w.dtype.kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(g, w.astype(g.dtype) if dtype is not None else w)
    return True


def _torch_dtype(dtype):
    return dtype if isinstance(dtype, torch.dtype) else _TORCH[np.dtype(dtype)]


def _dtype_forms(name):
    """The spellings of one dtype that both ``Tensor(dtype=)`` and the creation functions take."""
    return st.sampled_from([name, np.dtype(name), np.dtype(name).type, _TORCH[np.dtype(name)]])


_SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


# ---------------------------------------------------------------------------------------------- creation
@given(shape=_SHAPES, fn=st.sampled_from(["zeros", "ones", "randn"]), form=st.sampled_from(["args", "tuple", "list"]),
       dtype=st.none() | st.sampled_from(_FLOATS).flatmap(_dtype_forms), rg=st.sampled_from([None, True, False]))
def test_zeros_ones_randn_match_pytorch(shape, fn, form, dtype, rg):
    if form == "args" and not shape:
        form = "tuple"  # zeros() without a size: a documented difference
    args = {"args": shape, "tuple": (shape,), "list": (list(shape),)}[form]
    kw = {} if dtype is None else {"dtype": dtype}
    tkw = {} if dtype is None else {"dtype": _torch_dtype(dtype)}
    if rg is not None:
        kw["requires_grad"] = tkw["requires_grad"] = rg
    got = getattr(nt, fn)(*args, **kw)
    want = getattr(torch, fn)(*args, **tkw)
    if fn == "randn":  # values are random: shape and dtype only
        assert got.shape == tuple(want.shape) and got.dtype == _NP[want.dtype]
    else:
        _same(got, want)
    assert got.requires_grad is (True if rg is None else rg)  # documented default: True
    assert got.is_leaf and got.grad is None


@given(n=st.integers(0, 5), m=st.none() | st.integers(0, 5),
       dtype=st.none() | st.sampled_from(_FLOATS).flatmap(_dtype_forms))
def test_eye_matches_pytorch(n, m, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    tkw = {} if dtype is None else {"dtype": _torch_dtype(dtype)}
    got = nt.eye(n, m, **kw)
    want = torch.eye(n, **tkw) if m is None else torch.eye(n, m, **tkw)
    _same(got, want, rtol=0, atol=0)
    assert got.requires_grad


_BOUND = st.one_of(st.integers(-12, 12), st.integers(-48, 48).map(lambda k: k / 4),
                   st.integers(-30, 30).map(lambda k: k / 10))
_STEP = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -0.5, 0.25, 0.1, -0.1, 0.3, -0.3, 1.5, -2.5, 0.7]))


@given(start=_BOUND, stop=_BOUND, step=_STEP, form=st.sampled_from(["stop", "start_stop", "all", "step_kw"]),
       dtype=st.none() | st.sampled_from(_FLOATS))
def test_arange_matches_pytorch(start, stop, step, form, dtype):
    args, kw = {"stop": ((stop,), {}), "start_stop": ((start, stop), {}), "all": ((start, stop, step), {}),
                "step_kw": ((stop,), {"step": step})}[form]
    targs, tkw = args, {}
    if form == "step_kw":  # numpy's arange(stop, step=...): PyTorch spells it arange(0, stop, step)
        targs, kw = (0, stop, step), {"step": step}
    if dtype is not None:
        kw["dtype"], tkw["dtype"] = dtype, _TORCH[np.dtype(dtype)]
    got = _run(lambda: nt.arange(*args, **kw))
    want = _run(lambda: torch.arange(*targs, **tkw))
    # float32 for integer arguments too (documented); PyTorch's length, and its values to an ulp or two (see
    # the module docstring)
    tol = 2e-3 if dtype == "float16" else 1e-6
    if _same(got, want, rtol=tol, atol=tol, dtype=dtype or "float32"):
        assert got.requires_grad


def _nested(draw, leaves, depth):
    """A regular nested list (every row of one length) of ``leaves``, ``depth`` levels deep (0: a number)."""
    shape = [draw(st.integers(0, 3)) for _ in range(depth)]
    flat = draw(st.lists(leaves, min_size=math.prod(shape), max_size=math.prod(shape)))
    arr = np.empty(math.prod(shape), dtype=object)
    arr[:] = flat
    return arr.reshape(shape).tolist() if depth else flat[0] if flat else draw(leaves)


_LEAVES = {
    "int": st.integers(-100, 100),
    "float": st.floats(-100, 100, width=32) | st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    "bool": st.booleans(),
    "mixed": st.integers(-5, 5) | st.floats(-5, 5, width=32) | st.booleans(),
}


@given(data=st.data(), kind=st.sampled_from(sorted(_LEAVES)), depth=st.integers(0, 3),
       dtype=st.none() | st.sampled_from(_ALL), tuple_rows=st.booleans())
def test_tensor_from_python_data_matches_pytorch(data, kind, depth, dtype, tuple_rows):
    value = _nested(data.draw, _LEAVES[kind], depth)
    if tuple_rows and isinstance(value, list):
        value = tuple(value)
    finite = not any(isinstance(v, float) and not math.isfinite(v) for v in np.ravel(np.array(value, object)))
    if dtype is not None and np.dtype(dtype).kind == "b" and not finite:
        return  # nan and inf to bool: the undefined casts, compared in test_casts_match_pytorch
    if dtype == "uint8" and np.any(np.array(value, np.float64) < 0):
        return  # negative Python ints to uint8: PyTorch wraps them (refusing negative floats); naivegrad refuses
    got = _run(lambda: Tensor(value) if dtype is None else Tensor(value, dtype=dtype))
    want = _run(lambda: torch.tensor(value, dtype=None if dtype is None else _TORCH[np.dtype(dtype)]))
    # no dtype: float32 whatever the numbers are (documented); PyTorch's values, as float32
    if _same(got, want, rtol=1e-3 if dtype == "float16" else 1e-6, dtype=dtype or "float32"):
        floating = got.data.dtype.kind == "f"
        assert got.requires_grad is floating
        if not floating:
            with pytest.raises(RuntimeError, match=str(got.dtype)):
                Tensor(value, dtype=dtype, requires_grad=True)


def _array(draw, dtype, shape):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return np.asarray(rng.integers(max(info.min, -1000), min(info.max, 1000), shape, endpoint=True), dtype)
    x = np.asarray(rng.standard_normal(shape) * 10, dtype)
    if x.size and draw(st.booleans()):
        x.reshape(-1)[rng.integers(0, x.size)] = draw(st.sampled_from([np.nan, np.inf, -np.inf, -0.0]))
    return x


@given(data=st.data(), src=st.sampled_from(_ALL), shape=_SHAPES, dtype=st.none() | st.sampled_from(_ALL),
       scalar=st.booleans())
def test_tensor_from_numpy_matches_pytorch(data, src, shape, dtype, scalar):
    arr = _array(data.draw, src, () if scalar else shape)
    value = arr[()] if scalar else arr  # a numpy scalar (np.float64(2.5), np.int64(3), np.bool_(True)) or array
    if dtype is not None and np.dtype(dtype).kind in "biu" and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        return  # the undefined casts: see test_casts_match_pytorch
    got = _run(lambda: Tensor(value) if dtype is None else Tensor(value, dtype=dtype))
    if dtype is not None and np.dtype(dtype).kind in "iu" and arr.dtype.kind != "b" and arr.size and (
            arr.astype(np.float64).min() < np.iinfo(dtype).min or arr.astype(np.float64).max() > np.iinfo(dtype).max):
        # values out of the integer dtype's range: PyTorch wraps a numpy array around, naivegrad refuses it
        assert isinstance(got, ValueError) and "without overflow" in str(got), got
        return
    want = _run(lambda: torch.tensor(arr, dtype=None if dtype is None else _TORCH[np.dtype(dtype)]))
    # no dtype: floating data keeps its dtype, everything else becomes float32 (documented)
    expected = dtype or (src if np.dtype(src).kind == "f" else "float32")
    if _same(got, want, rtol=1e-3, atol=1e-3, dtype=expected):
        assert got.requires_grad is (got.data.dtype.kind == "f")
        if dtype is None and not scalar and arr.dtype.kind == "f":
            assert got.data is arr  # a floating array is used as it is (documented: no copy)


@pytest.mark.parametrize("data, match", [
    ([[1, 2], [3]], "ragged"), ([[1], [2, 3]], "ragged"), ([1, [2]], "ragged"), ([[[1, 2]], [[3]]], "ragged"),
    ("abc", "str"), (None, "NoneType"), ([None], "object"), ([1 + 2j], "complex"), (np.array(["a"]), "<U1"),
    ({1: 2}, "dict"), ([2**70], "1180591620717411303424"),
])
def test_bad_data_raises_naming_it_as_pytorch_raises(data, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Tensor(data)
    if not isinstance(data, (str, dict)) and "complex" not in match:
        with pytest.raises(_ERRORS):
            torch.tensor(data)


@pytest.mark.parametrize("call, match", [
    (lambda: nt.zeros(-1), "-1"), (lambda: nt.zeros(2.0), "2.0"), (lambda: nt.ones(True), "True"),
    (lambda: nt.ones(2, "3"), "'3'"), (lambda: nt.eye(-2), "-2"), (lambda: nt.eye(2.5), "2.5"),
    (lambda: nt.randn(-3), "-3"), (lambda: nt.zeros(2, dtype="int64"), "int64"),
    (lambda: nt.ones(2, dtype="complex64"), "complex64"), (lambda: nt.zeros(2, dtype="nonsense"), "nonsense"),
    (lambda: nt.zeros(2, requires_grad="yes"), "yes"), (lambda: nt.eye(2, requires_grad=None), "None"),
    (lambda: nt.arange(0, 5, 0), "step"), (lambda: nt.arange(5, 0), "5"), (lambda: nt.arange(-3), "-3"),
    (lambda: nt.arange(0, 3, -1), "-1"), (lambda: nt.arange(0, math.nan), "nan"), (lambda: nt.arange(math.inf), "inf"),
    (lambda: nt.arange("3"), "'3'"), (lambda: nt.arange(True), "True"), (lambda: nt.arange(3, dtype="int64"), "int64"),
    (lambda: Tensor([1.0], dtype="complex64"), "complex64"), (lambda: Tensor([1.0], requires_grad="yes"), "yes"),
    (lambda: Tensor([1], dtype="int64", requires_grad=True), "int64"),
])
def test_bad_arguments_raise_naming_the_value(call, match):
    with pytest.raises((TypeError, ValueError, RuntimeError), match=match):
        call()


# ---------------------------------------------------------------------------------------------- conversions
@st.composite
def _tensors(draw, dtypes=_ALL, max_dims=3):
    dtype = draw(st.sampled_from(dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=max_dims)))
    if draw(st.integers(0, 3)) == 0:
        shape = (1,) * len(shape)  # one element: item(), float() and friends answer
    arr = _array(draw, dtype, shape)
    return Tensor(arr, dtype=arr.dtype, requires_grad=False), torch.from_numpy(arr.copy())


def _python_same(got, want):
    """Both raised, or both gave the same Python value of the same type (nan where nan)."""
    if isinstance(want, Exception) or isinstance(got, Exception):
        assert isinstance(want, Exception) and isinstance(got, Exception), (got, want)
        assert type(got) is type(want) or not isinstance(want, (ValueError, TypeError, OverflowError)), (got, want)
        return
    assert type(got) is type(want), (got, want)
    if isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _python_same(g, w)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want, (got, want)


@given(pair=_tensors())
def test_python_conversions_match_pytorch(pair):
    x, tx = pair
    for f in (lambda t: t.item(), lambda t: t.tolist(), float, int, bool, len,
              lambda t: [row.tolist() for row in t]):
        got, want = _run(lambda: f(x)), _run(lambda: f(tx))
        if isinstance(got, Exception) and isinstance(want, Exception):
            continue  # the message names the shape: "one element", "0-d", "ambiguous"
        _python_same(got, want)
    rows = _run(lambda: list(x))
    if not isinstance(rows, Exception):
        assert all(isinstance(r, Tensor) and r.dtype == x.dtype and r.shape == x.shape[1:] for r in rows)
    assert np.asarray(x) is x.data and x.numpy() is x.data  # shared, as PyTorch's
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    for s in (repr(x), str(x)):
        assert s.startswith("Tensor(") and str(x.dtype) in s


@given(pair=_tensors(), target=st.sampled_from(_ALL + ["float", "double", "half", "long", "int", "bool", "clone"]),
       rg=st.booleans())
def test_casts_match_pytorch(pair, target, rg):
    """``to(dtype)`` in every spelling and the cast methods, from every dtype to every dtype: nan, inf and
    out-of-range floats included (see the module docstring); the graph only between floating dtypes."""
    x, tx = pair
    floating = x.data.dtype.kind == "f"
    if rg and floating:
        x, tx = Tensor(x.data.copy()), tx.clone().requires_grad_(True)
    if target in _ALL:
        forms = [target, np.dtype(target), _TORCH[np.dtype(target)], str(_TORCH[np.dtype(target)])]  # "torch.int64"
        wants = [tx.to(_TORCH[np.dtype(target)])] * len(forms)
        gots = [_run(lambda: x.to(f)) for f in forms]
    else:
        gots, wants = [_run(lambda: getattr(x, target)())], [getattr(tx, target)()]
    for got, want in zip(gots, wants):
        _same(got, want, rtol=0, atol=0)
        assert got.requires_grad == want.requires_grad, (got.requires_grad, want.requires_grad)
        assert (got is x) == (want is tx) or target == "clone"  # the same dtype: itself, as PyTorch's
        if got.requires_grad and got.data.size:
            (got.float() * 1.0).sum().backward()
            (want.float() * 1.0).sum().backward()
            assert x.grad.dtype == x.data.dtype
            np.testing.assert_array_equal(x.grad, tx.grad.numpy())
            x.grad, tx.grad = None, None


# ---------------------------------------------------------------------------------------------- reductions
_REDUCTIONS = ["sum", "prod", "cumsum", "mean", "var", "std", "norm", "logsumexp", "max", "min", "amax", "argmax",
               "argmin", "any", "all", "max_dim", "min_dim"]


def _reduce(t, op, dim, keepdim, torch_side):
    """``op`` over ``dim`` (None, an int or a tuple) with ``keepdim``, spelled as each library takes it."""
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}  # PyTorch's sum(keepdim=) wants a dim
    if op == "cumsum":
        return t.cumsum(dim)
    if op == "prod":
        return t.prod(dim, keepdim) if dim is not None else t.prod()
    if op in ("max_dim", "min_dim"):
        return getattr(t, op[:3])(dim=dim, keepdim=keepdim)
    if op == "amax":  # numpy's axis= spelling: the values alone, torch.amax
        if torch_side:  # amax's dim=(): every dim
            return t.amax(dim=() if dim is None else dim, keepdim=keepdim)
        return t.max(axis=dim, keepdims=keepdim)
    if op == "norm":
        return torch.linalg.vector_norm(t, dim=dim, keepdim=keepdim) if torch_side else t.norm(dim=dim, keepdim=keepdim)
    if op in ("max", "min") and dim is None:
        return getattr(t, op)()
    if op in ("max", "min"):  # max(dim=...) with a tuple: refused by both
        return getattr(t, op)(dim=dim, keepdim=keepdim)
    if op == "logsumexp" and torch_side:
        return t.logsumexp(dim=tuple(range(t.ndim))) if dim is None else t.logsumexp(**kw)
    return getattr(t, op)(**kw)


@given(pair=_tensors(dtypes=_ALL), op=st.sampled_from(_REDUCTIONS), data=st.data(), keepdim=st.booleans())
def test_reductions_dtypes_and_values_match_pytorch(pair, op, data, keepdim):
    x, tx = pair
    nd = x.ndim
    dim = data.draw(st.none() | st.integers(-max(nd, 1), max(nd, 1) - 1)
                    | st.lists(st.integers(0, max(nd - 1, 0)), min_size=1, max_size=max(nd, 1), unique=True).map(tuple))
    if op in ("cumsum", "max_dim", "min_dim") and dim is None:
        dim = 0
    if op in ("max", "min") and isinstance(dim, tuple):
        return  # max(dim=tuple) is refused by both; numpy's axis= tuple is the "amax" case
    if op == "prod" and x.data.dtype.kind in "iu" and x.numel() > 8:
        return  # products of many integers overflow int64: wrapping is the same, but not worth the noise
    if op == "logsumexp" and dim is None and nd == 0:
        return  # torch.logsumexp over dim=() of a 0-d tensor: PyTorch's own quirk
    got = _run(lambda: _reduce(x, op, dim, keepdim, False))
    want = _run(lambda: _reduce(tx, op, dim, keepdim, True))
    if op in ("any", "all") and x.data.dtype == np.uint8 and not isinstance(want, Exception):
        want = want.bool()  # PyTorch's legacy uint8 any/all: bool here (documented)
    if isinstance(want, tuple) and not isinstance(got, Exception):
        assert type(got).__name__ == "ValuesIndices" and got._fields == ("values", "indices")
        _same(got.values, want.values, rtol=0, atol=0)
        _same(got.indices, want.indices)
        return
    tol = 1e-2 if x.dtype == np.float16 else 1e-5  # float16: PyTorch rounds its float32 accumulator once
    _same(got, want, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------- regressions
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "bool"])
@pytest.mark.parametrize("op", ["mean", "var", "std", "norm"])
def test_mean_var_std_and_norm_of_integers_raise_as_in_pytorch(dtype, op):
    """They gave numpy's float64, a dtype PyTorch never gives them: PyTorch refuses bool and integer input."""
    x = Tensor(np.array([[1, 0, 1]], dtype), dtype=dtype)
    with pytest.raises(TypeError, match=f"{op}.*{dtype}"):
        getattr(x, op)()
    with pytest.raises(TypeError, match=dtype):
        getattr(x, op)(dim=1)
    with pytest.raises(RuntimeError):
        getattr(torch.from_numpy(x.data), op)()


@pytest.mark.parametrize("op", ["sum", "prod", "cumsum"])
def test_sums_and_products_of_uint8_are_int64_as_in_pytorch(op):
    """numpy sums and multiplies uint8 in uint64; PyTorch (and every other integer dtype here) in int64."""
    a = np.array([[200, 100, 3]], np.uint8)
    x, tx = Tensor(a, dtype=a.dtype), torch.from_numpy(a)
    for args in ([1], [] if op != "cumsum" else [0]):
        got, want = getattr(x, op)(*args), getattr(tx, op)(*args)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got.data, want.numpy())
    # a 0-d tensor is its own running sum, in int64 too
    assert Tensor(np.array(7, np.int32), dtype="int32").cumsum(0).dtype == np.int64
    assert torch.tensor(7, dtype=torch.int32).cumsum(0).dtype == torch.int64


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_logsumexp_of_integers_is_float32_as_in_pytorch(dtype):
    """It raised numpy's OverflowError (-inf as an integer) or a bool-subtract TypeError; PyTorch answers in
    float32, as the other float-only functions here take integers."""
    a = np.array([[1, 0, 1], [0, 0, 1]], dtype)
    got, want = Tensor(a, dtype=dtype).logsumexp(1), torch.from_numpy(a).logsumexp(1)
    assert got.dtype == np.float32 and want.dtype == torch.float32
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)
    assert Tensor(np.zeros((0,), dtype), dtype=dtype).logsumexp(0).item() == -math.inf


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_of_bool_raises_as_in_pytorch(op):
    x = Tensor([True, False], dtype="bool")
    with pytest.raises(TypeError, match="bool"):
        getattr(x, op)()
    with pytest.raises(RuntimeError):
        getattr(torch.tensor([True, False]), op)()
    assert x.max(dim=0).indices.item() == torch.tensor([True, False]).max(dim=0).indices.item()  # still fine


def test_iterating_a_0d_tensor_raises_as_in_pytorch():
    """Python's fallback through __getitem__ made list(Tensor(1.0)) an empty list; PyTorch raises."""
    with pytest.raises(TypeError, match="0-d"):
        list(Tensor(1.0))
    with pytest.raises(TypeError):
        iter(torch.tensor(1.0))
    x = Tensor(np.arange(6.0).reshape(2, 3))
    a, b = x  # unpacking: the rows, in the graph
    (a * 2.0 + b).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2, 2], [1, 1, 1]])
    assert Tensor([Tensor(1.0), Tensor(2.0)]).tolist() == [1.0, 2.0]  # a list of 0-d tensors still converts


@pytest.mark.parametrize("args", [(-3,), (4, 1), (0, 3, -1), (2, -2, 0.5)])
def test_arange_against_the_steps_sign_raises_as_in_pytorch(args):
    """numpy gives an empty range; PyTorch refuses the bounds: equal bounds alone give an empty range."""
    with pytest.raises(ValueError, match="against the step"):
        nt.arange(*args)
    with pytest.raises(RuntimeError):
        torch.arange(*args)
    assert nt.arange(2, 2).shape == tuple(torch.arange(2, 2).shape) == (0,)


def test_arange_takes_step_with_one_bound_as_numpy():
    """``arange(5, step=2)`` (numpy's spelling of torch.arange(0, 5, 2)) ignored the step: np.arange(start)."""
    assert nt.arange(5, step=2).tolist() == torch.arange(0, 5, 2).tolist() == [0, 2, 4]
    assert nt.arange(-5, step=-2).tolist() == [0, -2, -4]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_arange_with_a_non_finite_bound_names_it(bad):
    """numpy's "cannot compute length" / "Maximum allowed size exceeded" named no value."""
    with pytest.raises(ValueError, match="finite.*(nan|inf)"):
        nt.arange(0, bad)
    with pytest.raises(RuntimeError):
        torch.arange(0, bad)


@pytest.mark.parametrize("fn", [nt.zeros, nt.ones, nt.randn, nt.uniform])
def test_creation_takes_torch_dtypes_and_refuses_non_bool_flags(fn):
    """dtype=torch.float64 was "not a numpy dtype" (Tensor() and to() take it); requires_grad="no" was True."""
    assert fn(2, dtype=torch.float64).dtype == np.float64
    assert fn(2, dtype="torch.float16").dtype == np.float16
    assert fn(2, requires_grad=np.bool_(False)).requires_grad is False
    with pytest.raises(TypeError, match="'no'"):
        fn(2, requires_grad="no")
    assert nt.eye(2, dtype=torch.float64).dtype == np.float64
    assert nt.arange(3, dtype=torch.float64).dtype == np.float64


@pytest.mark.parametrize("op", ["mean", "var", "std", "norm"])
def test_float16_statistics_accumulate_in_float32_as_in_pytorch(op):
    """The float16 sum inside them overflowed (inf past 65504) where PyTorch, summing in float32, answers."""
    a = (np.random.default_rng(0).standard_normal(5000) * 5 + 100).astype(np.float16)
    x, tx = Tensor(a.copy()), torch.from_numpy(a.copy()).requires_grad_(True)
    got, want = getattr(x, op)(), getattr(tx, op)()
    assert got.dtype == np.float16 and np.isfinite(got.item())
    np.testing.assert_allclose(got.item(), want.item(), rtol=2e-3)
    got.backward()
    want.backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(x.grad.astype(np.float64), tx.grad.numpy().astype(np.float64), rtol=1e-2, atol=1e-6)
    assert np.isnan(Tensor(np.zeros((2, 0), np.float16)).mean(1).data).all()


def test_float32_cumsum_accumulates_in_float64_as_in_pytorch():
    """numpy's float32 running sum drifted by 1% over a million elements; PyTorch accumulates in double."""
    a = np.random.default_rng(0).random(10**6).astype(np.float32)
    got, want = Tensor(a).cumsum(0), torch.from_numpy(a).cumsum(0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data[-1], want[-1].item(), rtol=1e-6)
    np.testing.assert_allclose(got.data[-1], a.astype(np.float64).sum(), rtol=1e-6)


@pytest.mark.parametrize("value, dtype", [([300], "int8"), ([127.5], "int8"), ([-0.5], "uint8"), ([-1], "uint8"),
                                          ([float("nan")], "int64"), ([float("inf")], "int32"), ([2.0 ** 63], "int64"),
                                          (np.array([300.0]), "int8"), (np.array([255], np.uint8), "int8")])
def test_data_that_does_not_fit_an_integer_dtype_is_refused(value, dtype):
    """Tensor(data, dtype=) cast with numpy's wrap-around: [300] became [44] in int8 and nan INT_MIN, silently.
    PyTorch refuses such Python data (it wraps numpy arrays and -1 to uint8; naivegrad refuses those too)."""
    with pytest.raises(ValueError, match=f"cannot be converted to {dtype} without overflow"):
        Tensor(value, dtype=dtype)
    assert Tensor([127.0, -128.0, 1.9, -1.9], dtype="int8").tolist() == [127, -128, 1, -1]  # fits: truncated


@pytest.mark.parametrize("op", ["any", "all"])
def test_any_and_all_take_the_dims_of_a_0d_tensor_and_check_the_others(op):
    """numpy's any/all refused dim 0 of a 0-d tensor, which PyTorch accepts; other dims out of range raise
    AxisError (an IndexError, as PyTorch's), as the reductions' do."""
    for v in (True, False):
        t, tt = Tensor(v, dtype=bool), torch.tensor(v)
        for dim in (0, -1):
            assert getattr(t, op)(dim).tolist() == getattr(tt, op)(dim).item()
            assert getattr(t, op)(dim=dim, keepdim=True).shape == ()
    with pytest.raises(IndexError, match="out of range"):
        getattr(Tensor(True, dtype=bool), op)(1)
    with pytest.raises(IndexError, match="axis 2 is out of range"):
        getattr(Tensor([[True]], dtype=bool), op)(2)

