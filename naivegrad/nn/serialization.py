"""Checkpoints as ``.npz`` files, written atomically: an interrupted save never damages an existing file."""

import os
import zipfile
from collections import OrderedDict

import numpy as np
from numpy.lib.npyio import NpzFile

from .._atomic import atomic_write

__all__ = ["save", "load", "atomic_savez"]


def atomic_savez(path, arrays):
    """Write ``arrays`` (name -> array-like) to ``path`` as .npz via a temporary file and an atomic rename.

    Readers see either the old file or the complete new one, never a partial write.
    """
    with atomic_write(path) as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def save(obj, path):
    """Save a module's state dict (or any mapping of name -> array) to ``path`` as .npz, atomically.

    >>> nn.save(model, "model.npz"); model.load_state_dict(nn.load("model.npz"))
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not hasattr(state, "items"):
        raise TypeError(f"save() needs a Module or a mapping of name -> array, got {type(obj).__name__}")
    atomic_savez(path, state)


def load(path):
    """Read a .npz checkpoint into an ordered dict of name -> numpy array.

    A missing, truncated or otherwise damaged file raises ``ValueError`` (``FileNotFoundError`` when
    absent) naming the path; nothing is half-read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":  # every .npz is a zip archive; anything else is not ours
            raise ValueError(f"cannot read checkpoint {path!r}: not an .npz archive")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, NpzFile):
            raise ValueError("not an .npz archive")
        with f:
            return OrderedDict((k, f[k]) for k in f.files)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"cannot read checkpoint {path!r}: damaged or not written by naivegrad ({exc})") from None
