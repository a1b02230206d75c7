"""Tiny MNIST files for the compat tests, written by the tests' own IDX writer."""

import gzip
import struct
from pathlib import Path

import numpy as np


def write_idx(path, array, gz=False):
    """``array`` as an IDX file (magic 0, 0, 0x08 for uint8, ndim; big-endian dims; the bytes)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    Path(path).write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return Path(path)


def write_split(folder, prefix, n, seed, gz=False):
    """``n`` random 28x28 uint8 images and their digit labels under MNIST's file names; returns them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels, gz)
    return images, labels
