"""``naivegrad train``: from the parsed arguments to a trained model, its checkpoint and plot, and the lines
the command prints (the settings, one summary per engine, the engines' agreement)."""

import os
from contextlib import nullcontext

from ..engines import ENGINES
from . import checkpoint, config, plots
from .blas import one_blas_thread
from .datasets import load_data
from .errors import EXIT_INTERRUPTED, UsageError, check_output_path, fail, one_line, os_error
from .loop import Diverged, Interrupted, SaveFailed, fit
from .runs import Run

__all__ = ["train", "summary", "report_agreement", "AGREEMENT_TOLERANCE", "EXIT_FAILED"]

AGREEMENT_TOLERANCE = 1e-9  # relative to the largest weight; float64 engines differ by ~1e-15
EXIT_FAILED = 1  # training ran but failed: it diverged, or its checkpoint or plot could not be written


def train(args):
    """Run the ``train`` command with parsed ``args``; returns the exit status."""
    cfg, arrays = _settings(args)
    if args.save_every is not None:
        if args.save_every < 1:
            raise UsageError(f"--save-every must be >= 1, got {args.save_every}")
        if args.save is None:
            raise UsageError("--save-every needs --save CKPT.npz (where to write)")
    if args.save is not None:  # not a truth test: --save "" is refused, not ignored
        check_output_path("--save", args.save, (".npz",))
    if args.plot is not None:
        check_output_path("--plot", args.plot, (".png",))
        try:
            plots.require_matplotlib()  # before training: a long run should not end in "cannot plot"
        except plots.PlotUnavailable as e:
            raise UsageError(e) from None

    try:
        data = load_data(cfg)
    except (FileNotFoundError, ValueError, OSError) as e:  # ValueError covers CorruptDataError
        raise UsageError(one_line(e)) from None
    except MemoryError:
        raise UsageError(f"not enough memory for the data of {cfg.describe()}") from None
    engines = ENGINES if cfg.backend == config.BOTH else (cfg.backend,)
    run_class = Run
    if cfg.language_model:
        from .lm import LMRun as run_class
    try:
        runs = [run_class(cfg, data, e, both=len(engines) == 2) for e in engines]
        if arrays is not None:
            for run in runs:
                run.load_state_dict(arrays, source=f"checkpoint {args.resume}")
    except (config.ConfigError, checkpoint.CheckpointError) as e:
        raise UsageError(one_line(e)) from None
    except MemoryError:
        raise UsageError(f"not enough memory for the model of {cfg.describe()}") from None
    start = runs[0].step
    if start > cfg.steps:
        raise UsageError(f"checkpoint {args.resume} is already at step {start}, past --steps {cfg.steps}: "
                         f"give --steps N with N >= {start}")

    print(f"naivegrad train: {cfg.describe()}", flush=True)
    if args.resume:
        print(f"resuming {args.resume} at step {start} of {cfg.steps}", flush=True)
    try:
        with one_blas_thread() if cfg.language_model else nullcontext():
            result = fit(runs, cfg.steps, progress=not args.quiet, save=args.save,
                         save_every=args.save_every or 0, config=cfg)
    except Interrupted as stop:
        if stop.saved:
            where = (f"checkpoint saved to {stop.saved} "
                     f"(continue with: naivegrad train --resume {stop.saved} --save {stop.saved})")
        elif stop.reason:
            where = f"no checkpoint written: {stop.reason}"
        else:
            where = "no checkpoint (use --save CKPT.npz to keep one)"
        return fail(f"naivegrad: interrupted at step {stop.step} of {stop.steps}; {where}", EXIT_INTERRUPTED)
    except Diverged as e:
        return fail(diverged_message(e, args.save), EXIT_FAILED)
    except SaveFailed as e:
        return fail(save_failed_message(e), EXIT_FAILED)

    status = 0
    if cfg.language_model:
        from .lm import lm_summary, report_lm_agreement
        with one_blas_thread():
            for i, run in enumerate(runs):
                print(lm_summary(run, result, start, i if len(runs) > 1 else None), flush=True)
            if len(runs) == 2:
                status = report_lm_agreement(*runs)
    else:
        for i, run in enumerate(runs):
            print(summary(run, data, result, start, i if len(runs) > 1 else None), flush=True)
        if len(runs) == 2:
            status = report_agreement(*runs)
    if args.save:
        print(f"saved checkpoint {args.save}")
    if args.plot:
        try:
            plots.plot_run(args.plot, cfg, data, runs[0])
        except OSError as e:
            kept = f"; the checkpoint {args.save} was saved" if args.save else ""
            return fail(f"naivegrad: cannot write the plot {args.plot}: {os_error(e, args.plot)}{kept}",
                        EXIT_FAILED)
        print(f"wrote {args.plot}")
    return status


def diverged_message(e, save=None):
    """One line: where the loss (or the weights) stopped being finite, what to try, what was saved."""
    engine = f"{e.engine} engine, " if e.engine else ""
    line = (f"naivegrad: training diverged: the {e.what} became {e.value} at step {e.step} of {e.steps} "
            f"({engine}--lr {e.lr:g}); try a smaller --lr, e.g. --lr {e.lr / 10:g}")
    if save:
        if e.saved_step is not None:
            line += f"; {save} holds step {e.saved_step}, saved before it diverged"
        else:
            line += f"; nothing was saved to {save}" + (" (it is unchanged)" if os.path.exists(save) else "")
    return line


def save_failed_message(e):
    """One line: which checkpoint could not be written, why, and what the file holds now."""
    why = os_error(e.error, e.path)
    if e.step == e.steps:
        line = (f"naivegrad: trained to step {e.step} of {e.steps} but cannot write checkpoint {e.path}: {why}; "
                f"the trained state was not saved")
    else:
        line = (f"naivegrad: cannot write checkpoint {e.path} at step {e.step} of {e.steps}: {why}; "
                f"training stopped there and its state was not saved")
    if e.saved_step is not None:
        line += f"; {e.path} holds step {e.saved_step} (continue with --resume {e.path})"
    elif os.path.exists(e.path):
        line += f"; {e.path} keeps what it held before"
    return line


def _settings(args):
    """The resolved Config of the run ``args`` ask for, and the checkpoint's arrays when resuming (else None)."""
    given = {k: getattr(args, k) for k in config.SETTINGS if getattr(args, k) is not None}
    try:
        if args.resume is None:  # --resume "" is "no checkpoint at ''", not a fresh run
            return config.resolve(given), None
        saved, arrays = checkpoint.read(args.resume)
        return config.resume(saved, given, args.resume), arrays
    except (config.ConfigError, checkpoint.CheckpointError) as e:
        raise UsageError(one_line(e)) from None


def summary(run, data, result, start, i=None):
    """One line per engine: steps, time, speed, final loss, train (and held-out) accuracy."""
    steps = f"{result.steps_run} steps" if start == 0 else f"steps {start}-{run.step} ({result.steps_run})"
    seconds = result.seconds if i is None else result.run_seconds[i]
    parts = [f"{steps} in {seconds:.2f} s ({result.steps_per_second(i):.1f} steps/s)"]
    if run.history["loss"]:
        parts.append(f"final loss {run.history['loss'][-1]:.4f}")
    parts.append(f"train accuracy {run.accuracy(data.X_train, data.y_train):.1%}")
    test = run.accuracy(data.X_test, data.y_test)
    if test is not None:
        parts.append(f"test accuracy {test:.1%} ({len(data.y_test)} held out)")
    return f"{run.engine} engine: " + ", ".join(parts)


def report_agreement(scalar_run, tensor_run):
    """Print whether two runs side by side reached the same weights; returns the exit status (1 if not)."""
    a, b = scalar_run.weights(), tensor_run.weights()
    diff = max(float(abs(a[k] - b[k]).max()) for k in a)
    scale = max(1.0, max(float(abs(a[k]).max()) for k in a))
    n = sum(v.size for v in a.values())
    agree = diff <= AGREEMENT_TOLERANCE * scale
    verdict = "engines agree" if agree else "engines DISAGREE"
    print(f"{verdict}: max |scalar - tensor| over {n} final weights = {diff:.3g} "
          f"(tolerance {AGREEMENT_TOLERANCE * scale:.3g}; float64 on both)")
    return 0 if agree else 1
