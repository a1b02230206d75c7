"""conv2d, max_pool2d and avg_pool2d differentiated twice (and three times) on the tensor engine (issue #14).

Each op's backward rule, given a Tensor gradient and a *lifted* context (the ``create_graph`` contract of
``naivegrad.tensor.function``: the saved arrays that are operands' data become those operands), must build a
graph that differentiates again. The rules are checked here directly, with a context lifted by hand (so these
tests do not depend on the engine's walk), against PyTorch's double backward in float64 and against central
differences of the first-order gradient (the numpy path), over generated geometries: strides, paddings (pairs,
"same", "valid"), dilations, groups, non-square kernels, odd sizes that leave rows unread, one 3-D image.
Then the same through ``Tensor.backward(create_graph=True)``, whole networks included.

A second-order quantity is S = sum_i <v_i, grad_i(x, w, b, g)>, the first-order gradients paired with random
directions; its gradient in (x, w, b, g) is one Hessian-vector product of the op (and its derivative in g).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conv_cases import conv_cases, pool_cases
from harness.second_order import lift_by_hand as lift
from naivegrad.tensor import Tensor
from naivegrad.tensor.ops import conv as ops
from naivegrad.tensor.ops.conv import Conv2d, avg_pool2d, conv2d, max_pool2d

torch = pytest.importorskip("torch")
F = torch.nn.functional

# torch's own notices (forward mode loads deprecated jit decompositions; 'same' padding with even kernels copies).
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")]

CLOSE = dict(rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------------- a lifted context, by hand
def rule_on_tensors(out, g):
    """The gradients ``out``'s rule gives for the Tensor gradient ``g`` on the lifted context (a tuple)."""
    grads = out._ctx.fn.backward(lift(out), g)
    return grads if isinstance(grads, tuple) else (grads,)


def pair_up(grads, directions):
    """S = sum <v, grad> over the gradients that exist, as a Tensor (first-order ops from here on)."""
    total = None
    for gr, v in zip(grads, directions):
        if gr is None:
            continue
        assert isinstance(gr, Tensor), "a rule given Tensors must give Tensors (a graph)"
        term = (gr * Tensor(v, requires_grad=False)).sum()
        total = term if total is None else total + term
    return total


def _grad_or_zeros(t):
    return np.zeros(t.shape) if t.grad is None else t.grad


def _t(a):
    return None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True)


def torch_second_order(f, primals, g, directions):
    """PyTorch's d/d(primals, g) of sum <v, d<g, f(primals)>/d primals> (zeros where unused)."""
    ps = [_t(p) for p in primals]
    live = [p for p in ps if p is not None]
    pg = _t(g)
    y = f(*ps)
    grads = torch.autograd.grad(y, live, pg, create_graph=True, allow_unused=True)
    s = sum((gr * torch.tensor(v)).sum() for gr, v in zip(grads, [d for d, p in zip(directions, ps) if p is not None])
            if gr is not None)
    out = torch.autograd.grad(s, live + [pg], allow_unused=True)
    return [np.zeros(t.shape) if d is None else d.numpy() for t, d in zip(live + [pg], out)]


# ---------------------------------------------------------------------- conv2d
def _conv_options(case):
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


def _leaves(*arrays):
    return [None if a is None else Tensor(a) for a in arrays]


def _first_order_conv(x, w, b, g, opts):
    """The first-order gradients (numpy path) of <g, conv2d(x, w, b)>."""
    tx, tw, tb = _leaves(x, w, b)
    conv2d(tx, tw, tb, **opts).backward(g)
    return [t.grad for t in (tx, tw, tb) if t is not None]


def _conv_hvp(case, rng):
    """(naivegrad's dS/d(x, w, b, g) through the lifted rule, the directions, the output gradient g)."""
    opts = _conv_options(case)
    x, w, b = case["x"], case["w"], case["b"]
    tx, tw, tb = _leaves(x, w, b)
    y = conv2d(tx, tw, tb, **opts)
    g = rng.standard_normal(y.shape)
    tg = Tensor(g)
    grads = rule_on_tensors(y, tg)
    # The graph's values are the first-order gradients.
    for got, expected in zip([gr for gr in grads if gr is not None], _first_order_conv(x, w, b, g, opts)):
        np.testing.assert_allclose(got.data, expected, rtol=1e-13, atol=1e-13)
    directions = [rng.standard_normal(a.shape) for a in (x, w) + ((b,) if b is not None else ())]
    pair_up(grads, directions).backward()
    return [_grad_or_zeros(t) for t in (tx, tw, tb, tg) if t is not None], directions, g


@settings(max_examples=max(25, settings.default.max_examples // 2))
@given(conv_cases(max_batch=2, max_groups=3, max_extra=4), st.integers(0, 2**32 - 1))
def test_conv2d_second_order_matches_torch(case, seed):
    rng = np.random.default_rng(seed)
    got, directions, g = _conv_hvp(case, rng)
    opts = _conv_options(case)
    expected = torch_second_order(lambda x, w, b=None: F.conv2d(x, w, b, **opts),
                                  [case["x"], case["w"], case["b"]], g, directions)
    assert len(got) == len(expected)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, **CLOSE)


@settings(max_examples=max(15, settings.default.max_examples // 4))
@given(conv_cases(max_batch=2, max_groups=2, max_extra=3), st.integers(0, 2**32 - 1))
def test_conv2d_second_order_matches_finite_differences_of_the_first_order_gradient(case, seed):
    # S is a quadratic in (x, w, g): central differences of the first-order (numpy) gradients are exact but
    # for rounding, along one random direction of all of them at once.
    rng = np.random.default_rng(seed)
    got, directions, g = _conv_hvp(case, rng)
    opts = _conv_options(case)
    x, w, b = case["x"], case["w"], case["b"]
    dx, dw, dg = (rng.standard_normal(a.shape) for a in (x, w, g))

    def s(eps):
        grads = _first_order_conv(x + eps * dx, w + eps * dw, b, g + eps * dg, opts)
        return sum(float(np.sum(gr * v)) for gr, v in zip(grads, directions))

    eps = 1e-3
    fd = (s(eps) - s(-eps)) / (2 * eps)
    hx, hw = got[0], got[1]
    hg = got[-1]
    analytic = float(np.sum(hx * dx) + np.sum(hw * dw) + np.sum(hg * dg))
    assert analytic == pytest.approx(fd, rel=1e-7, abs=1e-7)


def test_conv2d_second_order_of_one_unbatched_image_with_asymmetric_same_padding():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((4, 6, 5)), rng.standard_normal((6, 2, 2, 3)), rng.standard_normal(6)
    case = dict(x=x, w=w, b=b, stride=1, padding="same", dilation=(2, 1), groups=2)
    got, directions, g = _conv_hvp(case, rng)
    expected = torch_second_order(lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(2, 1), groups=2),
                                  [x, w, b], g, directions)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e, **CLOSE)


def test_conv2d_saves_its_operands_and_keeps_the_columns_as_an_attribute():
    # The contract: saved_tensors holds only operands (lifted to their Tensors); the im2col columns the fast
    # first-order rule reads stay an attribute (a constant, never read on Tensors).
    x, w = Tensor(np.ones((2, 3, 5, 5))), Tensor(np.ones((4, 3, 3, 3)))
    y = conv2d(x, w, padding=1)
    assert y._ctx.saved_tensors[0] is x.data and y._ctx.saved_tensors[1] is w.data
    assert isinstance(y._ctx.cols, np.ndarray)


def test_conv2d_input_modified_in_place_after_the_forward_still_gives_the_first_order_gradient():
    # Saving the input (for higher order) must not make the first-order backward refuse an in-place change
    # of it: that backward reads its own copy (the columns), as before.
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((3, 2, 2, 2))
    x = Tensor(x0.copy(), requires_grad=False)
    w = Tensor(w0)
    y = conv2d(x, w)
    x.add_(1.0)
    y.sum().backward()
    ref = Tensor(w0)
    conv2d(Tensor(x0, requires_grad=False), ref).sum().backward()
    np.testing.assert_allclose(w.grad, ref.grad)


def test_conv2d_rule_of_higher_order_refuses_an_input_modified_in_place_after_the_forward():
    # The first-order rule reads its private columns; the rule on Tensors reads the input itself, so it must
    # not use a value the convolution never saw.
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=False)
    w = Tensor(rng.standard_normal((3, 2, 2, 2)))
    y = conv2d(x, w)
    g = Tensor(rng.standard_normal(y.shape))
    lifted = lift(y)
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        Conv2d.backward(lifted, g)


# ---------------------------------------------------------------------- third order: the helper ops' own rules
def _third_order_case(rng):
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    return x, w, dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)


@pytest.mark.parametrize("which", ["input", "weight"])
def test_the_gradient_ops_rules_differentiate_again_third_order(which):
    # gx = conv_transpose(g, w) and gw = conv_weight(x, g) are Functions; their rules on a lifted context give
    # graphs too: the third derivative of <g, conv(x, w)> matches PyTorch's.
    rng = np.random.default_rng(11)
    x, w, opts = _third_order_case(rng)
    tx, tw = Tensor(x), Tensor(w)
    y = conv2d(tx, tw, **opts)
    g = rng.standard_normal(y.shape)
    tg = Tensor(g)
    gx, gw, _ = rule_on_tensors(y, tg)
    second = gx if which == "input" else gw
    assert second._ctx.fn is (ops._ConvInputGrad if which == "input" else ops._ConvWeightGrad)
    v = rng.standard_normal(second.shape)
    tv = Tensor(v)
    third = rule_on_tensors(second, tv)  # d<v, second>/d(its operands): Tensors again
    u = [rng.standard_normal(t.shape) for t in third]
    pair_up(third, u).backward()
    got = [_grad_or_zeros(t) for t in (tx, tw, tg, tv)]

    px, pw, pg, pv = (_t(a) for a in (x, w, g, v))
    gx_t, gw_t = torch.autograd.grad(F.conv2d(px, pw, **opts), [px, pw], pg, create_graph=True)
    second_t = gx_t if which == "input" else gw_t
    operands = [pg, pw] if which == "input" else [px, pg]
    third_t = torch.autograd.grad(second_t, operands, pv, create_graph=True)
    s = sum((a * torch.tensor(b)).sum() for a, b in zip(third_t, u))
    expected = torch.autograd.grad(s, [px, pw, pg, pv], allow_unused=True)
    for a, e, t in zip(got, expected, (px, pw, pg, pv)):
        np.testing.assert_allclose(a, np.zeros(t.shape) if e is None else e.numpy(), **CLOSE)


def test_the_gradient_ops_forward_mode_is_the_product_rule():
    from naivegrad.func import jvp

    rng = np.random.default_rng(5)
    x, w, opts = _third_order_case(rng)
    y = conv2d(Tensor(x), Tensor(w), **opts)
    geometry = y._ctx.geometry
    g = rng.standard_normal(y.shape)
    dx, dw, dg = (rng.standard_normal(a.shape) for a in (x, w, g))

    def both(a, b):
        return ops._ConvInputGrad.apply(a, b, geometry=geometry)

    def weight(a, b):
        return ops._ConvWeightGrad.apply(a, b, geometry=geometry)

    eps = 1e-6
    _, t1 = jvp(both, (g, w), (dg, dw))
    fd1 = both(Tensor(g + eps * dg), Tensor(w + eps * dw)).data - both(Tensor(g - eps * dg), Tensor(w - eps * dw)).data
    np.testing.assert_allclose(t1, fd1 / (2 * eps), rtol=1e-6, atol=1e-7)
    _, t2 = jvp(weight, (x, g), (dx, dg))
    plus = weight(Tensor(x + eps * dx), Tensor(g + eps * dg)).data
    fd2 = plus - weight(Tensor(x - eps * dx), Tensor(g - eps * dg)).data
    np.testing.assert_allclose(t2, fd2 / (2 * eps), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------- pooling
def _pool_options(case):
    return dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"])


def _pool_second_order(op, torch_op, case, seed, **extra):
    rng = np.random.default_rng(seed)
    opts = dict(_pool_options(case), **extra)
    x = case["x"]
    tx = Tensor(x)
    y = op(tx, **opts)
    g = rng.standard_normal(y.shape)
    tg = Tensor(g)
    (gx,) = rule_on_tensors(y, tg)
    tx_ref = Tensor(x)
    op(tx_ref, **opts).backward(g)
    np.testing.assert_allclose(gx.data, tx_ref.grad, rtol=1e-14, atol=1e-14)
    v = rng.standard_normal(x.shape)
    pair_up([gx], [v]).backward()
    expected = torch_second_order(lambda p: torch_op(p, **opts), [x], g, [v])
    np.testing.assert_allclose(_grad_or_zeros(tx), expected[0], **CLOSE)  # 0: piecewise linear in x
    np.testing.assert_allclose(_grad_or_zeros(tg), expected[1], **CLOSE)
    return gx, tg, rng


@settings(max_examples=max(25, settings.default.max_examples // 2))
@given(pool_cases(elements="distinct"), st.integers(0, 2**32 - 1))
def test_max_pool2d_second_order_matches_torch(case, seed):
    _pool_second_order(max_pool2d, F.max_pool2d, case, seed)


@settings(max_examples=max(25, settings.default.max_examples // 2))
@given(pool_cases(), st.booleans(), st.integers(0, 2**32 - 1))
def test_avg_pool2d_second_order_matches_torch(case, count_include_pad, seed):
    _pool_second_order(avg_pool2d, F.avg_pool2d, case, seed, count_include_pad=count_include_pad)


@settings(max_examples=max(15, settings.default.max_examples // 4))
@given(pool_cases(elements="distinct"), st.sampled_from(["max", "avg", "avg_real"]), st.integers(0, 2**32 - 1))
def test_pooling_third_order_alternates_scatter_and_gather(case, op, seed):
    # max: the backward is a scatter to the chosen cells, whose rule is the gather from them, whose rule is the
    # scatter... avg: the transpose of pooling, whose rule is pooling, whose rule is the transpose. Each level's
    # values are the array rules' (first order), and the graph under it differentiates.
    rng = np.random.default_rng(seed)
    opts = _pool_options(case)
    if op == "max":
        f, kinds = (lambda t: max_pool2d(t, **opts)), (ops._MaxPoolScatter, ops._MaxPoolGather)
    else:
        opts["count_include_pad"] = op == "avg"
        f, kinds = (lambda t: avg_pool2d(t, **opts)), (ops._AvgPoolSpread, ops._AvgPoolWindows)
    x = case["x"]
    y = f(Tensor(x))
    g = Tensor(rng.standard_normal(y.shape))
    (second,) = rule_on_tensors(y, g)
    assert second._ctx.fn is kinds[0]
    v = Tensor(rng.standard_normal(x.shape))
    (third,) = rule_on_tensors(second, v)
    assert third._ctx.fn is kinds[1]
    np.testing.assert_allclose(third.data, f(Tensor(v.data)).data if op != "max" else _gather_like(x, opts, v.data),
                               rtol=1e-14, atol=1e-14)
    u = Tensor(rng.standard_normal(y.shape))
    (fourth,) = rule_on_tensors(third, u)
    assert fourth._ctx.fn is kinds[0]
    ref = Tensor(x)
    f(ref).backward(u.data)
    np.testing.assert_allclose(fourth.data, ref.grad, rtol=1e-14, atol=1e-14)
    w = rng.standard_normal(x.shape)
    (fourth * Tensor(w, requires_grad=False)).sum().backward()
    # d<w, scatter(u)>/du = gather(w): the pooling of w at the same choice (for max: the cells x chose)
    np.testing.assert_allclose(u.grad, f(Tensor(w)).data if op != "max" else _gather_like(x, opts, w),
                               rtol=1e-13, atol=1e-13)


def _gather_like(x, opts, a):
    """The cells max pooling of x chose, read from ``a``: by PyTorch's indices (x has no ties)."""
    _, idx = F.max_pool2d(torch.tensor(x), **opts, return_indices=True)
    n, c = x.shape[:2]
    flat = torch.tensor(a).reshape(n, c, -1)
    return torch.gather(flat, 2, idx.reshape(n, c, -1)).reshape(idx.shape).numpy()


@pytest.mark.parametrize("op", ["max", "avg"])
def test_pooling_scatter_and_gather_are_each_others_transpose(op):
    # <u, scatter(g)> == <gather(u), g> for any u, g: the rules of the two helper ops agree with each other.
    rng = np.random.default_rng(3)
    x = Tensor(rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8).astype(float))
    y = (max_pool2d(x, (3, 2), stride=(2, 3), padding=(1, 1)) if op == "max"
         else avg_pool2d(x, (3, 2), stride=(2, 3), padding=(1, 1), count_include_pad=False))
    g = Tensor(rng.standard_normal(y.shape))
    (scattered,) = rule_on_tensors(y, g)
    u = rng.standard_normal(x.shape)
    (gathered,) = rule_on_tensors(scattered, Tensor(u))
    assert np.sum(u * scattered.data) == pytest.approx(np.sum(gathered.data * g.data), rel=1e-12)


def test_pooling_of_one_unbatched_image_second_order():
    rng = np.random.default_rng(9)
    x = rng.permutation(3 * 9 * 7).reshape(3, 9, 7) / 8.0
    for op, torch_op in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        case = dict(x=x, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))
        _pool_second_order(op, torch_op, case, 1)


def test_pooling_rules_keep_their_choice_after_the_forward_context_is_released():
    # The helper ops copy what they need (indices, divisor) out of the pooling's context: a backward that
    # releases it does not take it from them.
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((1, 2, 6, 6)))
    y = max_pool2d(x, 2)
    g = Tensor(rng.standard_normal(y.shape))
    (gx,) = rule_on_tensors(y, g)
    y._ctx.release()
    (gx * Tensor(np.ones(x.shape))).sum().backward()
    np.testing.assert_allclose(g.grad, np.ones(y.shape))


# ---------------------------------------------------------------------- through backward(create_graph=True)
needs_engine = pytest.mark.skipif(
    "create_graph" not in Tensor.backward.__code__.co_varnames,
    reason="Tensor.backward(create_graph=True) is not there yet")


def _net(x, w1, b1, w2, pool):
    h = conv2d(x, w1, b1, stride=1, padding=1).tanh()
    h = max_pool2d(h, 2) if pool == "max" else avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
    h = conv2d(h, w2, None, stride=(1, 2), padding=(0, 1), dilation=(1, 2), groups=2)
    return (h * h).sum()


def _net_torch(x, w1, b1, w2, pool):
    h = torch.tanh(F.conv2d(x, w1, b1, stride=1, padding=1))
    h = F.max_pool2d(h, 2) if pool == "max" else F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
    h = F.conv2d(h, w2, None, stride=(1, 2), padding=(0, 1), dilation=(1, 2), groups=2)
    return (h * h).sum()


@needs_engine
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_hessian_vector_product_of_a_small_convnet_through_create_graph(pool):
    rng = np.random.default_rng(21)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 9, 8), (4, 3, 3, 3), (4,), (6, 2, 2, 3))]
    leaves = [Tensor(a) for a in arrays]
    _net(*leaves, pool).backward(create_graph=True)
    first = [t.grad for t in leaves]
    assert all(isinstance(f, Tensor) for f in first)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    for t in leaves:
        t.grad = None
    sum((f * Tensor(v, requires_grad=False)).sum() for f, v in zip(first, vs)).backward()
    got = [t.grad for t in leaves]

    ps = [_t(a) for a in arrays]
    grads = torch.autograd.grad(_net_torch(*ps, pool), ps, create_graph=True)
    expected = torch.autograd.grad(sum((gr * torch.tensor(v)).sum() for gr, v in zip(grads, vs)), ps)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(a, e.numpy(), rtol=1e-8, atol=1e-10)

    # and against central differences of the first-order gradient (numpy path), along the same directions
    def first_order(eps):
        ts = [Tensor(a + eps * v) for a, v in zip(arrays, vs)]
        _net(*ts, pool).backward()
        return [t.grad for t in ts]

    eps = 1e-5
    plus, minus = first_order(eps), first_order(-eps)
    for a, p, m in zip(got, plus, minus):
        np.testing.assert_allclose(a, (p - m) / (2 * eps), rtol=1e-5, atol=1e-6)


@needs_engine
def test_third_derivative_of_a_convolution_through_nested_create_graph():
    # f = sum(conv(x, w) ** 3): d^3 f / dx dw dx along directions, as PyTorch.
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 6, 5)), rng.standard_normal((3, 2, 2, 3))
    opts = dict(stride=(2, 1), padding=1, dilation=(1, 2))
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    tx, tw = Tensor(x), Tensor(w)
    (conv2d(tx, tw, **opts) ** 3).sum().backward(create_graph=True)
    gx = tx.grad
    tx.grad = tw.grad = None
    (gx * Tensor(vx, requires_grad=False)).sum().backward(create_graph=True)
    gw = tw.grad
    tx.grad = tw.grad = None
    (gw * Tensor(vw, requires_grad=False)).sum().backward()

    px, pw = _t(x), _t(w)
    (g1,) = torch.autograd.grad((F.conv2d(px, pw, **opts) ** 3).sum(), [px], create_graph=True)
    (g2,) = torch.autograd.grad((g1 * torch.tensor(vx)).sum(), [pw], create_graph=True)
    e_x, e_w = torch.autograd.grad((g2 * torch.tensor(vw)).sum(), [px, pw])
    np.testing.assert_allclose(tx.grad, e_x.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(tw.grad, e_w.numpy(), rtol=1e-9, atol=1e-10)


@needs_engine
@settings(max_examples=max(10, settings.default.max_examples // 6))
@given(conv_cases(max_batch=2, max_groups=2, max_extra=3), st.integers(0, 2**32 - 1))
def test_conv2d_hessian_vector_product_through_create_graph_matches_torch(case, seed):
    rng = np.random.default_rng(seed)
    opts = _conv_options(case)
    arrays = [a for a in (case["x"], case["w"], case["b"]) if a is not None]
    leaves = [Tensor(a) for a in arrays]
    (conv2d(*leaves, **opts).tanh()).sum().backward(create_graph=True)
    first = [t.grad for t in leaves]
    vs = [rng.standard_normal(a.shape) for a in arrays]
    for t in leaves:
        t.grad = None
    sum((f * Tensor(v, requires_grad=False)).sum() for f, v in zip(first, vs)).backward()
    ps = [_t(a) for a in arrays]
    grads = torch.autograd.grad(torch.tanh(F.conv2d(*ps, **opts)).sum(), ps, create_graph=True)
    expected = torch.autograd.grad(sum((gr * torch.tensor(v)).sum() for gr, v in zip(grads, vs)), ps)
    for t, e in zip(leaves, expected):
        np.testing.assert_allclose(t.grad, e.numpy(), rtol=1e-9, atol=1e-10)


@needs_engine
def test_float32_second_order_keeps_float32():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32))
    w = Tensor(rng.standard_normal((3, 1, 3, 3)).astype(np.float32))
    (max_pool2d(conv2d(x, w, padding=1), 2) ** 2).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    gx = x.grad
    x.grad = w.grad = None
    gx.sum().backward()
    assert w.grad.dtype == np.float32


@needs_engine
@pytest.mark.parametrize("mode", ["jacrev(jacrev)", "jacfwd(jacrev)"])
def test_mixed_hessian_of_conv_and_pooling_through_func_transforms(mode):
    # d^2 f / dw dx by naivegrad.func, reverse over reverse and forward over reverse (the helper ops' jvp rules).
    from naivegrad import func

    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 2, 6, 5)), rng.standard_normal((3, 2, 2, 2))

    def f(x, w):
        h = max_pool2d(conv2d(x, w, padding=1, stride=(1, 2)), 2, 1)
        return avg_pool2d(h, 2, padding=1, count_include_pad=False).tanh().sum()

    def f_torch(x, w):
        h = F.max_pool2d(F.conv2d(x, w, padding=1, stride=(1, 2)), 2, 1)
        return torch.tanh(F.avg_pool2d(h, 2, padding=1, count_include_pad=False)).sum()

    outer = func.jacrev if mode == "jacrev(jacrev)" else func.jacfwd
    got = outer(func.jacrev(f, argnums=1), argnums=0)(Tensor(x), Tensor(w))
    expected = torch.func.jacfwd(torch.func.jacrev(f_torch, argnums=1), argnums=0)(torch.tensor(x), torch.tensor(w))
    np.testing.assert_allclose(np.asarray(getattr(got, "data", got)), expected.numpy(), rtol=1e-9, atol=1e-12)


@needs_engine
def test_create_graph_through_a_convolution_whose_input_changed_in_place_raises():
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=False)
    w = Tensor(rng.standard_normal((3, 2, 2, 2)))
    loss = (conv2d(x, w) ** 2).sum()
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward(create_graph=True)
