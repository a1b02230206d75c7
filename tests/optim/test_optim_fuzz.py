"""Differential fuzzing of naivegrad.optim, optim.lr_scheduler and nn.utils' clipping against PyTorch.

Both sides start from the same weights and are fed the very same gradient arrays each step (so only the
update rules differ): zero gradients, tiny and huge magnitudes, and parameters left without a gradient for
some steps (``zero_grad(set_to_none=True)`` then no backward reaching them, which both skip), or with the
zeros ``zero_grad(set_to_none=False)`` leaves (which both step with). Every option of every optimizer, float32
and float64, both engines (Values as one torch vector), several parameter groups with their own learning
rates, and ``state_dict()`` / ``load_state_dict()`` in the middle of a run. Then chained and sequential
schedulers over many steps, bit for bit, and ``clip_grad_norm_`` / ``clip_grad_value_`` with every norm type,
zero, non-finite, single-element and extreme gradients.

The regression tests at the end pin the discrepancies this fuzzing found.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from naivegrad import optim
from naivegrad.nn.utils import clip_grad_norm_, clip_grad_value_
from naivegrad.optim import lr_scheduler as ours_lrs
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

torch = pytest.importorskip("torch")

# eps=0 with a zero gradient is 0/0 on both sides (nan, as torch): numpy's warnings about it are expected here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

TORCH_NAMES = {"SGD": "SGD", "Adam": "Adam", "AdamW": "AdamW", "RMSProp": "RMSprop"}
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}
# Magnitudes of the gradients fed in: huge and tiny, but not so huge that squares overflow float32 (the
# regression tests below take those).
MAGNITUDES = [0.0, 1e-12, 1e-6, 1e-3, 1.0, 1e3, 1e6]
SHAPES = [(3,), (2, 2), ()]


# ---------------------------------------------------------------------------------------------- strategies
@st.composite
def configs(draw):
    """An optimizer name and hyper-parameters covering every option it has."""
    name = draw(st.sampled_from(list(TORCH_NAMES)))
    lr = draw(st.sampled_from([1e-3, 0.01, 0.1]))
    wd = draw(st.sampled_from([0.0, 0.0, 1e-2, 0.5]))
    if name == "SGD":
        momentum = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
        nesterov = momentum > 0 and draw(st.booleans())
        dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.3, 1.0]))
        return name, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=wd)
    if name == "RMSProp":
        centered = draw(st.booleans())
        # alpha = 0 with centered=True takes sqrt(g*g - g*g): torch's fused multiply-add rounds that to a
        # tiny negative (a nan) where numpy gives 0; a documented difference, see the regression tests.
        alpha = draw(st.sampled_from([0.5, 0.9, 0.99] + ([] if centered else [0.0, 1.0])))
        return name, dict(lr=lr / 10, alpha=alpha, eps=draw(st.sampled_from([1e-8, 1e-3, 0.0])),
                          weight_decay=wd, momentum=draw(st.sampled_from([0.0, 0.5, 0.9])), centered=centered)
    beta1 = draw(st.sampled_from([0.0, 0.3, 0.9]))
    beta2 = draw(st.sampled_from([0.0, 0.5, 0.999]))
    eps = draw(st.sampled_from([1e-8, 1e-3, 0.0]))
    return name, dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)


def grad_step(n_params, allow_missing):
    """One step's gradients: per parameter (magnitude, seed) or None (no backward reached it)."""
    one = st.tuples(st.sampled_from(MAGNITUDES), st.integers(0, 2**16))
    if allow_missing:
        one = st.one_of(one, st.none())
    return st.lists(one, min_size=n_params, max_size=n_params)


def make_grad(spec, shape, dtype):
    mag, seed = spec
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * mag, dtype=dtype)


class StandIn:
    """A Tensor-shaped parameter (the optimizers step anything with an ndarray ``.data`` and a ``.grad``)."""

    def __init__(self, data):
        self.data = np.array(data)
        self.grad = None
        self.requires_grad = True


def torch_opt(name, params, cfg):
    return getattr(torch.optim, TORCH_NAMES[name])(params, foreach=False, **cfg)


def tolerances(dtype):
    # float64 runs the same arithmetic as torch's (agreement to the last bits); torch computes float32's
    # addcmul / addcdiv / lerp in double, numpy in float32: a few ulps per step.
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=1e-5)


def assert_close(ours, theirs, dtype, msg):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    finite = np.abs(theirs[np.isfinite(theirs)])
    scale = max(1.0, float(finite.max(initial=0.0)))
    assert (np.isnan(ours) == np.isnan(theirs)).all(), f"{msg}: nan in one only: {ours} vs {theirs}"
    assert (ours[np.isinf(theirs)] == theirs[np.isinf(theirs)]).all(), f"{msg}: inf differs: {ours} vs {theirs}"
    tol = tolerances(dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol["rtol"], atol=tol["atol"] * scale, equal_nan=True,
                               err_msg=msg)


# ---------------------------------------------------------------------------------------------- optimizers
@given(config=configs(), dtype=st.sampled_from(list(DTYPES)), lr2=st.sampled_from([None, 0.0, 3.0]),
       steps=st.lists(st.tuples(st.booleans(), grad_step(3, allow_missing=True)), min_size=1, max_size=12),
       seed=st.integers(0, 100))
def test_tensor_trajectories_match_torch(config, dtype, lr2, steps, seed):
    """Tensor path: two groups (the second maybe with its own lr), gradients missing or zeroed at random."""
    name, cfg = config
    np_dt, t_dt = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np_dt) for s in SHAPES]
    ours = [StandIn(a) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    extra = {} if lr2 is None else {"lr": cfg["lr"] * lr2}
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], **extra}], **cfg)
    topt = torch_opt(name, [{"params": theirs[:2]}, {"params": theirs[2:], **extra}], cfg)
    for k, (set_to_none, specs) in enumerate(steps):
        opt.zero_grad(set_to_none=set_to_none)
        topt.zero_grad(set_to_none=set_to_none)
        for p, t, spec, shape in zip(ours, theirs, specs, SHAPES):
            if spec is not None:  # else: no backward reached it this step (None, or zeros, as zero_grad left)
                g = make_grad(spec, shape, np_dt)
                p.grad = g
                t.grad = torch.tensor(g)
            assert (p.grad is None) == (t.grad is None)
        opt.step()
        topt.step()
        for i, (p, t) in enumerate(zip(ours, theirs)):
            assert p.data.dtype == np_dt
            assert_close(p.data, t.detach().numpy(), np_dt, f"{name} {cfg} step {k + 1}, parameter {i}")


@given(config=configs(), steps=st.lists(grad_step(3, allow_missing=False), min_size=1, max_size=12),
       seed=st.integers(0, 100))
def test_value_trajectories_match_torch(config, steps, seed):
    """Scalar path: three Values against one float64 torch vector."""
    name, cfg = config
    x0 = np.random.default_rng(seed).standard_normal(3)
    ours = [Value(float(x)) for x in x0]
    theirs = torch.tensor(x0, requires_grad=True)
    opt = getattr(optim, name)(ours, **cfg)
    topt = torch_opt(name, [theirs], cfg)
    for k, specs in enumerate(steps):
        g = np.array([make_grad(s, (), np.float64) for s in specs])
        opt.zero_grad()
        for v, x in zip(ours, g.tolist()):
            v.grad = x
        theirs.grad = torch.tensor(g)
        opt.step()
        topt.step()
        assert_close([v.data for v in ours], theirs.detach().numpy(), np.float64, f"{name} {cfg} step {k + 1}")


@given(config=configs(), dtype=st.sampled_from(list(DTYPES)),
       steps=st.lists(grad_step(3, allow_missing=True), min_size=2, max_size=10), cut=st.integers(0, 9),
       scalar=st.booleans())
def test_state_dict_mid_run_continues_exactly(config, dtype, steps, cut, scalar):
    """Saving after ``cut`` steps and loading into a fresh optimizer (as from an .npz file) continues bit for
    bit as the uninterrupted run; parameters that have not stepped yet (grad None so far) included."""
    name, cfg = config
    np_dt = np.float64 if scalar else DTYPES[dtype][0]
    cut = min(cut, len(steps) - 1)
    init = np.random.default_rng(cut).standard_normal(3).astype(np_dt)

    def params(data):
        return [Value(float(x)) for x in data] if scalar else [StandIn(data[:2]), StandIn(data[2:])]

    def feed(ps, specs):
        if scalar:
            for v, s in zip(ps, specs):
                v.grad = 0.0 if s is None else float(make_grad(s, (), np.float64))
        else:
            for p, s, n in zip(ps, specs, (2, 1)):
                p.grad = None if s is None else make_grad(s, (n,), np_dt)

    def data(ps):
        return np.array([v.data for v in ps]) if scalar else np.concatenate([p.data for p in ps])

    straight = params(init.copy())
    opt = getattr(optim, name)(straight, **cfg)
    for specs in steps:
        opt.zero_grad()
        feed(straight, specs)
        opt.step()

    first = params(init.copy())
    opt1 = getattr(optim, name)(first, **cfg)
    for specs in steps[:cut]:
        opt1.zero_grad()
        feed(first, specs)
        opt1.step()
    saved = {k: np.asarray(v) for k, v in opt1.state_dict().items()}  # as np.load gives it back
    resumed = params(data(first))
    opt2 = getattr(optim, name)(resumed, **{k: (v * 7 if k == "lr" else v) for k, v in cfg.items()})
    opt2.load_state_dict(saved)
    for specs in steps[cut:]:
        opt2.zero_grad()
        feed(resumed, specs)
        opt2.step()
    np.testing.assert_array_equal(data(resumed), data(straight))


# ---------------------------------------------------------------------------------------------- schedulers
def _sched_specs():
    step_lr = st.builds(lambda s, g: ("StepLR", dict(step_size=s, gamma=g)),
                        st.integers(1, 7), st.sampled_from([0.1, 0.5, 0.9, 1.0, 2.0]))
    linear = st.builds(lambda s, e, n: ("LinearLR", dict(start_factor=s, end_factor=e, total_iters=n)),
                       st.sampled_from([0.01, 1 / 3, 0.5, 1.0]), st.sampled_from([0.0, 0.25, 1.0]),
                       st.integers(1, 12))
    cosine = st.builds(lambda t, m: ("CosineAnnealingLR", dict(T_max=t, eta_min=m)),
                       st.integers(1, 15), st.sampled_from([0.0, 1e-4, 0.05]))
    lam = st.builds(lambda k: ("LambdaLR", dict(lr_lambda=k)), st.sampled_from([0, 1, 2]))
    return st.one_of(step_lr, linear, cosine, lam)


LAMBDAS = [lambda t: 0.95 ** t, lambda t: 1.0 / (1 + t), lambda t: min(1.0, (t + 1) / 5)]


def _build(module, opt, spec):
    kind, kw = spec
    if kind == "LambdaLR":
        kw = dict(lr_lambda=LAMBDAS[kw["lr_lambda"]])
    return getattr(module, kind)(opt, **kw)


@given(specs=st.lists(_sched_specs(), min_size=1, max_size=3), sequential=st.booleans(),
       gaps=st.lists(st.integers(1, 15), min_size=2, max_size=2), n_steps=st.integers(1, 60))
def test_schedulers_match_torch_bit_for_bit(specs, sequential, gaps, n_steps):
    """Several schedulers chained on one optimizer (each stepping the shared lr), or run one after another by
    SequentialLR; two groups with different rates; every rate and state dict equal to torch's."""
    p, q = StandIn(np.zeros(2)), StandIn(np.zeros(1))
    opt = optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.05)
    tp, tq = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.3}], lr=0.05)
    ours = [_build(ours_lrs, opt, s) for s in specs]
    theirs = [_build(torch.optim.lr_scheduler, topt, s) for s in specs]
    if sequential and len(specs) > 1:
        milestones = list(np.cumsum(gaps)[:len(specs) - 1].tolist())
        ours = [ours_lrs.SequentialLR(opt, ours, milestones)]
        theirs = [torch.optim.lr_scheduler.SequentialLR(topt, theirs, milestones)]

    def rates(o):
        return [g["lr"] for g in o.param_groups]

    assert rates(opt) == rates(topt)
    for k in range(n_steps):
        opt.step()
        topt.step()
        for a, b in zip(ours, theirs):
            a.step()
            b.step()
        assert rates(opt) == rates(topt), f"step {k + 1}"
        assert [a.get_last_lr() for a in ours] == [b.get_last_lr() for b in theirs], f"step {k + 1}"
    for a, b in zip(ours, theirs):
        assert a.last_epoch == b.last_epoch


# ---------------------------------------------------------------------------------------------- clipping
NORM_TYPES = [2.0, 1.0, float("inf"), 3.0, 0.5, 0.0, -float("inf")]


@st.composite
def grad_sets(draw):
    n = draw(st.integers(1, 4))
    out = []
    for _ in range(n):
        shape = draw(st.sampled_from([(1,), (), (3,), (2, 3)]))
        dtype = draw(st.sampled_from(list(DTYPES)))
        mag = draw(st.sampled_from([0.0, 1e-30, 1e-3, 1.0, 1e3, 1e18]))
        seed = draw(st.integers(0, 1000))
        special = draw(st.sampled_from([None] * 6 + ["nan", "inf", "none"]))
        g = make_grad((mag, seed), shape, DTYPES[dtype][0])
        if special in ("nan", "inf") and g.size:
            g.reshape(-1)[0] = float(special)
        out.append(None if special == "none" else g)
    return out


@given(gs=grad_sets(), norm_type=st.sampled_from(NORM_TYPES), max_norm=st.sampled_from([0.0, 1e-3, 1.0, 1e6]),
       error_if_nonfinite=st.booleans())
def test_clip_grad_norm_matches_torch(gs, norm_type, max_norm, error_if_nonfinite):
    ours, theirs = [], []
    for g in gs:
        t = Tensor(np.zeros(() if g is None else g.shape), requires_grad=True)
        t.grad = None if g is None else g.copy()
        ours.append(t)
        tt = torch.zeros(() if g is None else g.shape, dtype=torch.float64 if g is None else
                         DTYPES[str(g.dtype)][1], requires_grad=True)
        tt.grad = None if g is None else torch.tensor(g)
        theirs.append(tt)
    try:
        want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, error_if_nonfinite=error_if_nonfinite)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="non-finite"):
            clip_grad_norm_(ours, max_norm, norm_type, error_if_nonfinite=error_if_nonfinite)
        for t, g in zip(ours, gs):
            assert (t.grad is None) if g is None else np.array_equal(t.grad, g, equal_nan=True)
        return
    got = clip_grad_norm_(ours, max_norm, norm_type, error_if_nonfinite=error_if_nonfinite)
    # A float32 gradient's norm is summed in another order by torch (a few float32 ulps), and the clipping
    # coefficient of every gradient follows the total: float32 tolerances as soon as one gradient is float32.
    dtype = np.float32 if any(g is not None and g.dtype == np.float32 for g in gs) else np.float64
    assert_close(float(got), want.item(), dtype, "total norm")
    for i, (t, tt) in enumerate(zip(ours, theirs)):
        if tt.grad is None:
            assert t.grad is None
            continue
        assert t.grad.dtype == tt.grad.numpy().dtype
        assert_close(t.grad, tt.grad.numpy(), dtype, f"grad {i}")


@given(gs=st.lists(st.tuples(st.sampled_from([0.0, 1e-200, 1e-3, 1.0, 1e200]), st.integers(0, 99)),
                   min_size=1, max_size=6),
       norm_type=st.sampled_from(NORM_TYPES), max_norm=st.sampled_from([0.0, 1.0, 1e6]))
def test_clip_grad_norm_of_values_matches_torch(gs, norm_type, max_norm):
    """The scalar engine: each Value one gradient of one element, as torch's 0-d tensors."""
    grads = [float(make_grad(s, (), np.float64)) for s in gs]
    ours = []
    for x in grads:
        v = Value(0.0)
        v.grad = x
        ours.append(v)
    theirs = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in grads]
    for t, x in zip(theirs, grads):
        t.grad = torch.tensor(x, dtype=torch.float64)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    got = clip_grad_norm_(ours, max_norm, norm_type)
    assert_close(float(got), want.item(), np.float64, "total norm")
    assert_close([v.grad for v in ours], [t.grad.item() for t in theirs], np.float64, "grads")


@given(gs=grad_sets(), clip=st.sampled_from([0.0, 1e-3, 1.0, math.inf]))
def test_clip_grad_value_matches_torch(gs, clip):
    ours, theirs = [], []
    for g in gs:
        if g is None:
            continue
        t = Tensor(np.zeros(g.shape, g.dtype), requires_grad=True)
        t.grad = g.copy()
        ours.append(t)
        tt = torch.zeros(g.shape, dtype=DTYPES[str(g.dtype)][1], requires_grad=True)
        tt.grad = torch.tensor(g)
        theirs.append(tt)
    assert clip_grad_value_(ours, clip) is None
    if not theirs:
        return  # torch's clip_grad_value_ raises on an empty list (a torch quirk, not a rule)
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for t, tt in zip(ours, theirs):
        np.testing.assert_array_equal(t.grad, tt.grad.numpy())
        assert t.grad.dtype == tt.grad.numpy().dtype


# ---------------------------------------------------------------------------------------------- regressions
@pytest.mark.parametrize("g, dtype", [(1e200, np.float64), (-1e20, np.float32), (1e-200, np.float64),
                                      (1e-25, np.float32)])
@pytest.mark.parametrize("norm_type", [2.0, 3.0, float("inf")])
def test_single_element_gradient_norm_is_its_magnitude(g, dtype, norm_type):
    """A one-element gradient's norm is |g|, as torch returns it, not sqrt(g*g): 1e200 squared overflowed to
    an inf total norm and clip_grad_norm_ then zeroed the gradient (torch scales it to max_norm); 1e-200
    squared underflowed to 0 (torch: 1e-200)."""
    t = Tensor(np.zeros(1, dtype), requires_grad=True)
    t.grad = np.array([g], dtype)
    tt = torch.zeros(1, dtype=DTYPES[np.dtype(dtype).name][1], requires_grad=True)
    tt.grad = torch.tensor([g], dtype=tt.dtype)
    got = clip_grad_norm_([t], 1.0, norm_type)
    want = torch.nn.utils.clip_grad_norm_([tt], 1.0, norm_type)
    assert float(got) == want.item() == float(dtype(abs(g)))
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_centered_rmsprop_after_square_avg_overflows_in_float32_stays_finite():
    """A float32 gradient of 1e30: square_avg overflows to inf and so does grad_avg**2. torch (double
    arithmetic inside addcmul) takes sqrt(inf) and a zero step; numpy's float32 inf - inf gave a nan
    parameter."""
    p = StandIn(np.array([1.0, 2.0], np.float32))
    p.grad = np.array([1e30, -1.0], np.float32)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    t.grad = torch.tensor(p.grad)
    opt = optim.RMSprop([p], lr=0.01, centered=True)
    topt = torch.optim.RMSprop([t], lr=0.01, centered=True, foreach=False)
    with np.errstate(over="ignore", invalid="ignore"):
        opt.step()
    topt.step()
    assert np.isfinite(p.data).all()
    np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-6)


def test_centered_rmsprop_with_alpha_zero_is_documented_difference():
    """alpha=0, centered: square_avg = g*g and grad_avg = g, so the variance is exactly 0 and the step is
    lr * g / eps. torch computes square_avg - grad_avg**2 with a fused multiply-add, whose rounding error of
    g*g can be negative: a nan parameter. naivegrad keeps the exact 0 on purpose (a difference, not a bug)."""
    g = np.array([0.1, 1 / 3, 0.7], np.float64)
    p = StandIn(np.zeros(3))
    p.grad = g
    optim.RMSprop([p], lr=0.01, alpha=0.0, eps=1e-8, centered=True).step()
    np.testing.assert_array_equal(p.data, -0.01 * (g / (np.sqrt(g * g - g * g) + 1e-8)))


def _momentum_switched_on_mid_run(resume, tmp_path=None):
    """SGD with dampening: both parameters step without momentum, then momentum is turned on while ``b`` has
    no gradient; a checkpoint there, and one more step of both."""
    a, b = StandIn(np.array([1.0])), StandIn(np.array([2.0]))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.0, dampening=0.5)
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9
    a.grad, b.grad = np.array([1.0]), None
    opt.step()
    if resume:
        np.savez(tmp_path / "opt.npz", **opt.state_dict())
        a, b = StandIn(a.data.copy()), StandIn(b.data.copy())
        opt = optim.SGD([a, b], lr=0.1)
        with np.load(tmp_path / "opt.npz") as saved:
            opt.load_state_dict(saved)
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    return np.concatenate([a.data, b.data])


def test_resumed_sgd_keeps_a_stepped_parameter_without_momentum_buffer(tmp_path):
    """A parameter that had stepped but had no momentum buffer came back from a checkpoint with a buffer of
    zeros: its next buffer was (1 - dampening) * g instead of g (torch: a missing buffer starts at g), so the
    resumed run silently left the uninterrupted one (b = 1.85 instead of 1.8)."""
    straight = _momentum_switched_on_mid_run(False)
    np.testing.assert_array_equal(_momentum_switched_on_mid_run(True, tmp_path), straight)
    # torch, fed the same gradients, agrees with the uninterrupted run
    a, b = torch.tensor([1.0], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    topt = torch.optim.SGD([a, b], lr=0.1, momentum=0.0, dampening=0.5)
    a.grad, b.grad = torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    topt.step()
    topt.param_groups[0]["momentum"] = 0.9
    b.grad = None
    topt.step()
    b.grad = torch.ones(1, dtype=torch.float64)
    topt.step()
    np.testing.assert_allclose(straight, [a.item(), b.item()], rtol=1e-15)


def test_absent_state_indices_are_checked():
    a, b = StandIn(np.array([1.0])), StandIn(np.array([2.0]))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = np.array([1.0])
    opt.step()
    sd = opt.state_dict()
    assert "state.0.momentum_buffer.absent" not in sd  # b has not stepped: nothing to mark, format unchanged
    sd["state.0.momentum_buffer.absent"] = np.array([2])
    with pytest.raises(ValueError, match="absent"):
        opt.load_state_dict(sd)
