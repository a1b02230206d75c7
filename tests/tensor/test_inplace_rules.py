"""The in-place ops evaluate their out-of-place ops' rules (naivegrad.tensor.inplace): against those ops, to the
bit, for values, gradients (first and second order) and tangents, with broadcasting operands, alpha, float32 and
float64 and non-finite values (inf and nan in x, in the operand and in the cotangent); and second order through
``mul_``/``div_`` whose operand requires grad, against PyTorch's double backward and finite differences."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from naivegrad.autograd import grad
from naivegrad.func import jvp
from naivegrad.tensor import Tensor

SHAPE = (2, 3)
OPERAND_SHAPES = [(2, 3), (3,), (1, 3), (2, 1), ()]
NON_FINITE = [np.inf, -np.inf, np.nan, 0.0, -0.0]
OPS = ["add_", "sub_", "mul_", "div_", "copy_", "clamp_"]
ALPHAS = [1, -1, 2, 0.5, -3.0]


def _out_of_place(method, y, w, alpha=1, lo=None, hi=None):
    """The out-of-place ops whose rules ``method`` evaluates, on y and w."""
    if method in ("add_", "sub_"):
        a = alpha if method == "add_" else -alpha
        if a == 1:
            return y + w
        if a == -1:
            return y - w
        return y + w * a
    if method == "mul_":
        return y * w
    if method == "div_":
        return y / w
    if method == "copy_":
        return w.expand(*y.shape)
    return y.clip(lo, hi)


def _in_place(method, y, w, alpha=1, lo=None, hi=None):
    if method in ("add_", "sub_"):
        return getattr(y, method)(w, alpha=alpha)
    if method == "clamp_":
        return y.clamp_(lo, hi)
    return getattr(y, method)(w)


def _arrays(draw, dtype, shape, finite):
    elements = st.floats(-4, 4, width=32) if finite else st.one_of(st.floats(-4, 4, width=32),
                                                                   st.sampled_from(NON_FINITE))
    return np.array(draw(st.lists(elements, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                    dtype).reshape(shape)


@st.composite
def cases(draw, finite=False, ops=OPS):
    method = draw(st.sampled_from(ops))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(st.sampled_from(OPERAND_SHAPES))
    case = {
        "method": method, "dtype": dtype,
        "x": _arrays(draw, dtype, SHAPE, finite),
        "w": _arrays(draw, dtype, shape, finite),
        "g": _arrays(draw, dtype, SHAPE, finite),
        "alpha": draw(st.sampled_from(ALPHAS)) if method in ("add_", "sub_") else 1,
        "lo": None, "hi": None,
    }
    if method == "clamp_":
        lo = draw(st.one_of(st.none(), st.floats(-2, 1, width=32)))
        hi = draw(st.one_of(st.none(), st.floats(-1, 2, width=32))) if lo is not None else draw(
            st.floats(-1, 2, width=32))
        case["lo"], case["hi"] = lo, hi
    return case


def _run(c, inplace, w_grad=True):
    """y = x * 1.0 (interior), z = y * 2.0 recorded before the op (it sees y's old value), then the op; the
    backward of out with the cotangent g and of z with g: values and gradients (arrays, nan where nan)."""
    x = Tensor(c["x"].copy())
    w = Tensor(c["w"].copy(), requires_grad=w_grad)
    y = x * 1.0
    z = y * 2.0
    kw = dict(alpha=c["alpha"], lo=c["lo"], hi=c["hi"])
    out = _in_place(c["method"], y, w, **kw) if inplace else _out_of_place(c["method"], y, w, **kw)
    if inplace:
        assert out is y
    (out * 1.0 + z).backward(c["g"])
    gx = x.grad if x.grad is not None else np.zeros_like(c["x"])
    return out.data.copy(), gx, (w.grad if w_grad else None)


def _same(a, b):
    """Equal to the bit, nan where nan (and the dtype and shape)."""
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


@settings(deadline=None)
@given(cases())
def test_values_and_gradients_are_the_out_of_place_ops(c):
    for w_grad in (True, False):
        ours, theirs = _run(c, True, w_grad), _run(c, False, w_grad)
        _same(ours[0], theirs[0].astype(c["dtype"]))
        _same(ours[1], theirs[1])
        if w_grad and c["method"] != "clamp_":  # (clamp_ has no operand)
            _same(ours[2], theirs[2])


@settings(deadline=None)
@given(cases(), st.booleans(), st.booleans())
def test_tangents_are_the_out_of_place_ops(c, tangent_x, tangent_w):
    assume(tangent_x or tangent_w)
    tx = c["g"] if tangent_x else np.zeros_like(c["x"])
    tw = (c["g"].ravel()[:c["w"].size].reshape(c["w"].shape) if tangent_w else np.zeros_like(c["w"]))
    kw = dict(alpha=c["alpha"], lo=c["lo"], hi=c["hi"])

    def ours(x, w):
        y = x * 1.0
        return _in_place(c["method"], y, w, **kw)

    def theirs(x, w):
        return _out_of_place(c["method"], x * 1.0, w, **kw)

    out, t = jvp(ours, (c["x"], c["w"]), (tx, tw))
    out0, t0 = jvp(theirs, (c["x"], c["w"]), (tx, tw))
    t0 = np.asarray(t0).astype(c["dtype"])
    _same(np.asarray(out.data), np.asarray(out0.data).astype(c["dtype"]))
    t = np.asarray(t)
    if c["method"] == "copy_" and not tangent_w:  # x's old value is discarded: its tangent is zero
        np.testing.assert_array_equal(t, 0)
    else:
        _same(t, t0)
    assert t.dtype == c["dtype"] and t.shape == SHAPE


def _second_order(c, inplace):
    """The gradients of L = sum(out * g) with respect to x and w, recorded (create_graph), then the gradient of
    sum(gx * vx) + sum(gw * vw) with respect to x and w: a Hessian-vector product."""
    x = Tensor(c["x"].copy())
    w = Tensor(c["w"].copy())
    y = (x * x).sin() * 1.0  # ops before the in-place one differentiate twice too
    kw = dict(alpha=c["alpha"], lo=c["lo"], hi=c["hi"])
    out = _in_place(c["method"], y, w, **kw) if inplace else _out_of_place(c["method"], y, w, **kw)
    loss = (out * out * c["g"]).sum()
    gx, gw = grad(loss, [x, w], create_graph=True, allow_unused=True)
    vx = np.cos(np.arange(6.0)).reshape(SHAPE).astype(c["dtype"])
    vw = np.sin(np.arange(1.0, 1.0 + c["w"].size)).reshape(c["w"].shape).astype(c["dtype"])
    if gx is None:  # copy_ out of place: x's old value gets no gradient (in place: zeros)
        gx = Tensor(np.zeros_like(c["x"]), requires_grad=False)
    second = (gx * Tensor(vx, requires_grad=False)).sum()
    if gw is not None:
        second = second + (gw * Tensor(vw, requires_grad=False)).sum()
    hx, hw = grad(second, [x, w], allow_unused=True)
    z = lambda a, like: np.zeros_like(like) if a is None else np.asarray(a)  # noqa: E731
    return [np.asarray(gx.data), z(None if gw is None else gw.data, c["w"]), z(hx, c["x"]), z(hw, c["w"])]


@settings(deadline=None)
@given(cases())
def test_second_order_is_the_out_of_place_ops(c):
    ours, theirs = _second_order(c, True), _second_order(c, False)
    if c["method"] == "copy_":  # x's old value gets zeros (times its inf or nan derivatives), not nothing
        ours, theirs = ours[1::2], theirs[1::2]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if c["method"] == "div_" and i >= 2:
            # The quotient is computed again from the kept copy (out of place it is the output node itself):
            # the same second derivative, its terms summed in another order.
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5 if a.dtype == np.float32 else 1e-12, atol=0)
        else:
            _same(a, b.astype(a.dtype))


# ---------------------------------------------------------------------------------------------- second order
def _loss(method, x, w):
    """A loss through ``method`` (mul_ or div_) whose operand w requires grad, for naivegrad or torch."""
    y = (x * x).sin() * 1.0
    before = y * 3.0  # recorded before the in-place op: sees y's old value
    getattr(y, method)(w)
    return (y * y).sum() + (before * y).sum()


@pytest.mark.parametrize("method", ["mul_", "div_"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("w_shape", [(2, 3), (3,), ()])
def test_second_order_through_an_operand_that_requires_grad_matches_torch(method, dtype, w_shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xv = rng.standard_normal(SHAPE).astype(dtype)
    wv = (rng.uniform(0.5, 2.0, w_shape) * rng.choice([-1, 1], w_shape)).astype(dtype)
    vx = rng.standard_normal(SHAPE).astype(dtype)
    vw = rng.standard_normal(w_shape).astype(dtype)

    x, w = Tensor(xv.copy()), Tensor(wv.copy())
    gx, gw = grad(_loss(method, x, w), [x, w], create_graph=True)
    hx, hw = grad((gx * Tensor(vx, requires_grad=False)).sum() + (gw * Tensor(vw, requires_grad=False)).sum(),
                  [x, w])

    tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    tgx, tgw = torch.autograd.grad(_loss(method, tx, tw), [tx, tw], create_graph=True)
    thx, thw = torch.autograd.grad((tgx * torch.tensor(vx)).sum() + (tgw * torch.tensor(vw)).sum(), [tx, tw])

    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for ours, theirs in ((gx.data, tgx), (gw.data, tgw), (hx, thx), (hw, thw)):
        assert np.asarray(ours).dtype == dtype
        np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), **tol)
    assert np.any(np.asarray(hw) != 0)  # the operand's second derivative is really there


@pytest.mark.parametrize("method", ["mul_", "div_"])
def test_second_order_through_an_operand_that_requires_grad_matches_finite_differences(method):
    rng = np.random.default_rng(4)
    xv = rng.standard_normal(SHAPE)
    wv = rng.uniform(0.5, 2.0, 3)
    v = np.concatenate([rng.standard_normal(6), rng.standard_normal(3)])

    def gradient(xv, wv, create):
        x, w = Tensor(xv.copy()), Tensor(wv.copy())
        gx, gw = grad(_loss(method, x, w), [x, w], create_graph=create)
        return x, w, gx, gw

    x, w, gx, gw = gradient(xv, wv, True)
    hx, hw = grad((gx * Tensor(v[:6].reshape(SHAPE), requires_grad=False)).sum()
                  + (gw * Tensor(v[6:], requires_grad=False)).sum(), [x, w])
    ours = np.concatenate([np.asarray(hx).ravel(), np.asarray(hw).ravel()])

    def flat_gradient(p):  # the first-order gradient (not create_graph) at the point p = (x, w) flattened
        _, _, gx, gw = gradient(p[:6].reshape(SHAPE), p[6:], False)
        return np.concatenate([np.asarray(gx).ravel(), np.asarray(gw).ravel()])

    p0, eps = np.concatenate([xv.ravel(), wv]), 1e-6
    # H v by columns: H is symmetric, so (H v)_i = d/dp_i (grad . v)
    expected = np.array([(flat_gradient(p0 + eps * e) - flat_gradient(p0 - eps * e)) @ v / (2 * eps)
                         for e in np.eye(9)])
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-8)


def test_second_order_of_mul_by_itself_is_the_squares():
    """y.mul_(y): the operand is y's old value (one copy for both); twice differentiable as y * y."""
    def run(inplace):
        x = Tensor(np.array([0.3, -0.7, 1.2]))
        y = x.sin() * 1.0
        out = y.mul_(y) if inplace else y * y
        (g,) = grad((out * out).sum(), [x], create_graph=True)
        (h,) = grad((g * g).sum(), [x])
        return g.data, h

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_second_order_with_an_operand_sharing_the_tensors_memory():
    """An operand that is a view of the tensor's array (a constant here) is copied before the write, and the
    copy is what the create_graph backward finds."""
    x = Tensor(np.array([0.3, -0.7, 1.2]))
    y = x * 1.0
    y.mul_(y.data[::-1])  # the old values, reversed
    (g,) = grad((y * y).sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x])
    r = x.data[::-1]
    np.testing.assert_allclose(g.data, 2 * x.data * r * r)
    np.testing.assert_allclose(h, 2 * r * r)


def test_consumers_of_the_old_value_differentiate_twice_with_a_copy_kept():
    """A consumer recorded before mul_ (which keeps a copy of y for w's gradient) gets the snapshot back (whose
    array it saved), not the copy: its create_graph backward still finds its operands."""
    torch = pytest.importorskip("torch")

    def run(x, w):
        y = x * 2.0
        z = y + 1.0  # saves y's array (not read)
        y.mul_(w)
        loss = (z * z * y).sum()
        gx, gw = (torch.autograd.grad if isinstance(x, torch.Tensor) else grad)(loss, [x, w], create_graph=True)
        second = (gx * gx).sum() + (gw * gw).sum()
        return (torch.autograd.grad if isinstance(x, torch.Tensor) else grad)(second, [x, w])

    xv, wv = np.array([0.3, -0.7, 1.2]), np.array([1.5, 0.5, -2.0])
    ours = run(Tensor(xv.copy()), Tensor(wv.copy()))
    theirs = run(torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-12)


def test_hooks_see_the_whole_gradient_of_the_old_value_with_a_copy_kept():
    torch = pytest.importorskip("torch")

    def run(x, w):
        seen = []
        y = x * 2.0
        y.register_hook(lambda g: seen.append(np.array(g.detach().numpy() if hasattr(g, "detach") else g)))
        z = y * 3.0
        y.mul_(w)
        (z * y).sum().backward()
        return seen, x.grad, w.grad

    xv, wv = np.array([0.3, -0.7, 1.2]), np.array([1.5, 0.5, -2.0])
    seen, gx, gw = run(Tensor(xv.copy()), Tensor(wv.copy()))
    tseen, tgx, tgw = run(torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True))
    assert len(seen) == len(tseen) == 1
    np.testing.assert_allclose(seen[0], tseen[0], rtol=1e-12)
    np.testing.assert_allclose(gx, tgx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw, tgw.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- what is kept
def test_an_in_place_op_after_div_does_not_disturb_its_gradient():
    """div_'s gradient of the operand reads the quotient, computed again from the kept copy and the operand:
    the tensor's array (the quotient, then overwritten) is not read, so a later in-place op is fine (as in
    PyTorch, which saves the original self)."""
    torch = pytest.importorskip("torch")

    def run(x, w):
        y = x * 1.0
        y.div_(w)
        y.mul_(2.0)
        y.add_(x)
        (y * y).sum().backward()
        return x.grad, w.grad

    xv, wv = np.array([0.3, -0.7, 1.2]), np.array([1.5, 0.5, -2.0])
    ours = run(Tensor(xv.copy()), Tensor(wv.copy()))
    theirs = run(torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)


def test_the_operand_modified_after_mul_makes_backward_raise():
    x, w = Tensor(np.array([0.3, -0.7])), Tensor(np.array([1.5, 0.5]))
    y = x * 1.0
    v = w * 1.0
    y.mul_(v)  # x's gradient reads v
    v.add_(1.0)
    with pytest.raises(RuntimeError, match="MulInplace's backward.*add_"):
        y.sum().backward()


def test_clamp_bounds_modified_after_are_not_read():
    """clamp_ copies array bounds: Clip's rule reads them at backward, the mask is the one of the forward."""
    x = Tensor(np.array([-1.0, 0.2, 0.8, 2.0]))
    lo, hi = np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0, 1.0])
    y = x * 1.0
    y.clamp_(lo, hi)
    lo[:] = 5.0
    hi[:] = -5.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 0.0])


def test_what_the_context_keeps():
    """The rule's context: the operand, x's old value only where the rule reads it (a Clone of the snapshot,
    the first parent), never the fresh result (the tensor's array stands for the output)."""
    from naivegrad.tensor.ops.cast import Clone

    x, w = Tensor(np.array([0.3, -0.7])), Tensor(np.array([1.5, 0.5]))
    y = x * 1.0
    old = y.data.copy()
    y.mul_(w)
    first, second = y._ctx.parents
    assert first._ctx.fn is Clone and first.data is y._ctx.saved_tensors[0]
    np.testing.assert_array_equal(first.data, old)
    assert y._ctx.snapshot is first._ctx.parents[0] and y._ctx.snapshot.data is y.data
    assert second is w and y._ctx.saved_tensors[1] is w.data and y._ctx.saved_tensors[2] is y.data

    c = Tensor(np.array([1.5, 0.5]), requires_grad=False)
    y = x * 1.0
    y.mul_(c)  # c needs no gradient: no copy of y
    assert y._ctx.parents[0] is y._ctx.snapshot and y._ctx.saved_tensors[0] is y.data


def test_an_operand_that_requires_grad_and_shares_the_tensors_memory():
    """An operand sharing the tensor's memory is copied before the write, as a Clone of it: its gradient
    reaches it, and a create_graph backward finds the copy."""
    xv = np.array([0.3, -0.7, 1.2])
    x = Tensor(xv.copy())
    y = x * 1.0
    v = Tensor(y.data)  # a leaf that requires grad, on y's array
    assert np.shares_memory(v.data, y.data)
    y.mul_(v)
    np.testing.assert_array_equal(y.data, xv * xv)
    gx, gv = grad((y * y).sum(), [x, v], create_graph=True)  # y = x * v (both xv): 2 y v, 2 y x
    np.testing.assert_allclose(gx.data, 2 * xv ** 3)
    np.testing.assert_allclose(gv.data, 2 * xv ** 3)
    hx, hv = grad((gx + gv).sum(), [x, v])  # d/dx (2 x v**2 + 2 x**2 v) = 2 v**2 + 4 x v, at x = v = xv
    np.testing.assert_allclose(hx, 6 * xv ** 2)
    np.testing.assert_allclose(hv, 6 * xv ** 2)


def test_hessians_through_mul_and_div_in_place_are_the_out_of_place_ones():
    from naivegrad import func

    def ours(x):
        y = x * 1.0
        y.mul_(x.sin())
        y.div_(x.exp() + 1.0)
        return y.sum()

    def theirs(x):
        return (x * x.sin() / (x.exp() + 1.0)).sum()

    for dtype in (np.float64, np.float32):
        x = np.array([0.3, -0.7, 1.2], dtype)
        h, h0 = np.asarray(func.hessian(ours)(x)), np.asarray(func.hessian(theirs)(x))
        assert h.dtype == h0.dtype == dtype
        np.testing.assert_allclose(h, h0, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=0)
        assert np.all(np.diag(h) != 0)  # (elementwise: a diagonal Hessian)
