"""Learning-rate schedulers: every step's rates against torch.optim.lr_scheduler, state dicts, resuming, errors."""

import math

import numpy as np
import pytest

from naivegrad import optim
from naivegrad.optim import lr_scheduler as ours
from naivegrad.scalar import Value
from naivegrad.tensor import Tensor

STEPS = 50
LRS = (0.1, 0.03)  # two parameter groups, so per-group rates are checked


class Scale:
    """A callable object as an lr_lambda: its state goes into LambdaLR's state dict."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor ** epoch


# Each config makes the schedulers (a list, all stepped each step) from a scheduler module and an optimizer.
CONFIGS = {
    "StepLR(7, 0.5)": lambda S, o: [S.StepLR(o, step_size=7, gamma=0.5)],
    "StepLR(3)": lambda S, o: [S.StepLR(o, 3)],
    "LinearLR()": lambda S, o: [S.LinearLR(o)],
    "LinearLR(0.1, 10)": lambda S, o: [S.LinearLR(o, start_factor=0.1, total_iters=10)],
    "LinearLR(1 -> 0, 40)": lambda S, o: [S.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=40)],
    "LinearLR(0.5 -> 0.2, 13)": lambda S, o: [S.LinearLR(o, start_factor=0.5, end_factor=0.2, total_iters=13)],
    "Cosine(50)": lambda S, o: [S.CosineAnnealingLR(o, T_max=50)],
    "Cosine(20, 1e-3) past T_max": lambda S, o: [S.CosineAnnealingLR(o, T_max=20, eta_min=1e-3)],
    "Cosine(7) restarts": lambda S, o: [S.CosineAnnealingLR(o, T_max=7, eta_min=0.01)],
    "Lambda(0.95**t)": lambda S, o: [S.LambdaLR(o, lambda t: 0.95 ** t)],
    "Lambda per group": lambda S, o: [S.LambdaLR(o, [lambda t: 1 / (t + 1), Scale(0.9)])],
    "warmup + cosine": lambda S, o: [S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=5),
                                                        S.CosineAnnealingLR(o, T_max=45)], milestones=[5])],
    "warmup lambda + cosine": lambda S, o: [S.SequentialLR(o, [S.LambdaLR(o, lambda t: (t + 1) / 10),
                                                               S.CosineAnnealingLR(o, T_max=40, eta_min=1e-4)],
                                                           milestones=[10])],
    "linear, step, lambda": lambda S, o: [S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=4),
                                                             S.StepLR(o, 4, gamma=0.7),
                                                             S.LambdaLR(o, lambda t: 0.5 * 0.9 ** t)],
                                                         milestones=[6, 21])],
    "cosine then linear": lambda S, o: [S.SequentialLR(o, [S.CosineAnnealingLR(o, T_max=10),
                                                           S.LinearLR(o, 0.3, 0.9, total_iters=30)],
                                                       milestones=[15])],
    "chained: step and cosine": lambda S, o: [S.StepLR(o, 10, gamma=0.5), S.CosineAnnealingLR(o, T_max=30)],
    "chained: linear and step": lambda S, o: [S.LinearLR(o, 0.25, total_iters=8), S.StepLR(o, 5, gamma=0.8)],
}


def ours_optimizer(kind="tensor", lrs=LRS):
    if kind == "scalar":
        groups = [{"params": [Value(1.0), Value(-2.0)], "lr": lr} for lr in lrs]
    else:
        groups = [{"params": [Tensor(np.ones(3), requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=0.5, momentum=0.9)


def ours_run(name, kind="tensor", steps=STEPS):
    opt = ours_optimizer(kind)
    scheds = CONFIGS[name](ours, opt)
    rates = [scheds[-1].get_last_lr()]
    groups = [[g["lr"] for g in opt.param_groups]]
    for _ in range(steps):
        for s in scheds:
            s.step()
        rates.append(scheds[-1].get_last_lr())
        groups.append([g["lr"] for g in opt.param_groups])
    return np.array(rates), np.array(groups), scheds


# ---------------------------------------------------------------------------------------------- torch parity
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_run(torch, name, steps=STEPS):
    S = torch.optim.lr_scheduler
    opt = torch.optim.SGD([{"params": [torch.zeros(3, requires_grad=True)], "lr": lr} for lr in LRS],
                          lr=0.5, momentum=0.9)
    scheds = CONFIGS[name](S, opt)
    rates = [scheds[-1].get_last_lr()]
    states = [[s.state_dict() for s in scheds]]
    for _ in range(steps):
        opt.step()  # no gradients: nothing moves, but torch sees the optimizer step first
        for s in scheds:
            s.step()
        rates.append(scheds[-1].get_last_lr())
        states.append([s.state_dict() for s in scheds])
    return np.array(rates), states


@pytest.mark.parametrize("kind", ["tensor", "scalar"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_rates_match_torch_every_step(torch, name, kind):
    expected, _ = torch_run(torch, name)
    rates, groups, _ = ours_run(name, kind)
    assert rates.shape == expected.shape == (STEPS + 1, 2)
    np.testing.assert_allclose(rates, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(groups, expected, rtol=0, atol=1e-12)
    assert not np.all(rates == rates[0])  # the schedule does change the rate


def _comparable(sd):
    """A state dict with lr_lambdas' function entries (None on both sides) kept, nested dicts recursed."""
    return {k: ([_comparable(s) for s in v] if k == "_schedulers" else v) for k, v in sd.items()}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dicts_equal_torch_every_step(torch, name):
    _, expected_states = torch_run(torch, name)
    opt = ours_optimizer()
    scheds = CONFIGS[name](ours, opt)
    for t in range(STEPS + 1):
        if t:
            for s in scheds:
                s.step()
        got = [_comparable(s.state_dict()) for s in scheds]
        want = [_comparable(s) for s in expected_states[t]]
        assert got == want, f"step {t}"


def test_a_torch_state_dict_loads_and_continues_identically(torch):
    S = torch.optim.lr_scheduler
    name = "warmup + cosine"
    expected, states = torch_run(torch, name)
    at = 3  # inside the warm-up: the cosine has not started yet
    opt = ours_optimizer()
    sched = CONFIGS[name](ours, opt)[0]
    sched.load_state_dict(states[at][0])
    for g, lr in zip(opt.param_groups, expected[at]):
        g["lr"] = lr  # what loading the optimizer's state dict restores
    got = [sched.get_last_lr()]
    for _ in range(STEPS - at):
        sched.step()
        got.append(sched.get_last_lr())
    np.testing.assert_allclose(np.array(got), expected[at:], rtol=0, atol=1e-12)
    # and the other way: ours loads into torch's
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in LRS], lr=0.5)
    tsched = CONFIGS[name](S, topt)[0]
    tsched.load_state_dict(sched.state_dict())
    assert tsched.last_epoch == sched.last_epoch and tsched.get_last_lr() == sched.get_last_lr()


def test_training_with_a_schedule_matches_torch_on_both_engines(torch):
    """SGD with momentum on f(a, b) = (a - 3)^2 + a*b + b^2, the rate warmed up then annealed."""
    steps = 30
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.0, -2.0))
    topt = torch.optim.SGD([ta, tb], lr=0.1, momentum=0.9)
    S = torch.optim.lr_scheduler
    tsched = S.SequentialLR(topt, [S.LinearLR(topt, 0.1, total_iters=5), S.CosineAnnealingLR(topt, 25)], [5])
    want = []
    for _ in range(steps):
        topt.zero_grad()
        ((ta - 3) ** 2 + ta * tb + tb ** 2).backward()
        topt.step()
        tsched.step()
        want.append([ta.item(), tb.item()])

    def run(a, b, read):
        opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
        sched = ours.SequentialLR(opt, [ours.LinearLR(opt, 0.1, total_iters=5), ours.CosineAnnealingLR(opt, 25)],
                                  [5])
        out = []
        for _ in range(steps):
            opt.zero_grad()
            ((a - 3) ** 2 + a * b + b ** 2).backward()
            opt.step()
            sched.step()
            out.append([read(a), read(b)])
        return np.array(out)

    scalar = run(Value(1.0), Value(-2.0), lambda v: v.data)
    tensor = run(*(Tensor(np.array([v]), requires_grad=True) for v in (1.0, -2.0)), lambda t: float(t.data[0]))
    np.testing.assert_allclose(scalar, np.array(want), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tensor, np.array(want), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ formulas without torch
def test_closed_forms():
    rates, _, _ = ours_run("StepLR(7, 0.5)")
    np.testing.assert_allclose(rates[:, 0], [0.1 * 0.5 ** (t // 7) for t in range(STEPS + 1)], rtol=1e-13)
    rates, _, _ = ours_run("Cosine(50)")
    np.testing.assert_allclose(rates[:, 1], [0.03 * (1 + math.cos(math.pi * t / 50)) / 2 for t in range(51)],
                               rtol=1e-9, atol=1e-15)
    rates, _, _ = ours_run("LinearLR(0.1, 10)")
    np.testing.assert_allclose(rates[:, 0], [0.1 * (0.1 + 0.9 * min(t, 10) / 10) for t in range(51)], rtol=1e-13)
    rates, _, s = ours_run("warmup + cosine")
    assert rates[0, 0] == pytest.approx(0.001) and rates[5, 0] == pytest.approx(0.1)
    assert rates[50, 0] == pytest.approx(0.0, abs=1e-15)
    assert s[0].last_epoch == STEPS


def test_constructing_sets_initial_lr_and_step_zero():
    opt = ours_optimizer()
    sched = ours.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.015]
    assert sched.last_epoch == 0 and sched.base_lrs == list(LRS)
    last = sched.get_last_lr()
    last[0] = 99.0  # a copy: the optimizer and the scheduler keep theirs
    assert sched.get_last_lr()[0] == 0.05 and opt.param_groups[0]["lr"] == 0.05
    # The optimizer's own state dict and checks are untouched by the extra group entry.
    assert "param_groups.0.initial_lr" not in opt.state_dict()
    opt.load_state_dict(opt.state_dict())


# ------------------------------------------------------------------------------------------ state and resuming
@pytest.mark.parametrize("name", ["StepLR(7, 0.5)", "Cosine(20, 1e-3) past T_max", "Lambda per group",
                                  "warmup + cosine", "linear, step, lambda"])
def test_resume_from_state_dicts_continues_identically(name):
    full, _, _ = ours_run(name)
    at = 17
    opt = ours_optimizer()
    scheds = CONFIGS[name](ours, opt)
    for _ in range(at):
        for s in scheds:
            s.step()
    saved_opt = opt.state_dict()
    saved = [s.state_dict() for s in scheds]
    if name == "Lambda per group":
        scheds[0].lr_lambdas[1].factor = 0.5  # mutate after saving: loading restores the object's state
        assert saved[0]["lr_lambdas"] == [None, {"factor": 0.9}]

    opt2 = ours_optimizer()
    scheds2 = CONFIGS[name](ours, opt2)
    opt2.load_state_dict(saved_opt)
    for s, st in zip(scheds2, saved):
        s.load_state_dict(st)
    got = [scheds2[-1].get_last_lr()]
    for _ in range(STEPS - at):
        for s in scheds2:
            s.step()
        got.append(scheds2[-1].get_last_lr())
    np.testing.assert_array_equal(np.array(got), full[at:])


def test_state_dict_survives_npz(tmp_path):
    opt = ours_optimizer()
    sched = ours.CosineAnnealingLR(opt, T_max=12, eta_min=0.001)
    for _ in range(5):
        sched.step()
    np.savez(tmp_path / "s.npz", **sched.state_dict())
    with np.load(tmp_path / "s.npz") as f:
        loaded = dict(f)
    opt2 = ours_optimizer()
    sched2 = ours.CosineAnnealingLR(opt2, T_max=12, eta_min=0.001)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(loaded)
    assert sched2.state_dict() == sched.state_dict()
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_resuming_with_last_epoch():
    opt = ours_optimizer()
    with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[0\]"):
        ours.StepLR(opt, 3, last_epoch=5)
    ours.StepLR(opt, 3)
    sched = ours.StepLR(opt, 3, last_epoch=5)  # groups have initial_lr now
    assert sched.last_epoch == 6


# ------------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("make, error, match", [
    (lambda o: ours.StepLR("opt", 3), TypeError, "needs a naivegrad.optim Optimizer, got str"),
    (lambda o: ours.StepLR(o, 0), ValueError, "step_size must be an int >= 1, got 0"),
    (lambda o: ours.StepLR(o, 2.5), TypeError, "step_size must be an int, got float"),
    (lambda o: ours.StepLR(o, 3, gamma="x"), TypeError, "gamma must be a real number"),
    (lambda o: ours.StepLR(o, 3, gamma=float("nan")), ValueError, "gamma must be finite"),
    (lambda o: ours.StepLR(o, 3, last_epoch=-2), ValueError, "last_epoch must be an int >= -1, got -2"),
    (lambda o: ours.LinearLR(o, start_factor=0), ValueError, "start_factor.*got 0"),
    (lambda o: ours.LinearLR(o, start_factor=1.5), ValueError, "start_factor.*got 1.5"),
    (lambda o: ours.LinearLR(o, end_factor=-0.1), ValueError, "end_factor.*got -0.1"),
    (lambda o: ours.LinearLR(o, total_iters=0), ValueError, "total_iters must be an int >= 1, got 0"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be an int >= 1, got 0"),
    (lambda o: ours.LambdaLR(o, 0.5), TypeError, "lr_lambda is a float"),
    (lambda o: ours.LambdaLR(o, [lambda t: 1]), ValueError, "Expected 2 lr_lambdas.*got 1"),
    (lambda o: ours.LambdaLR(o, [lambda t: 1, None]), TypeError, r"lr_lambda\[1\] is a NoneType"),
    (lambda o: ours.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2)], [3]), ValueError, "1 schedulers and 1 milestones"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), "x"], [3]), TypeError, r"schedulers\[1\] is a str"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), ours.StepLR(o, 3), ours.StepLR(o, 4)], [5, 5]),
     ValueError, r"strictly increasing, got \[5, 5\]"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), ours.StepLR(ours_optimizer(), 3)], [5]),
     ValueError, r"same optimizer.*schedulers\[1\]"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), ours.StepLR(o, 3)], [-1]),
     ValueError, r"milestones\[0\] must be an int >= 0, got -1"),
])
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make(ours_optimizer())


def test_load_state_dict_errors_leave_the_scheduler_unchanged():
    opt = ours_optimizer()
    sched = ours.StepLR(opt, 3)
    for _ in range(4):
        sched.step()
    before = sched.state_dict()
    sd = dict(before)
    del sd["last_epoch"]
    with pytest.raises(KeyError, match="missing 'last_epoch'"):
        sched.load_state_dict(sd)
    with pytest.raises(KeyError, match="unexpected 'T_max'"):
        sched.load_state_dict(dict(before, T_max=3))
    with pytest.raises(ValueError, match=r"'base_lrs' must list one learning rate per parameter group \(2\)"):
        sched.load_state_dict(dict(before, base_lrs=[0.1]))
    with pytest.raises(TypeError, match="needs a mapping"):
        sched.load_state_dict([1, 2])
    assert sched.state_dict() == before

    seq_opt = ours_optimizer()
    seq = CONFIGS["warmup + cosine"](ours, seq_opt)[0]
    good = seq.state_dict()
    bad = dict(good, _schedulers=[good["_schedulers"][0], dict(good["_schedulers"][1], base_lrs=[1.0])])
    with pytest.raises(ValueError, match=r"_schedulers\[1\]: state dict entry 'base_lrs'"):
        seq.load_state_dict(bad)
    with pytest.raises(ValueError, match="milestones"):
        seq.load_state_dict(dict(good, _milestones=[7]))
    assert seq.state_dict() == good
