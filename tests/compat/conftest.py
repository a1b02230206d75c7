"""Fixtures for the tests of the original project's names: real digits when present, tiny IDX files, no network."""

import urllib.error
import urllib.request
from pathlib import Path

import pytest

# The real MNIST test set (t10k), beside the project folder; absent on a user's machine.
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def _offline(*args, **kwargs):
    raise urllib.error.URLError("no network in the tests")


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    """No $NAIVEGRAD_DATA, a cache inside tmp_path, and every download failing as on a machine offline."""
    monkeypatch.delenv("NAIVEGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    return tmp_path


@pytest.fixture(scope="session")
def real_mnist_dir():
    """The folder of the real t10k files, or a skip saying why the test cannot run here."""
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if not all((SHARED_MNIST / name).is_file() for name in names):
        pytest.skip(f"real MNIST test set not found at {SHARED_MNIST} (it is only on the project's own machines)")
    return SHARED_MNIST

