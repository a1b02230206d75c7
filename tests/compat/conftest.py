"""Fixtures for the tests of the original project's names: real digits when present, tiny IDX files, no network."""

import urllib.error
import urllib.request

import pytest

# The real MNIST test set (t10k), beside the project folder; absent on a user's machine.


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

