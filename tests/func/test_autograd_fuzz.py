"""Differential fuzzing of the autograd API and the function transforms against torch.autograd / torch.func.

Random small programs (elementwise ops, a tensor reused several times, detached uses, a reduction at the
end) run on naivegrad's tensor engine and on PyTorch side by side; every entry point of reverse mode is
compared: ``Tensor.backward`` (gradient=, retain_graph= and accumulation over several calls, inputs= naming
leaves or interior nodes, create_graph=), ``naivegrad.autograd.grad`` (grad_outputs, allow_unused,
create_graph and a second derivative through it), hooks on leaves and interior nodes (with and without
create_graph), and ``naivegrad.func`` (grad, value_and_grad / grad_and_value, has_aux, argnums, vjp, jvp,
jacrev, jacfwd, hessian, hvp, nested) against ``torch.func``; the scalar engine is checked against the
tensor engine. Shapes include 0-d and empty tensors; dtypes float32 and float64 (results keep the input's).

The regression tests at the end pin the discrepancies this fuzzing found.

Differences from torch that are deliberate (documented), not tested as torch's:

- an interior tensor's ``.grad`` is reset by each ``backward()`` (micrograd style, see ``Tensor.retain_grad``),
  where torch accumulates it for a tensor that called ``retain_grad()``;
- a second backward through a released graph always raises; torch raises only if some node saved tensors
  (a graph of additions walks again there);
- ``autograd.grad(out, [])`` returns ``()`` (torch raises);
- ``func.grad`` accepts any one-element output (torch.func wants a 0-d one);
- top-level ``jacrev`` / ``jacfwd`` / ``hessian`` return numpy arrays, and ``jvp`` its tangent as an array,
  not differentiable Tensors (torch.func's are, for primals that require grad);
- torch.func's vmap fails on empty tensors; naivegrad's transforms return the empty results.

A torch inconsistency not followed: ``torch.autograd.grad(z, [x, y])`` returns y's gradient from before y's
hooks (though the hooked one flows on to x), where ``backward(inputs=[x, y])`` and ``grad(z, [y])`` give the
hooked one; naivegrad always gives the hooked one.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import naivegrad.autograd as ag
from naivegrad import func as F
from naivegrad.grad_mode import no_grad
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")
tfunc = pytest.importorskip("torch.func")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*", "ignore::UserWarning")

few = settings(max_examples=max(8, settings.default.max_examples // 4))

# ------------------------------------------------------------------------------------------- programs
# One step: (op, i, j) reads the registers i and j (a register is a leaf or an earlier result) and appends
# op(reg[i], reg[j]). Ops are smooth and bounded on [-1, 1] so that float32 stays close to float64.
UNARY = ("sin", "tanh", "cos", "sq", "detach_mul", "exp", "sigmoid", "center")
BINARY = ("add", "mul", "sub", "mul_self", "div")
OPS = UNARY + BINARY


def _apply(op, a, b, detach):
    if op == "sin":
        return a.sin()
    if op == "cos":
        return a.cos()
    if op == "tanh":
        return a.tanh()
    if op == "sq":
        return a * a
    if op == "detach_mul":  # a * a.detach(): both operands share one array (naivegrad) / storage (torch)
        return a * detach(a)
    if op == "exp":  # its rule reads its own output
        return (a * 0.5).exp()
    if op == "sigmoid":
        return a.sigmoid()
    if op == "center":  # a reduction broadcast back (the mean of an empty tensor is nan in both)
        return a - (a.mean() if hasattr(a, "mean") else a)  # a Value is its own mean
    if op == "div":
        return a / (b * b + 1.5)
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "sub":
        return a - b
    if op == "mul_self":  # the same tensor three times in one expression
        return a * b * a
    raise AssertionError(op)


def _ng_detach(t):
    return t.detach()


def _torch_detach(t):
    return t.detach()


def run_program(program, leaves, detach):
    regs = list(leaves)
    for op, i, j in program:
        regs.append(_apply(op, regs[i % len(regs)], regs[j % len(regs)], detach))
    return regs


step = st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.integers(0, 20))
programs = st.lists(step, min_size=1, max_size=6)
shapes = st.sampled_from([(), (1,), (3,), (2, 2), (0,), (2, 0)])
dtypes = st.sampled_from([np.float64, np.float32])


def arrays(shape, dtype=np.float64):
    n = int(np.prod(shape, dtype=np.int64))
    return st.lists(st.floats(-1.0, 1.0, allow_nan=False, width=32), min_size=n, max_size=n).map(
        lambda xs: np.array(xs, dtype=dtype).reshape(shape))


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _np(x):
    if isinstance(x, Tensor):
        return np.asarray(x.data)
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def close(a, b, dtype=np.float64, what=""):
    if isinstance(a, Tensor):
        a = a.data
    if isinstance(b, torch.Tensor):
        b = b.detach().numpy()
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_allclose(a, b, err_msg=what, **tol(dtype))


def both(xs, dtype):
    ng = [Tensor(x.astype(dtype), requires_grad=True) for x in xs]
    th = [torch.tensor(x.astype(dtype), requires_grad=True) for x in xs]
    return ng, th


@st.composite
def cases(draw, n_leaves=2, dtype=None, broadcast=True):
    shape = draw(shapes)
    dt = draw(dtypes) if dtype is None else dtype
    # the second leaf may broadcast against the first: gradients are then summed over the broadcast axes
    other = draw(st.sampled_from([shape, (), shape[-1:]])) if broadcast else shape
    xs = [draw(arrays(shape))] + [draw(arrays(other)) for _ in range(n_leaves - 1)]
    return draw(programs), xs, dt


# ------------------------------------------------------------------------------------------- backward
@few
@given(case=cases(), seed_pair=st.tuples(st.floats(-2, 2, width=32), st.floats(-2, 2, width=32)))
def test_backward_twice_accumulates_into_leaves_as_torch(case, seed_pair):
    program, xs, dt = case
    ng, th = both(xs, dt)
    out_n = run_program(program, ng, _ng_detach)[-1]
    out_t = run_program(program, th, _torch_detach)[-1]
    close(out_n, out_t, dt, "forward")
    if not out_t.requires_grad:
        return
    for k, s in enumerate(seed_pair):
        g = np.full(out_n.shape, s, dtype=dt)
        last = k == len(seed_pair) - 1
        out_n.backward(g, retain_graph=not last)
        out_t.backward(torch.tensor(g), retain_graph=not last)
    for a, b in zip(ng, th):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad)
        else:
            assert a.grad.dtype == np.dtype(dt)
            close(a.grad, b.grad, dt, "leaf grad")
    if out_n._ctx is not None:
        # The graph was released by the last backward: a third one raises. (Stricter than torch, which
        # raises only when some node saved tensors: a graph of additions alone walks again there.)
        with pytest.raises(RuntimeError):
            out_n.backward(np.ones(out_n.shape, dtype=dt))


@few
@given(case=cases(), pick=st.integers(0, 20), retain=st.booleans())
def test_backward_inputs_naming_an_interior_node_or_a_leaf(case, pick, retain):
    program, xs, dt = case
    ng, th = both(xs, dt)
    regs_n = run_program(program, ng, _ng_detach)
    regs_t = run_program(program, th, _torch_detach)
    out_n, out_t = regs_n[-1].sum(), regs_t[-1].sum()
    k = pick % len(regs_n)
    if not regs_t[k].requires_grad or not out_t.requires_grad:
        return
    out_n.backward(inputs=[regs_n[k]], retain_graph=retain)
    out_t.backward(inputs=[regs_t[k]], retain_graph=retain)
    if regs_t[k].grad is None:
        assert regs_n[k].grad is None or not np.any(regs_n[k].grad)
    else:
        close(regs_n[k].grad, regs_t[k].grad, dt, "inputs= grad")
    for i, (a, b) in enumerate(zip(ng, th)):  # other leaves untouched
        if i != k:
            assert a.grad is None and b.grad is None


# ------------------------------------------------------------------------------------------- autograd.grad
@few
@given(case=cases(), data=st.data())
def test_autograd_grad_with_grad_outputs_and_second_derivative(case, data):
    program, xs, dt = case
    ng, th = both(xs, dt)
    regs_n = run_program(program, ng, _ng_detach)
    regs_t = run_program(program, th, _torch_detach)
    if not regs_t[-1].requires_grad:
        with pytest.raises(RuntimeError):
            ag.grad(regs_n[-1], ng)
        return
    # the inputs: both leaves and one interior node (possibly the output itself)
    k = data.draw(st.integers(0, len(regs_n) - 1))
    ins_n, ins_t = ng + [regs_n[k]], th + [regs_t[k]]
    if not ins_t[-1].requires_grad:
        ins_n, ins_t = ng, th
    v = data.draw(arrays(regs_n[-1].shape, dt))
    gn = ag.grad(regs_n[-1], ins_n, grad_outputs=[v], create_graph=True, allow_unused=True)
    gt = torch.autograd.grad(regs_t[-1], ins_t, grad_outputs=[torch.tensor(v)], create_graph=True,
                             allow_unused=True)
    for a, b in zip(gn, gt):
        if b is None:
            assert a is None or not np.any(a.data)
        else:
            assert a is not None and a.dtype == np.dtype(dt)
            close(a, b, dt, "first derivative")
    # d/dleaves of sum(g0 * w): a Hessian-vector product through the recorded backward
    w = data.draw(arrays(ng[0].shape, dt))
    g0n, g0t = gn[0], gt[0]
    if g0t is None or not g0t.requires_grad:
        return
    if g0n is None or not g0n.requires_grad:
        raise AssertionError("torch's gradient has a graph, naivegrad's does not")
    hn = ag.grad((g0n * Tensor(w)).sum(), ng, allow_unused=True)
    ht = torch.autograd.grad((g0t * torch.tensor(w)).sum(), th, allow_unused=True)
    for a, b in zip(hn, ht):
        if b is None:
            assert a is None or not np.any(a.data)
        else:
            assert a is not None
            close(a, b, dt, "second derivative")


@few
@given(case=cases(n_leaves=2))
def test_autograd_grad_releases_the_graph_unless_retained(case):
    program, xs, dt = case
    ng, _ = both(xs, dt)
    out = run_program(program, ng, _ng_detach)[-1].sum()
    if not out.requires_grad or out._ctx is None:
        return
    first = ag.grad(out, ng, allow_unused=True, retain_graph=True)
    again = ag.grad(out, ng, allow_unused=True)  # retained: the same numbers
    for a, b in zip(first, again):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(RuntimeError):
        ag.grad(out, ng, allow_unused=True)
    for x in ng:
        assert x.grad is None


# ------------------------------------------------------------------------------------------- hooks
@few
@given(case=cases(), pick=st.integers(0, 20), scales=st.lists(st.sampled_from([0.5, 2.0, -1.0]), min_size=1,
                                                               max_size=3), create_graph=st.booleans())
def test_hooks_on_leaves_and_interior_nodes(case, pick, scales, create_graph):
    program, xs, dt = case
    ng, th = both(xs, dt)
    regs_n = run_program(program, ng, _ng_detach)
    regs_t = run_program(program, th, _torch_detach)
    k = pick % len(regs_n)
    if not regs_t[k].requires_grad or not regs_t[-1].requires_grad:
        return
    seen_n, seen_t = [], []
    for s in scales:
        regs_n[k].register_hook(lambda g, s=s: (seen_n.append(s), g * s)[1])
        regs_t[k].register_hook(lambda g, s=s: (seen_t.append(s), g * s)[1])
    # a hook that returns None observes only
    regs_n[k].register_hook(lambda g: None)
    regs_t[k].register_hook(lambda g: None)
    out_n, out_t = regs_n[-1].sum(), regs_t[-1].sum()
    out_n.backward(create_graph=create_graph)
    out_t.backward(create_graph=create_graph)
    assert seen_n == seen_t
    for a, b in zip(ng, th):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.data if isinstance(a.grad, Tensor) else a.grad)
        else:
            close(a.grad.data if isinstance(a.grad, Tensor) else a.grad, b.grad, dt, "hooked grad")


# ------------------------------------------------------------------------------------------- func transforms
def _f_from(program, reduce=True):
    def f(x, y):
        if isinstance(y, np.ndarray):  # an argument not in argnums arrives as given
            y = Tensor(y) if isinstance(x, Tensor) else torch.tensor(y)
        out = run_program(program, [x, y], _ng_detach if isinstance(x, Tensor) else _torch_detach)[-1]
        out = out * 1.0 + x * 0.0  # always depends on x (torch.func returns zeros otherwise, as naivegrad)
        return out.sum() if reduce else out

    return f


def _to_torch(x):
    return torch.tensor(np.asarray(x))


@few
@given(case=cases(dtype=np.float64))
def test_func_grad_and_friends_match_torch_func(case):
    program, xs, dt = case
    f = _f_from(program)
    gn = F.grad(f, argnums=(0, 1))(*xs)
    gt = tfunc.grad(f, argnums=(0, 1))(*map(_to_torch, xs))
    for a, b in zip(gn, gt):
        close(a, b, dt, "func.grad")
    (vn, gn2) = F.value_and_grad(f)(*xs)
    (gn3, vn3) = F.grad_and_value(f)(*xs)
    (gt2, vt) = tfunc.grad_and_value(f)(*map(_to_torch, xs))
    close(vn, vt, dt, "value")
    close(vn3, vt, dt, "value")
    close(gn2, gt2, dt, "value_and_grad")
    close(gn3, gt2, dt, "grad_and_value")
    (ga, aux) = F.grad(lambda x, y: (f(x, y), x * 2.0), has_aux=True)(*xs)
    close(ga, gt2, dt, "has_aux")
    np.testing.assert_array_equal(aux.data, xs[0] * 2.0)


@few
@given(case=cases(dtype=np.float64), data=st.data())
def test_func_jacobians_vjp_jvp_hessian_hvp_match_torch_func(case, data):
    program, xs, dt = case
    if any(x.size == 0 for x in xs):  # torch.func's vmap fails on empty tensors: see the test by hand below
        return
    f = _f_from(program, reduce=False)
    fs = _f_from(program)
    tx = list(map(_to_torch, xs))
    close(F.jacrev(f)(*xs), tfunc.jacrev(f)(*tx), dt, "jacrev")
    close(F.jacfwd(f)(*xs), tfunc.jacfwd(f)(*tx), dt, "jacfwd")
    jn = F.jacrev(f, argnums=(0, 1))(*xs)
    jt = tfunc.jacrev(f, argnums=(0, 1))(*tx)
    for a, b in zip(jn, jt):
        close(a, b, dt, "jacrev argnums")
    u = data.draw(arrays(xs[0].shape))
    out_n, vjp_n = F.vjp(f, *xs)
    out_t, vjp_t = tfunc.vjp(f, *tx)
    close(out_n, out_t, dt, "vjp value")
    for a, b in zip(vjp_n(u), vjp_t(torch.tensor(u))):
        close(a, b, dt, "vjp")
    for a, b in zip(vjp_n(u * 2.0), vjp_t(torch.tensor(u * 2.0))):  # vjp_fn may be called again
        close(a, b, dt, "vjp again")
    t1, t2 = data.draw(arrays(xs[0].shape)), data.draw(arrays(xs[1].shape))
    pn, tn = F.jvp(f, tuple(xs), (t1, t2))
    pt, tt = tfunc.jvp(f, tuple(tx), (torch.tensor(t1), torch.tensor(t2)))
    close(pn, pt, dt, "jvp value")
    close(tn, tt, dt, "jvp tangent")
    close(F.hessian(fs)(*xs), tfunc.hessian(fs)(*tx), dt, "hessian")
    _, hv = F.hvp(fs, tuple(xs), (t1, t2))
    _, hvt = tfunc.jvp(tfunc.grad(fs, argnums=(0, 1)), tuple(tx), (torch.tensor(t1), torch.tensor(t2)))
    for a, b in zip(hv, hvt):
        close(a, b, dt, "hvp")
    close(F.jacfwd(F.jacrev(fs))(*xs), tfunc.jacfwd(tfunc.jacrev(fs))(*tx), dt, "jacfwd(jacrev)")
    close(F.grad(lambda x, y: F.grad(fs)(x, y).sum())(*xs),
          tfunc.grad(lambda x, y: tfunc.grad(fs)(x, y).sum())(*tx), dt, "grad(grad)")


@few
@given(case=cases(), data=st.data())
def test_func_results_keep_float32(case, data):
    program, xs, _ = case
    xs = [x.astype(np.float32) for x in xs]
    f = _f_from(program)
    g = F.grad(f)(*xs)
    assert g.dtype == np.float32
    assert F.jacrev(_f_from(program, reduce=False))(*xs).dtype == np.float32
    assert F.jacfwd(_f_from(program, reduce=False))(*xs).dtype == np.float32
    assert F.hessian(f)(*xs).dtype == np.float32
    gt = tfunc.grad(f)(*[torch.tensor(x) for x in xs])
    close(g, gt, np.float32, "float32 grad")


@few
@given(data=st.data(), program=programs, pytree=st.sampled_from(["dict", "list", "tuple"]))
def test_func_pytrees_match_torch_func(data, program, pytree):
    xs = [data.draw(arrays((2,))) for _ in range(2)]

    def pack(a, b):
        return {"a": a, "b": b} if pytree == "dict" else [a, b] if pytree == "list" else (a, b)

    def unpack(p):
        return (p["a"], p["b"]) if pytree == "dict" else tuple(p)

    def f(p):
        return _f_from(program)(*unpack(p))

    gn, gt = F.grad(f)(pack(*xs)), tfunc.grad(f)(pack(*map(_to_torch, xs)))
    for a, b in zip(unpack(gn), unpack(gt)):
        close(a, b, np.float64, "pytree grad")
    hn, ht = F.hessian(f)(pack(*xs)), tfunc.hessian(f)(pack(*map(_to_torch, xs)))
    for rn, rt in zip(unpack(hn), unpack(ht)):
        for a, b in zip(unpack(rn), unpack(rt)):
            close(a, b, np.float64, "pytree hessian")


@few
@given(program=programs, x=st.floats(-1, 1, width=32), y=st.floats(-1, 1, width=32))
def test_scalar_engine_agrees_with_tensor_engine(program, x, y):
    def f(a, b):
        regs = run_program(program, [a, b], lambda v: Value(v.data) if isinstance(v, Value) else v.detach())
        return regs[-1] * 1.0 + a * 0.0

    def fsum(a, b):
        out = f(a, b)
        return out.sum() if isinstance(out, Tensor) else out

    xs_t = (np.array(x), np.array(y))
    for name, tr in (("grad", lambda h: F.grad(h, argnums=(0, 1))),
                     ("hessian", lambda h: F.hessian(h, argnums=(0, 1))),
                     ("jacfwd", lambda h: F.jacfwd(h, argnums=(0, 1))),
                     ("jacrev", lambda h: F.jacrev(h, argnums=(0, 1))),
                     ("hvp", lambda h: lambda a, b: F.hvp(h, (a, b), (0.5, -1.5))[1]),
                     ("vjp", lambda h: lambda a, b: F.vjp(h, a, b)[1](2.0)),
                     ("jvp", lambda h: lambda a, b: F.jvp(h, (a, b), (0.5, -1.5))[1]),
                     ("grad(grad)", lambda h: F.grad(lambda a, b: F.grad(h, argnums=(0, 1))(a, b)[1] * a,
                                                     argnums=(0, 1)))):
        s = tr(fsum)(x, y)
        t = tr(fsum)(*xs_t)
        flat_s = np.array([float(v.data) if isinstance(v, Value) else v for v in np.ravel(np.array(s, dtype=object))],
                          dtype=np.float64)
        flat_t = np.array([float(np.asarray(v.data if isinstance(v, Tensor) else v))
                           for v in np.ravel(np.array(t, dtype=object))])
        np.testing.assert_allclose(flat_s, flat_t, rtol=1e-9, atol=1e-12, err_msg=name)
    # autograd.grad on both engines, a second derivative through create_graph
    a, b = Value(x), Value(y)
    (ga,) = ag.grad(f(a, b), [a], create_graph=True)
    (ha,) = ag.grad(ga, [a], allow_unused=True)
    ta, tb = Tensor(np.array(x), requires_grad=True), Tensor(np.array(y), requires_grad=True)
    (gt,) = ag.grad(f(ta, tb), [ta], create_graph=True)
    np.testing.assert_allclose(ga.data, gt.data, rtol=1e-9, atol=1e-12)
    ht = ag.grad(gt, [ta], allow_unused=True)[0] if gt.requires_grad else None
    hs = 0.0 if ha is None else ha.data
    np.testing.assert_allclose(hs, 0.0 if ht is None else ht.data, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------- edges, by hand
def test_transforms_inside_no_grad_and_no_grad_inside_transforms():
    x = np.array([0.5, -1.2, 2.0])
    tx = torch.tensor(x)

    def inner(a):
        with no_grad():
            c = (a * a * a).sum()
        return (a * a).sum() + c

    def tinner(a):
        with torch.no_grad():
            c = (a * a * a).sum()
        return (a * a).sum() + c

    close(F.grad(inner)(x), tfunc.grad(tinner)(tx))
    with no_grad():
        close(F.grad(lambda a: (a * a * a).sum())(x), 3 * x * x)
        close(F.hessian(lambda a: (a * a * a).sum())(x), np.diag(6 * x))
        assert F.grad(lambda a: a * a * a)(2.0).data == 12.0


def test_integer_inputs_differentiate_as_float64():
    g = F.grad(lambda a: (a * a).sum())(np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.data, [2.0, 4.0, 6.0])
    out, tan = F.jvp(lambda a: a * a, (np.array([1, 2]),), (np.array([1, 1]),))
    np.testing.assert_array_equal(tan, [2.0, 4.0])


def test_an_input_that_is_an_output_and_an_input_named_twice():
    x = Tensor(np.array(2.0), requires_grad=True)
    y = x * 3.0
    gy, gx = ag.grad(y, [y, x])
    assert gy.data == 1.0 and gx.data == 3.0
    (gl,) = ag.grad(x, [x])
    assert gl.data == 1.0
    z = (x * x).sum()
    g1, g2 = ag.grad(z, [x, x])
    assert g1.data == g2.data == 4.0
    a = Value(2.0)
    assert [g.data for g in ag.grad(a * a * 3.0, [a, a])] == [12.0, 12.0]


def test_non_finite_values_propagate_as_torch():
    x = np.array([0.0, -1.0, 4.0])
    with np.errstate(all="ignore"):
        gn = F.grad(lambda a: a.sqrt().sum())(x)
    gt = tfunc.grad(lambda a: a.sqrt().sum())(torch.tensor(x))
    np.testing.assert_array_equal(gn.data, gt.numpy())


# ------------------------------------------------------------------------------------------- regressions
def test_second_derivative_through_x_times_x_detached_matches_torch():
    """x * x.detach(): both operands share one array; lifting the rule for create_graph matched saved arrays
    to operands by identity alone, so the detached operand became x and d2/dx2 sum(x * x.detach() * x) came
    out 3 instead of 2 (a silent wrong answer; also in func.grad(func.grad(...)))."""
    x = np.array([0.5, -1.2, 2.0])
    xn = Tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (gn,) = ag.grad((xn * xn.detach()).sum(), [xn], create_graph=True)
    (gt,) = torch.autograd.grad((xt * xt.detach()).sum(), [xt], create_graph=True)
    close(gn, gt)
    assert gn.requires_grad == gt.requires_grad is False
    (gn,) = ag.grad((xn * xn.detach() * xn).sum(), [xn], create_graph=True)
    (gt,) = torch.autograd.grad((xt * xt.detach() * xt).sum(), [xt], create_graph=True)
    close(ag.grad(gn.sum(), [xn])[0], torch.autograd.grad(gt.sum(), [xt])[0])
    close(F.grad(lambda b: F.grad(lambda a: (a * a.detach() * a).sum())(b).sum())(x),
          tfunc.grad(lambda b: tfunc.grad(lambda a: (a * a.detach() * a).sum())(b).sum())(torch.tensor(x)))
    # the detached operand first
    (gn,) = ag.grad((xn.detach() * xn * xn).sum(), [xn], create_graph=True)
    (gt,) = torch.autograd.grad((xt.detach() * xt * xt).sum(), [xt], create_graph=True)
    close(ag.grad(gn.sum(), [xn])[0], torch.autograd.grad(gt.sum(), [xt])[0])


def test_empty_jacobians_keep_the_dtype_as_torch_func():
    """An empty Jacobian (no output or no input numbers) came back float64 from float32 arguments: the dtype was
    taken from the rows / columns, and there were none. torch.func: the input's dtype for jacrev, the output's
    for jacfwd (as for non-empty Jacobians)."""
    x0 = np.ones(0, dtype=np.float32)
    assert F.jacrev(lambda a: a * 2.0)(x0).dtype == np.float32
    assert F.jacfwd(lambda a: a * 2.0)(x0).dtype == np.float32
    assert F.jacrev(lambda a: a * 2.0)(np.ones((2, 0), dtype=np.float32)).shape == (2, 0, 2, 0)
    assert F.hessian(lambda a: (a * a).sum())(x0).dtype == np.float32
    assert F.jacrev(lambda a: a.double() * 2.0)(x0).dtype == np.float32
    assert F.jacfwd(lambda a: a.double() * 2.0)(x0).dtype == np.float64
    assert F.jacfwd(F.jacrev(lambda a: (a * a).sum()))(x0).dtype == np.float32
    t0 = torch.ones(0)
    assert tfunc.jacrev(lambda a: a * 2.0)(t0).dtype == torch.float32
    assert tfunc.jacfwd(lambda a: a.double() * 2.0)(t0).dtype == torch.float64
    # non-empty, for comparison
    x = np.ones(2, dtype=np.float32)
    assert F.jacrev(lambda a: a.double() * 2.0)(x).dtype == np.float32
    assert F.jacfwd(lambda a: a.double() * 2.0)(x).dtype == np.float64


def test_backward_with_empty_inputs_raises_as_torch():
    """backward(inputs=[]) returned silently having updated nothing (an empty parameter list, say)."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="inputs is empty"):
        (x * x).sum().backward(inputs=[])
    assert x.grad is None
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (tx * tx).sum().backward(inputs=[])


def test_a_hooked_interior_input_of_autograd_grad_gets_the_hooked_gradient():
    """naivegrad applies an interior tensor's hooks before reporting its gradient, as torch's backward(inputs=)
    and torch.autograd.grad with that tensor alone as input do. (torch.autograd.grad(z, [x, y]) returns y's
    gradient before y's hooks, though the hooked one flows on to x: a torch inconsistency, not followed.)"""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 3)
    gx, gy = ag.grad((y * y).sum(), [x, y])
    np.testing.assert_array_equal(gx.data, [12.0, 96.0])
    np.testing.assert_array_equal(gy.data, [6.0, 24.0])
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ty = tx * tx
    ty.register_hook(lambda g: g * 3)
    (ty * ty).sum().backward(inputs=[tx, ty])
    close(gx, tx.grad)
    close(gy, ty.grad)


@pytest.mark.parametrize("how", ["grad", "backward_inputs"])
def test_gradients_of_an_interior_node_run_nothing_below_it(how):
    """autograd.grad(z, [y]) / z.backward(inputs=[y]) walked the whole graph: the hooks of tensors below y ran
    (torch runs none), and with retain_graph=False the graph below y was released, so a later backward through
    it raised where torch's works. Only the nodes leading to the inputs run now."""
    results = []
    for lib in ("naivegrad", "torch"):
        calls = []
        if lib == "naivegrad":
            x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        else:
            x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        x.register_hook(lambda g: calls.append("x"))
        w = x * x
        w.register_hook(lambda g: calls.append("w"))
        y = w.sin()
        y.register_hook(lambda g: calls.append("y"))
        z = (y * y).sum()
        if how == "grad":
            (gy,) = (ag.grad if lib == "naivegrad" else torch.autograd.grad)(z, [y])
        else:
            z.backward(inputs=[y])
            gy = y.grad
        (w * 3.0).sum().backward()  # the graph below y is still there
        results.append((calls, _np(gy), _np(x.grad)))
    (cn, gn, xn), (ct, gt, xt) = results
    assert cn == ct == ["y", "w", "x"]  # y's in the first walk, w's and x's in the second only
    np.testing.assert_allclose(gn, gt)
    np.testing.assert_allclose(xn, xt)


@few
@given(case=cases(dtype=np.float64, broadcast=False))
def test_transforms_of_primals_that_require_grad_stay_differentiable_as_torch_func(case):
    """grad / value_and_grad / vjp / jvp of a Tensor that requires grad gave constants, cut from it: a loss
    built from them and the primal (a gradient penalty, say) backpropagated only its direct use, silently.
    torch.func's results lead back to the primal; the tensor engine's now do too (as the scalar engine's)."""
    program, xs, dt = case
    f = _f_from(program)
    fo = _f_from(program, reduce=False)
    for which in ("grad", "value", "vjp", "jvp"):
        grads = []
        for lib in ("naivegrad", "torch"):
            if lib == "naivegrad":
                X, Y = (Tensor(x, requires_grad=True) for x in xs)
                fun = F
            else:
                X, Y = (torch.tensor(x, requires_grad=True) for x in xs)
                fun = tfunc
            if which == "grad":
                r = fun.grad(f)(X, Y)
            elif which == "value":
                r = (fun.grad_and_value(f)(X, Y)[1] if lib == "torch" else F.value_and_grad(f)(X, Y)[0]) * 1.0
            elif which == "vjp":
                out, fn = fun.vjp(fo, X, Y)
                r = fn(out.detach() * 0.0 + 1.0)[0] + out
            else:
                ones = (np.ones(xs[0].shape), np.ones(xs[1].shape))
                if lib == "torch":
                    ones = tuple(torch.tensor(o) for o in ones)
                r = fun.jvp(fo, (X, Y), ones)[0]
            loss = (r * X * X).sum()
            if loss.requires_grad:
                loss.backward()
            grads.append((_np(X.grad) if X.grad is not None else np.zeros(xs[0].shape),
                          _np(Y.grad) if Y.grad is not None else np.zeros(xs[1].shape)))
        (xn, yn), (xt, yt) = grads
        close(xn, xt, dt, which + " x")
        close(yn, yt, dt, which + " y")


def test_grad_of_a_primal_that_requires_grad_then_backward_matches_torch():
    x = np.array([0.5, -1.2, 2.0])
    X = Tensor(x, requires_grad=True)
    g = F.grad(lambda a: (a * a * a).sum())(X)
    assert g.requires_grad
    (g * X).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    (tfunc.grad(lambda a: (a * a * a).sum())(tx) * tx).sum().backward()
    close(X.grad, tx.grad)  # 9 x**2, not the 3 x**2 of a constant gradient
    with no_grad():  # grad mode off: constants, as torch
        assert not F.grad(lambda a: (a * a * a).sum())(Tensor(x, requires_grad=True)).requires_grad


@few
@given(case=cases(dtype=np.float64, broadcast=False), which=st.sampled_from(["grad", "vjp", "hvp", "grad(grad)"]))
def test_gradients_depend_on_the_parameters_f_closes_over_as_torch_func(case, which):
    """f closing over a leaf that requires grad (a model's weight): grad(f)(x) is a function of that weight,
    and a loss built from it (a gradient penalty) must backpropagate into it. The tensor and scalar engines
    returned constants (the penalty's share of the weight's gradient silently missing)."""
    program, xs, dt = case
    results = []
    for lib in ("naivegrad", "torch"):
        fun = F if lib == "naivegrad" else tfunc
        W = Tensor(xs[1], requires_grad=True) if lib == "naivegrad" else torch.tensor(xs[1], requires_grad=True)
        x = xs[0] if lib == "naivegrad" else torch.tensor(xs[0])
        ones = np.ones(xs[0].shape) if lib == "naivegrad" else torch.ones(xs[0].shape, dtype=torch.float64)

        def f(a):
            return run_program(program, [a, W], _ng_detach if lib == "naivegrad" else _torch_detach)[-1].sum() \
                + (a * 0.0).sum()

        if which == "grad":
            g = fun.grad(f)(x)
        elif which == "vjp":
            g = fun.vjp(lambda a: f(a) * ones, x)[1](ones)[0]
        elif which == "hvp":
            g = (F.hvp(f, x, ones)[1] if lib == "naivegrad"
                 else tfunc.jvp(tfunc.grad(f), (x,), (ones,))[1])
        else:
            g = fun.grad(lambda a: fun.grad(f)(a).sum())(x)
        loss = (g * g).sum() + (W * 0.5).sum()
        loss.backward()
        results.append(_np(W.grad))
    close(results[0], results[1], dt, which)


def test_scalar_gradients_depend_on_the_values_f_closes_over():
    v = Value(2.0)
    g = F.grad(lambda a: a * a * v)(3.0)  # 2 a v
    (g * g + v * v).backward()
    assert v.grad == 2 * (2 * 3.0 * 2.0) * (2 * 3.0) + 2 * 2.0
    (gv,) = ag.grad(F.grad(lambda a: a * a * v)(3.0), [v])
    assert gv.data == 6.0
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (gw,) = ag.grad(F.grad(lambda a: (a * a * w).sum())(np.array([3.0, 4.0])).sum(), [w])
    np.testing.assert_array_equal(gw.data, [6.0, 8.0])  # d/dw sum(2 a w) = 2 a
    # what needs no graph stays without one: constants closed over, grad mode off, Jacobians (arrays)
    c = Tensor(np.array([1.0, 2.0]), requires_grad=False)
    assert not F.grad(lambda a: (a * a * c).sum())(np.array([3.0, 4.0])).requires_grad
    with no_grad():
        assert not F.grad(lambda a: (a * a * w).sum())(np.array([3.0, 4.0])).requires_grad
    assert isinstance(F.jacrev(lambda a: a * w)(np.array([3.0, 4.0])), np.ndarray)
