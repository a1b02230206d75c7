"""The engine itself: construction and dtype rules, Function/Context, backward's graph semantics, errors."""

import numpy as np
import pytest

import naivegrad
from naivegrad.scalar import Value
from naivegrad.tensor import Context, Function, Tensor


# ---------------------------------------------------------------------- construction and dtypes
@pytest.mark.parametrize("data", [1.5, 3, True, [1, 2], [[1.0, 2.0]], np.arange(3), np.array([True, False]),
                                  np.int64(4), (1.0, 2.0)])
def test_python_data_and_integer_arrays_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    assert t.shape == np.shape(data)
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floating_arrays_keep_their_dtype_and_memory(dtype):
    a = np.ones((2, 3), dtype)
    t = Tensor(a)
    assert t.dtype == dtype and t.data is a


def test_dtype_argument_overrides():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2), dtype="float32").dtype == np.float32
    idx = Tensor([1, 2], dtype=np.int64)  # an index tensor: never requires grad (tests/tensor/test_conversions.py)
    assert idx.dtype == np.int64 and not idx.requires_grad


@pytest.mark.parametrize("bad, exc, words", [
    ("abc", TypeError, "str"), (None, TypeError, "NoneType"), ([1, [2, 3]], ValueError, "ragged"),
    (np.array(["a"]), TypeError, "<U1"), (np.array([1 + 2j]), TypeError, "complex"),
    (np.array([object()]), TypeError, "object"), ([1, None], TypeError, "object"), ({1: 2}, TypeError, "dict"),
])
def test_bad_data_is_refused_with_a_clear_error(bad, exc, words):
    with pytest.raises(exc, match=words):
        Tensor(bad)


def test_attributes():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert (t.shape, t.ndim, t.dtype, t.grad, t.requires_grad, t.is_leaf) == ((2, 3), 2, np.float64, None, True, True)
    assert t.numpy() is t.data
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t.item()
    d = (t * 2).detach()
    assert d.requires_grad is False and d._ctx is None
    assert "Tensor(" in repr(t) and "float64" in repr(t)
    y = t * t
    assert y._op == "Mul" and y._prev == (t, t) and not y.is_leaf


def test_numpy_operands_defer_to_tensor():
    t = Tensor(np.ones(3, np.float32))
    for y in (np.float64(2.0) * t, t * np.float64(2.0), np.float32(2) + t, 2 - t, np.ones(3, np.float32) * t):
        assert isinstance(y, Tensor) and y.dtype == np.float32
    assert isinstance(np.ones(3) + t, Tensor)


# ---------------------------------------------------------------------- backward semantics
def test_seed_snippet():
    x = Tensor(np.eye(3))
    y = Tensor(np.array([[1.0, 1.0, -1.0]]))
    z = (y * x).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad, np.broadcast_to(y.data, (3, 3)))
    np.testing.assert_array_equal(y.grad, np.ones((1, 3)))


def test_tensor_used_twice_and_diamond_match_scalar_engine():
    xs = np.array([0.3, -1.2, 2.0])
    x = Tensor(xs)
    a = x * x
    b = x.sin()
    out = (a * b + a - b.exp()).sum()
    out.backward()
    for i, v in enumerate(xs):
        s = Value(v)
        sa, sb = s * s, s.sin()
        (sa * sb + sa - sb.exp()).backward()
        assert x.grad[i] == pytest.approx(s.grad, rel=1e-14)


def test_leaf_gradients_accumulate_interior_gradients_are_reset():
    x = Tensor([1.0, 2.0])
    y = x * 3.0
    z = y.sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])  # the interior node holds this backward's gradient


def test_second_backward_through_released_graph_raises():
    x = Tensor([1.0, 2.0])
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward()
    # a new graph sharing only the leaf is fine
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_released_interior_node_raises_for_another_root():
    x = Tensor([1.0, 2.0])
    y = x.exp()
    y.sum().backward()
    with pytest.raises(RuntimeError, match="released"):
        (y * 2).sum().backward()


def test_release_frees_saved_arrays():
    x = Tensor([1.0, 2.0])
    y = x.exp()
    y.sum().backward()
    assert y._ctx.saved_tensors == () and y._ctx.released


def test_retain_graph_keeps_saved_arrays():
    x = Tensor([1.0, 2.0])
    y = x.exp()
    y.sum().backward(retain_graph=True)
    assert y._ctx.saved_tensors[-1] is y.data and not y._ctx.released  # exp saves (x, out)


def test_implicit_gradient_only_for_single_element():
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(2,\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


def test_gradient_of_wrong_shape_or_type_is_refused():
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(TypeError, match="<U1"):
        (x * 2).backward(np.array(["a", "b"]))


def test_no_grad_records_nothing_and_backward_refuses():
    x = Tensor([1.0, 2.0])
    with naivegrad.no_grad():
        y = (x * x).sum()
    assert y._ctx is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert naivegrad.is_grad_enabled()


def test_requires_grad_false_inputs_get_no_gradient_and_skip_work():
    x = Tensor([1.0, 2.0], requires_grad=False)
    w = Tensor([3.0, 4.0])
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            na, nb = ctx.needs_input_grad
            return (g * b if na else None), (g * a if nb else None)

    Spy.apply(x, w).sum().backward()
    assert seen == [(False, True)]
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    y = Spy.apply(x, x)
    assert not y.requires_grad and y._ctx is None


# ---------------------------------------------------------------------- elementwise ops: one rule each
def test_every_elementwise_op_writes_its_derivative_once():
    # A forward and one local rule; backward and jvp both come from the shared base.
    from naivegrad.tensor.ops import elementwise

    for name in elementwise.__all__:
        cls = getattr(elementwise, name)
        assert issubclass(cls, elementwise.Elementwise), name
        assert "forward" in vars(cls) and "local" in vars(cls), name
        assert "backward" not in vars(cls) and "jvp" not in vars(cls), name


def test_a_new_elementwise_op_is_a_forward_and_a_local_rule():
    from naivegrad.func import jvp
    from naivegrad.tensor.ops.elementwise import Binary, Unary

    class Hypot(Binary):
        @staticmethod
        def forward(ctx, a, b):
            out = np.hypot(a, b)
            ctx.save_for_backward(a, b, out)
            return out

        @staticmethod
        def local(need, a, b, out):
            return a / out, b / out

    class Cube(Unary):
        @staticmethod
        def forward(ctx, x):
            out = x * x * x
            ctx.save_for_backward(x, out)
            return out

        @staticmethod
        def local(x, out):
            return 3.0 * x * x

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 2.0, (2, 3)), rng.uniform(0.5, 2.0, (3,))
    A, B = Tensor(a), Tensor(b)
    Cube.apply(Hypot.apply(A, B)).sum().backward()
    h = np.hypot(a, b)
    np.testing.assert_allclose(A.grad, 3 * h ** 2 * a / h, rtol=1e-12)
    np.testing.assert_allclose(B.grad, (3 * h ** 2 * b / h).sum(axis=0), rtol=1e-12)  # unbroadcast
    va, vb = rng.standard_normal((2, 3)), rng.standard_normal((3,))
    out, tangent = jvp(lambda x, y: Cube.apply(Hypot.apply(x, y)), (a, b), (va, vb))
    np.testing.assert_allclose(tangent, 3 * h ** 2 * (a * va + b * vb) / h, rtol=1e-12)
    _, lone = jvp(lambda y: Hypot.apply(Tensor(a, requires_grad=False), y), (b,), (vb,))
    assert lone.shape == (2, 3)  # a broadcast operand's tangent spreads over the output
    np.testing.assert_allclose(lone, b * vb / h, rtol=1e-12)


def test_rules_skip_the_derivatives_nobody_needs(monkeypatch):
    from naivegrad.func import jvp
    from naivegrad.tensor.ops import elementwise

    def unwanted(*args):
        raise AssertionError("a derivative nobody needs was computed")

    monkeypatch.setattr(elementwise, "_dpow_exponent", unwanted)
    monkeypatch.setattr(elementwise, "_recip", unwanted)
    x = Tensor([1.0, 2.0], dtype=np.float64)
    (x ** 2.0 + x ** Tensor([3.0, 4.0], requires_grad=False) + 2.0 / x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0 + 3.0 - 2.0, 4.0 + 32.0 - 0.5])
    _, t = jvp(lambda y: y ** 3.0 + 1.0 / y, (np.array([2.0]),), (np.array([1.0]),))
    np.testing.assert_allclose(t, [12.0 - 0.25])


def test_a_tangent_takes_the_outputs_dtype_when_the_derivative_is_a_python_float():
    # Between 0-d operands div's 1/b is a Python float (a numpy float64 would widen float32 elsewhere): the
    # float32 tangent still comes out as the float64 output's.
    a, b = Tensor(np.array(1.0, np.float32)), Tensor(np.array(4.0))
    a.tangent = np.array(1.0, np.float32)
    out = a / b
    assert out.dtype == out.tangent.dtype == np.float64 and out.tangent == 0.25


def test_float32_graph_gives_float32_gradients():
    x = Tensor(np.ones((2, 3), np.float32))
    w64 = Tensor(np.ones(3))  # float64 operand: the output is float64, x's gradient stays float32
    out = (x * w64 + 1.0).sum()
    assert out.dtype == np.float64
    out.backward()
    assert x.grad.dtype == np.float32 and w64.grad.dtype == np.float64


def test_deep_chain_of_100000_ops():
    x = Tensor([1.0], dtype=np.float64)
    y = x
    for i in range(100_000):
        y = y * 1.0 if i % 2 else y + 1.0
    y.sum().backward()  # iterative: no recursion limit
    np.testing.assert_array_equal(y.data, [50_001.0])
    np.testing.assert_array_equal(x.grad, [1.0])
    del y  # deallocating a deep chain must not overflow the C stack either


def test_leaf_grad_never_aliases_graph_arrays():
    a = Tensor([1.0, 2.0])
    b = Tensor([3.0, 4.0])
    (a + b).backward(np.array([1.0, 1.0]))
    a.grad += 5  # in place on one leaf's gradient
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


# ---------------------------------------------------------------------- custom Functions
def test_custom_function_as_in_the_docstring():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x * x

    x = Tensor([1.0, 2.0])
    y = Cube.apply(x)
    np.testing.assert_array_equal(y.data, [1.0, 8.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0])
    assert y._op == "Cube"


def test_custom_function_errors_are_clear():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return np.ones(5)

    class BadCount(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"BadShape.*\(5,\).*\(2,\)"):
        BadShape.apply(x).backward()
    with pytest.raises(TypeError, match="BadCount.*1 gradients for 2 inputs"):
        BadCount.apply(x, x).sum().backward()


def test_jvp_slot_raises_naming_the_op():
    class NoTangentRule(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = Tensor([1.0])
    assert NoTangentRule.apply(x).tangent is None  # without tangents, forward mode is not involved
    x.tangent = np.array([1.0])
    with pytest.raises(NotImplementedError, match="NoTangentRule"):
        NoTangentRule.apply(x)


def test_context_free_attributes_and_repr():
    ctx = Context()
    ctx.anything = 3
    ctx.save_for_backward(np.ones(1), None)
    assert ctx.anything == 3 and len(ctx.saved_tensors) == 2
    assert ctx.needs_input_grad == ()
