"""MNIST handwritten digits from the original IDX files, found locally or downloaded once into a cache.

Where the files are looked for, in order (the first folder holding both files of the split wins):

1. the ``data_dir`` argument, then its ``mnist/`` subfolder;
2. the ``NAIVEGRAD_DATA`` environment variable, then its ``mnist/`` subfolder;
3. the cache, ``$XDG_CACHE_HOME/naivegrad/mnist`` (default ``~/.cache/naivegrad/mnist``).

Only when none has them are they downloaded, into the cache. Every file is checked before use: the
gzip files served by the mirrors by size and md5, any file by its IDX header against its length, and
images against labels. A file that fails raises ``CorruptDataError`` naming it; it is never used.
"""

import hashlib
import http.client
import os
import urllib.error
from pathlib import Path

import numpy as np

from . import download as _download
from .idx import CorruptDataError, decompress, parse_idx

__all__ = ["mnist", "mnist_t10k_split", "cache_dir", "MIRRORS", "FILES", "KNOWN_FILES"]

# split -> (images file, labels file), as the originals are named; each may also carry a ".gz".
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# The gzip files every MNIST mirror serves, byte for byte: name -> (size in bytes, md5).
KNOWN_FILES = {
    "train-images-idx3-ubyte.gz": (9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte.gz": (28881, "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte.gz": (1648877, "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte.gz": (4542, "ec29112dd5afa0611ce80d1b7f02629c"),
}

# Tried in order; the original site (yann.lecun.com) now mostly refuses downloads, so it is not listed.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

ENV_VAR = "NAIVEGRAD_DATA"

# What a failed attempt on one mirror can raise; anything else is a bug and propagates.
_NETWORK_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException, ValueError)


def cache_dir():
    """The folder MNIST is downloaded into: ``$XDG_CACHE_HOME/naivegrad/mnist`` or ``~/.cache/naivegrad/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "naivegrad" / "mnist"


def _search_path(data_dir):
    """The folders to look in, in order, each with where it came from (for the error message)."""
    candidates = []
    for where, value in (("data_dir", data_dir), (f"${ENV_VAR}", os.environ.get(ENV_VAR) or None)):
        if value is not None:
            folder = Path(value).expanduser()
            candidates += [(where, folder), (where, folder / "mnist")]
    candidates.append(("cache", cache_dir()))
    folders, seen = [], set()
    for where, folder in candidates:  # data_dir and $NAIVEGRAD_DATA may name the same folder
        if folder not in seen:
            seen.add(folder)
            folders.append((where, folder))
    return folders


def _find(folder, base):
    """The file ``base.gz`` or ``base`` in ``folder`` (gzip first: only it can be checked by md5), or None."""
    for name in (base + ".gz", base):
        path = folder / name
        if path.is_file():
            return path
    return None


def _read_checked(path):
    """One MNIST file as an array, after every check that applies to it."""
    raw = path.read_bytes()
    known = KNOWN_FILES.get(path.name)
    if known is not None:
        size, md5 = known
        if len(raw) != size:
            what = "truncated" if len(raw) < size else "larger than the original"
            raise CorruptDataError(
                f"{path}: {len(raw)} bytes, the original {path.name} has {size}: {what}; "
                f"delete it and download it again"
            )
        digest = hashlib.md5(raw).hexdigest()
        if digest != md5:
            raise CorruptDataError(
                f"{path}: md5 {digest} does not match the original {path.name} ({md5}): the file is corrupt "
                f"(if you recompressed it yourself, decompress it instead: plain IDX files are checked by structure)"
            )
    return parse_idx(decompress(raw, str(path)), str(path))


def _load(images_path, labels_path):
    images = _read_checked(images_path)
    labels = _read_checked(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise CorruptDataError(
            f"{images_path}: expected uint8 images of shape (N, 28, 28), found {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise CorruptDataError(f"{labels_path}: expected uint8 labels of shape (N,), found {labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise CorruptDataError(f"{labels_path}: labels must be digits 0..9, found {int(labels.max())}")
    return images, labels.astype(np.int64)


def _fetch(names, folder, progress):
    """Download the missing gzip files into ``folder``; returns the failures as (file, url or folder, reason)."""
    failures = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return [(name, str(folder), f"cannot create the cache folder: {e}") for name in names]
    for name in names:
        size, md5 = KNOWN_FILES[name]
        attempts = []
        for mirror in MIRRORS:
            url = mirror + name
            try:
                _download.download(url, folder / name, md5=md5, size=size, progress=progress)
                break
            except _NETWORK_ERRORS as e:
                attempts.append((name, url, str(getattr(e, "reason", None) or e)))
        else:
            failures += attempts or [(name, "-", "no download mirrors are configured")]
            break  # one file unobtainable is enough: do not wait on the network for the rest
    return failures


def _not_found(split, folders, failures, tried_download):
    names = [base + ".gz" for base in FILES[split]]
    tail = " and could not be downloaded." if tried_download else " (download=False: no download tried)."
    lines = [f"MNIST {split!r} split not found" + tail]
    lines.append("Put these files (gzip-compressed as the mirrors serve them, or decompressed without .gz):")
    lines += [f"    {name}" for name in names]
    lines.append("into one of these folders, searched in this order:")
    for where, folder in folders:
        found = [p.name for p in (_find(folder, b) for b in FILES[split]) if p is not None]
        note = "" if folder.is_dir() else " (does not exist)"
        if found:
            note = f" (has only {', '.join(found)})"
        lines.append(f"    {folder}  [{where}]{note}")
    lines.append(f"or pass data_dir=... (--data-dir on the command line) or set {ENV_VAR} to the folder holding them.")
    if failures:
        lines.append("Download attempts:")
        lines += [f"    {url}: {reason}" for _, url, reason in failures]
    return FileNotFoundError("\n".join(lines))


def mnist(split="train", data_dir=None, *, download=True, progress=True):
    """The MNIST ``split`` ("train": 60,000 digits, "test": 10,000) as ``(images, labels)``.

    ``images`` is uint8 of shape (N, 28, 28), 0 = background; ``labels`` is int64 of shape (N,), digits 0..9.
    See the module docstring for where the files are looked for; ``download=False`` never touches the
    network, ``progress=False`` hides the download progress bar. Raises ``CorruptDataError`` for a bad file
    and ``FileNotFoundError`` (saying which files to put where) when the files cannot be found or fetched.

    Example: ``images, labels = mnist("test", data_dir="../shared/data/mnist")`` gives images of shape
    (10000, 28, 28) and labels starting 7, 2, 1, 0, 4. For training, scale: ``images / 255.0``.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folders = _search_path(data_dir)
    for _, folder in folders:
        paths = [_find(folder, base) for base in FILES[split]]
        if all(paths):
            return _load(*paths)
    failures = []
    if download:
        cache = cache_dir()
        missing = [base + ".gz" for base in FILES[split] if _find(cache, base) is None]
        failures = _fetch(missing, cache, progress)
        if not failures:
            return _load(*(_find(cache, base) for base in FILES[split]))
    raise _not_found(split, folders, failures, download)


def mnist_t10k_split(data_dir=None, n_train=8000, **kwargs):
    """The project's split of the 10,000-image MNIST test set: the first ``n_train`` to train, the rest held out.

    Returns ``(train_images, train_labels), (heldout_images, heldout_labels)``; the default is 8,000 / 2,000, the
    split every accuracy in naivegrad's README is measured on. Keyword arguments go to ``mnist``.

    Example: ``(x_train, y_train), (x_held, y_held) = mnist_t10k_split("../shared/data/mnist")``.
    """
    images, labels = mnist("test", data_dir, **kwargs)
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or not 0 < n_train < len(images):
        raise ValueError(f"n_train must be an int in 1..{len(images) - 1}, got {n_train!r}")
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
