"""In-place ops (add_, sub_, mul_, div_, zero_, fill_, copy_, clamp_/clip_) and PyTorch's safety rules: values
and recorded gradients against torch, leaves refused in grad mode, and the check that makes a backward raise
when an array it needs was modified in place after its op saved it (naivegrad.tensor.inplace)."""

import gc
import weakref

import numpy as np
import pytest

import naivegrad
from naivegrad.grad_mode import no_grad
from naivegrad.tensor import Tensor, linear, zeros


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


RNG = np.random.default_rng(0)
# (read-only: Tensor() shares a float32 array, and the tests modify tensors in place; they copy these)
X = RNG.standard_normal((2, 3)).astype(np.float32)
W = (RNG.standard_normal((2, 3)) + 3).astype(np.float32)  # away from 0: a safe divisor
ROW = (RNG.standard_normal(3) + 3).astype(np.float32)  # broadcast into (2, 3)
C = RNG.standard_normal((2, 3)).astype(np.float32)  # weights of the loss, so every gradient differs
for _a in (X, W, ROW, C):
    _a.flags.writeable = False

# (method, operand: "w" (a (2, 3) tensor), "row" (a (3,) tensor), "w0" (a 0-d tensor), a number or None,
#  keyword arguments)
CASES = [
    ("add_", "w", {}),
    ("add_", "row", {"alpha": 2.0}),
    ("add_", 1.5, {}),
    ("sub_", "w", {"alpha": 0.5}),
    ("sub_", "row", {}),
    ("mul_", "w", {}),
    ("mul_", "row", {}),
    ("mul_", 2.5, {}),
    ("div_", "w", {}),
    ("div_", "row", {}),
    ("div_", 4.0, {}),
    ("zero_", None, {}),
    ("fill_", 3.0, {}),
    ("fill_", "w0", {}),
    ("copy_", "w", {}),
    ("copy_", "row", {}),
    ("clamp_", None, {"min": -0.5, "max": 0.5}),
    ("clamp_", None, {"min": 0.0}),
    ("clip_", None, {"max": 0.25}),
]
IDS = [f"{m}-{o if isinstance(o, str) else type(o).__name__}-{'-'.join(k)}" for m, o, k in CASES]


def _operands(kind, make):
    """The operand for ``kind`` made by ``make(array)`` (a naivegrad or torch constructor)."""
    if kind == "w":
        return make(W)
    if kind == "row":
        return make(ROW)
    if kind == "w0":
        return make(np.array(2.0, np.float32))
    return kind


def _call(t, method, operand, kwargs):
    if method == "clip_" and not hasattr(t, "clip_"):
        method = "clamp_"
    fn = getattr(t, method)
    return fn(**kwargs) if operand is None else fn(operand, **kwargs)


# ---------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize("method,operand,kwargs", CASES, ids=IDS)
def test_values_match_torch_and_write_into_the_same_array(torch, method, operand, kwargs):
    data = X.copy()
    view = data.T  # a numpy view of the tensor's array sees the change, as torch's views do
    t = Tensor(data, requires_grad=False)
    out = _call(t, method, _operands(operand, lambda a: Tensor(a.copy(), requires_grad=False)), kwargs)
    assert out is t and t.data is data and t.dtype == np.float32 and t.shape == (2, 3)
    tt = torch.tensor(X)
    _call(tt, method, _operands(operand, torch.tensor), kwargs)
    np.testing.assert_allclose(t.data, tt.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(view, t.data.T)


def test_dtype_is_kept():
    t = Tensor(np.ones(3, np.float32), requires_grad=False)
    t.add_(np.ones(3, np.float64) / 3)  # a float64 operand: the result is written as float32
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.data, np.float32(4 / 3))
    h = Tensor(np.ones(2, np.float16), requires_grad=False).mul_(2.0)
    assert h.dtype == np.float16


def test_integer_and_bool_tensors_refuse_a_float_result():
    i = Tensor(np.arange(3), dtype=np.int64) if _has_int_tensors() else None
    if i is None:
        pytest.skip("integer tensors are not available")
    i.add_(2)
    np.testing.assert_array_equal(i.data, [2, 3, 4])
    with pytest.raises(TypeError, match="int64"):
        i.add_(0.5)
    i.fill_(1.7)  # fill_ and copy_ cast, as torch's
    np.testing.assert_array_equal(i.data, [1, 1, 1])


def _has_int_tensors():
    try:
        return Tensor(np.arange(3), dtype=np.int64).dtype == np.int64
    except TypeError:
        return False


def test_a_broadcast_that_would_change_the_shape_raises_naming_both():
    t = Tensor(np.zeros(3, np.float32), requires_grad=False)
    for method in ("add_", "sub_", "mul_", "div_", "copy_"):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
            getattr(t, method)(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        t.add_(Tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t.clamp_(min=np.zeros((2, 3)))
    np.testing.assert_array_equal(t.data, 0)  # nothing was written


def test_bad_arguments():
    t = Tensor(np.zeros(3, np.float32), requires_grad=False)
    with pytest.raises(ValueError, match="min, max or both"):
        t.clamp_()
    with pytest.raises(ValueError, match="0-d"):
        t.fill_(Tensor(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="alpha"):
        t.add_(1.0, alpha="2")
    with pytest.raises(TypeError, match="operand"):
        t.add_("1")


def test_a_read_only_array_cannot_be_modified():
    base = Tensor(np.ones(3, np.float32), requires_grad=False)
    e = base.expand(2, 3)  # a broadcast view: numpy makes it read-only
    with pytest.raises(RuntimeError, match="read-only"):
        e.add_(1.0)


# ---------------------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("method,operand,kwargs", CASES, ids=IDS)
def test_recorded_gradients_match_torch(torch, method, operand, kwargs):
    """y = x * 1.5 (an interior tensor), z = y * 3 before the in-place op (it must see y's old value), the
    op on y, then a loss of both: the gradients of x and of the operand are torch's."""
    def run(make_leaf, ops):
        x = make_leaf(X)
        w = _operands(operand, make_leaf)
        y = x * 1.5
        z = y * 3.0
        out = _call(y, method, w, kwargs)
        assert out is y
        loss = ops["sum"](y * ops["c"]) + ops["sum"](z * ops["c"] * ops["c"])
        loss.backward()
        grads = [x.grad] + ([w.grad] if not isinstance(w, (float, type(None))) else [])
        return y, grads

    ours_y, ours = run(lambda a: Tensor(a.copy()),
                       {"sum": lambda t: t.sum(), "c": Tensor(C.copy(), requires_grad=False)})
    theirs_y, theirs = run(lambda a: torch.tensor(a, requires_grad=True),
                           {"sum": lambda t: t.sum(), "c": torch.tensor(C)})
    np.testing.assert_allclose(ours_y.data, theirs_y.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert not ours_y.is_leaf and ours_y.requires_grad
    assert len(ours) == len(theirs)
    for g, tg in zip(ours, theirs):
        tg = np.zeros(g.shape, np.float32) if tg is None else tg.numpy()
        assert g is not None and g.shape == tg.shape
        np.testing.assert_allclose(g, tg, rtol=1e-5, atol=1e-6)


def test_a_tensor_that_does_not_require_grad_joins_the_graph(torch):
    x = Tensor(ROW.copy())
    c = zeros(2, 3, requires_grad=False)
    c.add_(x, alpha=2.0).mul_(x)
    assert c.requires_grad and not c.is_leaf
    (c * Tensor(C.copy(), requires_grad=False)).sum().backward()
    tx = torch.tensor(ROW, requires_grad=True)
    tc = torch.zeros(2, 3)
    tc.add_(tx, alpha=2.0).mul_(tx)
    (tc * torch.tensor(C)).sum().backward()
    np.testing.assert_allclose(c.data, tc.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5)


def test_a_chain_of_in_place_ops_and_the_old_values_consumers(torch):
    """Each consumer gets the gradient of the value it saw: before, between and after two in-place ops."""
    def run(x, c, w):
        y = x * 2.0
        a = y * c  # sees y0 = 2x
        y.mul_(w)  # y1 = y0 * w
        b = (y * 1.0).sin()  # sees y1 (sin saves its input: a copy, y * 1.0, not y's array)
        y.add_(x)  # y2 = y1 + x
        (a + b + y * c).sum().backward()
        return x.grad

    ours = run(Tensor(X.copy()), Tensor(C.copy(), requires_grad=False), Tensor(W.copy(), requires_grad=False))
    theirs = run(torch.tensor(X, requires_grad=True), torch.tensor(C), torch.tensor(W))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_mul_by_itself_gives_the_gradient_of_the_square():
    """torch refuses y.mul_(y) at backward (it saved y, then wrote it); naivegrad copies the operand first, so
    the gradient is d(y*y)/dy = 2y."""
    x = Tensor(X.copy())
    y = x * 1.0
    y.mul_(y)
    y.sum().backward()
    np.testing.assert_allclose(y.data, X * X, rtol=1e-6)
    np.testing.assert_allclose(x.grad, 2 * X, rtol=1e-6)


def test_mul_by_an_operand_that_requires_grad_uses_the_old_value(torch):
    x, w = Tensor(X.copy()), Tensor(W.copy())
    y = x * 1.0
    y.mul_(w).mul_(w)  # the second mul_ needs y's value between the two
    y.sum().backward()
    tx, tw = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    ty = tx * 1.0
    ty.mul_(tw).mul_(tw)
    ty.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-5)


def test_forward_mode_tangents_follow_in_place_ops():
    from naivegrad.func import jvp

    def f(x):
        y = x * 1.0
        y.mul_(x)  # x**2
        y.add_(x, alpha=3.0)  # x**2 + 3x
        return y

    out, tangent = jvp(f, (X,), (np.ones_like(X),))
    np.testing.assert_allclose(out.data, X * X + 3 * X, rtol=1e-6)
    np.testing.assert_allclose(tangent, 2 * X + 3, rtol=1e-5)


# ---------------------------------------------------------------------------------------------- leaves
@pytest.mark.parametrize("method,operand,kwargs", CASES, ids=IDS)
def test_a_leaf_that_requires_grad_is_refused_in_grad_mode_allowed_under_no_grad(method, operand, kwargs):
    w = Tensor(X.copy())
    operand = _operands(operand, lambda a: Tensor(a.copy(), requires_grad=False))
    with pytest.raises(RuntimeError, match=f"{method.replace('clip_', 'clamp_')}: a leaf tensor that requires grad"):
        _call(w, method, operand, kwargs)
    np.testing.assert_array_equal(w.data, X)
    with no_grad():
        assert _call(w, method, operand, kwargs) is w
    assert w.is_leaf and w.requires_grad and w._ctx is None


def test_torch_refuses_the_leaf_too(torch):
    with pytest.raises(RuntimeError, match="leaf"):
        torch.ones(3, requires_grad=True).add_(1)


def test_an_interior_tensor_under_no_grad_is_modified_without_recording():
    x = Tensor(X.copy())
    y = x * 2.0
    ctx = y._ctx
    with no_grad():
        y.add_(1.0)
    assert y._ctx is ctx  # its history is not rebased (as torch under no_grad)
    np.testing.assert_allclose(y.data, 2 * X + 1, rtol=1e-6)
    y.sum().backward()  # Mul does not read its output: nothing to refuse
    np.testing.assert_allclose(x.grad, 2.0)


# ---------------------------------------------------------------------------------------------- the check
def _leaf_modified(method="add_"):
    """A function modifying the leaf ``t`` the way an optimizer would, under no_grad."""
    def modify(t):
        with no_grad():
            getattr(t, method)(0.5)
    return modify


# (name of the op in the message, a function building the loss from x (a leaf) and w (a leaf), which of them
#  to modify, and how: a tensor that is modified is a leaf modified under no_grad, or an interior one)
FIRING = [
    ("Mul", lambda x, w: (x * w).sum(), "w"),
    ("Mul", lambda x, w: (x * w).sum(), "x"),
    ("Div", lambda x, w: (x / w).sum(), "w"),
    ("Pow", lambda x, w: (w ** x).sum(), "w"),
    ("MatMul", lambda x, w: (x @ w.T).sum(), "w"),
    ("Linear", lambda x, w: linear(x, w).sum(), "x"),
    ("Log", lambda x, w: w.log().sum(), "w"),
    ("Sin", lambda x, w: x.sin().sum(), "x"),
    ("Abs", lambda x, w: x.abs().sum(), "x"),
    ("Max", lambda x, w: x.max(axis=1).sum(), "x"),
    ("Maximum", lambda x, w: x.maximum(w * 0.0).sum(), "x"),
    ("Clip", lambda x, w: x.clip(-0.5, 0.5).sum(), "x"),
    ("LogSumExp", lambda x, w: x.logsumexp(axis=1).sum(), "x"),
]


@pytest.mark.parametrize("op,loss,which", FIRING, ids=[f"{o}-{w}" for o, _, w in FIRING])
@pytest.mark.parametrize("method", ["add_", "mul_", "zero_", "clamp_"])
def test_modifying_a_saved_input_makes_backward_raise(op, loss, which, method):
    x, w = Tensor(X.copy()), Tensor(W.copy())
    out = loss(x, w)
    target = x if which == "x" else w
    with no_grad():
        if method == "zero_":
            target.zero_()
        elif method == "clamp_":
            target.clamp_(min=0.0)
        else:
            getattr(target, method)(0.5)
    with pytest.raises(RuntimeError, match=rf"needed by {op}'s backward was modified by an in-place "
                                           rf"operation \({method}\) after it was saved"):
        out.backward()
    assert x.grad is None and w.grad is None  # refused before any gradient was accumulated


# ops whose backward reads their output: modifying the output (an interior tensor, recorded) must raise
OUTPUT_SAVED = [
    ("Exp", lambda x: x.exp()),
    ("Tanh", lambda x: x.tanh()),
    ("Sigmoid", lambda x: x.sigmoid()),
    ("Sqrt", lambda x: (x * x).sqrt()),
    ("Relu", lambda x: x.relu()),
    ("Softmax", lambda x: x.softmax(axis=1)),
    ("LogSoftmax", lambda x: x.logsoftmax(axis=1)),
    ("Div", lambda x: Tensor(W.copy()) / (x * x + 1.0)),  # d/db reads the quotient
]


@pytest.mark.parametrize("op,f", OUTPUT_SAVED, ids=[o for o, _ in OUTPUT_SAVED])
def test_modifying_a_saved_output_makes_backward_raise(torch, op, f):
    x = Tensor(X.copy())
    y = f(x)
    y.mul_(2.0)  # recorded: y is interior
    with pytest.raises(RuntimeError, match=rf"needed by {op}'s backward was modified by an in-place "
                                           rf"operation \(mul_\)"):
        y.sum().backward()


def test_torch_raises_for_a_saved_output_too(torch):
    x = torch.tensor(X, requires_grad=True)
    y = x.exp()
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ops that do not read the modified array: no error, and torch's gradients
NOT_FIRING = [
    ("add's operand", lambda x, c: x + c, lambda x, y, c: c.mul_(2.0)),
    ("sub's operand", lambda x, c: x - c, lambda x, y, c: c.add_(1.0)),
    ("mul's output", lambda x, c: x * c, lambda x, y, c: y.add_(1.0)),
    ("matmul's output", lambda x, c: x @ c.T, lambda x, y, c: y.mul_(3.0)),
    ("sum's output", lambda x, c: (x * c).sum(axis=1), lambda x, y, c: y.mul_(3.0)),
    ("reshape's input", lambda x, c: (x * 1.0).reshape(3, 2) * 1.0, lambda x, y, c: c.zero_()),
    ("an unrelated array", lambda x, c: x * c, lambda x, y, c: Tensor(np.ones(3), requires_grad=False).add_(1)),
]


@pytest.mark.parametrize("name,f,modify", NOT_FIRING, ids=[n for n, _, _ in NOT_FIRING])
def test_modifying_an_array_no_backward_reads_is_allowed(torch, name, f, modify):
    def run(lib_tensor, leaf, const):
        x = leaf(X)
        c = const(W)
        y = f(x, c)
        modify(x, y, c)
        (y * y.detach() if hasattr(y, "detach") else y).sum().backward()
        return y, x.grad

    y, g = run(Tensor, lambda a: Tensor(a.copy()), lambda a: Tensor(a.copy(), requires_grad=False))
    ty, tg = run(torch.tensor, lambda a: torch.tensor(a, requires_grad=True), torch.tensor)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(g, tg.numpy(), rtol=1e-5, atol=1e-6)


def test_a_modification_before_the_op_saved_the_array_is_allowed():
    x, w = Tensor(X.copy()), Tensor(W.copy())
    with no_grad():
        w.add_(1.0)
    y = (x * w).sum()  # saves w after its modification
    y.backward()
    np.testing.assert_allclose(x.grad, W + 1.0, rtol=1e-6)
    a = x * 1.0
    a.mul_(2.0)
    b = (a * a).sum()  # saves a after the mul_
    b.backward()
    np.testing.assert_allclose(x.grad, W + 1.0 + 8 * X, rtol=1e-5)


def test_views_share_the_check():
    """A saved array and the array modified may be views of one another: the check follows ndarray.base."""
    w = Tensor(np.ones((2, 3), np.float32))
    c = Tensor(np.arange(6, dtype=np.float32), requires_grad=False)
    cv = c.reshape(2, 3)  # a view of c's array
    loss = (w * cv).sum()  # Mul saves the view
    c.add_(1.0)  # modify the base
    with pytest.raises(RuntimeError, match="Mul's backward.*add_"):
        loss.backward()

    loss = (w * c.reshape(3, 2).T).sum()  # saves a transposed view
    Tensor(c.data[2:4], requires_grad=False).mul_(0.0)  # modify through another view of the same memory
    with pytest.raises(RuntimeError, match="Mul's backward.*mul_"):
        loss.backward()

    loss = (w * c.reshape(2, 3)).sum()
    c.detach().add_(1.0)  # detach() shares the array, as torch's (and its version counter)
    with pytest.raises(RuntimeError, match="Mul's backward"):
        loss.backward()


def test_writes_through_data_bypass_the_check():
    """As in PyTorch: ``.data`` is the escape hatch (the optimizers update parameters through it)."""
    x, w = Tensor(X.copy()), Tensor(W.copy())
    loss = (x * w).sum()
    w.data[0, 0] = 5.0
    w.data -= 1.0
    loss.backward()
    np.testing.assert_allclose(x.grad, w.data)  # the new values: a silently "wrong" gradient, as documented


def test_retain_graph_second_backward_after_an_in_place_change_raises():
    x = Tensor(X.copy())
    a = x * 2.0
    loss = (a * a).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 8 * X, rtol=1e-6)
    with no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="Mul's backward.*add_"):
        loss.backward()


def test_a_view_of_a_graph_tensor_is_refused():
    x = Tensor(X.copy())
    y = x * 2.0
    for view in (y.reshape(3, 2), y.T, y[0], y.reshape(6)):
        with pytest.raises(RuntimeError, match="view of another tensor's data"):
            view.mul_(2.0)
    with pytest.raises(RuntimeError, match="view of another tensor's data"):
        x.reshape(6).add_(1.0)  # a view of a leaf that requires grad (torch's message is about this one)
    np.testing.assert_array_equal(y.data, 2 * X)


def test_a_view_taken_before_its_base_was_modified_raises_at_backward():
    x = Tensor(X.copy())
    y = x * 2.0
    v = y.T
    y.mul_(2.0)  # v's values change with y's, but v's history says v = (2x).T
    with pytest.raises(RuntimeError, match="Transpose is a view of a tensor that was modified in place"):
        (v * 1.0).sum().backward()


def test_views_of_a_tensor_outside_the_graph_are_fine():
    c = Tensor(np.zeros((2, 3), np.float32), requires_grad=False)
    c.T.add_(1.0)  # not recorded: writes through to c
    c[0].mul_(3.0)
    np.testing.assert_array_equal(c.data, [[3, 3, 3], [1, 1, 1]])


# ---------------------------------------------------------------------------------------------- optimizers, memory
def test_optimizer_steps_do_not_trigger_false_errors():
    from naivegrad.optim import SGD, Adam

    for opt_cls in (SGD, Adam):
        w, b = Tensor(W.copy()), Tensor(np.zeros(2, np.float32))
        opt = opt_cls([w, b], lr=0.01)
        x = Tensor(X.copy(), requires_grad=False)
        for _ in range(3):
            opt.zero_grad()
            loss = (linear(x, w, b) ** 2).mean()
            loss.backward()
            opt.step()
        # the PyTorch way of updating, with in-place ops under no_grad, between two steps
        for _ in range(2):
            loss = ((x @ w.T + b) ** 2).mean()
            w.grad = b.grad = None
            loss.backward()
            with no_grad():
                w.sub_(w.grad, alpha=0.01)
                b.add_(b.grad, alpha=-0.01)


def test_rebasing_makes_no_reference_cycle():
    x = Tensor(X.copy())
    y = x * 2.0
    y.mul_(3.0).add_(1.0).clamp_(max=5.0)
    ref = weakref.ref(y)
    snapshot = weakref.ref(y._ctx.parents[0])
    gc.disable()
    try:
        del y
        assert ref() is None and snapshot() is None  # freed by reference counting alone
    finally:
        gc.enable()


def test_the_modification_records_die_with_their_arrays():
    from naivegrad.tensor import inplace

    c = Tensor(np.zeros(4, np.float32), requires_grad=False)
    c.add_(1.0)
    key = id(c.data)
    assert key in inplace._stamps
    del c
    gc.collect()
    assert key not in inplace._stamps


def test_the_graph_records_the_in_place_op():
    x = Tensor(X.copy())
    y = x * 2.0
    old = y._ctx
    y.add_(1.0)
    assert y._op == "AddInplace" and not y.is_leaf
    (snapshot,) = y._prev
    assert snapshot._ctx is old and snapshot.data is y.data
    assert naivegrad.tensor.inplace.AddInplace.name == "add_"


def test_indexing_checks_its_index_not_the_selected_values():
    w = Tensor(np.ones((3, 4), np.float32))
    y = w[0].sum()  # basic indexing: the output is a view of w's array, which backward does not read
    with no_grad():
        w.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(w.grad[0], 1.0)
    if not _has_int_tensors():
        return
    idx = Tensor(np.array([1, 0, 1]), dtype=np.int64)
    y = w[idx].sum()
    idx.fill_(0)  # the scatter of the gradient would go to the wrong rows
    with pytest.raises(RuntimeError, match="GetItem's backward.*fill_"):
        y.backward()


def test_a_function_of_ours_declares_what_its_backward_reads():
    from naivegrad.tensor import Function

    class Double(Function):  # saves its input, never reads it
        backward_reads = ()

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Undeclared(Double):
        backward_reads = None  # the default: everything saved counts

    x = Tensor(X.copy())
    for fn, raises in ((Double, False), (Undeclared, True)):
        a = x * 1.0
        y = fn.apply(a).sum()
        a.mul_(3.0)
        if raises:
            with pytest.raises(RuntimeError, match="Undeclared's backward.*mul_"):
                y.backward()
        else:
            y.backward()


def test_an_operand_computed_from_the_tensor_itself(torch):
    """y.add_(f(y)): f's graph refers to y, which now stands for the new value; its gradient must go to the old
    one (and the backward replaces that reference, so no cycle outlives it)."""
    def run(x):
        y = x * 2.0
        y.add_((y + 1.0).sin())  # (y * y would have saved y: that backward would raise)
        (y * y).sum().backward()
        return y, x.grad

    y, g = run(Tensor(X.copy()))
    ty, tg = run(torch.tensor(X, requires_grad=True))
    np.testing.assert_allclose(g, tg.numpy(), rtol=1e-5, atol=1e-6)
    ref = weakref.ref(y)
    gc.disable()
    try:
        del y
        assert ref() is None
    finally:
        gc.enable()
