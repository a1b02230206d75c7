"""dtypes and conversions on the tensor engine: the constructor's dtype rule, non-floating tensors (bool masks,
integer indices) that never require grad, PyTorch's promotion in ``+ - * / ** @`` and the float-only
functions, and the conversions ``to``, ``float``, ``double``, ``half``, ``long``, ``int``, ``bool``,
``type_as``, ``clone``, ``tolist``, ``item``, ``size``, ``requires_grad_``, ``element_size``, ``nbytes``.

Oracles: PyTorch where it is installed (result dtypes, values, gradients), and numpy. The narrowing casts
``half`` and ``float`` (excused from the op table's exact checks by api.NOT_OPS) get their values, gradients
and tangents checked here.
"""

import operator

import numpy as np
import pytest

from naivegrad import no_grad
from naivegrad.tensor import Tensor, maximum, minimum

try:
    import torch
except ImportError:  # pragma: no cover - the oracle is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def _values(dtype):
    return np.array([True, True]) if dtype == "bool" else np.array([1, 2]).astype(dtype)


def _outcome(f):
    """The dtype name of f()'s result, or "error"."""
    try:
        return str(f().dtype).replace("torch.", "")
    except (TypeError, ValueError, RuntimeError):
        return "error"


# ---------------------------------------------------------------------------------------------- the constructor
def test_the_default_stays_float32_for_numbers_lists_and_integer_arrays():
    for data in (3, True, [1, 2], [[True, False]], np.array([1, 2]), np.array([True])):
        t = Tensor(data)
        assert t.dtype == np.float32 and t.requires_grad, data
    assert Tensor(np.array([1.0])).dtype == np.float64 and Tensor(np.float16(1.0)).dtype == np.float16


@pytest.mark.parametrize("dtype, want", [(np.int64, np.int64), ("int64", np.int64), ("bool", np.bool_),
                                         (bool, np.bool_), (np.uint8, np.uint8), ("int32", np.int32),
                                         ("float64", np.float64)])
def test_dtype_may_name_an_integer_or_bool_dtype(dtype, want):
    t = Tensor([1, 0, 2], dtype=dtype)
    assert t.dtype == want
    assert t.requires_grad == (np.dtype(want).kind == "f")  # the default follows the dtype
    assert t.is_floating_point() == (np.dtype(want).kind == "f")


@needs_torch
def test_torch_dtypes_are_understood():
    for tdt, want in [(torch.float32, np.float32), (torch.float, np.float32), (torch.double, np.float64),
                      (torch.half, np.float16), (torch.long, np.int64), (torch.int, np.int32),
                      (torch.bool, np.bool_)]:
        assert Tensor([1, 0], dtype=tdt, requires_grad=False).dtype == want, tdt
        assert Tensor([1.0, 0.0]).to(tdt).dtype == want, tdt
    with pytest.raises(TypeError, match="no numpy counterpart"):
        Tensor([1.0]).to(torch.complex64)


def test_non_floating_tensors_never_require_grad():
    for dtype in ("int64", "bool", np.int32):
        with pytest.raises(RuntimeError, match="only floating tensors can require gradients"):
            Tensor([1, 0], dtype=dtype, requires_grad=True)
        t = Tensor([1, 0], dtype=dtype, requires_grad=False)
        assert not t.requires_grad
        with pytest.raises(RuntimeError, match="only floating tensors"):
            t.requires_grad_()
    with pytest.raises(TypeError, match="True or False"):
        Tensor([1.0], requires_grad="yes")
    with pytest.raises(TypeError, match="not a dtype"):
        Tensor([1.0], dtype="floaty")
    with pytest.raises(TypeError, match="real numbers or bools"):
        Tensor([1.0], dtype=np.complex64)


def test_a_tensor_given_to_the_constructor_keeps_its_dtype():
    idx = Tensor([3, 1], dtype=np.int64)
    assert Tensor(idx).dtype == np.int64 and not Tensor(idx).requires_grad
    mask = Tensor([1.0, -1.0]) > 0
    assert Tensor(mask).dtype == np.bool_
    assert Tensor(mask, dtype=np.float32).dtype == np.float32


# ---------------------------------------------------------------------------------------------- promotion
@needs_torch
@pytest.mark.parametrize("symbol", sorted(BINARY))
def test_promotion_between_tensors_is_torchs(symbol):
    op = BINARY[symbol]
    for a in DTYPES:
        for b in DTYPES:
            if symbol == "**" and "bool" in (a, b):
                continue  # PyTorch's bool ** bool is an error and numpy's int8: no one's idea of a mask op
            want = _outcome(lambda: op(torch.tensor(_values(a)), torch.tensor(_values(b))))
            got = _outcome(lambda: op(Tensor(_values(a), dtype=a), Tensor(_values(b), dtype=b)))
            assert got == want, f"{a} {symbol} {b}: naivegrad {got}, torch {want}"


@needs_torch
@pytest.mark.parametrize("symbol", sorted(BINARY))
def test_promotion_with_python_numbers_is_torchs(symbol):
    op = BINARY[symbol]
    for a in DTYPES:
        for s in (True, 2, 2.5, np.float64(2.5), np.int64(2)):
            if symbol == "**" and a == "bool":
                continue
            for flip in (False, True):
                def f(t):
                    return op(s, t) if flip else op(t, s)
                want = _outcome(lambda: f(torch.tensor(_values(a))))
                got = _outcome(lambda: f(Tensor(_values(a), dtype=a)))
                assert got == want, f"{a} {symbol} {s!r} (flipped: {flip}): naivegrad {got}, torch {want}"


@needs_torch
def test_mixed_dtypes_give_torchs_values_and_gradients():
    x = np.array([0.5, -1.5, 2.0], np.float32)
    i = np.array([3, 1, 2])
    for f in (lambda x, i: x * i + i / 2, lambda x, i: (x - i) ** 2 / i, lambda x, i: i ** x + 1.5 * i,
              lambda x, i: (i > 1) * x - (x < 0) * 0.5):
        t = Tensor(x)
        out = f(t, Tensor(i, dtype=np.int64)).sum()
        tt = torch.tensor(x, requires_grad=True)
        tout = f(tt, torch.tensor(i)).sum()
        out.backward()
        tout.backward()
        assert out.dtype == np.float32 and t.grad.dtype == np.float32
        np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-6)
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-6)


def test_an_integer_operand_never_widens_float32_to_float64():
    x = Tensor([1.0, 2.0])
    for other in (Tensor([1, 2], dtype=np.int64), Tensor([True, False], dtype=bool), np.array([1, 2]), [1, 2], 2,
                  np.int64(2)):
        for out in (x + other, other + x, x * other, x / other, other / x, x ** other, maximum(x, other),
                    minimum(other, x), x.maximum(other)):
            assert out.dtype == np.float32, (other, out.dtype)
    assert (Tensor([1.0], dtype=np.float16) + Tensor([1], dtype=np.int64)).dtype == np.float16


def test_integers_among_themselves_stay_integers_and_divide_to_float32():
    i, j = Tensor([6, 3], dtype=np.int64), Tensor([2, 4], dtype=np.int32)
    assert (i + j).dtype == np.int64 and (i * 2).dtype == np.int64 and (i ** 2).dtype == np.int64
    for q in (i / j, i / 2, 1 / i, i / i):
        assert q.dtype == np.float32 and not q.requires_grad
    np.testing.assert_array_equal((i / j).data, [3.0, 0.75])
    assert (i * 0.5).dtype == np.float32 and (i + [1, 2]).dtype == np.int64
    assert ((i > 3) + (i > 4)).dtype == np.bool_ and ((i > 3) * 2).dtype == np.int64


def test_subtracting_a_bool_is_refused_as_in_torch():
    m, x = Tensor([1.0, -1.0]) > 0, Tensor([1.0, 2.0])
    for f in (lambda: x - m, lambda: m - x, lambda: 1 - m, lambda: m - 1, lambda: m - m, lambda: x - True):
        with pytest.raises(TypeError, match="bool"):
            f()
    np.testing.assert_array_equal((~m).data, [False, True])


@needs_torch
@pytest.mark.parametrize("name", ["exp", "log", "log1p", "sqrt", "tanh", "sigmoid", "sin", "cos", "abs", "relu"])
def test_float_only_functions_promote_integers_to_float32_as_torch(name):
    for dtype in ("int64", "int32", "uint8", "bool"):
        if name in ("abs", "relu") and dtype == "bool":
            continue  # PyTorch has neither for bool
        a = _values(dtype)
        out = getattr(Tensor(a, dtype=dtype), name)()
        want = getattr(torch, name)(torch.tensor(a))
        assert str(out.dtype) == str(want.dtype).replace("torch.", ""), (name, dtype, out.dtype)
        assert not out.requires_grad
        np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-6)
    x = Tensor([1.0, 2.0], dtype=np.float64)
    assert getattr(x, name)().dtype == np.float64 and getattr(x, name).__doc__


def test_matmul_of_integer_and_float_is_float():
    w = Tensor(np.ones((2, 3), np.float32))
    i = Tensor([[1, 2]], dtype=np.int64)
    out = i @ w
    assert out.dtype == np.float32 and out.requires_grad
    out.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [[1.0] * 3, [2.0] * 3]
    assert (np.array([[1, 2]]) @ w).dtype == np.float32 and i.dot(w).dtype == np.float32
    assert (i @ Tensor([[1], [1]], dtype=np.int64)).dtype == np.int64


# ---------------------------------------------------------------------------------------------- casts
@pytest.mark.parametrize("src", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("method, dst", [("float", np.float32), ("double", np.float64), ("half", np.float16)])
def test_float_casts_are_differentiable_and_the_gradient_comes_back_in_the_source_dtype(src, method, dst):
    a = np.array([0.5, -1.25, 3.0], src)
    x = Tensor(a)
    y = getattr(x, method)()
    assert y.dtype == dst and y.requires_grad
    if src == dst:
        assert y is x  # already that dtype: itself, as PyTorch
        return
    assert not y.is_leaf and y._op == "Cast" and y.data is not x.data
    np.testing.assert_array_equal(y.data, a.astype(dst))
    (y * Tensor(np.array([1.0, 2.0, 4.0], dst), requires_grad=False)).sum().backward()
    assert x.grad.dtype == src
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 4.0])


@pytest.mark.parametrize("method, dst", [("float", np.float32), ("half", np.float16), ("double", np.float64)])
def test_cast_tangents_are_cast_forward(method, dst):
    x = Tensor(np.array([0.1, 2.5, -3.0], np.float64 if dst != np.float64 else np.float32))
    x.tangent = np.array([1.0, -0.5, 0.25], x.dtype)
    y = getattr(x, method)()
    assert y.tangent.dtype == dst and y.tangent.shape == y.shape
    np.testing.assert_array_equal(y.tangent, x.tangent.astype(dst))
    with no_grad():
        z = getattr(x, method)()
    assert z.tangent.dtype == dst and not z.requires_grad and z.is_leaf


@needs_torch
def test_narrowing_casts_match_torch_values_and_gradients():
    a = np.array([0.1, 1e-8, 70000.0, -2.7, np.inf, np.nan])
    x, tx = Tensor(a), torch.tensor(a, requires_grad=True)
    u = np.array([1.0, 2.0, 3.0, -1.0, 0.5, 1.0], np.float32)
    out = (x.float() * Tensor(u)).sum() + (x.half() * 2.0).double().sum()
    tout = (tx.float() * torch.tensor(u)).sum() + (tx.half() * 2.0).double().sum()
    np.testing.assert_array_equal(x.float().data, tx.float().detach().numpy())
    np.testing.assert_array_equal(x.half().data, tx.half().detach().numpy())
    out.backward()
    tout.backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_to_accepts_dtypes_names_tensors_and_the_cpu():
    x = Tensor([1.5, -2.5])
    assert x.to(np.float64).dtype == np.float64 and x.to("float64").dtype == np.float64
    assert x.to("torch.float16").dtype == np.float16 and x.to(float).dtype == np.float64  # Python's float: 64 bits
    assert x.to(np.float32) is x and x.to("cpu") is x
    y = x.to(np.float32, copy=True)
    assert y is not x and y.data is not x.data and y._op == "Cast"
    c = x.to("cpu", copy=True)
    assert c is not x and c._op == "Clone"
    assert x.to(Tensor([1], dtype=np.int64)).dtype == np.int64
    assert x.type_as(Tensor([1.0], dtype=np.float64)).dtype == np.float64
    assert Tensor([1], dtype=np.int64).type_as(x).dtype == np.float32
    with pytest.raises(TypeError, match="not a dtype"):
        x.to("cuda")


@needs_torch
def test_to_with_a_torch_device_is_a_no_op():
    x = Tensor([1.0])
    assert x.to(torch.device("cpu")) is x


def test_integer_and_bool_casts_leave_the_graph_and_truncate_toward_zero():
    x = Tensor([-1.7, -0.2, 0.0, 0.9, 2.5, np.nan])
    y = x * 2.0
    for t in (x, y):
        for method, dtype in (("long", np.int64), ("int", np.int32), ("bool", np.bool_)):
            out = getattr(t, method)()
            assert out.dtype == dtype and not out.requires_grad and out.is_leaf, method
    np.testing.assert_array_equal(x.long().data[:5], [-1, 0, 0, 0, 2])
    np.testing.assert_array_equal(x.bool().data, [True, True, False, True, True, True])  # nan is nonzero
    back = x.long().float()
    assert back.dtype == np.float32 and not back.requires_grad


@needs_torch
def test_integer_and_bool_casts_match_torch():
    a = np.array([-1.7, -0.2, 0.0, 0.9, 2.5, 300.0], np.float32)
    x, tx = Tensor(a), torch.tensor(a)
    for m in ("long", "int", "bool"):
        np.testing.assert_array_equal(getattr(x, m)().data, getattr(tx, m)().numpy(), err_msg=m)
    i = Tensor([1, 0, 3], dtype=np.int64)
    np.testing.assert_array_equal(i.bool().data, [True, False, True])
    assert i.double().dtype == np.float64 and i.half().dtype == np.float16


def test_casts_and_clone_carry_no_node_for_constants():
    x = Tensor([1.0, 2.0], requires_grad=False)
    for y in (x.double(), x.half(), x.clone(), x.to(np.float32, copy=True)):
        assert not y.requires_grad and y.is_leaf


# ---------------------------------------------------------------------------------------------- clone
@needs_torch
def test_clone_is_a_differentiable_copy_in_new_memory():
    a = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)
    x = Tensor(a)
    c = x.clone()
    assert c.data is not x.data and not np.shares_memory(c.data, x.data) and c.dtype == x.dtype
    assert c._op == "Clone" and c.requires_grad
    c.data[0, 0] = 42.0
    assert x.data[0, 0] == 1.0
    (x.clone() * x.clone()).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    (tx.clone() * tx.clone()).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    x.tangent = np.ones_like(a)
    d = x.clone()
    assert d.tangent is not x.tangent and np.array_equal(d.tangent, x.tangent)
    m = (x > 0).clone()
    assert m.dtype == np.bool_ and not m.requires_grad


def test_the_gradient_of_a_cloned_leaf_is_its_own_array():
    x = Tensor([1.0, 2.0])
    y = x.clone()
    y.backward(np.array([3.0, 4.0], np.float32))
    assert x.grad is not y.grad and x.grad.tolist() == [3.0, 4.0]


# ---------------------------------------------------------------------------------------------- conveniences
@needs_torch
def test_tolist_item_size_element_size_and_nbytes_as_torch():
    for a in (np.float32(3.5), np.array([[1.5, 2.0]], np.float32), np.array([1, 2]), np.array(True),
              np.zeros((2, 0), np.float64), np.array([1.0], np.float16)):
        t, tt = Tensor(a, dtype=a.dtype, requires_grad=False), torch.tensor(a)
        assert t.tolist() == tt.tolist() and type(t.tolist()) is type(tt.tolist())
        assert t.size() == tuple(tt.size()) and t.element_size() == tt.element_size() and t.nbytes == tt.nbytes
        for d in range(-t.ndim, t.ndim):
            assert t.size(d) == tt.size(d)
        if t.numel() == 1:
            assert t.item() == tt.item() and type(t.item()) is type(tt.item())
    assert type(Tensor(3.5).tolist()) is float and Tensor(3.5).tolist() == 3.5  # 0-d: a float, not a list
    with pytest.raises(ValueError, match="out of range"):  # the engine's axis error, as sum's
        Tensor([1.0]).size(1)


def test_int_float_and_bool_of_single_element_tensors():
    assert int(Tensor([2.7])) == 2 and float(Tensor([2], dtype=np.int64)) == 2.0 and bool(Tensor([0.5]))
    assert type(float(Tensor([2], dtype=np.int64))) is float
    with pytest.raises(ValueError, match="one element"):
        int(Tensor([1.0, 2.0]))


def test_requires_grad_sets_the_flag_on_leaves_and_returns_self():
    x = Tensor([1.0, 2.0], requires_grad=False)
    assert x.requires_grad_() is x and x.requires_grad
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert x.requires_grad_(False) is x and not x.requires_grad
    y = Tensor([1.0]) * 2.0
    assert y.requires_grad_() is y  # already True: fine
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(TypeError, match="True or False"):
        x.requires_grad_("yes")
