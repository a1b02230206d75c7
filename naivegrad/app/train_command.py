"""``naivegrad train``: from the parsed arguments to a trained model, its checkpoint and plot, and the lines
the command prints (the settings, one summary per engine, the engines' agreement)."""

from ..engines import ENGINES
from . import checkpoint, config, plots
from .datasets import load_data
from .errors import EXIT_INTERRUPTED, UsageError, check_output_path, fail, one_line
from .loop import Interrupted, fit
from .runs import Run

__all__ = ["train", "summary", "report_agreement", "AGREEMENT_TOLERANCE"]

AGREEMENT_TOLERANCE = 1e-9  # relative to the largest weight; float64 engines differ by ~1e-15


def train(args):
    """Run the ``train`` command with parsed ``args``; returns the exit status."""
    cfg, arrays = _settings(args)
    if args.save_every is not None:
        if args.save_every < 1:
            raise UsageError(f"--save-every must be >= 1, got {args.save_every}")
        if not args.save:
            raise UsageError("--save-every needs --save CKPT.npz (where to write)")
    if args.save:
        check_output_path("--save", args.save, (".npz",))
    if args.plot:
        check_output_path("--plot", args.plot, (".png",))
        try:
            plots.require_matplotlib()  # before training: a long run should not end in "cannot plot"
        except plots.PlotUnavailable as e:
            raise UsageError(e) from None

    try:
        data = load_data(cfg)
    except (FileNotFoundError, ValueError, OSError) as e:  # ValueError covers CorruptDataError
        raise UsageError(one_line(e)) from None
    engines = ENGINES if cfg.backend == config.BOTH else (cfg.backend,)
    try:
        runs = [Run(cfg, data, e, both=len(engines) == 2) for e in engines]
        if arrays is not None:
            for run in runs:
                run.load_state_dict(arrays, source=f"checkpoint {args.resume}")
    except (config.ConfigError, checkpoint.CheckpointError) as e:
        raise UsageError(one_line(e)) from None
    start = runs[0].step
    if start > cfg.steps:
        raise UsageError(f"checkpoint {args.resume} is already at step {start}, past --steps {cfg.steps}: "
                         f"give --steps N with N >= {start}")

    print(f"naivegrad train: {cfg.describe()}", flush=True)
    if args.resume:
        print(f"resuming {args.resume} at step {start} of {cfg.steps}", flush=True)
    try:
        result = fit(runs, cfg.steps, progress=not args.quiet, save=args.save, save_every=args.save_every or 0,
                     config=cfg)
    except Interrupted as stop:
        if stop.saved:
            where = (f"checkpoint saved to {stop.saved} "
                     f"(continue with: naivegrad train --resume {stop.saved} --save {stop.saved})")
        elif stop.reason:
            where = f"no checkpoint written: {stop.reason}"
        else:
            where = "no checkpoint (use --save CKPT.npz to keep one)"
        return fail(f"naivegrad: interrupted at step {stop.step} of {stop.steps}; {where}", EXIT_INTERRUPTED)

    status = 0
    for i, run in enumerate(runs):
        print(summary(run, data, result, start, i if len(runs) > 1 else None), flush=True)
    if len(runs) == 2:
        status = report_agreement(*runs)
    if args.save:
        print(f"saved checkpoint {args.save}")
    if args.plot:
        plots.plot_run(args.plot, cfg, data, runs[0])
        print(f"wrote {args.plot}")
    return status


def _settings(args):
    """The resolved Config of the run ``args`` ask for, and the checkpoint's arrays when resuming (else None)."""
    given = {k: getattr(args, k) for k in config.SETTINGS if getattr(args, k) is not None}
    try:
        if not args.resume:
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
