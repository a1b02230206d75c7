"""``naivegrad sample CKPT``: names drawn from a language model's checkpoint, one per line on stdout.

The checkpoint is read and checked as ``--resume`` reads it (``checkpoint.read``); its weights go into the
model its settings describe, on the tensor engine in float64 (whichever engine trained it), and
``lm.sample_names`` draws from it with a numpy Generator made from ``--seed``: the same arguments print the
same names. Anything unusable (no file, a damaged one, a checkpoint of a classifier, a prompt outside a-z or
longer than a name can be) is one line on stderr and exit status 2.
"""

import math

import numpy as np

from . import checkpoint, config
from .blas import one_blas_thread
from .errors import UsageError, one_line
from .lm import MAX_NAME, build_lm, sample_names
from .runs import _check_weights

__all__ = ["sample", "MAX_NAMES"]

MAX_NAMES = 1_000_000


def sample(args):
    """Run the ``sample`` command with parsed ``args``; returns the exit status."""
    if isinstance(args.num, bool) or args.num < 1 or args.num > MAX_NAMES:
        raise UsageError(f"--num must be between 1 and {MAX_NAMES:,}, got {args.num}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UsageError(f"--temperature must be a finite number >= 0, got {args.temperature!r}")
    prompt = args.prompt
    bad = [c for c in prompt if not "a" <= c <= "z"]
    if bad:
        raise UsageError(f"--prompt {prompt!r}: {bad[0]!r} is not in the models' vocabulary ('.' and a-z; "
                         f"names are lowercase letters)")
    if len(prompt) > MAX_NAME:
        raise UsageError(f"--prompt {prompt!r} has {len(prompt)} letters: with the start token that is "
                         f"{len(prompt) + 1} positions, more than block_size {MAX_NAME + 1} (names have at most "
                         f"{MAX_NAME} letters)")
    try:
        settings, arrays = checkpoint.read(args.checkpoint, verb="sample")
        cfg = config.resolve(settings)
    except (checkpoint.CheckpointError, config.ConfigError) as e:
        raise UsageError(one_line(e)) from None
    if not cfg.language_model:
        raise UsageError(f"cannot sample from {args.checkpoint}: it holds a classifier ({cfg.model} on "
                         f"{cfg.dataset}), not a language model; train one with naivegrad train --dataset names")
    weights = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    model = build_lm(cfg, "tensor", np.float64)
    try:
        _check_weights(weights)
        model.load_state_dict(weights)
    except (KeyError, ValueError, TypeError) as e:
        detail = e.args[0] if isinstance(e, KeyError) and e.args else e
        raise UsageError(f"cannot sample from {args.checkpoint}: its weights do not fit the model its settings "
                         f"describe: {one_line(detail)}") from None
    model.eval()
    with one_blas_thread():
        try:
            drawn = sample_names(model, args.num, args.seed, args.temperature, prompt)
        except ValueError as e:  # probabilities numpy refuses (nan logits of a damaged model): one line
            raise UsageError(f"cannot sample from {args.checkpoint} at --temperature {args.temperature!r}: "
                             f"{one_line(e)}") from None
    if len(drawn) < args.num:
        raise UsageError(f"{args.checkpoint}: the model keeps ending names before their first letter "
                         f"({len(drawn)} of {args.num} drawn); train it longer")
    print("\n".join(drawn), flush=True)
    return 0
