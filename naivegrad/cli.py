"""The ``naivegrad`` command (also ``python -m naivegrad``): ``train`` a model, draw a ``graph``.

    naivegrad train                                   # micrograd's two moons, scalar engine, ~99% in seconds
    naivegrad train --backend both                    # the same run on both engines, checked to agree
    naivegrad train --dataset mnist --data-dir DIR    # digits on the tensor engine
    naivegrad graph "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()" -o graph.svg

Bad arguments, unusable checkpoints and missing data end with status 2 and a one-line message on stderr;
Ctrl-C during training ends with status 130 after saving a checkpoint when ``--save`` was given.
"""

import argparse
import os
import sys

from . import __version__

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
AGREEMENT_TOLERANCE = 1e-9  # relative to the largest weight; float64 engines differ by ~1e-15


class UsageError(Exception):
    """Anything the user can fix: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and raises instead of exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


TRAIN_EPILOG = """\
defaults depend on the dataset:
  2-D sets (moons, circles, spirals, blobs): MLP 2-16-16-out on 100 points, full batch, SGD lr 1.0,
    100 steps, L2 1e-4, scalar engine (float64). Two classes (moons, circles, spirals by default):
    one output, hinge loss, labels -1/1, micrograd's recipe. More classes (blobs: 3 by default,
    spirals --classes 3): one output per class, cross-entropy. Spirals want more: try
    --optimizer adam --steps 1000.
  mnist: MLP 784-128-10 (or --model convnet) on the first 8,000 of the 10,000 MNIST test digits,
    the last 2,000 held out; batches of 128, Adam lr 1e-3, 2,000 steps, no L2, tensor engine
    (float32). Files are looked for in --data-dir, $NAIVEGRAD_DATA and the cache, else downloaded.
  default lr for adam / rmsprop on 2-D sets: 0.05 / 0.01. On every run the learning rate decays
  linearly from --lr towards --lr/10 over --steps (micrograd's schedule).

checkpoints: --save writes weights, optimizer state, step, batch-loader state, loss history and
  settings (atomically). --resume takes the dataset, model and recipe from the checkpoint (giving
  a different one is an error; --lr, --steps, --backend and --data-dir may change) and continues
  to --steps, by default the checkpoint's: then the result is exactly the uninterrupted run's.
  Ctrl-C stops after the current step, saves (with --save) and exits with status 130.

examples:
  naivegrad train --plot moons.png
  naivegrad train --backend both
  naivegrad train --dataset blobs --test-fraction 0.3 --backend tensor
  naivegrad train --dataset mnist --data-dir ~/data/mnist --save mnist.npz
  naivegrad train --resume mnist.npz --steps 4000
"""

GRAPH_EPILOG = """\
The expression is a few statements separated by ';': assignments of named scalars and a final
expression, with + - * / ** and exp log sqrt tanh sigmoid relu sin cos abs (as x.tanh() or tanh(x)).
No Python code runs: anything else is rejected. Rendering SVG/PNG needs pip install "naivegrad[viz]"
and the Graphviz dot program; .dot output and stdout need nothing.
"""


def build_parser():
    """The argument parser of the ``naivegrad`` command, with its ``train`` and ``graph`` subcommands."""
    parser = _Parser(prog="naivegrad", description="naivegrad: train small networks on either engine, "
                                                   "draw computation graphs.")
    parser.add_argument("--version", action="version", version=f"naivegrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,graph}")

    t = sub.add_parser("train", help="train a model (default: an MLP on two moons, scalar engine)",
                       description="Train a classifier with a progress bar; print accuracy, time and speed.",
                       epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Every default is None here: resolve() fills them in per dataset, and --resume can tell what was given.
    g = t.add_argument_group("data")
    g.add_argument("--dataset", choices=("moons", "circles", "spirals", "blobs", "mnist"),
                   help="what to learn (default: moons)")
    g.add_argument("--samples", type=int, metavar="N", help="points in a 2-D dataset (default: 100)")
    g.add_argument("--noise", type=float, metavar="STD", help="noise of a 2-D dataset (default: 0.1; blobs 0.25)")
    g.add_argument("--classes", type=int, metavar="K", help="classes of spirals (default 2) or blobs (default 3)")
    g.add_argument("--test-fraction", type=float, metavar="F",
                   help="hold out this fraction of a 2-D dataset and report its accuracy (default: 0)")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST files")
    g = t.add_argument_group("model and training")
    g.add_argument("--backend", choices=("scalar", "tensor", "both"),
                   help="engine: scalar (Values), tensor (numpy), or both side by side, compared "
                        "(default: scalar; mnist: tensor)")
    g.add_argument("--model", choices=("mlp", "convnet"), help="mlp, or convnet for mnist (default: mlp)")
    g.add_argument("--hidden", metavar="SIZES", help="hidden layer sizes of the MLP (default: 16,16; mnist: 128)")
    g.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop"), help="(default: sgd; mnist: adam)")
    g.add_argument("--lr", type=float, help="initial learning rate (default: sgd 1.0; mnist adam 1e-3)")
    g.add_argument("--l2", type=float, metavar="ALPHA",
                   help="L2 penalty alpha * sum(w**2) in the loss (default: 1e-4; mnist: 0)")
    g.add_argument("--steps", type=int, help="optimizer steps (default: 100; mnist: 2000)")
    g.add_argument("--batch-size", type=int, metavar="B", help="(default: full batch; mnist: 128)")
    g.add_argument("--seed", type=int, help="seeds the data, the initial weights and the batch order (default: 0)")
    g = t.add_argument_group("output")
    g.add_argument("--plot", metavar="FILE.png", help="draw the decision boundary / misclassified digits "
                                                     "and the loss curve (needs naivegrad[plot])")
    g.add_argument("--save", metavar="CKPT.npz", help="write a checkpoint at the end (and on Ctrl-C)")
    g.add_argument("--save-every", type=int, metavar="K", help="also write the checkpoint every K steps")
    g.add_argument("--resume", metavar="CKPT.npz", help="continue the run saved in this checkpoint")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    gr = sub.add_parser("graph", help="draw the computation graph of a scalar expression",
                        description="Evaluate an expression of named scalars on the scalar engine, run\n"
                                    "backward and draw its graph (data and grad in every box).",
                        epilog=GRAPH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    gr.add_argument("expr", metavar="EXPR", help='e.g. "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()"')
    gr.add_argument("-o", "--output", metavar="FILE",
                    help="write FILE.svg, .png, .pdf or .dot (default: print the DOT text)")
    gr.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR", help="layout direction (default: LR)")
    gr.add_argument("--max-nodes", type=int, default=200, metavar="N",
                    help="draw at most N values; the rest are summarised (default: 200)")
    gr.set_defaults(func=_graph)
    return parser


def main(argv=None):
    """Run the ``naivegrad`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: train or graph (see naivegrad --help)")
        return args.func(args)
    except UsageError as e:
        return _fail(f"{parser.prog}: error: {e}")
    except KeyboardInterrupt:
        return _fail(f"{parser.prog}: interrupted", EXIT_INTERRUPTED)
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else 0


def _fail(message, status=EXIT_USAGE):
    print(" ".join(str(message).split()), file=sys.stderr)  # always one line
    return status


def _one_line(text):
    return " ".join(str(text).split())


# -------------------------------------------------------------------------------------------------- train
_SETTINGS = ("dataset", "samples", "noise", "classes", "test_fraction", "seed", "model", "hidden", "optimizer",
             "lr", "steps", "batch_size", "l2", "backend", "data_dir")


def _check_output_path(option, path, suffixes=None):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: that is a folder; give a file name")
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")


def _option(key):
    return "--" + key.replace("_", "-")


def _shown(key, value):
    if key == "hidden":
        return ",".join(str(h) for h in value) or '""'
    return f"{value:g}" if isinstance(value, float) else str(value)


def _settings(args):
    """The settings the user gave (None = not given), and the resolved Config with the checkpoint's arrays."""
    from . import training

    given = {k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None}
    arrays = None
    try:
        if args.resume:
            saved, arrays = training.read_checkpoint(args.resume)
            try:
                before = training.resolve(saved)
            except training.ConfigError as e:
                raise training.CheckpointError(f"{args.resume!r} holds settings naivegrad cannot use: {e}") from None
            config = training.resolve({**saved, **given})  # what was not given comes from the checkpoint
            for key in training.RESUME_FIXED:
                if getattr(config, key) != getattr(before, key):
                    raise UsageError(
                        f"checkpoint {args.resume} was trained with {_option(key)} {_shown(key, getattr(before, key))}, "
                        f"not {_shown(key, getattr(config, key))}: drop {_option(key)} to continue it, or start a new run "
                        f"without --resume")
        else:
            config = training.resolve(given)
    except (training.ConfigError, training.CheckpointError) as e:
        raise UsageError(_one_line(e)) from None
    return config, arrays


def _train(args):
    from . import training

    config, arrays = _settings(args)
    if args.save_every is not None:
        if args.save_every < 1:
            raise UsageError(f"--save-every must be >= 1, got {args.save_every}")
        if not args.save:
            raise UsageError("--save-every needs --save CKPT.npz (where to write)")
    if args.save:
        _check_output_path("--save", args.save, (".npz",))
    if args.plot:
        _check_output_path("--plot", args.plot, (".png",))
        from .plotting import PlotUnavailable, require_matplotlib

        try:
            require_matplotlib()  # before training: a long run should not end in "cannot plot"
        except PlotUnavailable as e:
            raise UsageError(e) from None

    try:
        data = training.load_data(config)
    except (FileNotFoundError, ValueError, OSError) as e:  # ValueError covers CorruptDataError
        raise UsageError(_one_line(e)) from None
    engines = ("scalar", "tensor") if config.backend == "both" else (config.backend,)
    try:
        runs = [training.Run(config, data, e, both=len(engines) == 2) for e in engines]
        if arrays is not None:
            for run in runs:
                run.load_state_dict(arrays, source=f"checkpoint {args.resume}")
    except (training.ConfigError, training.CheckpointError) as e:
        raise UsageError(_one_line(e)) from None
    start = runs[0].step
    if start > config.steps:
        raise UsageError(f"checkpoint {args.resume} is already at step {start}, past --steps {config.steps}: "
                         f"give --steps N with N >= {start}")

    print(f"naivegrad train: {config.describe()}", flush=True)
    if args.resume:
        print(f"resuming {args.resume} at step {start} of {config.steps}", flush=True)
    try:
        result = training.fit(runs, config.steps, progress=not args.quiet, save=args.save,
                              save_every=args.save_every or 0, config=config)
    except training.Interrupted as stop:
        if stop.saved:
            where = (f"checkpoint saved to {stop.saved} "
                     f"(continue with: naivegrad train --resume {stop.saved} --save {stop.saved})")
        elif stop.reason:
            where = f"no checkpoint written: {stop.reason}"
        else:
            where = "no checkpoint (use --save CKPT.npz to keep one)"
        return _fail(f"naivegrad: interrupted at step {stop.step} of {stop.steps}; {where}", EXIT_INTERRUPTED)

    status = 0
    for i, run in enumerate(runs):
        print(_summary(run, data, result, start, i if len(runs) > 1 else None), flush=True)
    if len(runs) == 2:
        status = _report_agreement(*runs)
    if args.save:
        print(f"saved checkpoint {args.save}")
    if args.plot:
        _plot(args.plot, config, data, runs[0])
        print(f"wrote {args.plot}")
    return status


def _summary(run, data, result, start, i=None):
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


def _report_agreement(scalar_run, tensor_run):
    a, b = scalar_run.weights(), tensor_run.weights()
    diff = max(float(abs(a[k] - b[k]).max()) for k in a)
    scale = max(1.0, max(float(abs(a[k]).max()) for k in a))
    n = sum(v.size for v in a.values())
    agree = diff <= AGREEMENT_TOLERANCE * scale
    verdict = "engines agree" if agree else "engines DISAGREE"
    print(f"{verdict}: max |scalar - tensor| over {n} final weights = {diff:.3g} "
          f"(tolerance {AGREEMENT_TOLERANCE * scale:.3g}; float64 on both)")
    return 0 if agree else 1


def _plot(path, config, data, run):
    from . import plotting, training

    acc = run.accuracy(data.X_train, data.y_train)
    title = f"{config.dataset}: {acc:.1%} train accuracy ({run.engine} engine, {run.step} steps)"
    if config.dataset == "mnist":
        predicted = run.predict(data.X_test)
        test = float((predicted == data.y_test).mean())
        title = f"mnist {config.model}: {test:.1%} held-out accuracy ({run.step} steps)"
        return plotting.plot_digits(path, data.X_test, data.y_test, predicted, run.history, title)
    if run.engine == "tensor":
        score_fn = run.scores
    else:
        # The scalar engine would take seconds over a 200x200 grid; the same weights on the tensor engine in
        # float64 give the same scores at once.
        twin = training.Run(config, data, "tensor", both=True)
        twin.model.load_state_dict(run.model.state_dict())
        score_fn = twin.scores
    return plotting.plot_points(path, score_fn, data.X_train, data.y_train, data.X_test, data.y_test,
                                run.history, title, config.classes)


# -------------------------------------------------------------------------------------------------- graph
def _graph(args):
    from .viz import GraphvizNotInstalled, draw, graph_expression, to_dot

    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be >= 1, got {args.max_nodes}")
    try:
        out = graph_expression(args.expr)
    except (ValueError, TypeError) as e:
        raise UsageError(_one_line(e)) from None
    out.backward()
    if args.output is None:
        sys.stdout.write(to_dot(out, max_nodes=args.max_nodes, rankdir=args.rankdir))
        return 0
    _check_output_path("-o", args.output)
    try:
        draw(out, args.output, max_nodes=args.max_nodes, rankdir=args.rankdir)
    except (ValueError, GraphvizNotInstalled) as e:
        raise UsageError(_one_line(e)) from None
    except (RuntimeError, OSError) as e:
        return _fail(f"naivegrad graph: {e}", 1)
    print(f"wrote {args.output} (value {out.data:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
