"""Training checkpoints: the file format, written atomically and checked in this one place.

A checkpoint is an ``.npz`` archive (no pickles) holding a run's ``state_dict()`` and three entries of
metadata:

- ``naivegrad_checkpoint``: the format, an integer (``CHECKPOINT_FORMAT``);
- ``naivegrad_version``: the version that wrote it, text;
- ``args``: the run's settings (``Config.to_json()``), JSON text in a 0-d unicode array.

The run's state is ``model.*``, ``optimizer.*`` and ``loader.*`` (checked against the model that loads them,
by ``Run.load_state_dict``), ``step``, and ``history.loss`` / ``history.accuracy`` (one float per step).
``read`` checks the metadata, the settings, the step and the history before anything else uses them.
"""

import json
from collections import namedtuple

import numpy as np

from .. import __version__
from ..nn.serialization import atomic_savez
from ..nn.serialization import load as load_npz
from .config import ConfigError, resolve

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "Progress", "save", "read", "progress"]

CHECKPOINT_FORMAT = 1
HISTORY = ("loss", "accuracy")

#: What a run has done: its step count and the per-step history ({"loss": [...], "accuracy": [...]}).
Progress = namedtuple("Progress", "step history")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the run; the message names the file."""


def save(path, config, run):
    """Write ``run``'s full state and ``config`` to ``path`` (.npz) atomically."""
    arrays = run.state_dict()
    arrays["naivegrad_checkpoint"] = np.int64(CHECKPOINT_FORMAT)
    arrays["naivegrad_version"] = np.array(__version__)
    arrays["args"] = np.array(config.to_json())  # JSON text in a 0-d unicode array: loads without pickle
    atomic_savez(path, arrays)


def read(path):
    """(settings dict, arrays) from a checkpoint; ``CheckpointError`` naming ``path`` for anything wrong.

    The settings are the saved ones as given to ``resolve`` (they resolve to a ``Config``); the arrays
    include the metadata entries.
    """
    name = repr(str(path))
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise CheckpointError(f"cannot resume: no checkpoint at {name}") from None
    except OSError as e:
        raise CheckpointError(f"cannot resume: cannot read {name}: {e.strerror or e}") from None
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        raise CheckpointError(f"cannot resume from {name}: not an .npz checkpoint (damaged, or some other file)")
    try:
        arrays = load_npz(path)
    except FileNotFoundError:
        raise CheckpointError(f"cannot resume: no checkpoint at {name}") from None
    except (ValueError, OSError) as e:
        raise CheckpointError(f"cannot resume from {name}: {e}") from None

    if "naivegrad_checkpoint" not in arrays or "args" not in arrays:
        raise CheckpointError(f"{name} is not a training checkpoint written by naivegrad train "
                              f"(no 'naivegrad_checkpoint' and 'args' entries)")
    fmt = _integer(arrays["naivegrad_checkpoint"])
    if fmt != CHECKPOINT_FORMAT:
        shown = fmt if fmt is not None else "(not an integer)"
        raise CheckpointError(f"{name} has checkpoint format {shown}; this naivegrad reads "
                              f"format {CHECKPOINT_FORMAT}")
    try:
        args = np.asarray(arrays["args"])
        if args.ndim != 0 or args.dtype.kind != "U":
            raise ValueError(f"not JSON text but an array of {args.dtype} and shape {args.shape}")
        settings = json.loads(str(args[()]))
        if not isinstance(settings, dict):
            raise ValueError("not a JSON object")
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{name} has damaged settings ('args' entry): {e}") from None
    if "hidden" in settings and isinstance(settings["hidden"], list):
        settings["hidden"] = tuple(settings["hidden"])
    try:
        resolve(settings)
    except ConfigError as e:
        raise CheckpointError(f"{name} holds settings naivegrad cannot use: {e}") from None
    progress(arrays, f"checkpoint {path}")
    return settings, arrays


def progress(arrays, source="checkpoint"):
    """The ``Progress`` (step, history) in a run's state ``arrays``; ``CheckpointError`` naming ``source``
    unless the step is an integer >= 0 and each history a list of that many numbers."""
    try:
        if "step" not in arrays:
            raise ValueError("it has no 'step' entry")
        step = _integer(arrays["step"])
        if step is None or step < 0:
            raise ValueError(f"its step is {np.asarray(arrays['step']).tolist()!r}, not an integer >= 0")
        history = {}
        for key in HISTORY:
            if f"history.{key}" not in arrays:
                raise ValueError(f"it has no 'history.{key}' entry")
            values = np.asarray(arrays[f"history.{key}"])
            if values.ndim != 1 or values.dtype.kind not in "fiu":
                raise ValueError(f"its 'history.{key}' is an array of {values.dtype} and shape {values.shape}, "
                                 f"not a list of numbers")
            history[key] = values.astype(np.float64).tolist()
        if any(len(h) != step for h in history.values()):
            raise ValueError(f"step {step} does not match a history of {len(history['loss'])} steps")
    except ValueError as e:
        raise CheckpointError(f"{source} does not fit this run: {e}") from None
    return Progress(step, history)


def _integer(value):
    """A 0-d integer array (or a Python / numpy integer) as an int; None for anything else."""
    a = np.asarray(value)
    return int(a) if a.ndim == 0 and a.dtype.kind in "iu" else None
