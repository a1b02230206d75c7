"""Checkpoints as ``.npz`` files (or ``.safetensors``), written atomically: an interrupted save never damages
an existing file.

A path ending in ``.safetensors`` is written and read through the optional ``safetensors`` package
(``pip install "naivegrad[safetensors]"``): no pickle, and the file loads into PyTorch with
``safetensors.torch.load_file`` and a module's ``load_state_dict`` (state-dict names and layouts are PyTorch's).

Two kinds of file hold a model's weights: a plain state dict (``nn.save`` / ``model.save``: one entry per
parameter name), and a training checkpoint of ``naivegrad train --save`` (``naivegrad.app.checkpoint``), which
marks itself with a ``naivegrad_checkpoint`` entry and keeps the model's state dict under ``model.``, next to
the optimizer's, the loader's and the run's metadata. ``model.load(path)`` takes either (``model_state``).
"""

import os
import zipfile
from collections import OrderedDict

import numpy as np
from numpy.lib.npyio import NpzFile

from .._atomic import atomic_write

__all__ = ["save", "load", "atomic_savez", "model_state", "TRAINING_CHECKPOINT_FORMAT"]

#: The training-checkpoint format this loader understands: ``naivegrad.app.checkpoint.CHECKPOINT_FORMAT``
#: (``nn`` does not import the app; a test keeps the two equal).
TRAINING_CHECKPOINT_FORMAT = 1
_MARKER = "naivegrad_checkpoint"
_MODEL_PREFIX = "model."


def atomic_savez(path, arrays):
    """Write ``arrays`` (name -> array-like) to ``path`` as .npz via a temporary file and an atomic rename.

    Readers see either the old file or the complete new one, never a partial write.
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    with atomic_write(path) as f:
        if _SAVEZ_ARGUMENTS.isdisjoint(arrays):
            np.savez(f, **arrays)
        else:
            _write_npz(f, arrays)


# np.savez's own keyword arguments: entries of these names (top-level parameters of a custom module) would be
# taken for them, and the save failed or silently dropped the entry.
_SAVEZ_ARGUMENTS = frozenset(["file", "allow_pickle"])


def _write_npz(f, arrays):
    """What ``np.savez(f, **arrays)`` writes (an uncompressed zip of ``{name}.npy`` files), for any names."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for k, v in arrays.items():
            with zf.open(f"{k}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, v, allow_pickle=False)


def _safetensors_numpy(path):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{os.fspath(path)!r}: .safetensors files need the optional 'safetensors' package: "
                          f"pip install 'naivegrad[safetensors]' (or save to a .npz path)") from None
    return safetensors.numpy


def _is_safetensors_path(path):
    return os.fspath(path).endswith(".safetensors")


def save(obj, path):
    """Save a module's state dict (or any mapping of name -> array) to ``path``, atomically: as .npz, or
    through the ``safetensors`` package when ``path`` ends in ``.safetensors``.

    >>> nn.save(model, "model.npz"); model.load_state_dict(nn.load("model.npz"))
    >>> nn.save(model, "model.safetensors")    # torch: module.load_state_dict(safetensors.torch.load_file(...))
    """
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not hasattr(state, "items"):
        raise TypeError(f"save() needs a Module or a mapping of name -> array, got {type(obj).__name__}")
    if not _is_safetensors_path(path):
        atomic_savez(path, state)
        return
    st = _safetensors_numpy(path)
    arrays = {}
    for k, v in state.items():
        if not isinstance(k, str):
            raise TypeError(f"save(): safetensors names must be strings, got {type(k).__name__}: {k!r}")
        arrays[k] = np.asarray(v, order="C")  # not np.ascontiguousarray, which makes a 0-d entry (1,)
    data = st.save(arrays, metadata={"format": "pt"})  # "pt": transformers-style loaders expect the tag
    with atomic_write(path) as f:
        f.write(data)


def load(path):
    """Read a .npz (or, by its name, a .safetensors) checkpoint into an ordered dict of name -> numpy array.

    A missing, truncated or otherwise damaged file raises ``ValueError`` (``FileNotFoundError`` when
    absent) naming the path; nothing is half-read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    if _is_safetensors_path(path):
        return _load_safetensors(path)
    # The file is opened here, not by np.load: given a path, np.load leaves its own handle open when the
    # archive turns out damaged.
    with open(path, "rb") as fh:
        # every .npz is a zip archive (one without entries, of a parameter-free model, starts at its end
        # record); anything else is not ours
        if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(f"cannot read checkpoint {path!r}: not an .npz archive")
        fh.seek(0)
        try:
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, NpzFile):
                raise ValueError("not an .npz archive")
            with f:
                return OrderedDict((k, f[k]) for k in f.files)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
            raise ValueError(f"cannot read checkpoint {path!r}: damaged or not written by naivegrad "
                             f"({exc})") from None


def _load_safetensors(path):
    st = _safetensors_numpy(path)
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        arrays = st.load(data)  # bounded by the file's size; no pickle
    except Exception as exc:  # safetensors raises its own SafetensorError (and others) on damaged files
        raise ValueError(f"cannot read checkpoint {path!r}: damaged or not a safetensors file ({exc})") from None
    # safetensors stores names in sorted order; keep that (state dicts are matched by name, not position)
    return OrderedDict((k, arrays[k]) for k in sorted(arrays))


def model_state(arrays, path="checkpoint"):
    """(state dict, description) of the model weights in ``arrays`` as read by ``load(path)``.

    A training checkpoint (it has a ``naivegrad_checkpoint`` entry) gives its ``model.*`` entries with the
    prefix removed; any other file is a plain state dict and is returned as it is. ``ValueError`` naming the
    file for a training checkpoint of another format, or one without model weights.
    """
    name = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else str(path)
    if _MARKER not in arrays:
        return arrays, name
    fmt = np.asarray(arrays[_MARKER])
    if fmt.ndim != 0 or fmt.dtype.kind not in "iu" or int(fmt) != TRAINING_CHECKPOINT_FORMAT:
        raise ValueError(f"cannot read the model in {name}: training checkpoint format {fmt.tolist()!r}, this "
                         f"naivegrad reads format {TRAINING_CHECKPOINT_FORMAT}")
    n = len(_MODEL_PREFIX)
    state = OrderedDict((k[n:], v) for k, v in arrays.items() if k.startswith(_MODEL_PREFIX))
    if not state:
        raise ValueError(f"{name} is a training checkpoint without model weights (no '{_MODEL_PREFIX}*' entries)")
    return state, f"the model of training checkpoint {name} (its '{_MODEL_PREFIX}*' entries)"
