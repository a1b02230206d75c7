"""Fixtures for the dataset tests: no network, no real cache, and an IDX writer of the tests' own.

Modules that touch files or the environment use ``pytestmark = pytest.mark.usefixtures("isolated_data_env")``;
it is not autouse because hypothesis refuses function-scoped fixtures around its generated examples.
"""

import gzip
import struct
import urllib.request
from pathlib import Path

import numpy as np
import pytest

# The real MNIST test set, next to the project folder (absent on a user's machine).

# IDX type codes as the format defines them, written independently of naivegrad.data.idx.
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array, code=None):
    """The IDX encoding of ``array``: 0, 0, type code, ndim, big-endian uint32 dims, big-endian values."""
    array = np.asarray(array)
    if code is None:
        code = IDX_CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=None, code=None):
    """Write ``array`` as an IDX file at ``path``, gzip-compressed when ``gz`` (default: name ends in .gz)."""
    path = Path(path)
    data = idx_bytes(array, code)
    if gz is None:
        gz = path.suffix == ".gz"
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def fake_digits(n, seed=0, shape=(28, 28)):
    """n random uint8 'images' and digit labels, different for different seeds."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


def write_mnist(folder, split="test", n=6, seed=0, gz=False):
    """A tiny fake MNIST split in ``folder`` under the original file names; returns (images, labels)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    images, labels = fake_digits(n, seed)
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images, gz=gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels, gz=gz)
    return images, labels


def _no_network(*args, **kwargs):
    raise AssertionError(f"a dataset test tried to use the network: urlopen{args}")


@pytest.fixture
def isolated_data_env(monkeypatch, tmp_path):
    """No NAIVEGRAD_DATA, a cache and a home inside tmp_path, and urlopen that fails the test."""
    monkeypatch.delenv("NAIVEGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    return tmp_path


class _Kit:
    """The helpers above, handed to tests as a fixture (importing conftest by name is ambiguous in pytest)."""

    idx_bytes = staticmethod(idx_bytes)
    write_idx = staticmethod(write_idx)
    fake_digits = staticmethod(fake_digits)
    write_mnist = staticmethod(write_mnist)
    IDX_CODES = IDX_CODES


@pytest.fixture(scope="session")
def kit():
    """Helpers to write IDX files and fake MNIST folders (session-scoped, so usable with hypothesis)."""
    return _Kit
