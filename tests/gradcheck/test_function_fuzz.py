"""Differential fuzz of the custom-``Function`` API and of ``gradcheck`` against ``torch.autograd.Function`` and
``torch.autograd.gradcheck`` / ``gradgradcheck``.

The same op is written twice from one recipe (a forward and its local derivatives, on numpy or torch): a
naivegrad ``Function`` and a ``torch.autograd.Function`` (setup_context style, so that ``torch.func`` runs it).
Deliberately wrong versions (off by a factor, a wrong sign on one input, wrong only at some points, a gradient
dropped, a missing term for a repeated input, a wrong ``jvp``, a second derivative that treats a derivative as
a constant) then go through both gradcheckers, which must agree on pass and fail at the same eps/atol/rtol.

Differences from PyTorch left on purpose (not asserted as bugs):

- a ``Function`` has one output, a numpy array: torch's several outputs (a tuple) are not supported, and
  ``forward`` returning a tuple or a list raises TypeError naming the Function (it used to be stacked into one
  Tensor silently);
- no ``mark_non_differentiable``, ``set_materialize_grads``, ``mark_dirty`` nor ``once_differentiable``: the
  output always requires grad when an input does, ``backward`` always gets an array, and a ``backward`` run
  under ``create_graph`` is differentiated again (or raises, naming the op, if it reads a derived array);
- a gradient of the wrong shape raises ValueError naming the Function and both shapes, also where torch
  sums a broadcastable one down to the input's shape (``(2, 3)`` for a ``(3,)`` input);
- ``backward`` must return exactly one gradient per positional argument: torch also accepts extra trailing
  Nones; naivegrad raises TypeError (loud, never a wrong gradient);
- ``backward`` may return plain numbers for a 0-d input (torch wants Tensors or None); bool and integer
  gradients are cast to the input's dtype, as torch does; complex ones raise, as in torch;
- an integer output of a ``Function`` whose input requires grad requires grad too (torch makes it
  non-differentiable);
- a ``jvp`` returning a tangent of the wrong shape raises ValueError naming the Function, as torch; its dtype is
  kept as returned (float32, complex), as ``torch.func.jvp`` keeps it;
- ``jvp`` receives None for an argument without a tangent (a non-Tensor, or a Tensor without one), where torch
  passes zeros; ``ctx.needs_input_grad`` is also set during ``forward`` (torch: in ``backward`` only, for
  setup_context-style Functions);
- gradcheck: the tolerance rule is torch's (``|analytic - numerical| <= atol + rtol * |numerical|``, with the
  same central differences), but naivegrad computes in float64 whatever the inputs' dtype, and compares forward
  mode by default wherever every op has a ``jvp`` (torch only with ``check_forward_ad=True``, which is what
  these tests pass), and accepts integer arrays as inputs (torch: float or complex inputs only). torch reports
  the first mismatching input and prints whole Jacobians; naivegrad reports the worst element (mode, input,
  index, output, analytic vs numerical). torch's extra checks (backward reentrancy, undefined output
  gradients, batched gradients) have no counterpart. One object passed as two inputs (``(x, x)``) is two
  independent inputs in naivegrad, one tensor in torch: torch then compares the sums of both inputs'
  derivatives, and passes a rule that swaps them; naivegrad compares each and fails it (as it should).
"""

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

torch = pytest.importorskip("torch")

from naivegrad import Value, autograd, func  # noqa: E402
from naivegrad.gradcheck import GradcheckError, check_gradients, gradcheck, gradgradcheck  # noqa: E402
from naivegrad.scalar.value import Op, _unary  # noqa: E402
from naivegrad.tensor import Function, Tensor  # noqa: E402


def examples(n):
    """``n`` examples in the default profile, proportionally more under ``--deep`` (60 is the default's count)."""
    return settings(max_examples=max(n, n * settings.default.max_examples // 60))


# ---------------------------------------------------------------------------------------------- the ops
# Each op: forward f(L, x, y) and its local derivatives d(L, x, y) -> (df/dx, df/dy), written once for L = np
# (naivegrad, numpy arrays or, under create_graph, Tensors) and L = torch.
def _where(L, c, a, b):
    return c * a + (1 - c) * b  # a mask as 0/1 numbers: the same on ndarrays, Tensors and torch tensors


OPS = {
    "mul": (lambda L, x, y: x * y, lambda L, x, y: (y, x)),
    "sinmul": (lambda L, x, y: L.sin(x) * y, lambda L, x, y: (L.cos(x) * y, L.sin(x))),
    "expdiv": (lambda L, x, y: L.exp(x) / (1 + y * y),
               lambda L, x, y: (L.exp(x) / (1 + y * y), -2 * y * L.exp(x) / ((1 + y * y) * (1 + y * y)))),
    "tanh": (lambda L, x, y: L.tanh(x + 2 * y),
             lambda L, x, y: (1 - L.tanh(x + 2 * y) ** 2, 2 * (1 - L.tanh(x + 2 * y) ** 2))),
}

# A mutation: (kind, argument, which input) with kind one of None (correct), "factor", "sign", "points"
# (wrong by 1.5x where x > 0.3), "drop" (None for the input), "jvp" (forward mode off by the factor).
MUTATIONS = st.one_of(
    st.just((None, None, 0)),
    st.tuples(st.just("factor"), st.sampled_from([1 + 1e-9, 1.02, 2.0, 0.5, 0.0]), st.integers(0, 1)),
    st.tuples(st.just("sign"), st.none(), st.integers(0, 1)),
    st.tuples(st.just("points"), st.none(), st.integers(0, 1)),
    st.tuples(st.just("drop"), st.none(), st.integers(0, 1)),
    st.tuples(st.just("jvp"), st.sampled_from([1.02, 2.0, -1.0]), st.integers(0, 1)),
)


def _mutate(L, x, ds, mutation, mode):
    """The local derivatives ``ds`` as the (possibly wrong) rule gives them in ``mode`` ("rev" or "fwd")."""
    kind, arg, which = mutation
    if kind is None or (kind == "jvp") != (mode == "fwd"):
        return ds
    ds = list(ds)
    d = ds[which]
    if kind in ("factor", "jvp"):
        ds[which] = d * arg
    elif kind == "sign":
        ds[which] = -d
    elif kind == "points":
        ds[which] = d * _where(L, (x > 0.3) * 1.0, 1.5, 1.0)
    elif kind == "drop":
        ds[which] = None
    return tuple(ds)


LOG = []  # (engine, place, needs_input_grad) per call, for the needs_input_grad comparisons


def make_naivegrad(op, mutation=(None, None, 0)):
    f, d = OPS[op]

    class NgOp(Function):
        @staticmethod
        def forward(ctx, x, y):
            LOG.append(("ng", "forward", tuple(ctx.needs_input_grad)))
            ctx.save_for_backward(x, y)
            return f(np, x, y)

        @staticmethod
        def backward(ctx, g):
            LOG.append(("ng", "backward", tuple(ctx.needs_input_grad)))
            x, y = ctx.saved_tensors
            ds = _mutate(np, x, d(np, x, y), mutation, "rev")
            return tuple(None if di is None or not need else g * di for di, need in zip(ds, ctx.needs_input_grad))

        @staticmethod
        def jvp(ctx, tx, ty):
            x, y = ctx.saved_tensors
            ds = _mutate(np, x, d(np, x, y), mutation, "fwd")
            out = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)))
            for t, di in zip((tx, ty), ds):
                if t is not None and di is not None:
                    out = out + t * di
            return out

    NgOp.__name__ = NgOp.__qualname__ = f"Ng_{op}"
    return NgOp


def make_torch(op, mutation=(None, None, 0)):
    f, d = OPS[op]

    class TorchOp(torch.autograd.Function):
        generate_vmap_rule = True  # for torch.func.jacfwd

        @staticmethod
        def forward(x, y):
            return f(torch, x, y)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y = inputs
            ctx.constants = [not isinstance(a, torch.Tensor) for a in inputs]
            tensors = [torch.as_tensor(a, dtype=torch.float64) if c else a for a, c in zip(inputs, ctx.constants)]
            ctx.save_for_backward(*[a for a, c in zip(inputs, ctx.constants) if not c])
            ctx.save_for_forward(*[a for a, c in zip(inputs, ctx.constants) if not c])
            ctx.plain = [a if c else None for a, c in zip(tensors, ctx.constants)]

        @staticmethod
        def _inputs(ctx):
            saved = iter(ctx.saved_tensors)
            return [p if c else next(saved) for p, c in zip(ctx.plain, ctx.constants)]

        @staticmethod
        def backward(ctx, g):
            LOG.append(("torch", "backward", tuple(ctx.needs_input_grad)))
            x, y = TorchOp._inputs(ctx)
            ds = _mutate(torch, x, d(torch, x, y), mutation, "rev")
            return tuple(None if di is None or not need else g * di for di, need in zip(ds, ctx.needs_input_grad))

        @staticmethod
        def jvp(ctx, tx, ty):
            x, y = TorchOp._inputs(ctx)
            ds = _mutate(torch, x, d(torch, x, y), mutation, "fwd")
            out = torch.zeros(torch.broadcast_shapes(x.shape, y.shape), dtype=torch.float64)
            for t, di in zip((tx, ty), ds):
                if t is not None and di is not None:
                    out = out + t * di
            return out

    TorchOp.__name__ = TorchOp.__qualname__ = f"Torch_{op}"
    return TorchOp


# How the op is used by the function under check: each form maps (F, inputs) to the output, and says how many
# inputs it takes. "repeated" passes one input twice (its gradient is the sum of both terms), "chain" uses the
# Function twice in one graph (gradients accumulate across the uses), "const" mixes in a constant argument.
FORMS = {
    "plain": (2, lambda F, x, y: F.apply(x, y)),
    "repeated": (1, lambda F, x: F.apply(x, x)),
    "chain": (2, lambda F, x, y: F.apply(F.apply(x, y), y)),
    "const": (1, lambda F, x: F.apply(x, 0.7)),
}

SHAPES = st.sampled_from([(), (1,), (3,), (2, 3)])


def _data(draw, shape):
    n = int(np.prod(shape))
    xs = draw(st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=n, max_size=n))
    return np.array(xs, dtype=np.float64).reshape(shape)


@st.composite
def cases(draw, forms=tuple(FORMS)):
    op = draw(st.sampled_from(sorted(OPS)))
    form = draw(st.sampled_from(forms))
    shape = draw(SHAPES)
    n = FORMS[form][0]
    xs = [_data(draw, shape) for _ in range(n)]
    return op, form, xs


def _near_boundary(result, atol, rtol):
    """True when some element's |analytic - numerical| is within 1% of the tolerance: there rounding (numpy's
    and torch's libm, their finite differences) may decide, and the two checkers may fairly disagree."""
    for jac in result.jacobians.values():
        for A, N in zip(jac, result.numerical):
            allowed = atol + rtol * np.abs(N)
            gap = np.abs(np.abs(A - N) - allowed)
            if np.any(gap <= 0.01 * allowed + 1e-12):
                return True
    return False


def _torch_inputs(xs):
    return tuple(torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs)


TORCH_MISMATCH = re.compile(r"mismatch for output (\d+) with respect to input (\d+)")


# ---------------------------------------------------------------------------------------------- gradcheck
@given(cases(), MUTATIONS, st.sampled_from([1e-6, 1e-5, 1e-4]), st.sampled_from([1e-5, 1e-7, 1e-3]),
       st.sampled_from([1e-3, 1e-2, 0.0]))
@examples(80)
def test_gradcheck_agrees_with_torch_on_right_and_wrong_rules(case, mutation, eps, atol, rtol):
    op, form, xs = case
    n, use = FORMS[form]
    kind, _, which = mutation
    if form == "const":  # the second argument is the number 0.7: a mutation there changes nothing
        which = 0
        mutation = (kind, mutation[1], which)
    F, TF = make_naivegrad(op, mutation), make_torch(op, mutation)
    result = check_gradients(lambda *a: use(F, *a), tuple(xs), eps, atol, rtol)
    assume(not _near_boundary(result, atol, rtol))
    ok_torch = torch.autograd.gradcheck(lambda *a: use(TF, *a), _torch_inputs(xs), eps=eps, atol=atol, rtol=rtol,
                                        raise_exception=False, check_forward_ad=True)
    assert result.ok == ok_torch, (str(result), mutation)
    assert gradcheck(lambda *a: use(F, *a), tuple(xs), eps, atol, rtol) is result.ok
    if kind is None and (eps, atol, rtol) == (1e-6, 1e-5, 1e-3):  # a right rule passes at torch's defaults
        assert result.ok
    if result.ok:
        return
    # Both name the input (for one input changed, the same); naivegrad also the worst element and its mode.
    with pytest.raises(GradcheckError) as naive_error:
        gradcheck(lambda *a: use(F, *a), tuple(xs), eps, atol, rtol, raise_exception=True)
    with pytest.raises(Exception) as torch_error:
        torch.autograd.gradcheck(lambda *a: use(TF, *a), _torch_inputs(xs), eps=eps, atol=atol, rtol=rtol,
                                 check_forward_ad=True)
    worst = naive_error.value.result.worst
    message = str(naive_error.value)
    assert f"input #{worst.input}" in message and repr(worst.analytic) in message
    assert repr(worst.numerical) in message and f"{worst.mode} mode" in message
    assert (worst.mode == "forward") == (kind == "jvp")
    match = TORCH_MISMATCH.search(str(torch_error.value))
    if match and form in ("plain", "const"):  # one input's rule changed: both blame that input
        assert worst.input == int(match.group(2)) == (which if form == "plain" else 0)


@given(cases(forms=("plain", "repeated")), st.sampled_from([None, 1.02, -1.0]))
@examples(20)
def test_gradcheck_forward_mode_alone_and_jvp_through_torch_func(case, factor):
    op, form, xs = case
    n, use = FORMS[form]
    mutation = (None, None, 0) if factor is None else ("jvp", factor, 0)
    F, TF = make_naivegrad(op, mutation), make_torch(op, mutation)
    tangents = [np.cos(3 * x + k) for k, x in enumerate(xs)]
    value, tangent = func.jvp(lambda *a: use(F, *a), tuple(xs), tuple(tangents))
    t_value, t_tangent = torch.func.jvp(lambda *a: use(TF, *a), tuple(torch.tensor(x) for x in xs),
                                        tuple(torch.tensor(t) for t in tangents))
    np.testing.assert_allclose(np.asarray(getattr(value, "data", value)), t_value.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(getattr(tangent, "data", tangent)), t_tangent.numpy(), rtol=1e-12,
                               atol=1e-12)
    jac = func.jacfwd(lambda *a: use(F, *a), argnums=tuple(range(n)))(*xs)
    t_jac = torch.func.jacfwd(lambda *a: use(TF, *a), argnums=tuple(range(n)))(*[torch.tensor(x) for x in xs])
    for J, tJ in zip(jac, t_jac):
        np.testing.assert_allclose(np.asarray(J), tJ.numpy(), rtol=1e-12, atol=1e-12)
    result = check_gradients(lambda *a: use(F, *a), tuple(xs), modes=("forward",))
    assume(not _near_boundary(result, 1e-5, 1e-3))
    ok_torch = torch.autograd.gradcheck(lambda *a: use(TF, *a), _torch_inputs(xs), raise_exception=False,
                                        check_forward_ad=True, check_backward_ad=False)
    assert result.ok == ok_torch


def test_raise_exception_false_returns_false_and_true_raises_naming_the_worst_element():
    F = make_naivegrad("sinmul", ("sign", None, 1))
    x, y = np.array([0.1, 0.5, -0.4]), np.array([1.0, -2.0, 0.3])
    assert gradcheck(F.apply, (x, y)) is False
    assert gradcheck(F.apply, (x, y), raise_exception=False) is False
    with pytest.raises(GradcheckError, match=r"d output #0 at \[1\] / d input #1 at \[1\]"):
        gradcheck(F.apply, (x, y), raise_exception=True)
    assert torch.autograd.gradcheck(make_torch("sinmul", ("sign", None, 1)).apply, _torch_inputs((x, y)),
                                    raise_exception=False) is False


def test_one_array_passed_as_two_inputs_is_checked_per_input():
    """The documented difference: torch sums over an aliased input and accepts these swapped gradients."""
    F = make_naivegrad("sinmul")
    a = np.array([0.3, 0.7])
    assert gradcheck(F.apply, (a, a))

    class Swapped(Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return np.sin(x) * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * np.sin(x), g * np.cos(x) * y

    assert not gradcheck(Swapped.apply, (a, a), modes=("reverse",))
    TF = make_torch("sinmul")
    x = torch.tensor(a, requires_grad=True)
    assert torch.autograd.gradcheck(TF.apply, (x, x))


# ---------------------------------------------------------------------------------------------- second order
def _ng_sin(factor):
    """sin, whose backward is written with a cos ``Function`` (its derivative off by ``factor``): differentiable
    again through that Function's rule."""

    class NgCos(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.cos(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return -factor * g * np.sin(x)

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return -factor * np.sin(x) * t

    class NgSin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            c = NgCos.apply(x)  # a Tensor in a create_graph backward (x is then the operand), else a constant
            return g * (c if isinstance(x, Tensor) else c.data)

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return np.cos(x) * t

    return NgSin


def _torch_sin(factor, frozen):
    class TCos(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.cos(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return -factor * g * torch.sin(x)

    class TSin(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (torch.cos(x.detach()) if frozen else TCos.apply(x))

    return TSin


class NgSinFrozen(Function):
    """sin whose backward reads a copy of x kept as an attribute: a constant, so its second derivative is 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.frozen = x.copy()
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        return g * np.cos(ctx.frozen)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return np.cos(x) * t


@given(st.sampled_from([1.0, 1.0 + 1e-9, 0.5, -1.0, "frozen"]), SHAPES, st.data())
@examples(25)
def test_gradgradcheck_agrees_with_torch_on_second_order_mistakes(factor, shape, data):
    x = _data(data.draw, shape) + 0.2  # away from sin's and cos's zeros at 0
    frozen = factor == "frozen"
    F = NgSinFrozen if frozen else _ng_sin(factor)
    TF = _torch_sin(1.0 if frozen else factor, frozen)
    assert gradcheck(F.apply, x)  # the first derivative is right in every case
    ok = gradgradcheck(F.apply, x, modes=("reverse",))
    ok_torch = torch.autograd.gradgradcheck(TF.apply, _torch_inputs([x]), raise_exception=False)
    assert ok == ok_torch
    assert ok == (factor in (1.0, 1.0 + 1e-9)) or not np.any(np.abs(np.sin(x)) > 1e-3)


@given(cases(forms=("plain", "repeated", "chain")), st.data())
@examples(25)
def test_second_order_through_a_function_backward_written_with_tensor_ops(case, data):
    """create_graph=True runs the same numpy backward on Tensors; its Hessian-vector product == torch's."""
    op, form, xs = case
    n, use = FORMS[form]
    F, TF = make_naivegrad(op), make_torch(op)
    v = [np.cos(5 * x + 1) for x in xs]
    ts = [Tensor(x.copy(), requires_grad=True) for x in xs]
    out = use(F, *ts)
    grads = autograd.grad((out * out).sum(), ts, create_graph=True)
    hv = autograd.grad(sum((g * Tensor(vi, requires_grad=False)).sum() for g, vi in zip(grads, v)), ts)
    tts = _torch_inputs(xs)
    t_out = use(TF, *tts)
    t_grads = torch.autograd.grad((t_out * t_out).sum(), tts, create_graph=True)
    t_hv = torch.autograd.grad(sum((g * torch.tensor(vi)).sum() for g, vi in zip(t_grads, v)), tts)
    for a, b in zip(hv, t_hv):
        np.testing.assert_allclose(np.asarray(a.data if isinstance(a, Tensor) else a), b.numpy(), rtol=1e-10,
                                   atol=1e-12)


# ---------------------------------------------------------------------------------------------- semantics
@given(cases(), st.tuples(st.booleans(), st.booleans()), st.data())
@examples(40)
def test_gradients_and_needs_input_grad_match_torch(case, requires, data):
    """Gradients (None where torch's are None), accumulation across uses and into .grad over two backwards,
    and the ``needs_input_grad`` each backward sees."""
    op, form, xs = case
    n, use = FORMS[form]
    requires = requires[:n] if any(requires[:n]) else (True,) + requires[1:n]
    F, TF = make_naivegrad(op), make_torch(op)
    w = np.cos(np.arange(max(1, xs[0].size)) + 0.5).reshape(xs[0].shape) if xs[0].size else np.zeros(xs[0].shape)
    ts = [Tensor(x.copy(), requires_grad=r) for x, r in zip(xs, requires)]
    tts = [torch.tensor(x, requires_grad=r) for x, r in zip(xs, requires)]
    del LOG[:]
    for _ in range(2):  # the second backward accumulates into .grad
        (use(F, *ts) * Tensor(w, requires_grad=False)).sum().backward()
        (use(TF, *tts) * torch.tensor(w)).sum().backward()
    for t, tt in zip(ts, tts):
        assert (t.grad is None) == (tt.grad is None)
        if t.grad is not None:
            np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-14)
    ng = [needs for engine, place, needs in LOG if engine == "ng" and place == "backward"]
    th = [needs for engine, place, needs in LOG if engine == "torch"]
    assert sorted(ng) == sorted(th)


def test_needs_input_grad_in_forward_and_non_tensor_arguments():
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k, y, option=None):
            seen.append(ctx.needs_input_grad)
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y * ctx.k, None, (g * x * ctx.k if ctx.needs_input_grad[2] else None)

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([3.0, 4.0]), requires_grad=False)
    Scale.apply(x, 2.0, y, option="kw").sum().backward()
    assert seen == [(True, False, False)]
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])
    assert y.grad is None


# ---------------------------------------------------------------------------------------------- bad gradients
def _bad(backward, n=1):
    forward = (lambda ctx, x: x * 2) if n == 1 else (lambda ctx, x, k: x * k)
    return type("Bad", (Function,), dict(forward=staticmethod(forward), backward=staticmethod(backward)))


def _torch_bad(backward, n=1):
    forward = (lambda ctx, x: x * 2) if n == 1 else (lambda ctx, x, k: x * k)
    return type("TorchBad", (torch.autograd.Function,),
                dict(forward=staticmethod(forward), backward=staticmethod(backward)))


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("shape, bad_shape", [((3,), (2, 3)), ((3,), ()), ((3,), (1,)), ((2, 3), (3,)), ((), (1,)),
                                              ((3,), (4,))])
def test_a_gradient_of_the_wrong_shape_raises_naming_the_function_and_shapes(shape, bad_shape, create_graph):
    F = _bad(lambda ctx, g: np.ones(bad_shape))
    x = Tensor(np.ones(shape), requires_grad=True)
    with pytest.raises(ValueError, match=re.escape(f"Bad.backward gave a gradient of shape {bad_shape} for an "
                                                   f"input of shape {shape}")):
        F.apply(x).sum().backward(create_graph=create_graph)
    assert x.grad is None
    # torch raises too unless the gradient's shape broadcasts to the input's (then it sums it: see the docstring)
    tx = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    TF = _torch_bad(lambda ctx, g: torch.ones(bad_shape, dtype=torch.float64))
    try:
        TF.apply(tx).sum().backward()
    except RuntimeError as e:
        assert "invalid gradient at index 0" in str(e)
    else:
        assert len(bad_shape) > len(shape) or bad_shape == (1,)


@pytest.mark.parametrize("dtype, raises", [(np.float32, False), (np.int64, False), (np.bool_, False),
                                           (np.complex128, True)])
def test_a_gradient_of_another_dtype_is_cast_as_torch_or_raises_as_torch(dtype, raises):
    F = _bad(lambda ctx, g: (g * 2 + 0.5).astype(dtype))
    TF = _torch_bad(lambda ctx, g: torch.from_numpy((g.numpy() * 2 + 0.5).astype(dtype)))
    x = Tensor(np.ones(3), requires_grad=True)
    tx = torch.ones(3, dtype=torch.float64, requires_grad=True)
    if raises:
        with pytest.raises(TypeError, match="Bad.backward gave a gradient of dtype complex128 for an input of "
                                            "dtype float64"):
            F.apply(x).sum().backward()
        with pytest.raises(RuntimeError):
            TF.apply(tx).sum().backward()
        return
    F.apply(x).sum().backward()
    TF.apply(tx).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_the_wrong_number_of_gradients_raises():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="Bad.backward returned 1 gradients for 2 inputs"):
        _bad(lambda ctx, g: g, n=2).apply(x, Tensor(np.ones(3))).sum().backward()
    with pytest.raises(TypeError, match="Bad.backward returned 3 gradients for 1 inputs"):
        _bad(lambda ctx, g: (g, None, None)).apply(x).sum().backward()


def test_forward_returning_several_outputs_raises_instead_of_stacking_them():
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

    with pytest.raises(TypeError, match="Two.forward returned a tuple of 2 items"):
        Two.apply(Tensor(np.ones(2), requires_grad=True))


def test_in_place_modification_of_a_saved_array_is_detected_as_in_torch():
    F, TF = make_naivegrad("mul"), make_torch("mul")
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = x * 1
    out = F.apply(a, a)
    a.add_(1.0)
    with pytest.raises(RuntimeError, match="Ng_mul's backward was modified by an in-place operation"):
        out.sum().backward()
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ta = tx * 1
    t_out = TF.apply(ta, ta)
    ta.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        t_out.sum().backward()


# ---------------------------------------------------------------------------------------------- scalar engine
def _value_op(factor, frozen=False):
    """sin on a Value with its derivative off by ``factor`` (1: right), as an op of the scalar engine; ``frozen``:
    the rule gives a number on Values too (a constant: the second derivative is lost)."""
    def rule(x, out):
        if isinstance(x, Value) and not frozen:
            return (factor * x.cos(),)
        return (factor * math.cos(x.data if isinstance(x, Value) else x),)

    op = Op("sin_f", rule)
    return lambda v: _unary(math.sin(v.data), v, rule(v.data, None), op)


def _torch_sin_factor(factor, frozen=False):
    class S(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return factor * g * torch.cos(x.detach() if frozen else x)

    return S


@given(st.sampled_from([1.0, 1.0 + 1e-9, 1.02, -1.0]), st.floats(-1.2, 1.2), st.floats(0.3, 2.0))
@examples(20)
def test_scalar_engine_gradcheck_agrees_with_torch(factor, a, b):
    f = _value_op(factor)
    result = check_gradients(lambda x, y: f(x * y) + y, (Value(a), Value(b)))
    assume(not _near_boundary(result, 1e-5, 1e-3))
    S = _torch_sin_factor(factor)
    ok_torch = torch.autograd.gradcheck(lambda x, y: S.apply(x * y) + y, _torch_inputs([np.array(a), np.array(b)]),
                                        raise_exception=False)
    assert result.ok == ok_torch


@given(st.booleans(), st.floats(-1.2, 1.2).filter(lambda a: abs(math.sin(a)) > 0.05))
@examples(10)
def test_scalar_engine_gradgradcheck_agrees_with_torch(frozen, a):
    f, S = _value_op(1.0, frozen), _torch_sin_factor(1.0, frozen)
    assert gradcheck(f, Value(a))
    ok = gradgradcheck(lambda x: f(x) * 2.0, Value(a))
    ok_torch = torch.autograd.gradgradcheck(lambda x: S.apply(x) * 2.0, _torch_inputs([np.array(a)]),
                                            raise_exception=False)
    assert ok == ok_torch == (not frozen)


# ---------------------------------------------------------------------------------------------- regressions
def test_regression_a_gradient_for_a_non_tensor_argument_raises_as_in_torch():
    """It was ignored: a backward returning its gradients in the wrong order (x's for the number k) left x.grad
    None silently. torch raises "returned a gradient different than None at position 2"."""
    x = Tensor(np.ones(3), requires_grad=True)
    swapped = _bad(lambda ctx, g: (None, g * 3), n=2)
    with pytest.raises(TypeError, match="Bad.backward returned a gradient for argument 1, which was not a Tensor"):
        swapped.apply(x, 3.0).sum().backward()
    with pytest.raises(TypeError, match="argument 1, which was not a Tensor"):
        autograd.grad(swapped.apply(x, 3.0).sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="different than None at position 2"):
        _torch_bad(lambda ctx, g: (None, g * 3), n=2).apply(torch.ones(3, requires_grad=True), 3.0).sum().backward()
    # a gradient for a Tensor that does not require grad is dropped, in both
    y = Tensor(np.ones(3), requires_grad=False)
    _bad(lambda ctx, g: (g, g), n=2).apply(x, y).sum().backward()
    assert y.grad is None and np.array_equal(x.grad, np.ones(3))


def test_regression_a_complex_gradient_raises_instead_of_losing_its_imaginary_part():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="gradient of dtype complex128"):
        _bad(lambda ctx, g: g * (2 + 1j)).apply(x).sum().backward()
    with pytest.raises(TypeError, match="gradient of dtype complex128"):
        autograd.grad(_bad(lambda ctx, g: np.ones(3) * 1j).apply(x).sum(), [x], create_graph=True)


def test_regression_forward_returning_a_list_raises():
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return [x, x]

    with pytest.raises(TypeError, match="Two.forward returned a list of 2 items; a Function has one output"):
        Two.apply(Tensor(np.ones(2), requires_grad=True))


@pytest.mark.parametrize("bad_shape", [(), (1,), (2, 3)])
def test_regression_a_jvp_tangent_of_the_wrong_shape_raises_as_in_torch(bad_shape):
    """It was broadcast by the next op (a constant tangent 2.0 for a (3,) output made jacfwd's every column
    [2, 2, 2]); torch raises "Trying to set a forward gradient that has a different size"."""
    F = type("BadJvp", (Function,), dict(forward=staticmethod(lambda ctx, x: x * 2),
                                          backward=staticmethod(lambda ctx, g: g * 2),
                                          jvp=staticmethod(lambda ctx, t: np.full(bad_shape, 2.0))))
    message = re.escape(f"BadJvp.jvp gave a tangent of shape {bad_shape} for an output of shape (3,)")
    with pytest.raises(ValueError, match=message):
        func.jvp(lambda x: F.apply(x).sin(), (np.ones(3),), (np.ones(3),))
    with pytest.raises(ValueError, match=message):
        func.jacfwd(F.apply)(np.ones(3))
    with pytest.raises(ValueError, match=message):
        gradcheck(F.apply, np.ones(3))

    class TorchBadJvp(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

        @staticmethod
        def jvp(ctx, t):
            return torch.full(bad_shape, 2.0, dtype=torch.float64)

    with pytest.raises(RuntimeError, match="different size"):
        torch.func.jvp(TorchBadJvp.apply, (torch.ones(3, dtype=torch.float64),), (torch.ones(3, dtype=torch.float64),))


def test_regression_an_operand_kept_as_an_attribute_is_differentiated_again_as_in_torch():
    """``ctx.x = x`` instead of save_for_backward: under create_graph the attribute stayed an array, so the
    second derivative silently lost its terms (0 where torch gives -sin x, with the input tensor's graph)."""

    class SinAttr(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return np.sin(x)

        @staticmethod
        def backward(ctx, g):
            return g * np.cos(ctx.x)

        @staticmethod
        def jvp(ctx, t):
            return np.cos(ctx.x) * t

    class TorchSinAttr(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return torch.sin(x)

        @staticmethod
        def backward(ctx, g):
            return g * torch.cos(ctx.x)

    a = np.array([0.3, -0.7, 1.1])
    x = Tensor(a.copy(), requires_grad=True)
    (g,) = autograd.grad((SinAttr.apply(x * x)).sum(), [x], create_graph=True)
    (h,) = autograd.grad(g.sum(), [x])
    tx = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(TorchSinAttr.apply(tx * tx).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(np.asarray(h.data if isinstance(h, Tensor) else h), th.numpy(), rtol=1e-12)
    assert gradgradcheck(SinAttr.apply, a)
    assert torch.autograd.gradgradcheck(TorchSinAttr.apply, (torch.tensor(a, requires_grad=True),))
