"""The training loop: ``fit`` runs one or two ``Run``s in lockstep with a progress bar, saves checkpoints,
and turns Ctrl-C into a clean stop after a whole step (``Interrupted``). A loss or weights that stop being
finite end the run (``Diverged``) and are never saved; a checkpoint that cannot be written ends it too
(``SaveFailed``)."""

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from . import checkpoint
from .runs import Diverged

__all__ = ["fit", "FitResult", "Interrupted", "Diverged", "SaveFailed"]


class Interrupted(Exception):
    """Training stopped by Ctrl-C. ``step`` is the last finished step; ``saved`` the checkpoint written, if any;
    ``reason`` says why none was written when one was asked for."""

    def __init__(self, step, steps, saved=None, reason=None):
        super().__init__(f"interrupted at step {step} of {steps}")
        self.step, self.steps, self.saved, self.reason = step, steps, saved, reason


class SaveFailed(Exception):
    """The checkpoint ``path`` could not be written after step ``step`` of ``steps`` (``error`` is the
    ``OSError``); training stopped there. ``saved_step`` is the step of the last checkpoint this call wrote to
    ``path`` (None if none: the file, if any, is as it was)."""

    def __init__(self, path, error, step, steps, saved_step=None):
        super().__init__(f"cannot write checkpoint {path} at step {step} of {steps}: {error}")
        self.path, self.error, self.step, self.steps, self.saved_step = path, error, step, steps, saved_step


@dataclass
class FitResult:
    """What ``fit`` did: steps taken in this call, the wall-clock seconds, and each run's own training seconds
    (``run_seconds``, in the order of the runs: side by side, each engine is timed separately)."""

    steps_run: int
    seconds: float
    run_seconds: tuple = ()

    def steps_per_second(self, i=None):
        """Steps per second overall, or of run ``i``'s own training time."""
        t = self.seconds if i is None else self.run_seconds[i]
        return self.steps_run / t if t > 0 else float("inf")


@contextmanager
def _sigint_at_step_boundary():
    """Make the first Ctrl-C a request to stop after the current step (so parameters are never saved
    half-updated); a second one interrupts at once. Yields a function that tells whether a stop was asked."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum, frame):
        if flag:
            raise KeyboardInterrupt
        flag.append(True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(flag)
    finally:
        signal.signal(signal.SIGINT, previous)


def fit(runs, steps, *, progress=False, callback=None, save=None, save_every=0, config=None):
    """Train ``runs`` (one, or two engines side by side) in lockstep until step ``steps``.

    ``progress`` shows a tqdm bar on stderr with the loss and accuracy. ``callback(step, losses, accs)``
    runs after every step. ``save`` is a checkpoint path written every ``save_every`` steps, at the end, and
    on Ctrl-C (from ``runs[0]``, with ``config``, by default its own). Ctrl-C (or a KeyboardInterrupt raised
    by the callback) raises ``Interrupted`` after saving. A loss or weights that are not finite raise
    ``Diverged`` (nothing is saved from then on); a checkpoint that cannot be written raises ``SaveFailed``.
    Both carry ``saved_step``, the step of the last checkpoint written, if any.
    """
    if config is None:
        config = runs[0].config
    start = runs[0].step
    if any(r.step != start for r in runs):
        raise ValueError("runs trained side by side must be at the same step")
    bar = None
    if progress:
        names = "+".join(r.engine for r in runs)
        bar = tqdm(total=steps, initial=start, desc=f"train {names}", unit="step", leave=True, dynamic_ncols=True)
    t0 = time.perf_counter()
    run_seconds = [0.0] * len(runs)
    step = start
    saved = []  # the steps written to ``save`` by this call

    def write(at, check=True):
        if check:
            _check_finite(runs, at, steps)  # never overwrite a checkpoint with nan weights
        try:
            checkpoint.save(save, config, runs[0])
        except OSError as e:
            raise SaveFailed(save, e, at, steps, saved[-1] if saved else None) from None
        saved.append(at)

    try:
        # Overflow is expected of a diverging run and is reported as such (Diverged), not as numpy warnings.
        with _sigint_at_step_boundary() as stop_requested, np.errstate(over="ignore", invalid="ignore",
                                                                        divide="ignore"):
            while step < steps:
                results = []
                for i, r in enumerate(runs):
                    t = time.perf_counter()
                    results.append(r.train_step(steps))
                    run_seconds[i] += time.perf_counter() - t
                step += 1
                if bar is not None:
                    losses = "/".join(f"{l:.4f}" for l, _ in results)
                    if hasattr(runs[0], "val_text"):  # language models: the last validation loss
                        more = "val=" + "/".join(r.val_text() for r in runs)
                    else:
                        more = "acc=" + "/".join(f"{a:.1%}" for _, a in results)
                    bar.set_postfix_str(f"loss={losses}, {more}", refresh=False)
                    bar.update(1)
                if save and save_every and step % save_every == 0 and step < steps:
                    write(step)
                if callback is not None:
                    callback(step, [l for l, _ in results], [a for _, a in results])
                if stop_requested():
                    raise KeyboardInterrupt
            _check_finite(runs, step, steps)
    except KeyboardInterrupt:
        _close(bar)
        done = runs[0].step
        if not save:
            raise Interrupted(done, steps) from None
        if not all(r.consistent for r in runs):
            raise Interrupted(done, steps, reason="interrupted in the middle of a parameter update") from None
        try:
            write(done)
        except (SaveFailed, Diverged) as e:
            raise Interrupted(done, steps, reason=_why_not_saved(e)) from None
        raise Interrupted(done, steps, saved=save) from None
    except (Diverged, SaveFailed) as e:
        _close(bar)
        if isinstance(e, Diverged):
            e.steps, e.saved_step = steps, saved[-1] if saved else None
        raise
    _close(bar)
    seconds = time.perf_counter() - t0
    if save:
        write(step, check=False)  # checked as the loop ended
    return FitResult(step - start, seconds, tuple(run_seconds))


def _close(bar):
    if bar is not None:
        bar.close()


def _check_finite(runs, step, steps):
    """``Diverged`` if a run's weights are not all finite after ``step``."""
    for r in runs:
        for name, w in r.model.state_dict().items():
            w = np.asarray(w)
            if not np.isfinite(w).all():
                bad = "nan" if np.isnan(w).any() else "inf"
                raise Diverged(step, bad, r.engine, r.config.lr, what=f"weight {name}", steps=steps)


def _why_not_saved(e):
    if isinstance(e, Diverged):
        return f"the weights became {e.value} (a smaller --lr would keep them finite)"
    return f"cannot write {e.path}: {e.error.strerror or e.error}"
