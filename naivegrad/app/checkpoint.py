"""Training checkpoints: the file format, written atomically and checked in this one place.

A checkpoint is an ``.npz`` archive (no pickles) holding a run's ``state_dict()`` and three entries of
metadata:

- ``naivegrad_checkpoint``: the format, an integer (``CHECKPOINT_FORMAT``);
- ``naivegrad_version``: the version that wrote it, text;
- ``args``: the run's settings (``Config.to_json()``), JSON text in a 0-d unicode array.

The run's state is ``model.*``, ``optimizer.*`` and ``loader.*`` (checked against the model that loads them,
by ``Run.load_state_dict``), ``step``, and ``history.loss`` / ``history.accuracy`` (one float per step).
``read`` checks the metadata, the settings, the step and the history before anything else uses them, and
reads no array whose header claims more data than the file can hold (``check_npz_sizes``): a crafted file
cannot make it allocate terabytes. It also removes the temporary files a killed save of the same path left.
"""

import json
import os
import zipfile
from collections import namedtuple

import numpy as np

from .. import __version__
from .._atomic import remove_stale_temps
from ..nn.serialization import atomic_savez
from ..nn.serialization import load as load_npz
from .config import ConfigError, resolve
from .models import parameter_count

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "Progress", "save", "read", "progress", "check_npz_sizes",
           "MAX_INFLATION"]

CHECKPOINT_FORMAT = 1
HISTORY = ("loss", "accuracy")

#: How many bytes a compressed member of an archive may expand to, per byte stored. Deflate cannot do better
#: than about 1032:1, so no real archive is refused; a crafted header claiming more is.
MAX_INFLATION = 1100

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


def read(path, verb="resume"):
    """(settings dict, arrays) from a checkpoint; ``CheckpointError`` naming ``path`` for anything wrong
    (``verb`` says what could not be done: "cannot resume from ...", "cannot sample from ...").

    The settings are the saved ones as given to ``resolve`` (they resolve to a ``Config``); the arrays
    include the metadata entries.
    """
    name = repr(str(path))
    remove_stale_temps(path)  # what a save of this path killed midway (kill -9, a power cut) left behind
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise CheckpointError(f"cannot {verb}: no checkpoint at {name}") from None
    except OSError as e:
        raise CheckpointError(f"cannot {verb}: cannot read {name}: {e.strerror or e}") from None
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        raise CheckpointError(f"cannot {verb} from {name}: not an .npz checkpoint (damaged, or some other file)")
    problem = _npz_size_problem(path)
    if problem:
        raise CheckpointError(f"cannot {verb} from {name}: {problem}")
    try:
        arrays = load_npz(path)
    except FileNotFoundError:
        raise CheckpointError(f"cannot {verb}: no checkpoint at {name}") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"cannot {verb} from {name}: {e}") from None
    except MemoryError:
        raise CheckpointError(f"cannot {verb} from {name}: its arrays do not fit in memory") from None

    if "naivegrad_checkpoint" not in arrays or "args" not in arrays:
        raise CheckpointError(f"{name} is not a training checkpoint written by naivegrad train "
                              f"(no 'naivegrad_checkpoint' and 'args' entries)")
    fmt = _integer(arrays["naivegrad_checkpoint"])
    if fmt != CHECKPOINT_FORMAT:
        shown = fmt if fmt is not None else "(not an integer)"
        raise CheckpointError(f"{name} has checkpoint format {shown}; this naivegrad reads "
                              f"format {CHECKPOINT_FORMAT}")
    if "naivegrad_version" in arrays:
        version = np.asarray(arrays["naivegrad_version"])
        if version.ndim != 0 or version.dtype.kind != "U":
            raise CheckpointError(f"{name} has a damaged 'naivegrad_version' entry: an array of {version.dtype} "
                                  f"and shape {version.shape}, not text")
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
        config = resolve(settings)
    except ConfigError as e:
        raise CheckpointError(f"{name} holds settings naivegrad cannot use: {e}") from None
    progress(arrays, f"checkpoint {path}")
    # The model the settings describe is built before its weights are loaded: it may not be much larger than
    # the weights the file holds (which check_npz_sizes bounded), or crafted settings could ask for terabytes.
    # A smaller mismatch is left to Run.load_state_dict, whose message names the weight that differs.
    held = sum(np.asarray(v).size for k, v in arrays.items() if k.startswith("model."))
    wanted = parameter_count(config)
    if wanted > 4 * held + 100_000:
        raise CheckpointError(f"checkpoint {path} does not fit this run: its settings describe a model of "
                              f"{wanted:,} weights, far more than the {held:,} it holds")
    return settings, arrays


def check_npz_sizes(path):
    """``ValueError`` naming ``path`` if an ``.npz`` member's header claims more data than the file can hold.

    Each ``.npy`` member's header (its dtype and shape) is read first, and the bytes it claims are compared
    with what the archive can deliver: no more than the member's stored size (``max_inflation`` times it if
    compressed). So loading the archive never allocates more than about ``max_inflation`` times its size,
    whatever its headers say. Other damage (not a zip archive, a bad header) is a ``ValueError`` too.
    """
    problem = _npz_size_problem(path)
    if problem:
        raise ValueError(f"cannot read {str(path)!r}: {problem}")


def _npz_size_problem(path, max_inflation=MAX_INFLATION):
    """What ``check_npz_sizes`` finds wrong with ``path``, in a few words; None if nothing."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        return f"cannot read it: {e.strerror or e}"
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                stored = info.compress_size
                limit = stored if info.compress_type == zipfile.ZIP_STORED else stored * max_inflation
                if stored > size or info.file_size > limit:
                    return (f"its member {info.filename!r} claims {info.file_size:,} bytes, more than the "
                            f"{size:,}-byte file can hold")
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        return (f"its member {info.filename!r} has .npy format {version}, which naivegrad "
                                f"does not write")
                claimed = dtype.itemsize
                for n in shape:
                    claimed *= n
                if claimed > info.file_size:
                    return (f"its member {info.filename!r} claims an array of shape {shape} and {dtype} "
                            f"({claimed:,} bytes), more than the {size:,}-byte file holds")
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as e:
        return f"damaged or not an .npz archive ({e})"
    return None


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
