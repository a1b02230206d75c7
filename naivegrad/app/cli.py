"""The ``naivegrad`` command (also ``python -m naivegrad``): its arguments, and ``main``.

    naivegrad train                                   # micrograd's two moons, scalar engine, ~99% in seconds
    naivegrad train --backend both                    # the same run on both engines, checked to agree
    naivegrad train --dataset mnist --data-dir DIR    # digits on the tensor engine
    naivegrad train --dataset names --model gpt --save gpt.npz   # a character-level transformer
    naivegrad sample gpt.npz --num 10 --seed 0                  # ten names it makes up
    naivegrad graph "a=2.0; b=-3.0; c=10.0; (a*b + c).tanh()" -o graph.svg

Bad arguments, unusable checkpoints, output paths that cannot be written and missing data end with status 2
and a one-line message on stderr, before any training; Ctrl-C during training ends with status 130 after
saving a checkpoint when ``--save`` was given. A run that diverges (its loss becomes nan or inf), or whose
checkpoint or plot cannot be written after all (a full disk), ends with status 1 and one line saying what
was and was not saved. The commands themselves are ``train_command.train`` and ``graph_command.graph``.
"""

import argparse
import sys

from .. import __version__
from .config import BACKENDS, DATASETS, MODELS, OPTIMIZERS
from .errors import EXIT_INTERRUPTED, UsageError, fail
from .graph_command import graph
from .sample_command import sample
from .train_command import train

__all__ = ["main", "build_parser"]


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
  names: character-level language models on makemore's 32,033 names (split 80/10/10 with seed 42;
    --seed seeds the weights and the batch order), tensor engine (float32), AdamW, warm-up then
    cosine decay to --lr/10, the validation loss in the progress bar, and the loss per character
    on the 3,204 held-out names at the end. Per --model:
      gpt     n_layer 4, n_embd 64, n_head 4, block_size 16 (201,088 weights), batch 32 names,
              lr 2e-3, weight decay 0.01, 10,000 steps
      mlp     context 3, n_embd 10, hidden 200 (11,897 weights), batch 64, lr 3e-3,
              weight decay 0.01, 30,000 steps
      bigram  a 27 x 27 table, batch 512, lr 0.1, 2,000 steps
    With --backend scalar or both the defaults are small enough for Values: gpt n_layer 1, n_embd 16,
    batch 4 names; mlp hidden 64, batch 32; bigram batch 32; lr 1e-2 (bigram 0.1), 100 steps.
  default lr for adam / rmsprop on 2-D sets: 0.05 / 0.01. On every run but names' the learning rate
  decays linearly from --lr towards --lr/10 over --steps (micrograd's schedule).

checkpoints: --save writes weights, optimizer state, step, batch-loader state, loss history and
  settings (atomically). --resume takes the dataset, model and recipe from the checkpoint (giving
  a different one is an error; --lr, --steps, --backend and --data-dir may change) and continues
  to --steps, by default the checkpoint's: then the result is exactly the uninterrupted run's.
  Ctrl-C stops after the current step, saves (with --save) and exits with status 130.
  A loss that becomes nan or inf stops the run (status 1) without saving its weights: try a smaller --lr.

examples:
  naivegrad train --plot moons.png
  naivegrad train --backend both
  naivegrad train --dataset blobs --test-fraction 0.3 --backend tensor
  naivegrad train --dataset mnist --data-dir ~/data/mnist --save mnist.npz
  naivegrad train --resume mnist.npz --steps 4000
  naivegrad train --dataset names --model gpt --save gpt.npz --plot gpt.png
  naivegrad train --dataset names --model mlp --backend both --steps 20
"""

SAMPLE_EPILOG = """\
A name ends where the model draws the boundary '.' or after 15 letters (the corpus's longest name);
an empty name is drawn again. The checkpoint may come from either engine.

examples:
  naivegrad train --dataset names --model gpt --save gpt.npz
  naivegrad sample gpt.npz --num 20 --seed 1
  naivegrad sample gpt.npz --num 5 --temperature 0.8 --prompt ka
"""

GRAPH_EPILOG = """\
The expression is a few statements separated by ';': assignments of named scalars and a final
expression, with + - * / ** and exp log sqrt tanh sigmoid relu sin cos abs (as x.tanh() or tanh(x)).
No Python code runs: anything else is rejected. Rendering SVG/PNG needs pip install "naivegrad[viz]"
and the Graphviz dot program; .dot output and stdout need nothing.
"""


def build_parser():
    """The argument parser of the ``naivegrad`` command, with its ``train``, ``sample`` and ``graph``
    subcommands."""
    parser = _Parser(prog="naivegrad", description="naivegrad: train small networks on either engine, "
                                                   "draw computation graphs.")
    parser.add_argument("--version", action="version", version=f"naivegrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,sample,graph}")

    t = sub.add_parser("train", help="train a model (default: an MLP on two moons, scalar engine)",
                       description="Train a classifier (or, on --dataset names, a language model) with a "
                                   "progress bar; print accuracy (held-out loss), time and speed.",
                       epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Every default is None here: resolve() fills them in per dataset, and --resume can tell what was given.
    g = t.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, help="what to learn (default: moons)")
    g.add_argument("--samples", type=int, metavar="N", help="points in a 2-D dataset (default: 100)")
    g.add_argument("--noise", type=float, metavar="STD", help="noise of a 2-D dataset (default: 0.1; blobs 0.25)")
    g.add_argument("--classes", type=int, metavar="K", help="classes of spirals (default 2) or blobs (default 3)")
    g.add_argument("--test-fraction", type=float, metavar="F",
                   help="hold out this fraction of a 2-D dataset and report its accuracy (default: 0)")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST files")
    g = t.add_argument_group("model and training")
    g.add_argument("--backend", choices=BACKENDS,
                   help="engine: scalar (Values), tensor (numpy), or both side by side, compared "
                        "(default: scalar; mnist: tensor)")
    g.add_argument("--model", choices=MODELS, help="mlp, or convnet for mnist; gpt, mlp or bigram for names "
                                                   "(default: mlp; names: gpt)")
    g.add_argument("--hidden", metavar="SIZES", help="hidden layer sizes of the MLP (default: 16,16; mnist: 128; "
                                                     "names: 200)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="(default: sgd; mnist: adam; names: adamw)")
    g.add_argument("--lr", type=float, help="initial learning rate (default: sgd 1.0; mnist adam 1e-3; "
                                            "names: per model)")
    g.add_argument("--l2", type=float, metavar="ALPHA",
                   help="L2 penalty alpha * sum(w**2) in the loss (default: 1e-4; mnist: 0)")
    g.add_argument("--weight-decay", type=float, metavar="WD",
                   help="adamw's decoupled weight decay, or adam's (default: adamw 0.01, names bigram 0; else 0)")
    g.add_argument("--steps", type=int, help="optimizer steps (default: 100; mnist: 2000; names: per model)")
    g.add_argument("--batch-size", type=int, metavar="B", help="(default: full batch; mnist: 128; names: per model)")
    g.add_argument("--seed", type=int, help="seeds the data, the initial weights and the batch order (default: 0)")
    g = t.add_argument_group("language models (--dataset names)")
    g.add_argument("--block-size", type=int, metavar="N",
                   help="context: characters the mlp reads (default 3, at most 16); gpt: positions, >= 16 "
                        "(default 16)")
    g.add_argument("--n-embd", type=int, metavar="C", help="embedding width (default: gpt 64, mlp 10)")
    g.add_argument("--n-layer", type=int, metavar="L", help="transformer blocks of the gpt (default: 4)")
    g.add_argument("--n-head", type=int, metavar="H", help="attention heads of the gpt (default: 4)")
    g = t.add_argument_group("output")
    g.add_argument("--plot", metavar="FILE.png", help="draw the decision boundary / misclassified digits "
                                                     "and the loss curve; names: the train and validation "
                                                     "loss curves (needs naivegrad[plot])")
    g.add_argument("--save", metavar="CKPT.npz", help="write a checkpoint at the end (and on Ctrl-C)")
    g.add_argument("--save-every", type=int, metavar="K", help="also write the checkpoint every K steps")
    g.add_argument("--resume", metavar="CKPT.npz", help="continue the run saved in this checkpoint")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=train)

    sm = sub.add_parser("sample", help="print names drawn from a language model's checkpoint",
                        description="Print NUM names drawn from a checkpoint of naivegrad train --dataset names, "
                                    "one per line (nothing else on stdout); the same --seed prints the same names.",
                        epilog=SAMPLE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sm.add_argument("checkpoint", metavar="CKPT.npz", help="a checkpoint written by naivegrad train --dataset names")
    sm.add_argument("--num", type=int, default=10, metavar="N", help="how many names (default: 10)")
    sm.add_argument("--seed", type=int, default=0, help="seeds the draws (default: 0)")
    sm.add_argument("--temperature", type=float, default=1.0, metavar="T",
                    help="divide the logits by T: below 1 more typical names, 0 always the likeliest (default: 1)")
    sm.add_argument("--prompt", default="", metavar="PREFIX", help="start every name with these letters (a-z)")
    sm.set_defaults(func=sample)

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
    gr.set_defaults(func=graph)
    return parser


def main(argv=None):
    """Run the ``naivegrad`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: train, sample or graph (see naivegrad --help)")
        return args.func(args)
    except UsageError as e:
        return fail(f"{parser.prog}: error: {e}")
    except KeyboardInterrupt:
        return fail(f"{parser.prog}: interrupted", EXIT_INTERRUPTED)
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
