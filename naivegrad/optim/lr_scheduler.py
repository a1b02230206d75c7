"""Learning-rate schedules, with PyTorch's names, semantics and (chainable) formulas.

A scheduler drives the ``"lr"`` of each of its optimizer's ``param_groups`` (the value every optimizer reads
at each step, on both engines). Call ``scheduler.step()`` once after each ``optimizer.step()``:

>>> opt = optim.AdamW(model.parameters(), lr=1e-3)
>>> warmup = optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=100)
>>> decay = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=900, eta_min=1e-5)
>>> sched = optim.lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[100])
>>> for x, y in batches:
...     opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step(); sched.step()

As in PyTorch: making a scheduler sets each group's ``"initial_lr"`` (once: the first scheduler's
``group["lr"]``) and applies the schedule's value for step 0 to ``group["lr"]``; ``last_epoch`` counts the
``step()`` calls; ``get_last_lr()`` is the list of learning rates the last step set, one per group. Each
schedule computes the next rate from the current ``group["lr"]`` (PyTorch's "chainable" form), with PyTorch's
very expressions, so the rates agree with ``torch.optim.lr_scheduler`` to the last bit, including when two
schedulers act on one optimizer. ``state_dict()`` holds the same keys and values as PyTorch's (plain Python
numbers and lists); ``load_state_dict`` takes it back, or PyTorch's. To resume, make the optimizer and
scheduler as at the start, then load both state dicts.

Not carried over: ``step(epoch)`` (deprecated in PyTorch) and PyTorch's warnings about calling ``step()``
in the wrong order.
"""

import math
import types
from bisect import bisect_right
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np

from .optimizer import Optimizer, _type_name

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "LinearLR", "CosineAnnealingLR", "SequentialLR"]

# PyTorch's state dicts carry this flag (always False between calls); ours do too, so that they compare equal.
_TORCH_ONLY = {"_get_lr_called_within_step": False}


def _int(name, value, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {_type_name(value)}: {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _real(name, value, low=-math.inf, high=math.inf, low_open=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {_type_name(value)}: {value!r}")
    v = float(value)
    if not math.isfinite(v) or v > high or (v <= low if low_open else v < low):
        lo = "" if low == -math.inf else f"{low:g} {'<' if low_open else '<='} "
        hi = "" if high == math.inf else f" <= {high:g}"
        rule = f"finite and {lo}{name}{hi}" if lo or hi else "finite"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return value


def _plain(value):
    """A value read back from an .npz file (a numpy array or scalar) as the Python object it was saved from."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class LRScheduler:
    """Base class: sets ``initial_lr``, counts ``last_epoch`` and writes ``get_lr()``'s rates into the groups.

    Subclasses define ``get_lr()``: the rates for step ``self.last_epoch``, computed from the current
    ``group["lr"]``s (chainable) or from ``self.base_lrs``; a closed form ``_get_closed_form_lr()`` too where
    PyTorch has one (``SequentialLR`` uses it when it hands over to a scheduler).

    ``last_epoch=-1`` (the default) starts a schedule; another value resumes one, and then every group must
    already have its ``"initial_lr"`` (KeyError otherwise), as in PyTorch.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a naivegrad.optim Optimizer, got "
                            f"{_type_name(optimizer)}")
        last_epoch = _int("last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                                   f"scheduler with last_epoch={last_epoch}: start with last_epoch=-1 and "
                                   f"load_state_dict() instead")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the first step (step 0), in "initial" mode."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates for step ``last_epoch`` (called by ``step()``; to read the rates, use
        ``get_last_lr()``)."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group (a new list)."""
        return list(self._last_lr)

    def step(self):
        """Advance the schedule by one step and set every group's ``"lr"``; call it after ``optimizer.step()``."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__} computed {len(values)} learning rates for "
                             f"{len(groups)} parameter groups")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """The scheduler's state: every attribute but the optimizer, as PyTorch's (copies of the lists)."""
        sd = {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items() if k != "optimizer"}
        sd.update(_TORCH_ONLY)
        return sd

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()`` (this class's or PyTorch's, maybe read back from .npz).

        Every key is checked before anything changes: a missing or unexpected key raises KeyError naming it,
        and ``base_lrs`` / ``_last_lr`` of another length than the optimizer's groups ValueError.
        """
        self._load(self._checked(state_dict))

    def _checked(self, state_dict):
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict needs a mapping (a dict from state_dict()), got "
                            f"{_type_name(state_dict)}")
        sd = {k: _plain(v) for k, v in state_dict.items() if k not in _TORCH_ONLY}
        own = set(self.state_dict()) - set(_TORCH_ONLY)
        missing = sorted(own - set(sd))
        unexpected = sorted(set(sd) - own)
        if missing or unexpected:
            parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
                [f"unexpected {', '.join(map(repr, unexpected))}"] if unexpected else [])
            raise KeyError(f"state dict does not match {type(self).__name__}: {'; '.join(parts)}")
        n = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if key in sd and (not isinstance(sd[key], (list, tuple)) or len(sd[key]) != n):
                raise ValueError(f"state dict entry {key!r} must list one learning rate per parameter group "
                                 f"({n}), got {sd[key]!r}")
        if "last_epoch" in sd:
            _int("state dict entry 'last_epoch'", sd["last_epoch"], -1)
        return sd

    def _load(self, sd):
        for k, v in sd.items():
            setattr(self, k, list(v) if isinstance(v, tuple) else v)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class LambdaLR(LRScheduler):
    """``lr = initial_lr * lr_lambda(last_epoch)``; one function for every group, or a list with one per group.

    >>> sched = LambdaLR(opt, lambda step: min(1.0, (step + 1) / 100))     # linear warm-up over 100 steps

    ``state_dict()`` saves a function's state only if it is a callable object (its ``__dict__``), not for plain
    functions and lambdas, as PyTorch.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(getattr(optimizer, "param_groups", ()))
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas (one per parameter group), but got {len(lr_lambda)}")
            fns = list(lr_lambda)
        else:
            fns = [lr_lambda] * n
        for i, fn in enumerate(fns):
            if not callable(fn):
                raise TypeError(f"lr_lambda must be a function of the step (or a list of them); "
                                f"{'lr_lambda' if not isinstance(lr_lambda, (list, tuple)) else f'lr_lambda[{i}]'} "
                                f"is a {_type_name(fn)}: {fn!r}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        sd = super().state_dict()
        sd["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                            for fn in self.lr_lambdas]
        return sd

    def _checked(self, state_dict):
        sd = super()._checked(state_dict)
        saved = sd["lr_lambdas"]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self.lr_lambdas):
            raise ValueError(f"state dict entry 'lr_lambdas' must have one entry per parameter group "
                             f"({len(self.lr_lambdas)}), got {saved!r}")
        return sd

    def _load(self, sd):
        sd = dict(sd)
        saved = sd.pop("lr_lambdas")
        super()._load(sd)
        for fn, state in zip(self.lr_lambdas, saved):
            if state is not None:
                fn.__dict__.update(state)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps: ``initial_lr * gamma ** (t // step_size)``.

    >>> sched = StepLR(opt, step_size=30, gamma=0.1)    # lr 0.05 for t < 30, 0.005 for t < 60, ...
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _real("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate by a factor going linearly from ``start_factor`` (step 0) to ``end_factor``
    (step ``total_iters`` and after): ``initial_lr * (s + (e - s) * min(t, total_iters) / total_iters)``.

    The usual warm-up: ``LinearLR(opt, start_factor=0.01, total_iters=100)``, then another schedule through
    ``SequentialLR``. ``0 < start_factor <= 1`` and ``0 <= end_factor <= 1``, as PyTorch requires.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        self.start_factor = _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = _real("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _int("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        return [
            group["lr"] * (1.0 + (self.end_factor - self.start_factor)
                           / (self.total_iters * self.start_factor
                              + (self.last_epoch - 1) * (self.end_factor - self.start_factor)))
            for group in groups
        ]

    def _get_closed_form_lr(self):
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from ``initial_lr`` down to ``eta_min`` over ``T_max`` steps (without restarts):
    ``eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed recursively as PyTorch does.

    After ``T_max`` steps the rate rises again along the cosine (period ``2 * T_max``), as in PyTorch; make
    ``T_max`` the number of steps to train (after any warm-up).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = _real("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(self.last_epoch * math.pi / self.T_max))
                    / 2 for base_lr in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another: ``schedulers[i]`` from step ``milestones[i - 1]`` on.

    At a milestone the next scheduler restarts from its own step 0 (its closed form at 0, from
    ``initial_lr``), as PyTorch's ``SequentialLR``. Typical warm-up then decay:

    >>> warmup = LinearLR(opt, start_factor=0.1, total_iters=10)
    >>> decay = CosineAnnealingLR(opt, T_max=90)
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[10])

    All schedulers must drive ``optimizer``; ``milestones`` are increasing ints, one fewer than the
    schedulers. Making it rewinds each scheduler's first step and resets every group's ``"lr"`` to its
    ``"initial_lr"``, then takes step 0 with the scheduler in charge of it.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR needs a naivegrad.optim Optimizer, got {_type_name(optimizer)}")
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"SequentialLR: schedulers[{i}] is a {_type_name(s)}, not a learning-rate scheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR expects all schedulers to belong to the same optimizer, but "
                                 f"schedulers[{i}] ({type(s).__name__}) drives another {type(s.optimizer).__name__}")
        milestones = [_int(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, but got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones {milestones}")
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"SequentialLR milestones must be strictly increasing, got {milestones}")
        last_epoch = _int("last_epoch", last_epoch, -1)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}]: make the schedulers "
                               f"with this optimizer first")
            group["lr"] = group["initial_lr"]
        self._undo(self)  # rewind the step each scheduler took when it was made
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo(self, sched):
        if isinstance(sched, SequentialLR):
            for s in sched._schedulers:
                self._undo(s)
        elif sched is not self:
            sched.last_epoch -= 1

    def step(self):
        """Advance by one step: the scheduler in charge steps, or the next one starts at a milestone."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def get_lr(self):
        raise NotImplementedError("SequentialLR steps its schedulers; read the rates with get_last_lr()")

    def state_dict(self):
        """The state, as PyTorch's: ``last_epoch``, ``_milestones``, ``_last_lr`` and each scheduler's state
        dict in ``_schedulers``."""
        return {"_milestones": list(self._milestones), "last_epoch": self.last_epoch,
                "_last_lr": list(self._last_lr), "_schedulers": [s.state_dict() for s in self._schedulers]}

    def _checked(self, state_dict):
        sd = super()._checked(state_dict)
        saved = sd["_schedulers"]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self._schedulers):
            raise ValueError(f"state dict entry '_schedulers' must hold {len(self._schedulers)} state dicts, "
                             f"got {saved!r}")
        checked = []
        for i, (s, st) in enumerate(zip(self._schedulers, saved)):
            try:
                checked.append(s._checked(st))
            except (KeyError, ValueError, TypeError) as e:
                msg = e.args[0] if e.args else str(e)
                raise type(e)(f"_schedulers[{i}]: {msg}") from None
        milestones = sd["_milestones"]
        if list(milestones) != self._milestones:
            raise ValueError(f"state dict milestones {milestones!r} differ from this SequentialLR's "
                             f"{self._milestones}")
        sd["_schedulers"] = checked
        return sd

    def _load(self, sd):
        sd = dict(sd)
        saved = sd.pop("_schedulers")
        super()._load(sd)
        for s, st in zip(self._schedulers, saved):
            s._load(st)
